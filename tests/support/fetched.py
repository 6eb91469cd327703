"""A record as the Kafka client fetched it, for tests that hand fetches to the consumer."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord
from faust.types import TP


def fetched_record(tp: TP, offset: int) -> ConsumerRecord:
    """A record of ``tp`` at ``offset`` (key ``k``, value ``v``, no headers)."""
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, b"k", b"v", None, 1, 1, [])
