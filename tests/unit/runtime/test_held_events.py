"""Held events on the event clock, either input path: released by the clock's time in (time,
event id) order, acknowledged in offset order per Kafka partition, applied with the offsets
of their customer still held, and all forgotten after a rebalance."""

from __future__ import annotations

from streams.model.positions import Position, source_id
from streams.runtime.held_events import HeldEvents
from tests.support.builders import login, moment, purchase
from tests.support.handled_records import Record

EVENTS, DUE, PURCHASES, LOGINS = "winback.events", "winback.due", "shop.purchases", "shop.logins"


def origin(offset: int, topic: str = PURCHASES) -> Position:
    """An input record of partition 0 of ``topic``, as the handler reads it."""
    return Position(source_id(topic, 0), offset)


def test_events_come_out_once_the_clock_passes_them_in_time_then_id_order_per_customer_partition():
    held = HeldEvents(DUE)
    late, tied_b, tied_a, elsewhere = Record(EVENTS, 0), Record(EVENTS, 1), Record(EVENTS, 2), Record(EVENTS, 0, partition=1)
    assert held.hold(late, purchase(3), origin(0)) == moment(3)
    held.hold(tied_b, login(1, event_id="b"), origin(1))
    held.hold(tied_a, login(1, event_id="a"), origin(2))
    held.hold(elsewhere, purchase(1), origin(3))

    assert held.releasable(lambda partition: moment(2)) == [0, 1]
    assert held.releasable(lambda partition: moment(1) if partition else moment(0)) == [1]
    assert held.release(0, moment(2)) == [(tied_a, login(1, event_id="a"), origin(2)), (tied_b, login(1, event_id="b"), origin(1))]
    assert held.release(0, moment(2)) == [] and len(held) == 2
    assert held.release(0, moment(3)) == [(late, purchase(3), origin(0))]


def test_a_record_is_acknowledged_once_none_before_it_in_its_kafka_partition_is_held():
    """Partitions are Kafka's: on keyed input a held purchase holds back the purchases after it,
    not the logins of the same partition number.  Due records never wait."""
    held = HeldEvents(DUE)
    bought, bought_later, logged_in, tick = Record(PURCHASES, 5), Record(PURCHASES, 6), Record(LOGINS, 9), Record(DUE, 2)
    held.hold(bought, purchase(1), origin(5))

    assert held.acknowledgeable([bought_later, logged_in, tick], [bought_later, logged_in]) == [tick, logged_in]
    held.release(0, moment(1))
    assert held.acknowledgeable([], [bought]) == [bought, bought_later]


def test_an_event_applied_while_an_earlier_offset_of_its_customer_is_held_says_so():
    held = HeldEvents(DUE)
    first, second, other_customer = Record(EVENTS, 0), Record(EVENTS, 1), Record(EVENTS, 2, key=b"c2")
    held.hold(first, login(2), origin(40))
    held.hold(second, login(1), origin(41))
    held.hold(other_customer, login(3, "c2"), origin(39))

    [(record, _, applied)] = held.release(0, moment(1))
    assert held.applying(record, applied) == Position(applied.source, 41, waiting_from=40)
    [(record, _, applied)] = held.release(0, moment(2))
    assert held.applying(record, applied) == origin(40)  # nothing of c1 waits any more


def test_a_rebalance_forgets_every_held_event_its_acknowledgements_and_waiting_offsets():
    held = HeldEvents(DUE)
    first, second = Record(EVENTS, 0), Record(EVENTS, 1)
    held.hold(first, purchase(1), origin(7))
    held.hold(second, purchase(2), origin(8))

    held.forget()

    assert len(held) == 0 and held.releasable(lambda partition: moment(9)) == []
    assert held.acknowledgeable([], [second]) == [second]  # first is not held any more
    assert held.applying(second, origin(8)) == origin(8)  # nor waiting
