"""The agents: validate input, repartition by customer, keep each customer's state, act on it.

Kept thin on purpose: decisions live in the pure engine, these functions only move bytes
between Kafka and it.  Processing is at-least-once: a record's offset is committed after the
agent has handled it, so after a crash it may be handled again, which the engine's idempotent
updates (each event's input position, max() of timestamps) and the deterministic record ids
make harmless.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter, defaultdict
from typing import Awaitable, Callable, Mapping, NoReturn

import faust
import msgspec
from faust.types.tuples import Message

from streams.runtime import dead_letters, provenance
from streams.runtime.observability import metrics
from streams.model.activity import CustomerActivity
from streams.runtime.clock import Clock, EventTimeClock
from streams.model.codec import (
    Limits, Rejection, decode_batch_at, decode_erasure, decode_line, decode_record, decode_records,
)
from streams.runtime.emitter import Emitter
from streams.runtime.held_events import HeldEvents, Ready
from streams.runtime.keyed_event_time import HeldInput
from streams.runtime.output_encoding import OutputEncoding
from streams.runtime.partition_batches import Outgoing, before_commit
from streams.runtime.schema_registry import RegistryUnavailable
from streams.runtime.wire_format import FramedInput
from streams.runtime.faust_patches import BatchHandler, acknowledge, stored_value
from streams.core.customer_stage import StagePosition
from streams.core.engine import Engine, Result
from streams.model.records import Record
from streams.model.events import AnyInput, encode_event
from streams.model.positions import Position, source_id
from streams.runtime.scheduler import Scheduler
from streams.runtime.stage_topic import Before, StageChanges, stage_before
from streams.runtime.state_writes import StateWrite, write_states
from streams.runtime.topology import Topology
from streams.runtime.watermarks import MARKER_DECODER, MARKER_KEY, MarkerSender

log = logging.getLogger(__name__)

EXIT_UNHANDLED = 75  # EX_TEMPFAIL: a record could not be handled for now; a restart reads it again
Rejected = list[tuple[str, Message, Rejection]]  # (event type, record, why) of a batch's rejected records
# How the customers handler reads a batch of keyed input: what is ready to handle (the rejected
# records are added to the batch's rejected ones instead).
Reader = Callable[[list[Message], Rejected], Awaitable[list[Ready]]]


def register_agents(
    topology: Topology,
    engine: Engine,
    scheduler: Scheduler,
    clock: Clock,
    limits: Limits,
    watermarks: MarkerSender | None = None,
    framed_inputs: dict[str, FramedInput] | None = None,
    encoding: OutputEncoding | None = None,
    input_keyed: bool = False,
    held_input: HeldInput | None = None,
) -> None:
    """Hand the app's topics to their handlers, a fetch at a time (``DurableApp.read_in_batches``).

    Repartitioned input: ingest (one handler per input topic) validates and forwards, the
    customers handler reads the internal events and due topics.  ``input_keyed``: the input
    topics are keyed by customer and co-partitioned with the table, so the customers handler
    reads them directly and there is no ingest.  ``watermarks`` is given with the event clock:
    ingest then reports its progress to it.  ``framed_inputs``: the inputs whose records are in
    the Confluent wire format (the others are plain JSON); ``encoding``: how output records are
    encoded (plain JSON by default).  ``held_input`` is given with keyed input and the event
    clock: the customers handler holds its events until event time passes them.
    """
    app = topology.app
    emitter, stages, framed_inputs = Emitter(topology, encoding), StageChanges(engine), framed_inputs or {}
    if input_keyed:
        reader = _keyed_reader(topology, limits, clock, framed_inputs)
        keep = _keep_customers(topology, engine, scheduler, emitter, clock, stages, reader, held_input)
        for topic in (*topology.inputs.values(), topology.due):
            app.read_in_batches(topic, keep)
        return
    for kind, topic in topology.inputs.items():
        app.read_in_batches(topic, _ingest(kind, topology, limits, watermarks, framed_inputs.get(kind)))
    keep = _keep_customers(topology, engine, scheduler, emitter, clock, stages, None)
    app.read_in_batches(topology.customer_inputs, keep)


def _ingest(
    kind: str, topology: Topology, limits: Limits, watermarks: MarkerSender | None, framed: FramedInput | None
) -> BatchHandler:
    """Validate each raw record of a batch: dead-letter it with the reason, or forward it keyed by customer.

    Every dead letter of a batch is handed to the producer as it comes, the forwards together
    in one batch per partition of the events topic, in order, without waiting; then the
    batch's dead letters are awaited once (``dead_letters.Outbox``) and counted, and only then
    is the batch acknowledged; the forwards are on Kafka before its offsets are committed
    (``partition_batches.before_commit``).
    "Too far in the future" is judged against the real clock whatever the scheduler's clock.
    A tombstone on the profiles topic is the shop erasing the customer its key names: it is
    forwarded as an ``Erasure`` dated by the record's timestamp (never later than now).
    A ``framed`` input's records are first read with their schema from the registry.
    """
    consumed = metrics.EVENTS_CONSUMED.labels(kind)
    events_topic = topology.events.get_topic_name()

    async def ingest(batch: list[Message]) -> None:
        consumed.inc(len(batch))
        outbox = dead_letters.Outbox(topology.dead_letters)
        rejected: Rejected = []
        forwards: list[Outgoing] = []
        read = await _read_inputs(batch, lambda message: kind, {kind: framed} if framed else {}, limits)
        for message, result in zip(batch, read):  # (every record of an input topic is read: none is None)
            if isinstance(result, Rejection):
                await outbox.queue(_letter(message, result))
                rejected.append((kind, message, result))
            else:
                header = provenance.header(message.topic, message.partition, message.offset)
                forwards.append(Outgoing(events_topic, result.customer_id.encode(), encode_event(result), [header]))
        await before_commit(topology.app, forwards)
        if watermarks is not None:  # only once the forwards are queued: a marker must follow them
            for message, result in zip(batch, read):
                watermarks.observe(message, None if isinstance(result, Rejection) else result.occurred_at.timestamp())
        await _dead_lettered(outbox, rejected)
        acknowledge(topology.app, batch)

    return ingest


async def _read_inputs(
    arrived: list[Message],
    kind_of: Callable[[Message], str | None],
    framed_inputs: Mapping[str, FramedInput],
    limits: Limits,
) -> list[AnyInput | Rejection | None]:
    """Each record's event, or why it is none, in order (None: not an input record).

    The plain JSON records of each input topic are decoded in one call (``decode_records``);
    when any of them is not a valid plain event of the topic, they are decoded one by one
    (``_decode``), in order, as tombstones are; a framed input's records are read with their
    schema (``_decode_framed``).
    """
    decoded: list[AnyInput | Rejection | None] = [None] * len(arrived)
    by_kind: dict[str, list[int]] = defaultdict(list)  # kind -> indexes of its records
    for index, message in enumerate(arrived):
        kind = kind_of(message)
        if kind is not None:
            by_kind[kind].append(index)
    now = time.time()
    one_by_one: list[tuple[int, str]] = []
    for kind, indexes in by_kind.items():
        plain, values = ([], []) if kind in framed_inputs else _with_values(arrived, indexes)
        events = decode_records(values, kind, now=now, limits=limits) if plain else None
        if events is None:
            one_by_one.extend((index, kind) for index in indexes)
            continue
        for index, event in zip(plain, events):
            decoded[index] = event
        if len(plain) < len(indexes):  # the topic's tombstones
            one_by_one.extend((index, kind) for index in indexes if decoded[index] is None)
    for index, kind in sorted(one_by_one):
        message, framed = arrived[index], framed_inputs.get(kind)
        if framed is None or message.value is None:
            decoded[index] = _decode(kind, message, limits)
        else:
            decoded[index] = await _decode_framed(framed, kind, message, limits)
    return decoded


def _with_values(arrived: list[Message], indexes: list[int]) -> tuple[list[int], list[bytes]]:
    """The ``indexes`` of the records with a value (all but tombstones), and their values."""
    values = [arrived[index].value for index in indexes]
    if None not in values:
        return indexes, values  # type: ignore[return-value]  # (no None among them)
    pairs = [(index, value) for index, value in zip(indexes, values) if value is not None]
    return [index for index, _ in pairs], [value for _, value in pairs]


def _decode(kind: str, message: Message, limits: Limits) -> AnyInput | Rejection:
    """The input record's event (a profile tombstone: an erasure), or why it is none.  Plain
    JSON needs no await: a record in the wire format is read with ``_decode_framed`` instead."""
    now = time.time()
    if message.value is None and kind == "profile":
        return decode_erasure(message.key, min(message.timestamp or now, now))
    return decode_record(message.value, kind, now=now, limits=limits)


async def _decode_framed(framed: FramedInput, kind: str, message: Message, limits: Limits) -> AnyInput | Rejection:
    """A record in the Confluent wire format, read with its schema, then validated like JSON.

    A registry that cannot be asked is no fault of the record: rather than dead-letter it, the
    process exits without committing (``_exit_unhandled``), and reads it again after a restart.
    """
    try:
        plain = await framed.as_json(message.value)
    except RegistryUnavailable as error:
        _exit_unhandled(f"cannot read {message.topic}:{message.partition}@{message.offset} ({error})")
    if isinstance(plain, Rejection):
        return plain
    return decode_record(plain, kind, now=time.time(), limits=limits)


def _letter(message: Message, rejection: Rejection) -> dead_letters.DeadLetter:
    source = dead_letters.Source(message.topic, message.partition, message.offset, _timestamp_ms(message))
    return dead_letters.letter(message.key, message.value, message.headers or (), rejection, source)


async def _dead_lettered(outbox: dead_letters.Outbox, rejected: Rejected) -> None:
    """Wait until Kafka acknowledged the batch's dead letters, then count and log each.

    If Kafka never takes one, the process exits at once (``_exit_unhandled``) rather than go on.
    """
    try:
        await outbox.acknowledged()
    except dead_letters.Undeliverable as error:
        source = error.source
        _exit_unhandled(f"cannot dead-letter {source.topic}:{source.partition}@{source.offset} ({error})")
    for kind, message, rejection in rejected:
        metrics.DEAD_LETTERS.labels(kind, rejection.reason).inc()
        log.warning(
            "dead-lettered %s:%d@%d: %s", message.topic, message.partition, message.offset, rejection.detail,
            extra={"type": kind, "reason": rejection.reason, "topic": message.topic, "partition": message.partition},
        )


def _exit_unhandled(problem: str) -> NoReturn:
    """Exit the process at once, committing nothing, so that the record being handled is read
    again after the restart.

    A graceful stop would wait for the batch in progress to be acknowledged ("Wait for
    streams"), which it never is.  Exiting like this is a kill -9, which at-least-once
    processing survives (docs/guarantees.md).
    """
    log.critical("%s; exiting without committing its offset, so it is read again after a restart", problem)
    logging.shutdown()
    os._exit(EXIT_UNHANDLED)


def _timestamp_ms(message: Message) -> int | None:
    return int(message.timestamp * 1000) if message.timestamp else None


def _keyed_reader(topology: Topology, limits: Limits, clock: Clock, framed_inputs: dict[str, FramedInput]) -> Reader:
    """Reading input keyed by customer (``WINBACK_INPUT_KEYED``): the customers handler decodes
    and validates each input record itself, and dead-letters the invalid ones and those whose
    key is not their customer's (``key_mismatch``: the record sits in another customer's
    partition, where its customer's state is not).  A framed input's records are read with
    their schema from the registry, as ingest reads them.  Due ticks as in ``_keep_customers``."""
    kinds = {topic.get_topic_name(): kind for kind, topic in topology.inputs.items()}
    consumed = {kind: metrics.EVENTS_CONSUMED.labels(kind) for kind in kinds.values()}

    def kind_of(message: Message) -> str | None:
        return kinds.get(message.topic)

    async def ready(arrived: list[Message], rejected: Rejected) -> list[Ready]:
        batch: list[Ready] = []
        read: Counter[str] = Counter()
        for message, result in zip(arrived, await _read_inputs(arrived, kind_of, framed_inputs, limits)):
            if result is None:  # the due topic
                batch.append((message, clock.now(message.partition), None))
                continue
            kind = kinds[message.topic]
            read[kind] += 1
            if not isinstance(result, Rejection) and message.key != result.customer_id.encode():
                # The reason names no customer: it is logged, and the dead letter keeps the key and value anyway.
                result = Rejection("key_mismatch", "the record's key is not its customer_id")
            if isinstance(result, Rejection):
                rejected.append((kind, message, result))
            else:  # the record is its own origin
                batch.append((message, result, Position(source_id(message.topic, message.partition), message.offset)))
        for kind, count in read.items():
            consumed[kind].inc(count)
        return batch

    return ready


def _keep_customers(
    topology: Topology,
    engine: Engine,
    scheduler: Scheduler,
    emitter: Emitter,
    clock: Clock,
    stages: StageChanges,
    reader: Reader | None,
    held_input: HeldInput | None = None,
) -> BatchHandler:
    """Apply events and due ticks to each customer's state; publish what the engine decides.

    One handler reads every topic of a customer, so a customer's updates never interleave.
    A batch is what one fetch brought: decide for every record in memory, publish everything
    the batch decided and wait for Kafka's acknowledgement once, and only then write each
    changed customer's new state, once (``streams.runtime.emitter`` says why this order);
    then acknowledge the batch.  The customers whose stage record changed go out with the
    batch's records (``streams.runtime.stage_topic``).  Waiting once per batch instead of once per record is what lets
    the handler keep up: each wait costs a broker round trip.  ``reader``: how records of the
    input topics are read when they come keyed by customer (``_keyed_reader``); None: the
    internal events topic's, which ingest validated.  With the event clock, events are held
    until their partition's time passes them, and each record is acknowledged once handled
    and only once no earlier record of its partition is still held
    (``streams.runtime.held_events``); the events topic's markers move the clock, or, with
    keyed input, ``held_input`` does, from the input read (``streams.runtime.keyed_event_time``).
    """
    app = topology.app
    due_topic = topology.due.get_topic_name()
    outbox = dead_letters.Outbox(topology.dead_letters)  # one for every batch: each waits for its own letters
    held = held_input.held if held_input is not None else None
    if isinstance(clock, EventTimeClock):  # the repartitioned path's (keyed input has its own clock)
        held = HeldEvents(due_topic)
        topology.activity.on_recover(lambda: _read_again(clock, held))

    def ready(message: Message, decoded: AnyInput | None) -> list[Ready]:
        """What can be handled now that ``message`` arrived from the events or due topic, with
        its ``decoded`` event (``_decode_internals``); markers are handled right here.

        A due tick is paired with the clock's time at its arrival: later markers of the same
        batch move the event clock on, and the tick must not fire what the events they
        release would have prevented.
        """
        if message.topic == due_topic:
            return [(message, clock.now(message.partition), None)]
        if message.key == MARKER_KEY:
            _on_marker(clock, message.partition, message.value)
            released = held.release(message.partition, clock.now(message.partition)) if held is not None else []
            return [(message, None, None), *released]
        if decoded is None:
            return [(message, None, None)]
        origin = provenance.position(message.headers)
        if held is None:
            return [(message, decoded, origin)]
        held.hold(message, decoded, origin)
        return []

    async def keep_customers(arrived: list[Message]) -> None:
        rejected: Rejected = []
        if reader is None:
            batch = [item for message, event in _decode_internals(arrived, due_topic) for item in ready(message, event)]
        else:
            batch = await reader(arrived, rejected)
        if held_input is not None:
            batch = held_input.arrange(arrived, batch)
        for _, message, rejection in rejected:
            await outbox.queue(_letter(message, rejection))
        started = time.perf_counter()
        decided = _decide(app, topology.activity, engine, batch, held, clock)
        await emitter.publish(decided.records, stages.between(decided.changed, decided.before, decided.states))
        await write_states(app, topology.activity, decided.settle(scheduler, clock))
        metrics.observe_processing(time.perf_counter() - started, len(batch))
        await _dead_lettered(outbox, rejected)
        if held is None:
            acknowledge(app, arrived)
            return
        handled = [*(message for _, message, _ in rejected), *(message for message, _, _ in batch)]
        acknowledge(app, held.acknowledgeable(arrived, handled))

    return keep_customers


class _Decided:
    """What a batch decided: the records to publish, and each changed customer's new state.

    A customer's state is read from the table once per batch and written once, after the
    records are acknowledged, under the batch's last record that changed it (the table
    sends the write to that record's changelog partition).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.records: list[Record] = []  # every record the batch decided, in order
        self.published: dict[int, list[Record]] = defaultdict(list)  # the same, by input partition
        self.states: dict[bytes, CustomerActivity | None] = {}  # customer key -> latest state
        self.before: dict[bytes, Before] = {}  # customer key -> stage record of the state in the table
        self.changed: dict[bytes, Message] = {}  # customer key -> last record that changed it

    def load(self, app: faust.App, table: faust.Table, message: Message) -> CustomerActivity | None:
        """The customer's state as this batch left it so far (read from the table the first time)."""
        key = message.key
        if key not in self.states:
            stored = stored_value(app, table, message)
            state = CustomerActivity.decode(stored) if stored is not None else None
            self.states[key] = state
            self.before[key] = stage_before(self.engine, state)
        return self.states[key]

    def keep(self, message: Message, result: Result) -> None:
        if result.records:
            self.records.extend(result.records)
            self.published[message.partition].extend(result.records)
        self.states[message.key] = None if result.forgotten else result.state
        self.changed[message.key] = message

    def settle(self, scheduler: Scheduler, clock: Clock) -> dict[bytes, StateWrite]:
        """After the records are acknowledged: count them, re-index each changed customer, and
        return each one's state write (a forgotten one: None, a delete, which writes a tombstone
        to the changelog) for ``streams.runtime.state_writes``."""
        for partition, records in self.published.items():
            metrics.count_published(records, emitted_at=clock.now(partition))
        writes: dict[bytes, StateWrite] = {}
        for key, message in self.changed.items():
            state = self.states[key]
            writes[key] = (message, None if state is None else state.encode())
            if state is None:
                scheduler.untrack(message.partition, key.decode())
                continue
            metrics.count_stage_change(_stage_of(self.before[key]), _stage(state))
            scheduler.track(message.partition, key.decode(), state)
        return writes


def _stage(state: CustomerActivity | None) -> int | None:
    """The customer's stage for the per-stage gauge (None: not in the table, or erased)."""
    return state.stage if state is not None and not state.is_erased() else None


def _stage_of(before: Before) -> int | None:
    """The stage of a customer's stage record before the batch (None: not in the table, or erased)."""
    return before.stage if isinstance(before, StagePosition) else None


def _decide(
    app: faust.App,
    table: faust.Table,
    engine: Engine,
    batch: list[Ready],
    held: HeldEvents | None,
    clock: Clock,
) -> _Decided:
    """Run the engine over a batch, in order, on states kept in memory for the batch.

    Each event goes with its input position (its origin; ``held``: with the event clock, with
    the earliest offset of its customer and input partition still held), with the real time,
    which bounds how far ahead a profile counts, and with the scheduler's time, from which an
    erasure marker's grace runs.  The applied events are counted once per batch and type.
    """
    decided = _Decided(engine)
    now = time.time()
    applied: Counter[type] = Counter()
    for message, content, origin in batch:
        if content is None:
            continue  # a marker (already observed) or an undecodable record (already logged)
        customer_id = message.key.decode()
        state = decided.load(app, table, message)
        if isinstance(content, float):
            result = _on_due(engine, content, customer_id, state)
        else:
            position = origin if held is None or origin is None else held.applying(message, origin)
            applied_at = clock.now(message.partition)
            result = _on_event(engine, customer_id, state, content, position, now, applied_at)
            applied[type(content)] += 1
        if result is not None:
            decided.keep(message, result)
    for kind, count in applied.items():
        metrics.EVENTS_APPLIED.labels(kind.__struct_config__.tag).inc(count)
    return decided


async def _read_again(clock: EventTimeClock, held: HeldEvents) -> None:
    """After a rebalance, start afresh, as after a restart (``HeldInput.own_assigned`` does the same for keyed input).

    Faust seeks every partition assigned here, kept ones too, back to its committed offset
    (``Recovery.on_recovery_completed`` -> ``Consumer.perform_seek``; aiokafka starts each
    assignment without positions as well), and no held event is committed (``HeldEvents``):
    so every held event comes again, and every marker read since the commit.  Kept, the held
    events would be held twice, and old markers read again over the clock's newer times
    would take an input partition for idle that a later marker said was busy, and run the
    clock ahead of it (docs/guarantees.md, "Rebalances and the event clock").
    """
    log.info("a rebalance: every partition is read again from its committed offset (%d held events forgotten)", len(held))
    clock.read_again()
    held.forget()


def _decode_internals(arrived: list[Message], due_topic: str) -> list[tuple[Message, AnyInput | None]]:
    """Each record of a batch of the events and due topics with its event (None: a due tick, a
    watermark marker, or an invalid record, logged), in order.  The events are decoded in one
    call (``decode_batch_at``) when all are plain and valid, else one by one, as that call
    equals whenever it decodes."""
    indexes = [index for index, message in enumerate(arrived) if message.topic != due_topic and message.key != MARKER_KEY]
    values = [arrived[index].value for index in indexes]
    batch = decode_batch_at(values) if values and None not in values else None
    events = batch[0] if batch is not None else [_decode_internal(arrived[index]) for index in indexes]
    decoded: list[AnyInput | None] = [None] * len(arrived)
    for index, event in zip(indexes, events):
        decoded[index] = event
    return list(zip(arrived, decoded))


def _decode_internal(message: Message) -> AnyInput | None:
    """An event from the internal topic (only our own ingest writes it; guard anyway)."""
    decoded = decode_line(message.value)
    if isinstance(decoded, Rejection):
        # Where it is, not whose: the key is a customer id, and a log names no customer.
        log.error("invalid record on the internal events topic at %s[%d]@%d: %s", message.topic, message.partition, message.offset, decoded.detail)
        return None
    return decoded


def _on_event(
    engine: Engine,
    customer_id: str,
    state: CustomerActivity | None,
    event: AnyInput,
    position: Position | None,
    now: float,
    applied_at: float,
) -> Result:
    """An event: fire what was due before it, fold it in (an erasure: empty the state).

    A redelivered event changes nothing, but its state is written again all the same: with the
    RocksDB store the state it found may be one the local database kept while a kill -9 kept
    its changelog write from Kafka (the input offset was not committed either, hence the
    redelivery), and only a write puts it back in the changelog.
    """
    return engine.apply_at(customer_id, state, event, event.occurred_at.timestamp(), position, now, applied_at)


def _on_marker(clock: Clock, partition: int, raw: bytes) -> None:
    """A watermark marker: how far the input partitions are read (event clock only).  One in
    another format (a worker of an earlier release, during an upgrade) moves time on not at all."""
    if isinstance(clock, EventTimeClock):
        try:
            marker = MARKER_DECODER.decode(raw)
        except msgspec.DecodeError:
            log.warning("ignored a watermark marker in an unknown format on partition %d", partition)
            return
        clock.observe_marker(partition, marker.expected(), marker.progress())


def _on_due(engine: Engine, now: float, customer_id: str, state: CustomerActivity | None) -> Result | None:
    """A scheduler tick: fire whatever is due by now (the state is re-checked, ticks may be stale)."""
    if state is None:
        return None
    return engine.advance(customer_id, state, now)
