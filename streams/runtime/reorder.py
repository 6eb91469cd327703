"""Holding events until event time has passed them, then releasing them in time order.

With the event clock the customer agent must apply each customer's events in event-time order,
exactly as the backtest does, but events of one customer arrive on several topics and are
interleaved in arrival order.  So in that mode events wait here, per partition, until the
partition's watermark says nothing older can still arrive; they are then released ordered by
(time, event id), the backtest's order.  The agent acknowledges an event only after it is
applied, so held events are never committed, and a crash re-delivers them.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any, Callable, Generic, TypeVar

Item = TypeVar("Item")


class ReorderBuffer(Generic[Item]):
    """Per-partition min-heaps of held items keyed by (event time, event id)."""

    def __init__(self) -> None:
        self._held: dict[int, list[tuple[float, str, int, Any]]] = {}
        self._arrival = itertools.count()  # keeps heap entries comparable when time and id tie

    def __len__(self) -> int:
        return sum(len(heap) for heap in self._held.values())

    def hold(self, partition: int, at: float, event_id: str, item: Item) -> None:
        heapq.heappush(self._held.setdefault(partition, []), (at, event_id, next(self._arrival), item))

    def release(self, partition: int, upto: float) -> list[Item]:
        """Every held item of ``partition`` at or before ``upto``, in (time, event id) order."""
        heap = self._held.get(partition)
        released: list[Item] = []
        while heap and heap[0][0] <= upto:
            released.append(heapq.heappop(heap)[3])
        return released

    def releasable(self, now: Callable[[int], float]) -> list[int]:
        """The partitions holding an item at or before their ``now(partition)``."""
        return [partition for partition, heap in self._held.items() if heap and heap[0][0] <= now(partition)]

    def forget(self) -> None:
        """Forget every held event (after a rebalance each is delivered again)."""
        self._held.clear()
