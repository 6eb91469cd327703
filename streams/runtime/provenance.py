"""Where a forwarded event came from: its input record's topic, partition and offset.

The ingest agent forwards every valid input record to the internal events topic with this
header, so the customers agent can tell a replayed input record from a new one (within one
input partition, offsets only grow) and tests can account for every input offset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

HEADER = "winback.source"


@dataclass(frozen=True)
class Origin:
    """An input record's coordinates (Kafka topic names cannot contain ':')."""

    topic: str
    partition: int
    offset: int

    def header(self) -> tuple[str, bytes]:
        """The Kafka header that carries these coordinates."""
        return HEADER, f"{self.topic}:{self.partition}:{self.offset}".encode()


def read(headers: Mapping[str, bytes] | Iterable[tuple[str, bytes]] | None) -> Origin | None:
    """The origin named by a record's headers, or None when it has none (or a garbled one)."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    for name, value in pairs:
        if name == HEADER:
            topic, partition, offset = value.decode("utf-8", "replace").rsplit(":", 2)
            if partition.isdigit() and offset.isdigit():
                return Origin(topic, int(partition), int(offset))
    return None
