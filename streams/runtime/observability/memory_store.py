"""A warning when the in-memory table store holds more customers than the operator allowed for.

With ``WINBACK_STORE=memory`` the whole activity table (this worker's active partitions and
its standby copies) lives in the worker's memory, about 450 bytes per customer with a million
of them (``benchmarks/memory.py``, docs/scaling.md), with no bound: 10 million customers would
need some 4.5 GiB.  Every ``CHECK_SECONDS`` the worker counts them (the size of the store's dict, so
O(1)) into ``winback_memory_store_customers`` and logs one warning when the count rises above
``WINBACK_MEMORY_STORE_WARN_CUSTOMERS``; it warns again only after the count fell back below.
"""

from __future__ import annotations

import logging

import faust

from streams.runtime.observability import metrics

log = logging.getLogger(__name__)

CHECK_SECONDS = 5.0


class MemoryStoreWatch:
    """Counts the customers in a table's memory store and warns once above ``limit``."""

    def __init__(self, table: faust.Table, limit: int):
        self.table = table
        self.limit = limit
        self.above = False

    async def check(self) -> None:
        held = len(self.table.data)
        metrics.MEMORY_STORE_CUSTOMERS.set(held)
        if held > self.limit and not self.above:
            log.warning(
                "the memory store holds %d customers, more than WINBACK_MEMORY_STORE_WARN_CUSTOMERS=%d, "
                "and grows with every new one: use WINBACK_STORE=rocksdb (docs/scaling.md)",
                held, self.limit, extra={"customers": held, "limit": self.limit},
            )
        self.above = held > self.limit


def watch_memory_store(app: faust.App, table: faust.Table, limit: int) -> None:
    """Count ``table``'s customers and warn above ``limit`` (only for a table kept in memory)."""
    app.timer(CHECK_SECONDS, name="memory-store-size")(MemoryStoreWatch(table, limit).check)
