"""Running one customer's events through an engine, as the core's tests do: each event applied
in turn (``Engine.apply``), then the clock advanced to a day, every record kept in order."""

from __future__ import annotations

from typing import Any, NamedTuple

from streams.core.engine import Engine
from streams.model.activity import CustomerActivity
from streams.model.events import AnyInput
from tests.support.builders import moment


class Run(NamedTuple):
    """The customer's state after the run and every record it emitted, in order."""

    state: CustomerActivity
    records: list[Any]


def applied(engine: Engine, events: list[AnyInput], customer: str = "c1") -> Run:
    """Each of ``events`` (at least one) applied in turn."""
    state, records = None, []
    for event in events:
        result = engine.apply(customer, state, event)
        state = result.state
        records.extend(result.records)
    assert state is not None
    return Run(state, records)


def run_until(engine: Engine, events: list[AnyInput], until_day: float, customer: str = "c1") -> Run:
    """``applied``, then everything due by day ``until_day`` fired (``Engine.advance``)."""
    state, records = applied(engine, events, customer)
    advanced = engine.advance(customer, state, moment(until_day))
    return Run(advanced.state, records + list(advanced.records))


def records_until(engine: Engine, events: list[AnyInput], until_day: float, customer: str = "c1") -> list[Any]:
    """The records of ``run_until``."""
    return run_until(engine, events, until_day, customer).records
