"""Campaign KPIs through the real worker on the real broker: a hand-computed history replayed on
the event clock gives engagement and conversion records carrying campaign, step, variant and
channel, whose KPIs equal the hand computation and the backtest's on the same log."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from streams.backtest.run import run_backtest
from streams.core.kpis import KpiTally
from streams.devtools import testing
from streams.model.records import Engagement, Erased, MessageCommand, Outcome, Record, Skip, Trigger
from streams.runtime.settings import Settings
from tests.support import kpi_history as history
from tests.support.builders import policy
from tests.support.kafka_io import produce, published_id, read_until
from tests.support.kpi_checks import check_summary

pytestmark = pytest.mark.integration


def decode(topic: str, value: bytes, settings: Settings) -> Record:
    """A published record, by its topic (the outcomes topic holds outcomes, engagements and erasures)."""
    if topic == settings.topic_outcomes:
        document = msgspec.json.decode(value)
        kind = Engagement if "engagement_id" in document else Outcome if "outcome_id" in document else Erased
        return msgspec.json.decode(value, type=kind)
    kinds: dict[str, type] = {settings.topic_triggers: Trigger, settings.topic_skips: Skip}
    return msgspec.json.decode(value, type=kinds.get(topic, MessageCommand))


async def test_the_live_kpis_equal_the_hand_computation_and_the_backtest(app_settings: Settings, worker_factory, tmp_path: Path):
    settings = app_settings
    rules = policy(history.POLICY)
    lines = testing.event_lines(history.HISTORY)
    expected: list[Record] = []
    backtest = run_backtest(lines, rules, on_record=lambda _, record: expected.append(record))
    expected_ids = {record.id for record in expected}

    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(history.POLICY)
    worker_factory(WINBACK_CLOCK="event", WINBACK_CLOCK_IDLE_SECONDS="1", WINBACK_TICK_SECONDS="0.2", WINBACK_POLICY=str(policy_file))
    await produce(settings.broker, [
        (settings.input_topics[event.__struct_config__.tag], event.customer_id.encode(), line)
        for event, line in zip(history.HISTORY, lines)
    ])
    published = await read_until(settings.broker, settings.output_topics, lambda got: {published_id(r) for r in got} >= expected_ids, timeout=60)
    records = {record.id: record for record in (decode(r.topic, r.value, settings) for r in published)}  # at least once: by id

    engaged = [record for record in records.values() if isinstance(record, Engagement)]
    assert sorted((e.customer_id, e.action) for e in engaged) == sorted([
        (history.T1, "delivered"), (history.T1, "open"), (history.T1, "click"),
        (history.T2, "delivered"), (history.T2, "open"), (history.T3, "delivered"), (history.T3, "unsubscribe"),
        (history.T4, "bounce"),
    ])
    assert {(e.campaign, e.step, e.variant, e.channel) for e in engaged} == {("reactivation", 0, "default", "email")}
    assert all(e.command_id == history.sent(e.customer_id) for e in engaged)
    converted = {record.customer_id: record for record in records.values() if isinstance(record, Outcome)}
    assert set(converted) == {history.T1, history.T2, history.H1}
    assert (converted[history.T1].step, converted[history.T1].channel, converted[history.T1].discount_code) == (0, "email", "MISS10")
    assert converted[history.H1].holdout and converted[history.H1].step is None

    tally = KpiTally(rules.economics)
    for record in records.values():
        tally.add(record)
    live = tally.summary()
    check_summary(live)
    assert live == backtest.as_dict()["kpis"]
    assert set(records) == expected_ids
