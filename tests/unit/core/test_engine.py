"""The engine: stage entries and series steps at exact times, episodes, cancellation, idempotency."""

from datetime import timezone

import pytest

from streams.model.records import MessageCommand, Offer, Trigger, command_id, trigger_id
from streams.core.engine import Engine

from tests.support.builders import DAY, email, login, moment, policy, purchase, when
from tests.support.engine_runs import run_until
from tests.support.policies import SMALL


@pytest.fixture
def engine() -> Engine:
    return Engine(policy(SMALL))


def summary(records) -> list[tuple]:
    """(kind, stage, step, episode, day) of each record."""
    out = []
    for record in records:
        if isinstance(record, Trigger):
            out.append(("trigger", record.stage, None, record.episode, (record.fired_at.timestamp() - moment(0)) / DAY))
        else:
            out.append((record.channel, record.stage, record.step, record.episode, (record.due_at.timestamp() - moment(0)) / DAY))
    return out


def test_the_whole_ladder_fires_each_entry_and_step_at_its_exact_time(engine):
    state, records = run_until(engine, [purchase(0)], until_day=1000)
    assert summary(records) == [
        ("trigger", "reactivation", None, 0, 5),
        ("email", "reactivation", 0, 0, 5),
        ("push", "reactivation", 1, 0, 8),
        ("trigger", "winback", None, 0, 15),
        ("email", "winback", 0, 0, 15),
        ("sms", "winback", 1, 0, 19),
        ("trigger", "sunset", None, 0, 40),
    ]
    assert engine.next_due(state) is None


def test_one_late_advance_fires_everything_in_order_at_its_own_time(engine):
    state = engine.apply("c1", None, purchase(0)).state
    stepwise = []
    for day in range(0, 60):
        stepwise.extend(engine.advance("c1", state, moment(day)).records)
    at_once = engine.advance("c1", engine.apply("c1", None, purchase(0)).state, moment(59)).records
    assert stepwise == list(at_once)


def test_records_are_complete_and_deterministic(engine):
    _, records = run_until(engine, [purchase(0, amount=30, categories=("bags", "shoes")), login(2)], until_day=17)
    trigger, first = records[0], records[1]
    assert trigger == Trigger(
        trigger_id=trigger_id("c1", "reactivation", 0),
        customer_id="c1",
        stage="reactivation",
        campaign="reactivation",
        episode=0,
        fired_at=when(7),
        last_activity_at=when(2),
        days_inactive=5,
    )
    assert first.command_id == command_id("c1", "reactivation", 0, 0)
    assert (first.template, first.offer, first.due_at, first.send_after) == ("miss-you", None, when(7), when(7))
    assert first.expires_at == when(10)  # default expiry: 3 days
    assert first.due_at.tzinfo == timezone.utc
    personal = first.personalisation
    assert (personal.days_inactive, personal.purchase_count, personal.total_spend) == (5, 1, 30.0)
    assert (personal.last_purchase_at, personal.last_purchase_category) == (when(0), "bags")
    assert personal.top_categories == ["bags", "shoes"]
    offer = [record for record in records if isinstance(record, MessageCommand) and record.stage == "winback"][0]
    assert offer.offer == Offer(percent_off=20)
    assert offer.expires_at == when(17 + 2)  # the campaign's expiry
    assert run_until(engine, [purchase(0, amount=30, categories=("bags", "shoes")), login(2)], until_day=17)[1] == records


def test_activity_exits_the_series_and_starts_a_new_episode(engine):
    state, records = run_until(engine, [purchase(0), login(6)], until_day=6)
    assert summary(records) == [("trigger", "reactivation", None, 0, 5), ("email", "reactivation", 0, 0, 5)]
    assert (state.stage, state.episode, state.stage_entered_at) == (0, 1, moment(6))
    assert engine.next_due(state) == moment(11)  # the push of day 8 is cancelled
    _, later = run_until(engine, [purchase(0), login(6)], until_day=12)
    assert summary(later)[2:] == [("trigger", "reactivation", None, 1, 11), ("email", "reactivation", 0, 1, 11)]
    assert later[3].command_id == command_id("c1", "reactivation", 0, 1) != later[1].command_id


def test_non_activity_neither_delays_nor_ends_a_lapse(engine):
    _, records = run_until(engine, [purchase(0), email(3, "delivered"), email(6, "open"), email(7, "delivered")], until_day=9)
    assert summary(records) == [
        ("trigger", "reactivation", None, 0, 5),
        ("email", "reactivation", 0, 0, 5),
        ("push", "reactivation", 1, 0, 8),
    ]


def test_an_event_at_the_exact_due_time_wins(engine):
    state, records = run_until(engine, [purchase(0), login(5)], until_day=5)
    assert records == [] and state.stage == 0
    result = engine.advance("c1", engine.apply("c1", None, purchase(0)).state, moment(5))
    assert summary(result.records) == [("trigger", "reactivation", None, 0, 5), ("email", "reactivation", 0, 0, 5)]


def test_a_stage_entry_cancels_a_step_due_at_the_same_moment():
    tied = policy(
        "stages: {reactivation: 5, winback: 8}\ncampaigns:\n  reactivation:\n    steps:\n"
        "      - {after_days: 0, channel: email, template: a}\n"
        "  winback:\n    steps:\n      - {after_days: 0, channel: email, template: b}\n"
    )
    engine = Engine(tied)
    _, records = run_until(engine, [purchase(0)], until_day=20)
    assert [record.stage for record in records] == ["reactivation", "reactivation", "winback", "winback"]


def test_a_duplicate_changes_nothing(engine):
    state = engine.apply("c1", None, purchase(0)).state
    before = state.encode()
    result = engine.apply("c1", state, purchase(0))
    assert result.duplicate and result.records == () and result.state.encode() == before
    late_duplicate = engine.apply("c1", state, purchase(0))  # even after the clock moved on
    assert late_duplicate.duplicate


def test_a_late_event_from_before_the_lapse_does_not_undo_it(engine):
    state, records = run_until(engine, [purchase(0)], until_day=6)
    result = engine.apply("c1", state, login(4))  # arrives after reactivation fired at day 5
    assert result.records == () and result.state.stage == 1 and result.state.episode == 0
    assert engine.next_due(result.state) == moment(8)  # the series goes on
    assert result.state.last_login == moment(4)


def test_next_due_tracks_stage_entries_and_steps(engine):
    state = engine.apply("c1", None, email(0, "delivered")).state
    assert engine.next_due(state) is None  # never active: nothing to win back
    state = engine.apply("c1", state, purchase(1)).state
    assert engine.next_due(state) == moment(6)
    engine.advance("c1", state, moment(6))
    assert engine.next_due(state) == moment(9)
    engine.advance("c1", state, moment(9))
    assert engine.next_due(state) == moment(16)


def test_advance_before_anything_is_due_does_nothing(engine):
    state = engine.apply("c1", None, purchase(0)).state
    assert engine.advance("c1", state, moment(4.99)).records == ()
    assert engine.advance("c1", state, moment(0) - DAY).records == ()


def test_a_stage_left_out_is_skipped_and_steps_can_override_the_expiry(engine):
    skipping = Engine(policy("stages: {reactivation: 5, sunset: 20}"))
    _, records = run_until(skipping, [purchase(0)], until_day=100)
    assert summary(records) == [("trigger", "reactivation", None, 0, 5), ("trigger", "sunset", None, 0, 20)]
    _, records = run_until(engine, [purchase(0)], until_day=19)
    sms = records[-1]
    assert (sms.channel, sms.expires_at) == ("sms", when(20))  # the step's own 1-day expiry


def test_a_policy_at_its_longest_days_writes_every_date_it_fires():
    """About a hundred years (``MAX_DAYS``) for thresholds, a step and expiries: every time the
    engine adds them up stays a date it can write (5,000,000 days crashed it past the year 9999)."""
    longest = Engine(policy(
        "stages: {reactivation: 36000, winback: {min_days: 36100, cadence_multiplier: 36525}}\n"
        "campaigns:\n  reactivation:\n    steps: [{after_days: 0, channel: email, template: a, expires_after_days: 36525}]\n"
        "  winback:\n    steps: [{after_days: 36525, channel: email, template: b, expires_after_days: 36525}]\n"
    ))
    _, records = run_until(longest, [purchase(0), purchase(200), purchase(400)], until_day=400 + 3 * 36525)
    assert summary(records) == [
        ("trigger", "reactivation", None, 0, 400 + 36000),
        ("email", "reactivation", 0, 0, 400 + 36000),
        ("trigger", "winback", None, 0, 400 + 36525),  # its cadence (200 days) x 36,525 capped at MAX_DAYS
        ("email", "winback", 0, 0, 400 + 2 * 36525),
    ]
    assert records[-1].expires_at == when(400 + 3 * 36525)
