"""A replay of any prefix of the input after a crash changes nothing (issue item 8)."""

from __future__ import annotations

from streams.core.engine import Engine
from streams.model.activity import RECENT_EVENTS
from streams.model.positions import Position, source_id

from tests.support.builders import policy, purchase
from tests.support.policies import SMALL

PURCHASES = source_id("shop.purchases", 0)


def test_a_backlog_replayed_after_a_crash_is_not_counted_again():
    """Far more of one customer's events than the id window holds, all replayed: nothing changes."""
    engine = Engine(policy(SMALL))
    backlog = [purchase(day / 10, amount=10.0) for day in range(4 * RECENT_EVENTS)]
    positions = [Position(PURCHASES, 100 + 3 * number) for number in range(len(backlog))]
    times = [event.occurred_at.timestamp() for event in backlog]
    applied = engine.replay("c1", None, backlog, times, positions)
    before = applied.state.encode()
    replayed = engine.replay("c1", applied.state, backlog, times, positions)
    assert replayed.duplicates == len(backlog) and replayed.records == []
    assert replayed.state.encode() == before and replayed.state.purchase_count == len(backlog)


def test_the_same_event_sent_twice_by_the_shop_is_still_recognised_by_its_id():
    engine = Engine(policy(SMALL))
    twice = [purchase(1, event_id="p-1"), purchase(1, event_id="p-1")]
    positions = [Position(PURCHASES, 7), Position(PURCHASES, 8)]
    result = engine.replay("c1", None, twice, [event.occurred_at.timestamp() for event in twice], positions)
    assert result.duplicates == 1 and result.state.purchase_count == 1 and result.state.applied == {PURCHASES: [9]}
