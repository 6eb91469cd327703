"""Which partition a customer's records and state live on, as every client must compute it.

The customer-keyed topics and the activity table's changelog are co-partitioned: a customer's
events, due ticks and state all sit on the partition Kafka's default partitioner gives the
customer id's bytes.  The scheduler uses it to place keys of the table, the backfill to write
states where the worker will look for them.
"""

from __future__ import annotations

from functools import lru_cache

from aiokafka.partitioner import murmur2


# murmur2 is pure Python (some µs a key) and a batch names each of its customers many times;
# the most recent 8,192 keys are remembered (about 2 MB with the keys).
@lru_cache(maxsize=8192)
def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives ``key``: where its records and state live."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions
