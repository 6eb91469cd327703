"""A lapsed customer's series fired in one pass (``Engine.advance`` to the end, the backtest's way
after their last event: ``Delivery.run`` derived once a stage) decides exactly like firing each
due item on its own at its due time (the scheduler's way: one ``advance`` per ``next_due``): same
records, same final state, byte for byte, under caps, quiet hours, fallback, holdouts, variants,
habitual send times, tiers and the predictive trigger.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.engine import Engine
from streams.model.activity import CustomerActivity

from tests.support.builders import DAY, email, login, profile, purchase
from tests.support.policies import CONTROLLED, POLICIES, PREDICTIVE

KINDS = ["purchase", "purchase", "purchase", "login", "open", "click", "unsubscribe", "bounce", "profile"]
histories = st.lists(st.tuples(st.floats(0, 60), st.sampled_from(KINDS), st.integers(0, 11)), min_size=1, max_size=12)


def build(customer: str, day: float, kind: str, number: int):
    if kind == "purchase":
        return purchase(day, customer, event_id=f"e{number}", amount=5.0 + 7 * number, categories=("shoes", "bags")[number % 2 :])
    if kind == "login":
        return login(day, customer, event_id=f"e{number}")
    if kind == "profile":
        zones = ("Asia/Kolkata", None, "America/New_York")
        return profile(day, customer, consent=("email", "sms", "push")[: number % 4], time_zone=zones[number % 3])
    return email(day, kind, customer, event_id=f"e{number}")


@settings(max_examples=250, deadline=None)
@given(histories, st.sampled_from([*POLICIES, CONTROLLED, PREDICTIVE]), st.sampled_from(["c1", "c2", "c3", "c4"]), st.floats(0, 120))
def test_firing_a_series_in_one_pass_decides_like_firing_each_due_item(history, policy, customer, later):
    events = sorted((build(customer, *entry) for entry in history), key=lambda event: event.occurred_at)
    times = [event.occurred_at.timestamp() for event in events]
    engine = Engine(policy)
    replayed = engine.replay(customer, None, events, times)
    until = times[-1] + later * DAY
    one_pass = CustomerActivity.decode(replayed.state.encode())
    records = list(engine.advance(customer, one_pass, until).records)

    stepped, each = CustomerActivity.decode(replayed.state.encode()), []
    while (due := engine.next_due(stepped)) is not None and due <= until:
        each += engine.advance(customer, stepped, due).records
    assert records == each
    assert one_pass.encode() == stepped.encode()
