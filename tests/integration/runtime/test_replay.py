"""Replaying an event log through Kafka on the event-time clock gives exactly the backtest's
triggers and commands (``winback backtest`` on the same file, up to its last event), for a
log of today's dates and for one from the 1990s."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from streams.backtest.run import run_backtest
from streams.cli import main
from streams.model.records import Record
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.settings import Settings
from streams.devtools.traffic import generate_history, write_jsonl
from tests.support.kafka_io import assert_nothing_else_published, produce, published_id, read_published

TODAY, NINETIES = datetime(2024, 1, 1, tzinfo=timezone.utc), datetime(1995, 1, 1, tzinfo=timezone.utc)
pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize(
        ("store", "start"), [("memory", TODAY), ("rocksdb", TODAY), ("memory", NINETIES)], ids=["memory", "rocksdb", "memory-1990s"]
    ),
]


async def test_event_time_replay_matches_the_backtest(app_settings: Settings, worker_factory, tmp_path: Path, start: datetime):
    settings = app_settings
    events = generate_history(150, 365, seed=33, start=start)
    log = tmp_path / "events.jsonl"
    write_jsonl(events, log)

    expected_records: list[Record] = []
    run_backtest(log.read_bytes().splitlines(), load_policy(default_policy_path()),
                 on_record=lambda _, record: expected_records.append(record))
    expected = {record.id for record in expected_records}
    report = json.loads(CliRunner().invoke(main, ["backtest", str(log), "--format", "json"]).output)
    conversions = sum(group["conversions"] for campaign in report["campaigns"].values()
                      for group in [*campaign["variants"].values(), campaign["holdout"]])
    counted = [report["triggers"], report["commands"], report["skips"]]
    assert sum(sum(counts.values()) for counts in counted) + conversions == len(expected)
    assert report["skips"]["no_consent"] > 0 and conversions > 0  # the generated profiles and returns show up

    worker_factory(WINBACK_CLOCK="event", WINBACK_CLOCK_IDLE_SECONDS="2", WINBACK_TICK_SECONDS="0.5")
    encoder = msgspec.json.Encoder()
    await produce(settings.broker, [
        (settings.input_topics[event.__struct_config__.tag], event.customer_id.encode(), encoder.encode(event))
        for event in events
    ])
    outputs = settings.output_topics
    records = await read_published(settings.broker, outputs, {record.id: record for record in expected_records}, timeout=90)
    await assert_nothing_else_published(settings.broker, outputs, expected, wait=5)  # past one more idle period
    assert {published_id(record) for record in records} == expected
    by_stage = {stage: 0 for stage in report["triggers"]}
    for record in records:
        if record.topic == settings.topic_triggers:
            by_stage[msgspec.json.decode(record.value)["stage"]] += 1
    assert by_stage == report["triggers"]
