"""The customers agent's batch decisions, without Kafka: which customers' states a batch writes
or deletes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import msgspec
import pytest
from confluent_kafka.schema_registry._async.mock_schema_registry_client import AsyncMockSchemaRegistryClient

from streams.core.customer_stage import stage_position
from streams.core.engine import Engine
from streams.model.activity import CustomerActivity
from streams.policy.loading import default_policy_path, load_policy
from streams.model.positions import Position, source_id
from streams.model.codec import Limits
from streams.model.events import Purchase
from streams.runtime.agents import _decide, _decode, _decode_internal, _decode_internals, _keyed_reader, _read_again, _read_inputs
from streams.runtime import provenance
from streams.runtime.clock import EventTimeClock, FixedClock, Progress
from streams.runtime.held_events import HeldEvents
from streams.runtime.scheduler import Scheduler
from streams.runtime.settings import Settings
from streams.runtime.stage_topic import ABSENT, StageChanges
from streams.runtime.topology import build_topology
from streams.runtime.wire_format import FramedInput
from streams.runtime.watermarks import MARKER_KEY
from tests.support.builders import line, moment, profile, purchase
from tests.support.handled_records import Record
from tests.support.wire_records import framed

CLOCK = FixedClock(moment(0))
EVENTS = "winback.events"
PURCHASE = {
    "event_id": "e-1",
    "customer_id": "c-1",
    "occurred_at": datetime(2024, 3, 1, 12, 30, tzinfo=timezone.utc),
    "order_id": "o-1",
    "amount": 12.5,
    "currency": "EUR",
    "categories": ["shoes"],
}


def decide(table, engine, batch, held=None):
    """``_decide`` on a dict standing for the table (no Faust app: a dict needs no current event)
    over ``batch``'s (record, event or due time) pairs, each event's origin read from its record."""
    ready = [(message, content, provenance.position(message.headers)) for message, content in batch]
    return _decide(None, table, engine, ready, held, CLOCK)  # type: ignore[arg-type]


def test_a_redelivered_event_writes_the_state_it_found_again():
    """With RocksDB a crash can leave a state in the local database that never reached the
    changelog; the redelivered event finds it, changes nothing, and must write it back."""
    engine = Engine(load_policy(default_policy_path()))
    first = purchase(0, "c1")
    stored = engine.apply("c1", None, first).state
    table = {b"c1": stored.encode()}

    decided = decide(table, engine, [(Record(EVENTS, key=b"c1"), first)])

    assert list(decided.changed) == [b"c1"] and decided.records == []
    assert decided.states[b"c1"] == stored


def test_the_stage_record_before_a_batch_is_the_one_of_the_state_the_table_held():
    """Taken when the batch first reads a customer, before the engine moves them on: the stage
    topic gets the customer's record when the batch changed it, and only then."""
    engine = Engine(load_policy(default_policy_path()))
    stored = engine.apply("c1", None, purchase(0, "c1")).state
    table = {b"c1": stored.encode()}

    decided = decide(table, engine, [(Record(EVENTS, key=b"c1"), purchase(40, "c1")), (Record(EVENTS, key=b"c2"), purchase(40, "c2"))])

    assert decided.before == {b"c1": stage_position(engine, stored), b"c2": ABSENT}
    changes = StageChanges(engine).between(decided.changed, decided.before, decided.states)
    assert [key for key, _ in changes] == [b"c1", b"c2"]
    assert decide(table, engine, [(Record(EVENTS, key=b"c1"), purchase(0, "c1"))]).before == {b"c1": stage_position(engine, stored)}


def test_an_event_is_applied_with_its_input_position_and_a_replay_of_it_changes_nothing():
    engine = Engine(load_policy(default_policy_path()))
    first = purchase(0, "c1")
    event = Record(EVENTS, key=b"c1", headers=dict([provenance.header("shop.purchases", 2, 41)]))
    applied = decide({}, engine, [(event, first)]).states[b"c1"]
    assert applied is not None and applied.applied == {source_id("shop.purchases", 2): [42]}

    again = decide({b"c1": applied.encode()}, engine, [(event, first)]).states[b"c1"]
    assert again == applied


def test_with_the_event_clock_an_offset_applied_ahead_of_a_waiting_one_is_kept_apart():
    engine = Engine(load_policy(default_policy_path()))
    held = HeldEvents("winback.due")
    early = Record(EVENTS, 0, headers=dict([provenance.header("shop.purchases", 2, 41)]))
    late = Record(EVENTS, 1, headers=dict([provenance.header("shop.purchases", 2, 45)]))
    held.hold(early, purchase(0, "c1"), provenance.position(early.headers))
    held.hold(late, purchase(1, "c1"), provenance.position(late.headers))
    state = decide({}, engine, [(late, purchase(1, "c1"))], held).states[b"c1"]
    assert state is not None and state.applied == {source_id("shop.purchases", 2): [41, 45]}


async def test_a_partition_kept_through_a_rebalance_is_read_again_as_after_a_restart():
    """Faust seeks a partition this worker keeps through a rebalance back to its committed
    offset too, which a held event keeps before it: the event comes again, and the markers
    after it.  After ``_read_again`` the event is held once, and the clock replays what the
    markers said in their order, never ahead of the latest one (before, an old "idle" read
    again beside a newer time let the event out twice, past a partition still busy)."""
    clock, held = EventTimeClock(), HeldEvents("winback.due")
    inputs = [("purchases", 0), ("purchases", 1)]
    origin = Position(source_id("purchases", 1), 7)
    log = [  # events partition 0, from offset 0: an event on day 1.5, then two markers
        purchase(1.5),
        [Progress(("purchases", 0), moment(1.0), True), Progress(("purchases", 1), moment(1.0), False)],
        [Progress(("purchases", 0), moment(1.2), False), Progress(("purchases", 1), moment(2.0), False)],
    ]
    released: list[Record] = []
    times: list[float] = []

    def read(offset: int, record) -> None:
        """What the customers handler does with a record of the events topic (``ready``)."""
        if not isinstance(record, list):
            held.hold(Record(EVENTS, offset), record, origin)
            return
        clock.observe_marker(0, inputs, record)
        times.append(clock.now(0))
        released.extend(message for message, _, _ in held.release(0, clock.now(0)))

    for offset, record in enumerate(log):
        read(offset, record)
    assert released == [] and clock.now(0) < moment(1.2)  # purchases 0 is busy on day 1.2: the event of day 1.5 waits

    await _read_again(clock, held)  # the rebalance; the commit is still at offset 0
    times.clear()
    for offset, record in enumerate(log):
        read(offset, record)
    assert released == [] and max(times) < moment(1.2)

    read(3, [Progress(("purchases", 0), moment(1.6), False), Progress(("purchases", 1), moment(2.0), False)])
    [event] = released  # once
    assert event.offset == 0
    assert held.applying(event, origin) == origin  # nothing else of it waits
    assert held.acknowledgeable([], [event]) == [event]


def test_a_due_tick_on_a_marker_past_its_grace_deletes_the_key_and_untracks_the_customer():
    engine = Engine(load_policy(default_policy_path()), erasure_grace=60.0)
    marker = CustomerActivity.erased(moment(0), {}, forget_at=moment(0) + 60.0)
    table = {b"gone": marker.encode(), b"kept": marker.encode()}
    scheduler = Scheduler(None, engine, CLOCK, max_per_tick=10)  # type: ignore[arg-type]  (no ticks sent)
    for key in table:
        scheduler.track(0, key.decode(), marker)
    early, due = Record(EVENTS, key=b"kept"), Record(EVENTS, key=b"gone")

    decided = decide(table, engine, [(early, moment(0) + 59.0), (due, moment(0) + 60.0)])
    writes = decided.settle(scheduler, CLOCK)

    assert writes[b"gone"] == (due, None) and decided.records == []
    assert writes[b"kept"] == (early, marker.encode())  # rewritten unchanged: the tick touched it, the marker stays
    assert len(scheduler.index) == 1  # "kept" is still due at its time; "gone" is not tracked any more


@dataclass(eq=False)
class InputRecord:
    """A record of a keyed input topic as the customers handler reads it."""

    topic: str
    key: bytes
    value: bytes | None
    partition: int = 0
    offset: int = 0
    timestamp: float | None = None


async def test_keyed_input_in_the_wire_format_is_read_with_its_schema_and_its_key_checked():
    """With WINBACK_INPUT_KEYED there is no ingest: the customers handler reads a framed input
    itself, and a record in another customer's partition is a key_mismatch."""
    registry = AsyncMockSchemaRegistryClient({"url": "mock://"})
    topology = build_topology(Settings(broker="127.0.0.1:1", app_id="keyed-test", input_format="purchase=avro",
                                       schema_registry_url="http://registry:8081"))
    topic = topology.inputs["purchase"].get_topic_name()
    read = _keyed_reader(topology, Limits(), CLOCK, {"purchase": FramedInput("avro", lambda: registry)})
    raw = await framed("avro", registry, topic, PURCHASE)
    rejected: list = []

    [(_, event, origin)] = await read([InputRecord(topic, b"c-1", raw, offset=3)], rejected)
    assert event == Purchase(**PURCHASE) and rejected == []
    assert origin == Position(source_id(topic, 0), 3)  # the record is its own origin
    assert await read([InputRecord(topic, b"c-2", raw)], rejected) == []
    [(_, _, rejection)] = rejected
    assert (rejection.reason, rejection.detail) == ("key_mismatch", "the record's key is not its customer_id")  # logged: names no customer


async def test_a_batch_of_inputs_is_read_in_order_as_each_record_alone_would_be():
    """Each topic's plain JSON records are decoded in one call; a topic whose batch holds an
    invalid record, a tombstone and a record of no input topic (a due tick) are read as before."""
    purchases, logins, profiles = "shop.purchases", "shop.logins", "shop.customer-profiles"
    kinds = {purchases: "purchase", logins: "login", profiles: "profile"}
    login = msgspec.json.encode({"event_id": "l-1", "customer_id": "c-1", "occurred_at": "2024-03-01T12:00:00Z"})
    arrived = [
        InputRecord(purchases, b"c-1", msgspec.json.encode(PURCHASE)),
        InputRecord(logins, b"c-1", login),
        InputRecord("winback.due", b"c-1", b""),
        InputRecord(purchases, b"c-1", msgspec.json.encode({**PURCHASE, "event_id": "e-2"})),
        InputRecord(logins, b"c-1", b'{"event_id": "l-2"}'),  # invalid: the logins are read one by one
        InputRecord(profiles, b"c-1", None),  # a tombstone: an erasure
    ]
    read = await _read_inputs(arrived, lambda message: kinds.get(message.topic), {}, Limits())
    alone = [_decode(kinds[m.topic], m, Limits()) if m.topic in kinds else None for m in arrived]
    assert read[:5] == alone[:5] and read[2] is None and read[3] == Purchase(**{**PURCHASE, "event_id": "e-2"})
    assert type(read[5]).__name__ == "Erasure" and read[5].customer_id == "c-1"


async def test_a_tombstone_among_valid_profiles_is_an_erasure_and_the_others_are_read_as_alone():
    """The valid records beside a tombstone are still decoded in one call, the tombstone alone."""
    profiles = "shop.customer-profiles"
    first, second = (line(profile(day, customer)) for day, customer in ((1, "c-1"), (2, "c-2")))
    arrived = [InputRecord(profiles, b"c-1", first), InputRecord(profiles, b"c-3", None), InputRecord(profiles, b"c-2", second)]
    read = await _read_inputs(arrived, lambda message: "profile", {}, Limits())
    assert [read[0], read[2]] == [_decode("profile", arrived[index], Limits()) for index in (0, 2)]
    assert [read[0].customer_id, read[2].customer_id] == ["c-1", "c-2"]
    assert type(read[1]).__name__ == "Erasure" and read[1].customer_id == "c-3"


ESCAPED = line(purchase(3, "c-3")).replace(b'"c-3"', b'"c\\u002d3"')  # valid, but not plain


@pytest.mark.parametrize("bad", [None, b'{"type": "login", "event_id": "l-2"}', ESCAPED])
def test_a_batch_of_the_internal_topics_is_read_as_each_record_alone_would_be(bad):
    """The events topic's records are decoded in one call when all are plain and valid; a due
    tick, a marker and (``bad``) an invalid record or a valid one with an escape among them
    are read as alone."""
    events, due = "winback.events", "winback.due"
    arrived = [
        InputRecord(events, b"c-1", line(purchase(1, "c-1"))),
        InputRecord(due, b"c-1", b""),
        InputRecord(events, MARKER_KEY, b"{}"),
        InputRecord(events, b"c-2", line(purchase(2, "c-2"))),
    ]
    if bad is not None:
        arrived.append(InputRecord(events, b"c-3", bad))
    read = _decode_internals(arrived, due)
    assert [message for message, _ in read] == arrived
    alone = [None if m.topic == due or m.key == MARKER_KEY else _decode_internal(m) for m in arrived]
    assert [event for _, event in read] == alone
    assert [read[0][1].customer_id, read[3][1].customer_id] == ["c-1", "c-2"]
