"""Foundation end to end: events produced with aiokafka land in the activity table, bad records
in the dead-letter topic with their reason, and the worker keeps running."""

from __future__ import annotations

import urllib.request
from collections import defaultdict

import msgspec
import pytest

from streams.runtime import dead_letters
from streams.model.activity import CustomerActivity
from streams.model.events import Profile
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic
from streams.devtools.traffic import generate_history
from tests.support.expected import expected_states
from tests.support.kafka_io import latest_by_key, produce, read_until

pytestmark = pytest.mark.integration

GOOD = b'{"event_id":"ok-1","customer_id":"cust-x","occurred_at":"2024-02-01T10:00:00+01:00"}'
BAD_RECORDS = [  # (event type, raw bytes, expected reason)
    ("purchase", b"{not json", "malformed_json"),
    ("purchase", b'{"event_id":"b1","customer_id":"c","occurred_at":"2024-01-01T00:00:00Z","order_id":"o",'
     b'"amount":-3,"currency":"EUR"}', "invalid_value"),
    ("login", GOOD.replace(b"+01:00", b""), "invalid_value"),
    ("login", GOOD.replace(b'"customer_id":"cust-x",', b""), "missing_field"),
    ("email", GOOD[:-1] + b',"action":"forwarded"}', "invalid_value"),
    ("login", GOOD.replace(b"2024", b"2999"), "future_timestamp"),
    ("login", b'{"type":"purchase",' + GOOD[1:], "type_mismatch"),
    ("purchase", b"\x00\xff\xfe", "malformed_json"),
    ("profile", b'{"customer_id":"c","updated_at":"2024-01-01T00:00:00Z","time_zone":"Mars/Base"}', "invalid_value"),
]


def facts(state: CustomerActivity) -> tuple:
    """The parts of the state that do not depend on the order topics are consumed in."""
    return (state.purchase_count, state.last_purchase, state.last_login, state.last_click, state.last_open,
            state.unsubscribed, state.bounced, state.profile_at, state.consent, state.reachable, state.time_zone)


def profile_key(event) -> bytes | None:
    """Events go unkeyed (the worker repartitions them); profiles keyed, their topic is compacted."""
    return event.customer_id.encode() if isinstance(event, Profile) else None


async def test_events_reach_the_table_and_bad_records_the_dead_letters(app_settings: Settings, worker_factory):
    settings = app_settings
    events = generate_history(25, 90, seed=9)
    worker = worker_factory()
    encoder = msgspec.json.Encoder()
    await produce(
        settings.broker,
        [(settings.input_topics[type(event).__struct_config__.tag], profile_key(event), encoder.encode(event)) for event in events]
        + [(settings.input_topics[kind], b"k", raw) for kind, raw, _ in BAD_RECORDS],
    )

    expected = expected_states(events)
    changelog = changelog_topic(settings)

    def table_complete(records) -> bool:
        latest = latest_by_key(records)
        return all(
            key in latest and facts(CustomerActivity.decode(latest[key])) == facts(state)
            for key, state in expected.items()
        )

    table = latest_by_key(await read_until(settings.broker, [changelog], table_complete))
    assert set(table) == set(expected)
    for customer_id, state in expected.items():
        stored = CustomerActivity.decode(table[customer_id])
        assert facts(stored) == facts(state)
        assert stored.total_spend == pytest.approx(state.total_spend)

    letters = await read_until(
        settings.broker, [settings.topic_dead_letters], lambda records: len(records) >= len(BAD_RECORDS)
    )
    by_value = defaultdict(list)
    for record in letters:
        by_value[record.value].append(dead_letters.read_headers(list(record.headers)))
    for kind, raw, reason in BAD_RECORDS:
        (headers,) = by_value[raw]  # original bytes, exactly once
        assert headers["reason"] == reason, headers
        assert headers["topic"] == settings.input_topics[kind]
        assert int(headers["offset"]) >= 0 and headers["detail"]
    assert all(record.key == b"k" for record in letters)

    assert worker.alive(), worker.tail()
    metrics_text = urllib.request.urlopen(f"http://127.0.0.1:{worker.env['WINBACK_WEB_PORT']}/metrics").read().decode()
    assert 'winback_dead_letters_total{reason="malformed_json",type="purchase"} 2.0' in metrics_text
    assert f'winback_events_consumed_total{{type="purchase"}} {sum(1 for e in events if e.__struct_config__.tag == "purchase") + 3}.0' in metrics_text
