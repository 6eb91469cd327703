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
from typing import AsyncIterator, Iterator, NoReturn

import faust
import msgspec
from faust.types.tuples import Message

from streams.runtime import dead_letters, provenance
from streams.runtime.observability import metrics
from streams.model.activity import CustomerActivity
from streams.runtime.clock import Clock, EventTimeClock
from streams.model.codec import Limits, Rejection, decode_erasure, decode_line, decode_record
from streams.runtime.emitter import Emitter
from streams.runtime.output_encoding import OutputEncoding
from streams.runtime.schema_registry import RegistryUnavailable
from streams.runtime.wire_format import FramedInput
from streams.runtime.faust_patches import make_current
from streams.core.engine import Engine, Result
from streams.model.records import Record
from streams.model.events import AnyInput, encode_event
from streams.model.positions import Position
from streams.runtime.ordered_acks import OrderedAcks
from streams.runtime.reorder import ReorderBuffer
from streams.runtime.scheduler import Scheduler
from streams.runtime.stage_topic import StageChanges
from streams.runtime.topology import Topology
from streams.runtime.waiting import WaitingOffsets
from streams.runtime.watermarks import MARKER_DECODER, MARKER_KEY, MarkerSender

log = logging.getLogger(__name__)

BATCH_SIZE = 1000  # most records an agent handles before it waits for Kafka once
BATCH_WAIT_SECONDS = 0.01  # how long a partial batch waits for more: the latency added at low traffic
EXIT_UNHANDLED = 75  # EX_TEMPFAIL: a record could not be handled for now; a restart reads it again
# A record to handle, with what to apply: its decoded event, a due tick's time to act at, or
# None (a marker or an undecodable record: nothing).
Ready = tuple[faust.EventT, AnyInput | float | None]


def register_agents(
    topology: Topology,
    engine: Engine,
    scheduler: Scheduler,
    clock: Clock,
    limits: Limits,
    watermarks: MarkerSender | None = None,
    framed_inputs: dict[str, FramedInput] | None = None,
    encoding: OutputEncoding | None = None,
) -> None:
    """Attach the ingest agents (one per input topic) and the customer agent to the app.

    ``watermarks`` is given with the event clock: ingest then reports its progress to it.
    ``framed_inputs``: the inputs whose records are in the Confluent wire format (the others
    are plain JSON); ``encoding``: how output records are encoded (plain JSON by default).
    """
    for kind, topic in topology.inputs.items():
        framed = (framed_inputs or {}).get(kind)
        topology.app.agent(topic, name=f"ingest-{kind}")(_ingest(kind, topology, limits, watermarks, framed))
    keep = _keep_customers(topology, engine, scheduler, Emitter(topology, encoding), clock, StageChanges(engine))
    topology.app.agent(topology.customer_inputs, name="customers")(keep)


def _ingest(kind: str, topology: Topology, limits: Limits, watermarks: MarkerSender | None, framed: FramedInput | None):
    """Validate each raw record: dead-letter it with the reason, or forward it keyed by customer.

    Records are taken in batches like the customers agent's: every forward and dead letter of
    a batch is handed to the producer in order, then the batch's dead letters are awaited once
    (``dead_letters.Outbox``) and counted, and only then does Faust acknowledge the batch
    (``take_events`` acknowledges a batch's records when the agent asks for the next one).
    "Too far in the future" is judged against the real clock whatever the scheduler's clock.
    A tombstone on the profiles topic is the shop erasing the customer its key names: it is
    forwarded as an ``Erasure`` dated by the record's timestamp (never later than now).
    A ``framed`` input's records are first read with their schema from the registry.
    """
    consumed = metrics.EVENTS_CONSUMED.labels(kind)

    async def ingest(stream: faust.StreamT) -> AsyncIterator[None]:
        async for batch in stream.take_events(BATCH_SIZE, BATCH_WAIT_SECONDS):
            consumed.inc(len(batch))
            outbox = dead_letters.Outbox(topology.dead_letters)
            rejected: list[tuple[Message, Rejection]] = []
            for event in batch:
                result = _decode(kind, event, limits) if framed is None else await _decode_framed(framed, kind, event, limits)
                if isinstance(result, Rejection):
                    await outbox.queue(_letter(event, result))
                    rejected.append((event.message, result))
                    event_time = None
                else:
                    origin = provenance.Origin(event.message.topic, event.message.partition, event.message.offset)
                    await topology.events.send(
                        key=result.customer_id.encode(), value=encode_event(result), headers=[origin.header()]
                    )
                    event_time = result.occurred_at.timestamp()
                if watermarks is not None:  # only after the forward is queued: the marker must follow it
                    watermarks.observe(event.message, event_time)
            await _dead_lettered(outbox, kind, rejected)
            yield None

    return ingest


def _decode(kind: str, event: faust.EventT, limits: Limits) -> AnyInput | Rejection:
    """The input record's event (a profile tombstone: an erasure), or why it is none."""
    now = time.time()
    if event.value is None and kind == "profile":
        return decode_erasure(event.key, min(event.message.timestamp or now, now))
    return decode_record(event.value, kind, now=now, limits=limits)


async def _decode_framed(framed: FramedInput, kind: str, event: faust.EventT, limits: Limits) -> AnyInput | Rejection:
    """A record in the Confluent wire format, read with its schema, then validated like JSON.

    A registry that cannot be asked is no fault of the record: rather than dead-letter it, the
    process exits without committing (``_exit_unhandled``), and reads it again after a restart.
    """
    if event.value is None:
        return _decode(kind, event, limits)
    try:
        plain = await framed.as_json(event.value)
    except RegistryUnavailable as error:
        message = event.message
        _exit_unhandled(f"cannot read {message.topic}:{message.partition}@{message.offset} ({error})")
    if isinstance(plain, Rejection):
        return plain
    return decode_record(plain, kind, now=time.time(), limits=limits)


def _letter(event: faust.EventT, rejection: Rejection) -> dead_letters.DeadLetter:
    message = event.message
    source = dead_letters.Source(message.topic, message.partition, message.offset, _timestamp_ms(message))
    return dead_letters.letter(event.key, event.value, message.headers or (), rejection, source)


async def _dead_lettered(outbox: dead_letters.Outbox, kind: str, rejected: list[tuple[Message, Rejection]]) -> None:
    """Wait until Kafka acknowledged the batch's dead letters, then count and log each.

    If Kafka never takes one, the process exits at once (``_exit_unhandled``) rather than go on.
    """
    try:
        await outbox.acknowledged()
    except dead_letters.Undeliverable as error:
        source = error.source
        _exit_unhandled(f"cannot dead-letter {source.topic}:{source.partition}@{source.offset} ({error})")
    for message, rejection in rejected:
        metrics.DEAD_LETTERS.labels(kind, rejection.reason).inc()
        log.warning(
            "dead-lettered %s:%d@%d: %s", message.topic, message.partition, message.offset, rejection.detail,
            extra={"type": kind, "reason": rejection.reason, "topic": message.topic, "partition": message.partition},
        )


def _exit_unhandled(problem: str) -> NoReturn:
    """Exit the process at once, committing nothing, so that the record being handled is read
    again after the restart.

    A graceful stop would lose it: Faust acknowledges the batch the agent is on as the agent
    unwinds (``take_events`` acknowledges in a ``finally``), and commits its offsets on the way out.  Exiting like this is a kill -9, which
    at-least-once processing survives (docs/guarantees.md).
    """
    log.critical("%s; exiting without committing its offset, so it is read again after a restart", problem)
    logging.shutdown()
    os._exit(EXIT_UNHANDLED)


def _timestamp_ms(message: faust.types.tuples.Message) -> int | None:
    return int(message.timestamp * 1000) if message.timestamp else None


def _keep_customers(
    topology: Topology, engine: Engine, scheduler: Scheduler, emitter: Emitter, clock: Clock, stages: StageChanges
):
    """Apply events and due ticks to each customer's state; publish what the engine decides.

    One agent reads both topics, so a customer's updates never interleave.  Records are taken
    in batches (up to ``BATCH_SIZE``, or what arrived within ``BATCH_WAIT_SECONDS``): decide
    for every record in memory, publish everything the batch decided and wait for Kafka's
    acknowledgement once, and only then write each changed customer's new state, once
    (``streams.runtime.emitter`` says why this order); the customers whose stage record changed
    go out with the batch's records (``streams.runtime.stage_topic``).  Waiting once per batch instead of once per
    record is what lets the agent keep up: each wait costs a broker round trip.  Faust
    acknowledges a batch's records after the batch.  With the event clock, events are held in
    a ``ReorderBuffer`` until the partition's watermark passes them, and every record of the
    events topic keeps an extra reference: the agent acknowledges it by hand, once handled and
    only once no earlier record of its partition is still held (``streams.runtime.ordered_acks``).
    """
    due_topic = topology.due.get_topic_name()
    held: ReorderBuffer[tuple[faust.EventT, AnyInput]] | None = None
    acks: OrderedAcks[faust.EventT] | None = None
    waiting: WaitingOffsets | None = None
    if isinstance(clock, EventTimeClock):
        held, acks, waiting = ReorderBuffer(), OrderedAcks(), WaitingOffsets()
        topology.activity.on_recover(lambda: _forget_revoked(topology, held, acks, waiting))
        topology.app.parked = lambda: _parked(held, acks)

    def ready(event: faust.EventT) -> list[Ready]:
        """What can be handled now that ``event`` arrived (markers are handled right here).

        A due tick is paired with the clock's time at its arrival: later markers of the same
        batch move the event clock on, and the tick must not fire what the events they
        release would have prevented.
        """
        message = event.message
        if message.topic == due_topic:
            return [(event, clock.now(message.partition))]
        if held is not None:
            message.incref()  # acknowledged by hand, in offset order (the batch's ack is not enough)
        if event.key == MARKER_KEY:
            _on_marker(clock, message.partition, event.value)
            released = held.release(message.partition, clock.now(message.partition)) if held else []
            return [(event, None), *released]
        decoded = _decode_internal(event)
        if held is None or acks is None or waiting is None or decoded is None:
            return [(event, decoded)]
        origin = provenance.read(event.headers)
        if origin is not None:
            waiting.add(message.partition, event.key, origin)
        acks.hold(message.partition, message.offset)
        held.hold(message.partition, decoded.occurred_at.timestamp(), decoded.event_id, (event, decoded))
        return []

    async def keep_customers(stream: faust.StreamT) -> AsyncIterator[None]:
        async for arrived in stream.take_events(BATCH_SIZE, BATCH_WAIT_SECONDS):
            batch = [pair for event in arrived for pair in ready(event)]
            started = time.perf_counter()
            decided = _decide(topology.activity, engine, batch, waiting, clock)
            await emitter.publish(decided.records, stages.between(decided.changed, decided.stored, decided.states))
            decided.write(topology.activity, scheduler, clock)
            metrics.observe_processing(time.perf_counter() - started, len(batch))
            if acks is not None:
                for event, content in batch:
                    if not isinstance(content, float):  # not a due tick: a record of the events topic
                        for handled in acks.done(event.message.partition, event.message.offset, event):
                            await stream.ack(handled)
            yield None

    return keep_customers


class _Decided:
    """What a batch decided: the records to publish, and each changed customer's new state.

    A customer's state is read from the table once per batch and written once, after the
    records are acknowledged, under the batch's last record that changed it (the table
    sends the write to that record's changelog partition).
    """

    def __init__(self) -> None:
        self.published: list[tuple[int, tuple[Record, ...]]] = []  # (partition, records) per result
        self.states: dict[bytes, CustomerActivity | None] = {}  # customer key -> latest state
        self.stages_before: dict[bytes, int | None] = {}  # customer key -> stage in the table
        self.stored: dict[bytes, bytes | None] = {}  # customer key -> state in the table (for the stage topic)
        self.changed: dict[bytes, faust.EventT] = {}  # customer key -> last record that changed it

    def load(self, table: faust.Table, event: faust.EventT) -> CustomerActivity | None:
        """The customer's state as this batch left it so far (read from the table the first time)."""
        key = event.key
        if key not in self.states:
            make_current(event)
            stored = self.stored[key] = table.get(key)
            state = CustomerActivity.decode(stored) if stored is not None else None
            self.states[key] = state
            self.stages_before[key] = _stage(state)
        return self.states[key]

    @property
    def records(self) -> list[Record]:
        """Every record the batch decided, in order."""
        return [record for _, records in self.published for record in records]

    def keep(self, event: faust.EventT, result: Result) -> None:
        self.published.append((event.message.partition, result.records))
        self.states[event.key] = None if result.forgotten else result.state
        self.changed[event.key] = event

    def write(self, table: faust.Table, scheduler: Scheduler, clock: Clock) -> None:
        """After the records are acknowledged: count them, write and re-index each changed customer
        (a forgotten one: delete the key, which writes a tombstone to the changelog)."""
        for partition, records in self.published:
            metrics.count_published(records, emitted_at=clock.now(partition))
        for key, event in self.changed.items():
            state = self.states[key]
            make_current(event)
            if state is None:
                if key in table:
                    del table[key]
                scheduler.untrack(event.message.partition, key.decode())
                continue
            table[key] = state.encode()
            metrics.count_stage_change(self.stages_before[key], _stage(state))
            scheduler.track(event.message.partition, key.decode(), state)


def _stage(state: CustomerActivity | None) -> int | None:
    """The customer's stage for the per-stage gauge (None: not in the table, or erased)."""
    return state.stage if state is not None and not state.is_erased() else None


def _decide(
    table: faust.Table, engine: Engine, batch: list[Ready], waiting: WaitingOffsets | None, clock: Clock
) -> _Decided:
    """Run the engine over a batch, in order, on states kept in memory for the batch.

    Each event goes with its input position (``waiting``: the offsets still waiting, with the
    event clock), with the real time, which bounds how far ahead a profile counts, and with the
    scheduler's time, from which an erasure marker's grace runs.
    """
    decided = _Decided()
    now = time.time()
    for event, content in batch:
        if content is None:
            continue  # a marker (already observed) or an undecodable record (already logged)
        customer_id = event.key.decode()
        state = decided.load(table, event)
        if isinstance(content, float):
            result = _on_due(engine, content, customer_id, state)
        else:
            applied_at = clock.now(event.message.partition)
            result = _on_event(engine, customer_id, state, content, _position(event, waiting), now, applied_at)
        if result is not None:
            decided.keep(event, result)
    return decided


async def _forget_revoked(topology: Topology, held: ReorderBuffer, acks: OrderedAcks, waiting: WaitingOffsets) -> None:
    """After a rebalance, drop held events of partitions now owned elsewhere (they are re-delivered there)."""
    owned = topology.customer_partitions()
    held.keep_only(owned)
    acks.keep_only(owned)
    waiting.keep_only(owned)


def _position(event: faust.EventT, waiting: WaitingOffsets | None) -> Position | None:
    """Where the event came from, as the engine keeps it (None: a record without the header)."""
    origin = provenance.read(event.headers)
    if origin is None:
        return None
    if waiting is None:
        return origin.position()
    return waiting.applying(event.message.partition, event.key, origin)


def _parked(held: ReorderBuffer, acks: OrderedAcks) -> Iterator[Message]:
    """The records the agent acknowledges later: events held for the watermark, and handled
    records waiting for an earlier held one.  A stopping worker does not wait for them."""
    for event, _ in held.items():
        yield event.message
    for event in acks.waiting():
        yield event.message


def _decode_internal(event: faust.EventT) -> AnyInput | None:
    """An event from the internal topic (only our own ingest writes it; guard anyway)."""
    decoded = decode_line(event.value)
    if isinstance(decoded, Rejection):
        log.error("invalid record on the internal events topic for %r: %s", event.key, decoded.detail)
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
    result = engine.apply_at(customer_id, state, event, event.occurred_at.timestamp(), position, now, applied_at)
    metrics.EVENTS_APPLIED.labels(type(event).__struct_config__.tag).inc()
    return result


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
