"""Campaign KPIs through the real worker on the real broker: a hand-computed history replayed on
the event clock gives engagement and conversion records carrying campaign, step, variant and
channel, whose KPIs equal the hand computation and the backtest's on the same log."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from streams.core.kpis import KpiTally
from streams.model.records import Engagement, Erased, MessageCommand, Outcome, Record, Skip, Trigger
from streams.runtime.settings import Settings
from tests.support import kpi_history as history
from tests.support.builders import policy
from tests.support.kpi_checks import check_summary
from tests.support.kpi_run import backtest_history, publish_history, start_worker

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
    replay = backtest_history(tmp_path)
    start_worker(worker_factory, replay)
    published = await publish_history(settings, replay)
    records = {record.id: record for record in (decode(r.topic, r.value, settings) for r in published)}  # at least once: by id

    engaged = [record for record in records.values() if isinstance(record, Engagement)]
    assert sorted((e.customer_id, e.action, e.reason) for e in engaged) == sorted([
        (history.T1, "delivered", None), (history.T1, "open", None), (history.T1, "click", None),
        (history.T2, "delivered", None), (history.T2, "open", None), (history.T3, "delivered", None), (history.T3, "unsubscribe", None),
        (history.T3, "feedback", "too_many_messages"),  # its first answer only, and never its comment
        (history.T4, "bounce", None),
    ])
    assert not any(b"stop it" in r.value for r in published)
    commands = [record for record in records.values() if isinstance(record, MessageCommand)]
    assert {c.survey_link for c in commands} == {f"https://shop.example/why?m={c.command_id}&v=default" for c in commands}
    assert {(e.campaign, e.step, e.variant, e.channel) for e in engaged} == {("reactivation", 0, "default", "email")}
    assert all(e.command_id == history.sent(e.customer_id) for e in engaged)
    converted = {record.customer_id: record for record in records.values() if isinstance(record, Outcome)}
    assert set(converted) == {history.T1, history.T2, history.H1}
    assert (converted[history.T1].step, converted[history.T1].channel, converted[history.T1].discount_code) == (0, "email", "MISS10")
    assert converted[history.H1].holdout and converted[history.H1].step is None

    tally = KpiTally(policy(history.POLICY).economics)
    for record in records.values():
        tally.add(record)
    live = tally.summary()
    check_summary(live)
    assert live == replay.backtest.as_dict()["kpis"]
    assert set(records) == replay.expected_ids
