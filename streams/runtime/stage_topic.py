"""Which customers' stage records a batch changed, for the compacted customer-stage topic.

The value of a customer's key is ``streams.core.customer_stage.customer_stage`` of their state:
the customers agent compares it before and after each batch, per customer it changed, and
publishes those that differ with the batch's other records (``streams.runtime.emitter``),
before the table write: a crash in between republishes the same values, which is harmless on
a compacted topic.  An erasure publishes a tombstone, even for a customer the table did not
hold (the topic may still have them from before), and a customer forgotten after an erasure
publishes nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from streams.core.customer_stage import StagePosition, stage_position, stage_record
from streams.core.engine import Engine
from streams.model.activity import CustomerActivity

StageChange = tuple[bytes, bytes | None]  # (customer key, the encoded record; None: a tombstone)
ABSENT = object()  # a customer the table did not hold: any record, or an erasure's tombstone, is news
# What a customer's stage record said before a batch: a position, None (erased) or ABSENT.
Before = StagePosition | None | object
_ENCODER = msgspec.json.Encoder()


def stage_before(engine: Engine, stored: CustomerActivity | None) -> Before:
    """What the stage record of a customer said before a batch, from the state the table held
    (None: it held none).  Taken when the batch first reads the state, before the engine
    changes it, so that the stored state is decoded once."""
    return ABSENT if stored is None else stage_position(engine, stored)


class StageChanges:
    """Compares customers' stage records before and after a batch."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def between(
        self,
        keys: Iterable[bytes],
        before: Mapping[bytes, Before],
        states: Mapping[bytes, CustomerActivity | None],
    ) -> list[StageChange]:
        """For each customer in ``keys``: the record to publish, if it changed between what it
        said ``before`` the batch (``stage_before``) and the state the batch left (None: forgotten)."""
        changes: list[StageChange] = []
        for key in keys:
            after = self._after(states[key])
            if after != before.get(key, ABSENT):
                record = None if after is None else _ENCODER.encode(stage_record(self.engine, key.decode(), after))
                changes.append((key, record))
        return changes

    def _after(self, state: CustomerActivity | None) -> StagePosition | None:
        return None if state is None else stage_position(self.engine, state)
