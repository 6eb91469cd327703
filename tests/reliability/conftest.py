"""The reliability suite's shared workload.

Workers, settings, the session broker and the ``report`` fixture (each scenario's measured
figures, printed at the end of the run) come from ``tests/support/fixtures.py``.
"""

from __future__ import annotations

import pytest

from tests.support.workload import Workload, build_workload


@pytest.fixture(scope="session")
def workload() -> Workload:
    """About 370 lapsing customers (2,600 purchases) and 650 arriving ones (1,070 purchases): 5,126 records."""
    return build_workload(lapsing=450, arriving=1500, seed=21)
