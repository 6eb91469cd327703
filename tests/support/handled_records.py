"""Kafka records as the customers handler reads them, without Faust: what it reads of a
``faust.types.tuples.Message`` (its topic, partition, offset, key, value and headers)."""

from __future__ import annotations

from dataclasses import dataclass, field

from faust.types import TP


@dataclass(eq=False)
class Record:
    """A record of ``topic``'s ``partition`` at ``offset``; equal only to itself, as Faust's are."""

    topic: str
    offset: int = 0
    key: bytes = b"c1"
    partition: int = 0
    value: bytes = b""
    headers: dict[str, bytes] = field(default_factory=dict)

    @property
    def tp(self) -> TP:
        return TP(self.topic, self.partition)
