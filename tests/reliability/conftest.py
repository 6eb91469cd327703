"""Fixtures of the reliability suite: the shared workload and the figures each scenario reports.

Workers, settings and the session broker come from ``tests/support/fixtures.py``.  The figures are
printed in the terminal summary, so they show in ``make test`` output without ``-s``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.workload import Workload, build_workload

_FIGURES = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def workload() -> Workload:
    """About 370 lapsing customers (2,600 purchases) and 650 arriving ones (1,070 purchases): 5,126 records."""
    return build_workload(lapsing=450, arriving=1500, seed=21)


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record this scenario's measured figures for the summary at the end of the run."""
    lines = request.config.stash.setdefault(_FIGURES, [])

    def add(**figures: object) -> None:
        lines.append(f"{request.node.name}: " + ", ".join(f"{name}={value}" for name, value in figures.items()))

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)
