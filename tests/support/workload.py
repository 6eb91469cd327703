"""The workload the crash, rebalance and outage scenarios run, and its exact expectation.

Two kinds of customers, so the scenarios disrupt a worker while it is both applying events and
firing due transitions, and still know exactly what must come out:

* *lapsing* customers: a year of purchase history that ends long before ``LATER``.  Phase one
  applies it under a clock frozen at ``START`` (before all of it), so only events move them;
  phase two restarts the workers with the clock at ``LATER`` and the scheduler fires every
  reactivation, winback, sunset and step that is due by then.
* *arriving* customers: purchases in the 29 days before ``LATER``, streamed at a steady rate
  during phase two.  The earliest stage starts 30 days after the last activity, so nothing of
  theirs is due by ``LATER`` and the order of ticks and events cannot change their state.

Each customer's purchases are keyed by customer, so Kafka keeps them in order (one partition),
and the pure engine over the same purchases in the same order gives every record the stream
must publish and every customer's final state.  Records carry no wall-clock stamps, so a
redelivered record must be byte for byte the expected one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import msgspec

from streams.model.activity import RECENT_EVENTS, CustomerActivity
from streams.core.engine import Engine, Result
from streams.model.events import Purchase
from streams.policy.loading import default_policy_path, load_policy
from streams.devtools.traffic import generate_history

START = datetime(2023, 1, 1, tzinfo=timezone.utc)
LATER = datetime(2024, 6, 1, tzinfo=timezone.utc)
ARRIVAL_DAYS = 29  # less than the first stage's 30 days: arriving customers never lapse by LATER
_ENCODER = msgspec.json.Encoder()  # the emitter's: records must match it byte for byte


@dataclass(frozen=True)
class Workload:
    """Input for both phases and what each must lead to."""

    history: list[Purchase]  # lapsing customers, in time order
    arrivals: list[Purchase]  # arriving customers, in time order
    loaded: dict[str, CustomerActivity]  # lapsing customers' states after phase one
    final: dict[str, CustomerActivity]  # every customer's state after phase two
    records: dict[str, bytes]  # id -> JSON of every trigger, command, skip and outcome
    loaded_records: int  # how many of them phase one publishes


def build_workload(lapsing: int, arriving: int, seed: int) -> Workload:
    """``lapsing`` and ``arriving`` generated customers (those with purchases take part)."""
    history = _purchases(generate_history(lapsing, 300, seed=seed, start=START), "")
    recent = generate_history(arriving, ARRIVAL_DAYS, seed=seed + 1, start=LATER - timedelta(days=ARRIVAL_DAYS))
    arrivals = _purchases(recent, "new-")
    engine = Engine(load_policy(default_policy_path()))
    states: dict[str, CustomerActivity] = {}
    records: dict[str, bytes] = {}
    for purchase in history:
        customer = purchase.customer_id
        _collect(customer, engine.apply(customer, states.get(customer), purchase), states, records)
    loaded = {customer: CustomerActivity.decode(state.encode()) for customer, state in states.items()}
    loaded_records = len(records)
    for customer, state in list(states.items()):
        _collect(customer, engine.advance(customer, state, LATER.timestamp()), states, records)
    for purchase in arrivals:
        customer = purchase.customer_id
        _collect(customer, engine.apply(customer, states.get(customer), purchase), states, records)
    return Workload(history, arrivals, loaded, states, records, loaded_records)


def _purchases(events: list, prefix: str) -> list[Purchase]:
    """The purchases among ``events``, with ``prefix`` on every id (two generated sets must not share customers)."""
    return [
        msgspec.structs.replace(
            event,
            customer_id=prefix + event.customer_id,
            event_id=prefix + event.event_id,
            order_id=prefix + event.order_id,
        )
        for event in events
        if isinstance(event, Purchase)
    ]


def _collect(customer_id: str, result: Result, states: dict[str, CustomerActivity], records: dict[str, bytes]) -> None:
    states[customer_id] = result.state
    for record in result.records:
        records[record.id] = _ENCODER.encode(record)


def burst(customers: int) -> list[Purchase]:
    """Two months of purchases from START, at most RECENT_EVENTS per customer, in time order.

    Produced all at once they keep a worker writing its table as fast as it can, and every
    purchase redelivered after a crash is within its customer's dedupe window, so any
    difference from ``expected_states`` (tests/support/expected.py) is a lost state write.
    """
    kept: list[Purchase] = []
    counts: Counter[str] = Counter()
    for event in generate_history(customers, 60, seed=4, start=START):
        if isinstance(event, Purchase) and counts[event.customer_id] < RECENT_EVENTS:
            counts[event.customer_id] += 1
            kept.append(event)
    return kept
