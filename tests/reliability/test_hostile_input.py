"""10,000 hostile records interleaved with good ones on every input topic: each hostile record is
in the dead-letter topic exactly once, unchanged (same key, same bytes) with the reason its
recipe says; every good record is applied (the table equals the pure engine's over the good
records, exact and conflicting duplicates included); the worker process never restarts and no
agent crashes.

Good customers use valid Unicode edge cases as ids (emoji, ZWJ sequences, combining marks,
right-to-left override, a non-character, 128 astral characters).  Each good customer's events
are on one topic and keyed by customer, so Kafka keeps them in order and the expected states
are exact; the clock is frozen before all of them, so only events move customers.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from zlib import crc32

import msgspec
import pytest
from aiokafka import AIOKafkaProducer

from streams.runtime import dead_letters
from streams.model.events import Profile
from streams.runtime.settings import Settings
from streams.devtools.traffic import generate_history
from tests.support.expected import expected_states
from tests.support.kafka_io import read_until
from tests.support.hostile import Hostile, as_document, hostile_record
from tests.support.phases import wait_for_table

pytestmark = pytest.mark.reliability

HOSTILE = 10_000
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
UNICODE_IDS = ["😀", "👩‍👩‍👧‍👦", "e\u0301", "\u202eRTL", "日本語", "\U0010ffff", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "Ω≈ç√∫"]
Record = tuple[str, bytes | None, bytes | None]  # (input kind, key, value)


def good_records(rng: random.Random) -> tuple[list[Record], list]:
    """Valid records with their events in sending order: one topic per customer, some ids Unicode,
    some records sent twice (exactly, or with the same event id and other content)."""
    records: list[Record] = []
    events: list = []
    for event in generate_history(300, 365, seed=77, start=START):
        event = _unicode_customer(event)
        if not _on_customers_topic(event):
            continue
        kind = event.__struct_config__.tag
        raw = msgspec.json.encode(as_document(event))
        sent = [(event, raw)]
        if rng.random() < 0.05:
            sent.append((event, raw))  # an exact redelivery
        elif rng.random() < 0.03 and not isinstance(event, Profile):
            sent.append(_conflicting(event))  # a producer bug: an event id reused for other content
        for each, value in sent:
            records.append((kind, event.customer_id.encode(), value))
            events.append(each)
    return records, events


def _unicode_customer(event):
    number = int(event.customer_id.rsplit("-", 1)[1])
    if number % 3:
        return event
    prefix = UNICODE_IDS[number % len(UNICODE_IDS)]
    customer = "😀" * 128 if number == 0 else f"{prefix}-{number}"  # 0: the longest id allowed
    return msgspec.structs.replace(event, customer_id=customer)


def _on_customers_topic(event) -> bool:
    """Keep one input topic per customer: profiles for every fourth customer, one event type for the rest."""
    profile_only = crc32(event.customer_id.encode()) % 4 == 0
    if isinstance(event, Profile):
        return profile_only
    kinds = ("purchase", "login", "email")
    return not profile_only and event.__struct_config__.tag == kinds[crc32(event.customer_id.encode()) % 3]


def _conflicting(event):
    changed = msgspec.structs.replace(event, occurred_at=event.occurred_at + timedelta(hours=1))
    return changed, msgspec.json.encode(as_document(changed))


def interleave(rng: random.Random, good: list[Record]) -> list[Record | Hostile]:
    """The good records in their order with HOSTILE hostile ones spread at random among them."""
    keys = [key for _, key, _ in good if key]
    documents = [(kind, msgspec.json.decode(value)) for kind, _, value in good[:500]]
    hostile = [hostile_record(rng, *rng.choice(documents), keys) for _ in range(HOSTILE)]
    merged: list[Record | Hostile] = []
    good_left, hostile_left = list(reversed(good)), list(reversed(hostile))
    while good_left or hostile_left:
        pick_hostile = rng.random() * (len(good_left) + len(hostile_left)) < len(hostile_left)
        merged.append((hostile_left if pick_hostile else good_left).pop())
    return merged


async def send_all(settings: Settings, records: list[Record | Hostile]) -> list[tuple[str, int, int]]:
    """Send every record in order; where each landed (topic, partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, acks="all", linger_ms=20, max_request_size=2**20)
    await producer.start()
    try:
        deliveries = [
            await producer.send(settings.input_topics[record[0]], record[2], key=record[1]) for record in records
        ]
        landed = await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return [(meta.topic, meta.partition, meta.offset) for meta in landed]


async def test_hostile_records_are_dead_lettered_and_good_ones_applied(
    app_settings: Settings, worker_factory, report
):
    settings = app_settings
    rng = random.Random(8)
    good, good_events = good_records(rng)
    records = interleave(rng, good)
    worker = worker_factory(WINBACK_CLOCK=f"fixed:{START.isoformat()}")
    process = worker.process
    began = time.monotonic()
    landed = await send_all(settings, records)

    hostile = {where: record for where, record in zip(landed, records) if isinstance(record, Hostile)}
    letters = await read_until(settings.broker, [settings.topic_dead_letters], lambda got: len(got) >= HOSTILE, timeout=120)
    await wait_for_table(settings, expected_states(good_events))
    elapsed = time.monotonic() - began

    lettered = {}
    for letter in letters:
        headers = dead_letters.read_headers(list(letter.headers))
        where = (headers["topic"], int(headers["partition"]), int(headers["offset"]))
        assert where not in lettered, f"dead-lettered twice: {where}"
        lettered[where] = (letter.key, letter.value, headers["reason"], headers["detail"])
    assert set(lettered) == set(hostile), (len(set(lettered) - set(hostile)), len(set(hostile) - set(lettered)))
    for where, record in hostile.items():
        key, value, reason, detail = lettered[where]
        assert (key, value, reason) == (record.key, record.value, record.reason), (where, record, reason, detail)
        assert detail
    assert worker.process is process and worker.alive(), worker.tail()
    assert "Crashed" not in worker.log_path.read_text(errors="replace"), worker.tail()
    reasons = Counter(record.reason for record in hostile.values())
    report(
        records=len(records), hostile=len(hostile), good=len(good), good_customers=len({e.customer_id for e in good_events}),
        duplicated_ids=len(good_events) - len({(event.customer_id, event.event_id) for event in good_events}),
        dead_letters=len(letters), seconds=round(elapsed, 1), reasons=dict(sorted(reasons.items())),
    )
