"""Acknowledging a partition's records in offset order while some of them are held (event clock).

Faust commits a partition up to the end of the first run of consecutive acknowledged offsets,
and declines only when the smallest acknowledged offset is *more than one* past the committed
one (``Consumer._new_offset``): one unacknowledged record at the committed offset is passed
over when the next one is acknowledged.  With the event clock, events wait unacknowledged in
the reorder buffer while later records of their partition (watermark markers above all) are
handled at once, so acknowledging those right away would let a commit pass a held event, and
a crash would lose it.  In that mode the customers agent therefore acknowledges a record only
once no earlier record of its partition is still held.  A partition is whatever names one:
``streams.runtime.held_events`` names a record's by its ``TP``, of the events topic or, when
keyed input is read directly, of an input topic.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Generic, Hashable, TypeVar

Item = TypeVar("Item")


class OrderedAcks(Generic[Item]):
    """Per partition: the offsets still held, and handled records waiting for an earlier one."""

    def __init__(self) -> None:
        self._held: dict[Hashable, set[int]] = {}
        self._lowest_held: dict[Hashable, list[int]] = {}  # min-heap over _held, entries removed lazily
        self._waiting: dict[Hashable, list[tuple[int, int, Any]]] = {}  # (offset, tie, item) min-heaps
        self._tie = itertools.count()

    def hold(self, partition: Hashable, offset: int) -> None:
        """The record at ``offset`` is held: nothing after it may be acknowledged yet."""
        self._held.setdefault(partition, set()).add(offset)
        heapq.heappush(self._lowest_held.setdefault(partition, []), offset)

    def done(self, partition: Hashable, offset: int, item: Item) -> list[Item]:
        """``item``, the record at ``offset``, is handled: every item that may be acknowledged
        now, in offset order (possibly none, possibly earlier ones that waited for it)."""
        self._held.get(partition, set()).discard(offset)
        waiting = self._waiting.setdefault(partition, [])
        heapq.heappush(waiting, (offset, next(self._tie), item))
        first_held = self._first_held(partition)
        ready: list[Item] = []
        while waiting and (first_held is None or waiting[0][0] < first_held):
            ready.append(heapq.heappop(waiting)[2])
        return ready

    def _first_held(self, partition: Hashable) -> int | None:
        held, heap = self._held.get(partition, set()), self._lowest_held.get(partition, [])
        while heap and heap[0] not in held:
            heapq.heappop(heap)
        return heap[0] if heap else None

    def forget(self) -> None:
        """Forget every held and waiting record (after a rebalance each is delivered again)."""
        for table in (self._held, self._lowest_held, self._waiting):
            table.clear()
