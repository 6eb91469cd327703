"""The activity table a worker should end with: what the pure engine makes of the same events.

The integration and reliability suites compare the worker's table (read from its changelog)
with this, so a lost, doubled or misordered update shows as a difference.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.devtools.testing import run_engine
from streams.model.activity import CustomerActivity
from streams.model.events import AnyInput
from streams.policy.loading import default_policy_path, load_policy


def expected_states(events: Iterable[AnyInput]) -> dict[str, CustomerActivity]:
    """What the pure engine makes of each customer's events, applied in the order given."""
    return run_engine(load_policy(default_policy_path()), events).states
