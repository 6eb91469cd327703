"""Send-time optimisation: the habitual hour and weekday from known histories, in the customer's
time zone, the fallback, the A/B override, and quiet hours and caps still winning."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from streams.core.controls.send_time import HABIT_CEILING, habitual_hour, habitual_weekday
from streams.core.engine import Engine
from streams.model.activity import CustomerActivity
from streams.model.records import MessageCommand, Skip
from streams.policy.messages import PolicyError

from tests.support.builders import email, login, moment, policy, profile, purchase, replay

UTC = timezone.utc
CAMPAIGN = """
stages: {reactivation: 10}
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: a}
"""


def engine(settings: str = "send_time: habitual", campaign: str = CAMPAIGN) -> Engine:
    return Engine(policy(settings + campaign))


def hour_of(day_fraction: float) -> float:
    """A day offset whose UTC time is ``day_fraction`` days after midnight (T0 is noon)."""
    return day_fraction - 0.5


def run(engine: Engine, events: list, until_day: float = 30) -> tuple[CustomerActivity, list]:
    return replay(engine, events, until_day)


def sent(records: list) -> list[MessageCommand]:
    return [record for record in records if isinstance(record, MessageCommand)]


def logins_at(utc_hour: float, days: range) -> list:
    return [login(day + hour_of(utc_hour / 24)) for day in days]


def habit_then_noon(utc_hour: float) -> list:
    """Four logins at ``utc_hour`` on days 0-3, the last one at noon on day 4 (steps fall due at noon)."""
    return [*logins_at(utc_hour, range(4)), login(4)]


def test_the_habitual_hour_is_the_peak_smoothed_over_neighbouring_hours():
    hours = [0] * 24
    hours[9], hours[19], hours[20] = 3, 3, 2  # as many at 09:00 as at 19:00, but the evening habit is broader
    assert habitual_hour(hours, min_observations=5) == 19
    assert habitual_hour([1 if hour in (8, 16) else 0 for hour in range(24)], min_observations=2) == 8  # tie: earlier
    assert habitual_hour(hours, min_observations=9) is None  # 8 observations are not enough
    wrapping = [0] * 24
    wrapping[23], wrapping[0] = 3, 3  # around midnight: both neighbours count
    assert habitual_hour(wrapping, 1) == 0


def test_the_habitual_weekday_is_the_most_frequent_one():
    assert habitual_weekday([1, 0, 0, 0, 4, 0, 2], min_observations=5) == 4
    assert habitual_weekday([1, 0, 0, 0, 1, 0, 0], min_observations=5) is None


def test_a_step_waits_for_the_customers_habitual_hour_with_a_deferral_record():
    state, records = run(engine(), habit_then_noon(19.5))
    assert state.hours[19] == 4 and state.hours[12] == 1
    [command] = sent(records)
    assert command.due_at == datetime(2024, 1, 15, 12, tzinfo=UTC)  # 10 days after the last login, at noon
    assert command.send_after == datetime(2024, 1, 15, 19, tzinfo=UTC)
    [skip] = [record for record in records if isinstance(record, Skip)]
    assert (skip.reason, skip.action, skip.deferred_to) == ("send_time", "deferred", command.send_after)


def test_a_step_due_within_the_habitual_hour_goes_out_as_planned():
    [command] = sent(run(engine(), logins_at(19.5, range(5)))[1])
    assert command.send_after == command.due_at == datetime(2024, 1, 15, 19, 30, tzinfo=UTC)


def test_fixed_mode_sends_as_planned_and_counts_no_habits():
    state, records = run(engine("send_time: fixed"), logins_at(19.5, range(5)))
    [command] = sent(records)
    assert command.send_after == command.due_at
    assert state.hours == []


def test_hours_are_counted_in_the_customers_own_time_zone():
    tokyo = profile(-1, time_zone="Asia/Tokyo", reachable=["email"], consent=["email"])
    state, records = run(engine(), [tokyo, *logins_at(10.25, range(5))])  # 10:15 UTC is 19:15 in Tokyo
    assert state.hours[19] == 5
    [command] = sent(records)
    assert command.send_after.astimezone(ZoneInfo("Asia/Tokyo")).hour == 19


def test_without_enough_history_the_fallback_hour_or_the_planned_time():
    few = logins_at(19.5, range(2))
    [planned] = sent(run(engine("send_time: {mode: habitual, min_observations: 3}"), few)[1])
    assert planned.send_after == planned.due_at
    [fallback] = sent(run(engine("send_time: {mode: habitual, min_observations: 3, fallback_hour: 10}"), few)[1])
    assert fallback.send_after == datetime(2024, 1, 13, 10, tzinfo=UTC)  # due 12 Jan 19:30: the next 10:00


def test_quiet_hours_still_win_over_the_habit():
    quiet = 'send_time: habitual\nquiet_hours: {start: "21:00", end: "08:00"}\n'
    [command] = sent(run(engine(quiet), logins_at(22.5, range(5)))[1])  # a night owl
    assert command.send_after == datetime(2024, 1, 16, 8, tzinfo=UTC)  # 22:00 is quiet: its end


def test_caps_still_apply_after_the_habit():
    two_steps = CAMPAIGN + "      - {after_days: 0.1, channel: email, template: b}\n"
    capped = "send_time: habitual\ncaps: {limits: [{messages: 1, per_days: 1}]}\n"
    a, b = sent(run(engine(capped, two_steps), habit_then_noon(19.5))[1])
    assert a.send_after == datetime(2024, 1, 15, 19, tzinfo=UTC)
    assert b.send_after == datetime(2024, 1, 16, 19, tzinfo=UTC)  # the cap's room comes at the habit hour


def test_a_step_is_never_delayed_past_max_delay_or_its_expiry():
    morning = habit_then_noon(9.5)  # due at noon: the next 09:00 is 21 hours away
    [within_a_day] = sent(run(engine(), morning)[1])
    assert within_a_day.send_after == datetime(2024, 1, 16, 9, tzinfo=UTC)
    [too_far] = sent(run(engine("send_time: {mode: habitual, max_delay_hours: 12}"), morning)[1])
    assert too_far.send_after == too_far.due_at
    short_expiry = CAMPAIGN.replace("steps:", "expires_after_days: 0.5\n    steps:")
    [expiring] = sent(run(engine("send_time: habitual", short_expiry), morning)[1])
    assert expiring.send_after == expiring.due_at


def test_the_habitual_weekday_is_waited_for_within_max_delay():
    wednesdays = [login(day + hour_of(0.8)) for day in (2, 9, 16, 23, 30)]  # Wednesdays 19:12 UTC
    settings = "send_time: {mode: habitual, weekday: true, max_delay_hours: 168}\n"
    long_expiry = CAMPAIGN.replace("steps:", "expires_after_days: 8\n    steps:")
    [command] = sent(run(engine(settings, long_expiry), wednesdays, until_day=60)[1])
    assert command.send_after.weekday() == 2 and command.send_after.hour == 19


def test_a_variant_override_makes_send_time_an_ab_test():
    ab = CAMPAIGN.replace("steps:", "variants: {timed: 1, untimed: 1}\n    send_time_by_variant: {untimed: fixed}\n    steps:")
    timed = engine("send_time: habitual", ab)
    by_variant = {}
    for customer in (f"c{index}" for index in range(40)):
        state = None
        for event in habit_then_noon(19.5):
            state = timed.apply(customer, state, event.__class__(**{**_fields(event), "customer_id": customer})).state
        [command] = sent(timed.advance(customer, state, moment(30)).records)
        by_variant.setdefault(command.variant, set()).add(command.send_after == command.due_at)
    assert by_variant == {"timed": {False}, "untimed": {True}}


@pytest.mark.parametrize("zone_name", ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"])
def test_local_hours_and_weekdays_follow_the_zone_database_through_daylight_saving(zone_name):
    tz, observed = ZoneInfo(zone_name), engine()
    start = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    for step in range(0, 366 * 24 * 4 // 5):  # every 75 minutes of 2024 (both daylight-saving changes included)
        at = start + step * 4500.0 + 7.0
        state = CustomerActivity(first_seen=at, time_zone=zone_name)
        observed.delivery.send_times.observe(state, login(0), at)
        local = datetime.fromtimestamp(at, tz)
        assert (state.hours.index(1), state.weekdays.index(1)) == (local.hour, local.weekday()), local


def test_counts_are_halved_at_the_ceiling_so_new_habits_take_over():
    state, _ = run(engine(), logins_at(19.5, range(HABIT_CEILING)), until_day=1)
    assert state.hours[19] == HABIT_CEILING // 2
    assert sum(state.weekdays) == HABIT_CEILING  # a login a day: no weekday reached the ceiling
    weekly, _ = run(engine(), logins_at(19.5, range(0, 7 * HABIT_CEILING, 7)), until_day=7 * HABIT_CEILING)
    assert sorted(weekly.weekdays) == [0] * 6 + [HABIT_CEILING // 2]  # a login a week: that weekday halved


def test_purchases_opens_and_clicks_are_habits_but_deliveries_are_not():
    events = [purchase(hour_of(0.4)), email(1 + hour_of(0.4), "open"), email(2 + hour_of(0.4), "click"), email(3, "delivered")]
    state, _ = run(engine(), events, until_day=4)
    assert sum(state.hours) == 3 and state.hours[9] == 3


def test_a_state_stored_before_habits_existed_decodes():
    old = CustomerActivity.starting(moment(0))
    encoded = old.encode()  # omit_defaults: no habit fields written, as before they existed
    assert CustomerActivity.decode(encoded).hours == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("send_time: sometimes\n", "send_time.mode: Input should be 'habitual' or 'fixed'"),
        (
            "send_time: habitual\n" + CAMPAIGN.replace("steps:", "send_time_by_variant: {timed: fixed}\n    steps:"),
            "campaigns.reactivation: send_time_by_variant: timed is not one of this campaign's variants",
        ),
    ],
)
def test_bad_send_time_settings_are_one_line_errors(text, problem):
    with pytest.raises(PolicyError) as raised:
        policy(text if "stages" in text else text + CAMPAIGN)
    assert any(problem in line for line in raised.value.problems), raised.value.problems


def _fields(event) -> dict:
    return {name: getattr(event, name) for name in event.__struct_fields__}
