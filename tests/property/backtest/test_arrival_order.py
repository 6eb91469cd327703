"""A backtest in arrival order (``order="arrival"``) of a shuffled log: late events retract the
triggers they would have prevented, so the customers end in the stages of the ordered log.

Every event has its own time (whole days plus a distinct number of minutes): on a tie the
ordered replay and a stream that received the two in the other order may rightly differ.
The policy's thresholds are fixed (a late purchase adds no inter-purchase gap, so an adaptive
threshold may differ) and every late event is within ``retract_within_days``.
"""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.backtest.run import run_backtest
from streams.model.records import Retraction

from tests.support.builders import email, line, login, policy, purchase
from tests.support.policies import SMALL

RETRACTING = policy(SMALL + "late_events: {retract_within_days: 1000}\n")
KINDS = ["purchase", "purchase", "login", "open"]  # an open is not activity under SMALL

logs = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 80), st.sampled_from(KINDS)), min_size=1, max_size=30
)


def lines_of(log: list[tuple[str, int, str]]) -> list[bytes]:
    """The log as backtest lines, each event at its own instant (day + its number in minutes)."""
    out = []
    for number, (customer, day, kind) in enumerate(log):
        at = day + (number + 1) / 1440
        event_id = f"e{number}"
        if kind == "purchase":
            out.append(line(purchase(at, customer, event_id=event_id)))
        elif kind == "login":
            out.append(line(login(at, customer, event_id=event_id)))
        else:
            out.append(line(email(at, "open", customer, event_id=event_id)))
    return out


@settings(max_examples=60, deadline=None)
@given(logs, st.randoms(use_true_random=False))
def test_a_shuffled_log_in_arrival_order_ends_in_the_ordered_logs_stages(log, random):
    lines = lines_of(log)
    shuffled = lines[:]
    random.shuffle(shuffled)
    ordered = run_backtest(lines, RETRACTING, now=1e10)
    retractions: list[Retraction] = []
    arrived = run_backtest(
        shuffled, RETRACTING, order="arrival", now=1e10,
        on_record=lambda _, record: retractions.append(record) if isinstance(record, Retraction) else None,
    )
    assert arrived.stages == ordered.stages
    assert arrived.until == ordered.until
    # Each retraction is a late activity event's, one per trigger it withdraws (a late event may
    # withdraw every trigger of a lapse); what it counts as sent in error was sent.
    assert {retraction.late_event_id for retraction in retractions} <= late_activity(shuffled)
    assert len({retraction.trigger_id for retraction in retractions}) == len(retractions) == arrived.retractions
    assert arrived.sent_in_error <= sum(arrived.commands.values())


def late_activity(lines: list[bytes]) -> set[str]:
    """The event ids of the purchases and logins that arrive after a line dated later."""
    latest, late = "", set()
    for text in lines:
        at = text.split(b'"occurred_at":"')[1].decode()
        if at < latest and b'"type":"email"' not in text:
            late.add(msgspec.json.decode(text)["event_id"])
        latest = max(latest, at)
    return late


@settings(max_examples=30, deadline=None)
@given(logs)
def test_a_log_that_arrives_in_time_order_retracts_nothing(log):
    lines = sorted(lines_of(log), key=lambda text: text.split(b'"occurred_at":"')[1])
    ordered = run_backtest(lines, RETRACTING, now=1e10)
    arrived = run_backtest(lines, RETRACTING, order="arrival", now=1e10)
    assert (arrived.retractions, arrived.cancels, arrived.sent_in_error) == (0, 0, 0)
    assert (arrived.stages, arrived.triggers, arrived.commands) == (ordered.stages, ordered.triggers, ordered.commands)
