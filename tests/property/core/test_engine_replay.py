"""A customer's events replayed in one call (``Engine.replay``, the backtest's way) decide exactly
like applying them one at a time (``Engine.apply_at``, the stream's way): same records, same
redeliveries, same final state, byte for byte.  The run-wide shortcuts it takes (redeliveries
looked for once, the distance from lapsing recomputed only near it) must never show.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.model.activity import CustomerActivity
from streams.core.engine import Engine

from tests.support.policies import POLICIES
from tests.support.policies import CONTROLLED, PREDICTIVE
from tests.support.builders import email, login, profile, purchase

KINDS = ["purchase", "purchase", "login", "open", "click", "delivered", "unsubscribe", "profile"]
# Few ids, so some events are redeliveries, some near each other and some far apart.
histories = st.lists(st.tuples(st.integers(0, 120), st.sampled_from(KINDS), st.integers(0, 12)), min_size=1, max_size=40)
id_runs = st.lists(st.sampled_from([f"e{number}" for number in range(14)]), max_size=30)


def build(day: int, kind: str, number: int):
    at = day + number / 7  # spread over the day
    if kind == "purchase":
        return purchase(at, event_id=f"e{number}", amount=5.0 + number, categories=("shoes", "bags")[number % 2 :])
    if kind == "login":
        return login(at, event_id=f"e{number}")
    if kind == "profile":
        return profile(at, consent=("email", "sms", "push")[: number % 4], time_zone=("Asia/Kolkata", None)[number % 2])
    return email(at, kind, event_id=f"e{number}")


@settings(max_examples=300, deadline=None)
@given(histories, st.sampled_from([*POLICIES, CONTROLLED, PREDICTIVE]), st.integers(0, 3))
def test_replaying_a_run_decides_like_applying_each_event(history, policy, split):
    events = sorted((build(*entry) for entry in history), key=lambda event: event.occurred_at)
    times = [event.occurred_at.timestamp() for event in events]
    engine = Engine(policy)
    state, one_by_one, redeliveries = None, [], 0
    for event, at in zip(events, times):
        result = engine.apply_at("c1", state, event, at)
        state, redeliveries = result.state, redeliveries + result.duplicate
        one_by_one += result.records
    # the run in one call, or in two (as a customer's history continues from a stored state)
    cut = len(events) * split // 3 or len(events)
    replayed = engine.replay("c1", None, events[:cut], times[:cut])
    records, duplicates, run_state = list(replayed.records), replayed.duplicates, replayed.state
    if cut < len(events):
        rest = engine.replay("c1", CustomerActivity.decode(run_state.encode()), events[cut:], times[cut:])
        records, duplicates, run_state = records + rest.records, duplicates + rest.duplicates, rest.state
    assert records == one_by_one
    assert duplicates == redeliveries
    assert run_state.encode() == state.encode()


@given(st.lists(st.sampled_from(["old-1", "old-2"]), max_size=8), id_runs)
def test_see_all_is_seen_of_each_id_when_none_is_a_redelivery(recent_ids: list[str], event_ids: list[str]):
    def with_recent() -> CustomerActivity:
        state = CustomerActivity.starting(0)
        for event_id in recent_ids:
            state.seen(login(0, event_id=event_id))
        return state

    one_by_one, at_once = with_recent(), with_recent()
    events = [login(0, event_id=event_id) for event_id in event_ids]
    redelivered = [one_by_one.seen(event) for event in events]
    if at_once.see_all(events):
        assert not any(redelivered)
        assert at_once.recent == one_by_one.recent
    else:
        assert at_once.recent == with_recent().recent  # unchanged, for the caller to go one by one
        assert any(redelivered) or len(set(event_ids)) < len(event_ids)


def test_profiles_are_not_deduplicated_by_id():
    engine = Engine(CONTROLLED)
    events = [profile(1, consent=("email",)), profile(1, consent=("email",)), login(2, event_id="x"), login(2, event_id="x")]
    replayed = engine.replay("c1", None, events, [event.occurred_at.timestamp() for event in events])
    assert replayed.duplicates == 1  # the login; the second profile is simply not newer
