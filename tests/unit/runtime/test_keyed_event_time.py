"""Keyed input on the event clock, without Kafka: what of a batch the customers handler applies
now, in which order, at what time its due ticks fire, and which records it may acknowledge."""

from __future__ import annotations

from streams.model.positions import Position, source_id
from streams.runtime.clock import KeyedEventClock
from streams.runtime.held_events import Ready
from streams.runtime.keyed_event_time import HeldInput
from streams.runtime.settings import Settings
from streams.runtime.topology import build_topology
from streams.runtime.watermarks import MARKER_KEY
from tests.support.builders import email, login, moment, profile, purchase
from tests.support.handled_records import Record

SETTINGS = Settings(broker="127.0.0.1:1", app_id="keyed-clock-test")
PURCHASES, LOGINS, EMAIL, PROFILES = (SETTINGS.input_topics[kind] for kind in ("purchase", "login", "email", "profile"))
DUE = SETTINGS.topic_due


def held_input() -> HeldInput:
    clock = KeyedEventClock(idle_after=3600)  # nothing goes idle in this test
    clock.own(SETTINGS.input_topics.values(), {0})
    return HeldInput(build_topology(SETTINGS), clock)


def read(record: Record, event) -> Ready:
    """What the keyed reader makes of a valid input record: its event, the record its own origin."""
    return record, event, Position(source_id(record.topic, record.partition), record.offset)


def records(ready: list[Ready]) -> list[Record]:
    return [record for record, _, _ in ready]


def test_events_wait_for_every_input_partition_of_their_customer_partition_and_acks_keep_offset_order():
    keyed = held_input()
    late_login, early_login, rejected = Record(LOGINS, 0), Record(LOGINS, 1), Record(LOGINS, 2)
    bought = Record(PURCHASES, 0)
    ready = [read(bought, purchase(3)), read(late_login, login(2)), read(early_login, login(1))]

    assert keyed.arrange([bought, late_login, early_login, rejected], ready) == []  # email and profiles not heard from
    assert keyed.held.acknowledgeable([bought, late_login, early_login, rejected], [rejected]) == []  # logins 0 is held

    opened, profiled, tick, wake = Record(EMAIL, 0), Record(PROFILES, 0), Record(DUE, 0), Record(DUE, 1, key=MARKER_KEY)
    arrived = [opened, profiled, tick, wake]
    applied = keyed.arrange(arrived, [read(opened, email(5, "open")), read(profiled, profile(4)), (tick, 0.0, None), (wake, 0.0, None)])
    # Now is just before day 2, the logins' latest: only the login of day 1 is applied, then the tick, at that time.
    assert applied == [read(early_login, login(1)), (tick, keyed.clock.now(0), None)]
    assert moment(1) < keyed.clock.now(0) < moment(2)
    assert keyed.held.acknowledgeable(arrived, records(applied)) == [tick, wake]  # logins 1 waits for logins 0, still held

    later = Record(LOGINS, 3)
    applied = keyed.arrange([later], [read(later, login(6))])
    assert applied == [read(late_login, login(2))]  # now is just before day 3, the purchases' latest
    assert keyed.held.acknowledgeable([later], records(applied)) == [late_login, early_login, rejected]  # logins 3 is held

    bought_again = Record(PURCHASES, 1)
    applied = keyed.arrange([bought_again], [read(bought_again, purchase(7))])
    assert applied == [read(bought, purchase(3))]  # just before day 4, the profile's: it waits
    assert keyed.held.acknowledgeable([bought_again], records(applied)) == [bought]


def test_an_event_applied_before_an_earlier_offset_of_its_customer_tells_the_engine_that_one_still_waits():
    """Two logins at the same time go in event id order, the later offset first: the state must
    not count the earlier offset as applied (``streams.model.positions``)."""
    keyed = held_input()
    first, second, third = Record(LOGINS, 0), Record(LOGINS, 1), Record(LOGINS, 2)
    others = [Record(topic, 0) for topic in (PURCHASES, EMAIL, PROFILES)]
    ready = [read(first, login(1, event_id="b")), read(second, login(1, event_id="a")), read(third, login(2, event_id="c")),
             *(read(record, purchase(9)) for record in others)]
    arrived = records(ready)

    applied = keyed.arrange(arrived, ready)

    assert records(applied) == [second, first]
    positions = [keyed.held.applying(record, origin) for record, _, origin in applied]
    assert [(position.offset, position.waiting_from) for position in positions] == [(1, 0), (0, 2)]  # day 2 waits


async def test_after_a_rebalance_held_records_read_again_from_the_committed_offset_are_held_once():
    """A rebalance seeks every input partition assigned here, kept ones too, back to its
    committed offset, which a held record keeps before it: the record comes again and must not
    be held beside its first copy (both would be released: the state takes the second as a
    replay, but the worker would do the work twice and count the event twice as applied)."""
    keyed = held_input()
    bought = Record(PURCHASES, 0)
    assert keyed.arrange([bought], [read(bought, purchase(3))]) == []  # the other inputs are not heard from

    await keyed.own_assigned()
    again = Record(PURCHASES, 0)
    assert keyed.arrange([again], [read(again, purchase(3))]) == []

    assert len(keyed.held) == 1
