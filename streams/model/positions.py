"""Where an applied event came from in Kafka, so that a replay after a crash applies nothing twice.

A worker handles input at least once: after a crash it reads again what it had not committed,
however much that is (a backlog of one customer's history, say).  A window of recent event ids
cannot tell all of that from new input, but Kafka can: within one input partition offsets only
grow, ingest forwards a partition's records in offset order, and one customer's records all go
to one partition of the events topic.  So a customer's records from one input partition arrive
in offset order (a replay repeats offsets already seen), and per input partition a customer's
state keeps one offset below which everything of theirs is applied.  That is exact for a replay
of any prefix and bounded by the number of input partitions.

With the ``event`` clock records are applied in event-time order, not in arrival order, so an
offset may be applied while an earlier one of the same customer still waits for the watermark.
The runtime then says which (``waiting_from``): the applied offset stays below it, and offsets
applied ahead of it are kept one by one until it is applied too.  A backtest has no offsets.
"""

from __future__ import annotations

from functools import lru_cache
from zlib import crc32

import msgspec


class Position(msgspec.Struct, frozen=True):
    """An input record's place: its input partition (``source_id``) and offset.

    ``waiting_from``: the smallest offset of the same customer's records from that partition
    that arrived but are not applied yet (only the event clock holds records back), or None.
    """

    source: int
    offset: int
    waiting_from: int | None = None


@lru_cache(maxsize=4096)
def source_id(topic: str, partition: int) -> int:
    """A small stable number for an input partition (a CRC-32 of its name; the runtime checks
    that the partitions it reads have distinct ones).  Cached: every record asks it of the few
    partitions a worker reads."""
    return crc32(f"{topic}:{partition}".encode())
