"""The stage ladder: fixed and adaptive thresholds, order, and what counts as activity."""

from streams.model.activity import CustomerActivity
from streams.core.lifecycle import Lifecycle
from streams.model.records import STAGES

from tests.support.builders import DAY, email, login, moment, policy, purchase

ADAPTIVE = """
stages:
  reactivation: {min_days: 10, cadence_multiplier: 2, max_days: 50}
  winback: 30
  sunset: {min_days: 100, cadence_multiplier: 10}
"""


def customer(*events) -> CustomerActivity:
    state = CustomerActivity.starting(events[0].occurred_at.timestamp())
    for event in events:
        state.record(event, event.occurred_at.timestamp())
    return state


def entry(ladder: Lifecycle, state: CustomerActivity):
    found = ladder.next_entry(state, ladder.last_activity(state))
    return found and (STAGES[found[0]], (found[1] - moment(0)) / DAY)


def test_fixed_thresholds_from_the_last_activity():
    ladder = Lifecycle(policy("stages: {reactivation: 30, winback: 90}"))
    state = customer(purchase(0), login(4), email(9, "open"))
    assert entry(ladder, state) == ("reactivation", 34)
    state.stage, state.stage_entered_at = 1, moment(34)
    assert entry(ladder, state) == ("winback", 94)
    state.stage = 2
    assert entry(ladder, state) is None


def test_which_signals_count_is_configurable():
    state = customer(purchase(0), login(4), email(9, "open"), email(12, "click"))
    assert entry(Lifecycle(policy("stages: {reactivation: 30}")), state) == ("reactivation", 42)
    opens = policy("activity: {signals: [purchase, email_open]}\nstages: {reactivation: 30}")
    assert entry(Lifecycle(opens), state) == ("reactivation", 39)
    assert Lifecycle(opens).is_activity(email(1, "open")) and not Lifecycle(opens).is_activity(login(1))


def test_a_customer_never_active_never_lapses():
    ladder = Lifecycle(policy("stages: {reactivation: 30}"))
    assert entry(ladder, customer(email(0, "delivered"), email(1, "bounce"))) is None


def test_adaptive_thresholds_follow_the_cadence():
    ladder = Lifecycle(policy(ADAPTIVE))
    assert entry(ladder, customer(purchase(0))) == ("reactivation", 10)  # cadence unknown: the floor
    weekly = customer(purchase(0), purchase(7), purchase(14))
    assert entry(ladder, weekly) == ("reactivation", 28)  # 2 x 7 days
    monthly = customer(purchase(0), purchase(40), purchase(80))
    assert entry(ladder, monthly) == ("reactivation", 80 + 50)  # capped by max_days


def test_stages_never_start_before_the_previous_one():
    ladder = Lifecycle(policy(ADAPTIVE))
    slow = customer(purchase(0), purchase(20), purchase(40))  # reactivation 40 days > winback 30
    assert entry(ladder, slow) == ("reactivation", 80)
    slow.stage, slow.stage_entered_at = 1, moment(80)
    assert entry(ladder, slow) == ("winback", 80)
    slow.stage = 2
    assert entry(ladder, slow) == ("sunset", 40 + 200)


def test_no_entry_is_dated_before_the_purchase_that_shortened_the_threshold():
    ladder = Lifecycle(policy("activity: {signals: [login]}\nstages:\n  reactivation: {min_days: 2, cadence_multiplier: 1}\n"))
    state = customer(login(0), purchase(1), purchase(2), purchase(3))  # purchases are not activity here
    assert entry(ladder, state) == ("reactivation", 3)  # not day 2, which had passed when we learnt it
