"""Where a forwarded event came from: its input record's topic, partition and offset.

The ingest agent forwards every valid input record to the internal events topic with this
header, so the customers agent can tell a replayed input record from a new one (within one
input partition, offsets only grow) and tests can account for every input offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from streams.model.positions import Position, source_id

HEADER = "winback.source"


@dataclass(frozen=True)
class Origin:
    """An input record's coordinates (Kafka topic names cannot contain ':')."""

    topic: str
    partition: int
    offset: int


def header(topic: str, partition: int, offset: int) -> tuple[str, bytes]:
    """The Kafka header naming an input record's coordinates, which ``read`` gives back as an
    ``Origin``: ingest writes one for every record it forwards."""
    return HEADER, f"{topic}:{partition}:{offset}".encode()


def check_distinct(topics: list[str], partitions: int) -> None:
    """Refuse input partitions whose ``source_id``s collide (a CRC-32 each: practically never),
    which would make one partition's offsets hide another's records as replays."""
    ids = {source_id(topic, partition) for topic in topics for partition in range(partitions)}
    if len(ids) != len(topics) * partitions:
        raise ValueError(f"input topics {topics} have partitions with the same source id: rename one of them")


def read(headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None) -> Origin | None:
    """The origin named by a record's headers, or None when it has none (or a garbled one)."""
    found = _coordinates(headers)
    source = _source(found[0]) if found is not None else None
    return None if found is None or source is None else Origin(source[0], source[1], found[1])


def position(headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None) -> Position | None:
    """The origin named by a record's headers as the engine keeps it (``streams.model.positions``),
    made without an ``Origin``: the customers handler asks it of every event it applies."""
    found = _coordinates(headers)
    source = _source(found[0]) if found is not None else None
    return None if found is None or source is None else Position(source_id(*source), found[1])


def _coordinates(headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None) -> tuple[bytes, int] | None:
    """The ``topic:partition`` bytes and the offset of the origin header (None: no header, or
    no offset after its last colon)."""
    pairs = headers if isinstance(headers, (tuple, list)) else headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == HEADER:
            where, colon, offset = value.rpartition(b":")
            return (where, int(offset)) if colon and offset.isdigit() else None
    return None


@lru_cache(maxsize=1024)
def _source(where: bytes) -> tuple[str, int] | None:
    """The topic and partition of a header's ``topic:partition`` (None: garbled).  Cached: the
    customers handler reads a header for every event, from the few input partitions there are."""
    topic, colon, partition = where.decode("utf-8", "replace").rpartition(":")
    return (topic, int(partition)) if colon and partition.isascii() and partition.isdigit() else None
