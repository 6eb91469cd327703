"""Over 10,000 hostile records interleaved with good ones on every input topic: seeded recipes,
hypothesis-drawn mutations and hand-written cases for the issue's items (tests/support/hostile.py).
Counted from the input topics' offsets, not from the worker's metrics: every input offset is
either forwarded to the events topic (its ``winback.source`` header) or dead-lettered exactly
once, never both (a profile tombstone is forwarded, as an erasure); each hostile record's dead letter has the reason its recipe says, its key and
value (cut to fit past 1 KiB / 256 KiB, with their size and SHA-256) and its original headers;
every good record is applied (the table equals the pure engine's over the good records, exact
and conflicting duplicates included); the worker process never restarts and no agent crashes.
Then the hand-written records that must be applied (issue items 3, 6 and 7) are sent in order,
and their effect is read from the table: an unsubscribe sharing a ``delivered``'s event id opts
the customer out, a tombstone erases a good customer (and an ``Erased`` outcome records it),
consent withdrawals win a tie and a future-dated profile.

Good customers use valid Unicode edge cases as ids (emoji, ZWJ sequences, combining marks,
right-to-left override, a non-character, 128 astral characters).  Each good customer's events
are on one topic and keyed by customer, so Kafka keeps them in order and the expected states
are exact; the clock is frozen before all of them, so only events move customers.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from collections import Counter, defaultdict
from dataclasses import astuple
from datetime import datetime, timedelta, timezone
from zlib import crc32

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from streams.admin.topics import changelog_topic
from streams.model.activity import CHANNEL_BITS, CustomerActivity
from streams.model.codec import REASONS
from streams.model.records import Erased
from streams.runtime import dead_letters, provenance
from streams.model.events import Profile
from streams.runtime.settings import Settings
from streams.devtools.traffic import generate_history
from tests.support.expected import expected_states
from tests.support.kafka_io import read_until
from tests.support.hostile import (
    HAND_WRITTEN, ITEM_3_CUSTOMER, ITEM_7_CUSTOMERS, Hostile, as_document, generated, hostile_record,
)
from tests.support.phases import table_of, wait_for_table

pytestmark = pytest.mark.reliability

RECIPE_RECORDS = 9_400
DRAWN = 600  # by hypothesis (about 10 ms each)
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


def interleave(rng: random.Random, good: list[Record]) -> tuple[list[Record | Hostile], list[Hostile]]:
    """The good records in their order with the hostile ones to dead-letter spread at random
    among them; and the hand-written ones to apply, in their order, to send after all those."""
    keys = [key for _, key, _ in good if key]
    documents = [(kind, msgspec.json.decode(value)) for kind, _, value in good[:500]]
    valid = {kind: document for kind, document in reversed(documents)}
    hostile = [hostile_record(rng, *rng.choice(documents), keys) for _ in range(RECIPE_RECORDS)]
    hostile += generated(documents, keys, DRAWN)
    hand_written = [record for case in HAND_WRITTEN for record in case(valid)]
    hostile += [record for record in hand_written if record.reason is not None]
    rng.shuffle(hostile)
    merged: list[Record | Hostile] = []
    good_left, hostile_left = list(reversed(good)), list(reversed(hostile))
    while good_left or hostile_left:
        pick_hostile = rng.random() * (len(good_left) + len(hostile_left)) < len(hostile_left)
        merged.append((hostile_left if pick_hostile else good_left).pop())
    return merged, [record for record in hand_written if record.reason is None]


async def send_all(settings: Settings, records: list[Record | Hostile]) -> list[tuple[str, int, int]]:
    """Send every record in order; where each landed (topic, partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.broker, acks="all", linger_ms=20, max_request_size=2**20 + 2**16)
    await producer.start()
    try:
        deliveries = [
            await producer.send(
                settings.input_topics[record[0]], record[2], key=record[1],
                headers=list(record.headers) if isinstance(record, Hostile) else None,
            )
            for record in records
        ]
        landed = await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
    return [(meta.topic, meta.partition, meta.offset) for meta in landed]


async def every_input_offset(settings: Settings) -> set[tuple[str, int, int]]:
    """Every (topic, partition, offset) the input topics hold, from their first to their end offsets."""
    consumer = AIOKafkaConsumer(*settings.input_topics.values(), bootstrap_servers=settings.broker)
    await consumer.start()  # (with no group, it fetches its topics' metadata and takes every partition)
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in settings.input_topics.values()
            for partition in consumer.partitions_for_topic(topic) or ()
        ]
        first, end = await consumer.beginning_offsets(partitions), await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition, offset) for tp in partitions for offset in range(first[tp], end[tp])}


def expected_letter(record: Hostile) -> tuple[bytes | None, bytes | None, dict[str, str]]:
    """The key and value a hostile record's dead letter carries, and the size headers of what was cut."""
    said = {}
    for part, data, limit in (("key", record.key, dead_letters.MAX_KEY_BYTES), ("value", record.value, dead_letters.MAX_VALUE_BYTES)):
        if data is not None and len(data) > limit:
            said |= {f"{part}_bytes": str(len(data)), f"{part}_sha256": hashlib.sha256(data).hexdigest()}
    key = record.key[: dead_letters.MAX_KEY_BYTES] if record.key is not None else None
    value = record.value[: dead_letters.MAX_VALUE_BYTES] if record.value is not None else None
    return key, value, said


async def test_hostile_records_are_dead_lettered_and_good_ones_applied(
    app_settings: Settings, worker_factory, report
):
    settings = app_settings
    rng = random.Random(8)
    good, good_events = good_records(rng)
    records, applied = interleave(rng, good)
    worker = worker_factory(WINBACK_CLOCK=f"fixed:{START.isoformat()}")
    process = worker.process
    began = time.monotonic()
    landed = await send_all(settings, records)

    hostile = {where: record for where, record in zip(landed, records) if isinstance(record, Hostile)}
    good_at = {where for where, record in zip(landed, records) if not isinstance(record, Hostile)}
    letters = await read_until(settings.broker, [settings.topic_dead_letters], lambda got: len(got) >= len(hostile), timeout=400)
    await wait_for_table(settings, expected_states(good_events))
    applied_at = await send_all(settings, applied)
    landed += applied_at
    good_at |= set(applied_at)
    await the_applied_cases_took_effect(settings, applied)
    forwarded = await read_until(
        settings.broker, [settings.topic_events],
        lambda got: len({provenance.read(list(record.headers)) for record in got}) >= len(good_at), timeout=60,
    )
    elapsed = time.monotonic() - began

    # Count from the input topics' offsets: each is forwarded or dead-lettered, never both.
    inputs = await every_input_offset(settings)
    assert inputs == set(landed)
    origins = Counter(astuple(provenance.read(list(record.headers))) for record in forwarded)
    lettered: dict[tuple[str, int, int], list] = defaultdict(list)
    for letter in letters:
        headers = dead_letters.read_headers(list(letter.headers))
        lettered[(headers["topic"], int(headers["partition"]), int(headers["offset"]))].append((letter, headers))
    assert not set(origins) & set(lettered), sorted(set(origins) & set(lettered))[:5]
    assert set(origins) | set(lettered) == inputs, sorted(inputs - set(origins) - set(lettered))[:5]
    assert set(origins) == good_at and set(lettered) == set(hostile)
    twice = [where for where, copies in lettered.items() if len(copies) > 1]
    assert not twice, f"dead-lettered more than once: {twice[:5]}"

    for where, record in hostile.items():
        [(letter, headers)] = lettered[where]
        key, value, cut = expected_letter(record)
        assert (letter.key, letter.value, headers["reason"]) == (key, value, record.reason), (where, record.case, headers)
        assert headers["reason"] in REASONS and headers["detail"]
        assert cut.items() <= headers.items(), (record.case, headers)
        assert [pair for pair in letter.headers if not pair[0].startswith(dead_letters.HEADER_PREFIX)] == list(record.headers)
    assert worker.process is process and worker.alive(), worker.tail()
    assert "Crashed" not in worker.log_path.read_text(errors="replace"), worker.tail()
    reasons = Counter(record.reason for record in hostile.values())
    report(
        records=len(records) + len(applied), hostile=len(hostile), applied=len(applied), good=len(good), good_customers=len({e.customer_id for e in good_events}),
        duplicated_ids=len(good_events) - len({(event.customer_id, event.event_id) for event in good_events}),
        forwarded_twice=sum(count > 1 for count in origins.values()), dead_letters=len(letters),
        seconds=round(elapsed, 1), reasons=dict(sorted(reasons.items())),
        cases=dict(Counter(record.case.split(":")[0] for record in hostile.values()).most_common()),
    )


async def the_applied_cases_took_effect(settings: Settings, applied: list[Hostile]) -> None:
    """Issue #18, items 3, 6 and 7, read from the table and the outcomes topic: the unsubscribe
    that shares an event id with a ``delivered`` opted the customer out; the tombstone left
    only the erased marker of its customer and an ``Erased`` outcome; both consent
    withdrawals took email consent away."""
    [erased] = [record.key.decode() for record in applied if record.value is None]
    email = CHANNEL_BITS["email"]

    def took_effect(table: dict[str, CustomerActivity]) -> bool:
        return (
            all(key in table for key in (ITEM_3_CUSTOMER, *ITEM_7_CUSTOMERS, erased))
            and table[ITEM_3_CUSTOMER].unsubscribed & email != 0
            and all(table[key].consent == CHANNEL_BITS["sms"] for key in ITEM_7_CUSTOMERS)
            and table[erased].is_erased()
        )

    await read_until(settings.broker, [changelog_topic(settings)], lambda got: took_effect(table_of(got)), timeout=60)
    outcomes = await read_until(
        settings.broker, [settings.topic_outcomes], lambda got: any(b'"erasure_id"' in record.value for record in got),
    )
    erasures = [msgspec.json.decode(record.value, type=Erased) for record in outcomes if b'"erasure_id"' in record.value]
    assert [erasure.customer_id for erasure in erasures] == [erased]
