"""The partition batched sends compute for a key is the one aiokafka's default partitioner
(Kafka's murmur2, as the Java client) gives it: keyed outputs, the stage topic and the
changelog stay where a record-by-record ``send`` put them."""

from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner

from streams.runtime.partitioning import partition_of


def test_the_partition_of_a_key_is_the_default_partitioners():
    rng = random.Random(21)
    keys = [f"customer-{n}".encode() for n in range(500)] + [rng.randbytes(rng.randint(0, 40)) for _ in range(500)]
    partitioner = DefaultPartitioner()
    for partitions in (1, 2, 3, 8, 12, 16):
        every = list(range(partitions))
        assert [partition_of(key, partitions) for key in keys] == [partitioner(key, every, every) for key in keys]
