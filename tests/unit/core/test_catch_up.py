"""Catching up (policy ``catch_up``): ``latest`` enters only the stage a customer is in by now,
``all`` re-enacts every stage in turn; skipped stages and stale steps are ``caught_up`` skips."""

import pytest

from streams.core.engine import Engine
from streams.model.events import Erasure
from streams.model.records import MessageCommand, Skip, Trigger

from tests.support.builders import moment, policy, purchase, when
from tests.support.policies import SMALL


def latest() -> Engine:
    return Engine(policy(SMALL), catch_up="latest")


def kinds(records) -> list[tuple]:
    """(kind, stage, step or None, reason or None) of each record."""
    out = []
    for record in records:
        if isinstance(record, Trigger):
            out.append(("trigger", record.stage, None, None))
        elif isinstance(record, MessageCommand):
            out.append(("command", record.stage, record.step, None))
        else:
            assert isinstance(record, Skip)
            out.append(("skip", record.stage, record.step, record.reason))
    return out


def test_a_customer_idle_past_sunset_enters_only_sunset_and_the_passed_stages_are_skips():
    engine = latest()
    state = engine.apply("c1", None, purchase(0)).state
    records = engine.advance("c1", state, moment(400)).records
    assert kinds(records) == [
        ("skip", "reactivation", 0, "caught_up"),
        ("skip", "reactivation", 1, "caught_up"),
        ("skip", "winback", 0, "caught_up"),
        ("skip", "winback", 1, "caught_up"),
        ("trigger", "sunset", None, None),
    ]
    sunset = records[-1]
    assert sunset.fired_at.timestamp() == moment(40)  # when the thresholds put them there, not when we looked
    assert {record.episode for record in records} == {0}
    assert engine.next_due(state) is None


def test_the_current_stage_keeps_its_steps_still_worth_sending_and_skips_the_expired_ones():
    engine = latest()  # winback from day 15: offer on day 15 (2 days' expiry), reminder on day 19 (1 day)
    state = engine.apply("c1", None, purchase(0)).state
    records = engine.advance("c1", state, moment(19.5)).records
    assert kinds(records) == [
        ("skip", "reactivation", 0, "caught_up"),
        ("skip", "reactivation", 1, "caught_up"),
        ("trigger", "winback", None, None),
        ("skip", "winback", 0, "caught_up"),  # expired on day 17
        ("command", "winback", 1, None),  # due day 19, worth sending until day 20
    ]


def test_a_customer_caught_up_within_a_stage_gets_its_latest_step_only():
    engine = latest()  # reactivation from day 5: steps on days 5 and 8, both still worth sending on day 9
    state = engine.apply("c1", None, purchase(0)).state
    records = engine.advance("c1", state, moment(9)).records
    assert kinds(records) == [
        ("trigger", "reactivation", None, None),
        ("skip", "reactivation", 0, "caught_up"),  # superseded by step 1, not a burst of two
        ("command", "reactivation", 1, None),
    ]


def test_on_time_ticks_fire_the_same_under_latest_and_all():
    on_time = {}
    for mode in ("latest", "all"):
        engine = Engine(policy(SMALL), catch_up=mode)
        state = engine.apply("c1", None, purchase(0)).state
        on_time[mode] = [record for day in range(60) for record in engine.advance("c1", state, moment(day)).records]
    assert on_time["latest"] == on_time["all"]
    assert not any(isinstance(record, Skip) for record in on_time["all"])


def test_all_re_enacts_every_stage_at_its_own_time():
    engine = Engine(policy(SMALL), catch_up="all")
    state = engine.apply("c1", None, purchase(0)).state
    triggers = [record.stage for record in engine.advance("c1", state, moment(400)).records if isinstance(record, Trigger)]
    assert triggers == ["reactivation", "winback", "sunset"]


def test_an_event_after_a_long_silence_catches_up_before_it_is_applied():
    engine = latest()
    state = engine.apply("c1", None, purchase(0)).state
    records = engine.apply("c1", state, purchase(30)).records  # winback since day 15, reminder expired on day 20
    assert [kind for kind in kinds(records) if kind[0] != "skip"] == [("trigger", "winback", None, None)]
    assert state.stage == 0 and state.episode == 1  # the purchase ends the lapse as usual


@pytest.mark.parametrize(("setting", "default", "expected"), [
    (None, "latest", "latest"), (None, "all", "all"), ("all", "latest", "all"), ("latest", "all", "latest"),
])
def test_the_policy_setting_wins_over_the_callers_default(setting, default, expected):
    text = SMALL + (f"catch_up: {setting}\n" if setting else "")
    assert Engine(policy(text), catch_up=default).catch_up == expected


@pytest.mark.parametrize("day", [0, 4.9, 5, 14, 15, 39, 40, 400])
def test_stage_at_is_where_advancing_leaves_the_customer(day):
    for mode in ("latest", "all"):
        engine = Engine(policy(SMALL), catch_up=mode)
        state = engine.apply("c1", None, purchase(0)).state
        expected = engine.stage_at(state, moment(day))
        engine.advance("c1", state, moment(day))
        assert engine.stage_at(state, moment(day)) == expected
        assert ("active", "reactivation", "winback", "sunset")[state.stage] == expected


def test_stage_at_of_an_erased_customer_is_none():
    engine = latest()
    state = engine.apply("c1", None, purchase(0)).state
    erased = engine.apply("c1", state, Erasure(customer_id="c1", erased_at=when(1))).state
    assert engine.stage_at(erased, moment(400)) is None
