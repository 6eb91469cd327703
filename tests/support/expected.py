"""The activity table a worker should end with: what the pure engine makes of the same events.

The integration and reliability suites compare the worker's table (read from its changelog)
with this, so a lost, doubled or misordered update shows as a difference.  A worker's states
also say how far each input partition's offsets are applied (``CustomerActivity.applied``),
which only the input topics can tell: ``with_input_positions`` reads them back and fills it in.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable

import msgspec

from streams.devtools.testing import Run, run_engine
from streams.model.activity import CustomerActivity
from streams.model.codec import Rejection, decode_erasure, decode_record
from streams.model.events import AnyInput
from streams.model.positions import source_id
from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.settings import Settings
from tests.support.kafka_io import read_all


# Which input records a worker has applied, by their partition and event (by default: all).
Applied = Callable[[int, AnyInput], bool]


def expected_states(events: Iterable[AnyInput]) -> dict[str, CustomerActivity]:
    """What the pure engine makes of each customer's events, applied in the order given."""
    return run_engine(load_policy(default_policy_path()), events).states


def in_event_time(events: Iterable[AnyInput], until: float) -> Run:
    """What the pure engine decides when ``events`` are applied as the event clock applies them,
    in (time, event id) order, and everything due up to ``until`` is fired: a replay's records
    and states once event time has reached ``until``."""
    ordered = sorted(events, key=lambda event: (event.occurred_at.timestamp(), event.event_id))
    return run_engine(load_policy(default_policy_path()), ordered, until=until)


async def with_input_positions(
    settings: Settings, expected: dict[str, CustomerActivity], applied: Applied = lambda partition, event: True
) -> dict[str, CustomerActivity]:
    """``expected`` with each customer's ``applied`` as it is once every valid input record of
    theirs that ``applied`` names is applied: per input partition, one past their last such offset in it."""
    kinds = {topic: kind for kind, topic in settings.input_topics.items()}
    last: dict[str, dict[int, int]] = defaultdict(dict)
    for record in await read_all(settings.broker, list(kinds)):
        kind = kinds[record.topic]
        if record.value is None and kind == "profile":
            event: AnyInput | Rejection = decode_erasure(record.key, record.timestamp / 1000)
        else:
            event = decode_record(record.value, kind, now=time.time())
        if not isinstance(event, Rejection) and applied(record.partition, event):
            last[event.customer_id][source_id(record.topic, record.partition)] = record.offset
    return {
        customer: msgspec.structs.replace(state, applied={source: [offset + 1] for source, offset in last[customer].items()})
        for customer, state in expected.items()
    }
