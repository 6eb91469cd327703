"""The activity table a worker should end with: what the pure engine makes of the same events.

The integration and reliability suites compare the worker's table (read from its changelog)
with this, so a lost, doubled or misordered update shows as a difference.
"""

from __future__ import annotations

from streams.model.activity import CustomerActivity
from streams.core.engine import Engine
from streams.policy.loading import default_policy_path, load_policy


def expected_states(events) -> dict[str, CustomerActivity]:
    """What the pure engine makes of each customer's events, applied in the order given."""
    engine = Engine(load_policy(default_policy_path()))
    states: dict[str, CustomerActivity] = {}
    for event in events:
        states[event.customer_id] = engine.apply(event.customer_id, states.get(event.customer_id), event).state
    return states
