"""The arithmetic the ceiling benchmarks print: what a measured cost split allows.

At equal CPU, a pipeline's rate as a ratio to the relay's is the relay's CPU per record over
the pipeline's.  Split the worker's CPU per record into the pure core's (measured in-process on
the same records) and the runtime's (the rest), and the ratio it would reach with either part
made free, or with a runtime as cheap as the whole relay, follows; so does the core's budget
for a goal with today's runtime, negative when the runtime alone is over the goal's total.
Used by benchmarks/worker_ceiling.py (and backtest_floor.py's ``spread``); pure, so it is
unit-tested (tests/unit/benchmarks/test_ceilings.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Split:
    """CPU µs per record of the relay, the worker and the pure core on the same records."""

    relay: float
    worker: float
    core: float

    @property
    def runtime(self) -> float:
        """What the worker spends around the core: Kafka, Faust, tables, metrics."""
        return self.worker - self.core

    @property
    def ratio(self) -> float:
        """The worker's rate as a ratio to the relay's, at equal CPU."""
        return self.relay / self.worker

    @property
    def free_runtime(self) -> float:
        """The ratio with a runtime that costs nothing: only the core left."""
        return self.relay / self.core

    @property
    def free_core(self) -> float:
        """The ratio with a core that costs nothing: only the runtime left."""
        return self.relay / self.runtime

    @property
    def relay_runtime(self) -> float:
        """The ratio with a runtime as cheap as the relay, which only moves the bytes."""
        return self.relay / (self.core + self.relay)

    def core_budget(self, goal: float) -> float:
        """CPU µs per record the core may take for the ``goal`` ratio with today's runtime
        (negative: not even a free core reaches it)."""
        return self.relay / goal - self.runtime


def spread(per_event: float, events: list[int]) -> Iterator[int]:
    """How many of ``per_event`` items per event fall to each of the groups of ``events``,
    rounded so that the running total is never more than half an item from the exact one: the
    groups get the real number in all, each about its share."""
    exact = given = 0
    for count in events:
        exact += count
        share = round(exact * per_event) - given
        given += share
        yield share
