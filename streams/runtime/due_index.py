"""Which customers are due, without looking at everyone: the scheduler's index.

Inactivity is the absence of events, so something must wake up when a customer's next
transition (a stage threshold or a series step) comes due.  Scanning the whole table every
tick costs O(customers); instead each worker keeps, per active partition, a min-heap of
(due time, customer) plus the current due time of each customer.  A change costs O(log N)
(a push; the superseded entry stays in the heap and is skipped when popped), a tick costs
O(due).  The heap is compacted when stale entries outnumber live ones, so memory stays O(N).
"""

from __future__ import annotations

import heapq
from typing import Callable, Iterable


class DueIndex:
    """Next due time of each customer of one partition."""

    def __init__(self, entries: Iterable[tuple[str, float]] = ()):
        self._due: dict[str, float] = dict(entries)
        self._heap: list[tuple[float, str]] = [(due, customer) for customer, due in self._due.items()]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._due)

    def set(self, customer_id: str, due: float | None) -> None:
        """Record when ``customer_id`` is next due (None: nothing scheduled)."""
        if due is None:
            self._due.pop(customer_id, None)
            return
        if self._due.get(customer_id) == due:
            return
        self._due[customer_id] = due
        heapq.heappush(self._heap, (due, customer_id))
        if len(self._heap) > 2 * len(self._due) + 1024:
            self._compact()

    def pop_due(self, now: float, limit: int | None = None) -> list[tuple[str, float]]:
        """Remove and return (customer, due) for every customer due at or before ``now``, earliest first."""
        popped: list[tuple[str, float]] = []
        heap, current = self._heap, self._due
        while heap and heap[0][0] <= now and (limit is None or len(popped) < limit):
            due, customer_id = heapq.heappop(heap)
            if current.get(customer_id) == due:
                del current[customer_id]
                popped.append((customer_id, due))
        return popped

    def next_due(self) -> float | None:
        """The earliest live due time (drops stale heap heads on the way)."""
        heap, current = self._heap, self._due
        while heap and current.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def _compact(self) -> None:
        self._heap = [(due, customer) for customer, due in self._due.items()]
        heapq.heapify(self._heap)


class PartitionedDueIndex:
    """One ``DueIndex`` per active partition, so a revoked partition is dropped in O(1)."""

    def __init__(self) -> None:
        self._partitions: dict[int, DueIndex] = {}

    def __len__(self) -> int:
        return sum(len(index) for index in self._partitions.values())

    @property
    def partitions(self) -> set[int]:
        return set(self._partitions)

    def set(self, partition: int, customer_id: str, due: float | None) -> None:
        index = self._partitions.get(partition)
        if index is None:  # not ``setdefault(partition, DueIndex())``, which builds an index every call
            index = self._partitions[partition] = DueIndex()
        index.set(customer_id, due)

    def load(self, partition: int, entries: Iterable[tuple[str, float]]) -> None:
        """Replace a partition's index, e.g. after it was assigned and its table recovered."""
        self._partitions[partition] = DueIndex(entries)

    def drop(self, partition: int) -> None:
        self._partitions.pop(partition, None)

    def pop_due(self, now: Callable[[int], float], limit: int | None = None) -> list[tuple[int, str, float]]:
        """(partition, customer, due) for everything due at or before ``now(partition)``."""
        popped: list[tuple[int, str, float]] = []
        for partition, index in self._partitions.items():
            remaining = None if limit is None else limit - len(popped)
            if remaining == 0:
                break
            popped.extend((partition, customer, due) for customer, due in index.pop_due(now(partition), remaining))
        return popped
