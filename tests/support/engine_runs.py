"""Running one customer's events through an engine, as the core's tests do: each event applied
in turn, then the clock advanced to a day, every record kept in order (``testing.replay``)."""

from __future__ import annotations

from typing import Any, NamedTuple

from streams.core.engine import Engine
from streams.devtools import testing
from streams.model.activity import CustomerActivity
from streams.model.events import AnyInput
from tests.support.builders import moment


class Run(NamedTuple):
    """The customer's state after the run and every record it emitted, in order."""

    state: CustomerActivity
    records: list[Any]


def applied(engine: Engine, events: list[AnyInput]) -> Run:
    """Each of ``events`` (at least one, all of one customer) applied in turn."""
    return _one_customer(testing.replay(engine, events))


def run_until(engine: Engine, events: list[AnyInput], until_day: float) -> Run:
    """``applied``, then everything due by day ``until_day`` fired (``Engine.advance``)."""
    return _one_customer(testing.replay(engine, events, until=moment(until_day)))


def records_until(engine: Engine, events: list[AnyInput], until_day: float) -> list[Any]:
    """The records of ``run_until``."""
    return run_until(engine, events, until_day).records


def _one_customer(run: testing.Run) -> Run:
    [state] = run.states.values()
    return Run(state, [record for _, record in run.records])
