"""The agents: validate input, repartition by customer, keep each customer's state, act on it.

Kept thin on purpose: decisions live in the pure engine, these functions only move bytes
between Kafka and it.  Processing is at-least-once: a record's offset is committed after the
agent has handled it, so after a crash it may be handled again, which the engine's idempotent
updates (event-id dedupe, max() of timestamps) and the deterministic record ids make harmless.
"""

from __future__ import annotations

import logging
import time
from typing import AsyncIterator

import faust

from streams import dead_letters, metrics
from streams.activity import CustomerActivity
from streams.clock import Clock, EventTimeClock
from streams.codec import Limits, Rejection, decode_line, decode_record
from streams.emitter import Emitter
from streams.engine import Engine, Result
from streams.events import AnyInput, encode_event
from streams.reorder import ReorderBuffer
from streams.scheduler import Scheduler
from streams.topology import Topology
from streams.watermarks import MARKER_DECODER, MARKER_KEY, Watermarks

log = logging.getLogger(__name__)


def register_agents(
    topology: Topology,
    engine: Engine,
    scheduler: Scheduler,
    clock: Clock,
    limits: Limits,
    watermarks: Watermarks | None = None,
) -> None:
    """Attach the ingest agents (one per input topic) and the customer agent to the app.

    ``watermarks`` is given with the event clock: ingest then reports its progress to it.
    """
    for kind, topic in topology.inputs.items():
        topology.app.agent(topic, name=f"ingest-{kind}")(_ingest(kind, topology, limits, watermarks))
    keep = _keep_customers(topology, engine, scheduler, Emitter(topology), clock)
    topology.app.agent(topology.customer_inputs, name="customers")(keep)


def _ingest(kind: str, topology: Topology, limits: Limits, watermarks: Watermarks | None):
    """Validate each raw record: dead-letter it with the reason, or forward it keyed by customer.

    "Too far in the future" is judged against the real clock whatever the scheduler's clock.
    """
    consumed = metrics.EVENTS_CONSUMED.labels(kind)

    async def ingest(stream: faust.StreamT) -> AsyncIterator[None]:
        async for event in stream.events():
            consumed.inc()
            result = decode_record(event.value, kind, now=time.time(), limits=limits)
            if isinstance(result, Rejection):
                await _dead_letter(topology, kind, event, result)
                event_time = None
            else:
                await topology.events.send(key=result.customer_id.encode(), value=encode_event(result))
                event_time = result.occurred_at.timestamp()
            if watermarks is not None:  # only after the forward is queued: the marker must follow it
                watermarks.observe(event.message, event_time)
            yield None

    return ingest


async def _dead_letter(topology: Topology, kind: str, event: faust.EventT, rejection: Rejection) -> None:
    message = event.message
    source = dead_letters.Source(message.topic, message.partition, message.offset, _timestamp_ms(message))
    metrics.DEAD_LETTERS.labels(kind, rejection.reason).inc()
    log.warning(
        "dead-lettered %s:%d@%d: %s", message.topic, message.partition, message.offset, rejection.detail,
        extra={"type": kind, "reason": rejection.reason, "topic": message.topic, "partition": message.partition},
    )
    await topology.dead_letters.send(key=event.key, value=event.value, headers=dead_letters.headers(rejection, source))


def _timestamp_ms(message: faust.types.tuples.Message) -> int | None:
    return int(message.timestamp * 1000) if message.timestamp else None


def _keep_customers(topology: Topology, engine: Engine, scheduler: Scheduler, emitter: Emitter, clock: Clock):
    """Apply events and due ticks to each customer's state; publish what the engine decides.

    One agent reads both topics, so a customer's updates never interleave.  For each record:
    decide in memory, publish the resulting records and wait for Kafka's acknowledgement, and
    only then write the new state (``streams.emitter`` says why this order).  With the event
    clock, events are held in a ``ReorderBuffer`` until the partition's watermark passes them
    and are acknowledged by hand once applied.
    """
    table = topology.activity
    due_topic = topology.due.get_topic_name()
    held: ReorderBuffer[tuple[faust.EventT, AnyInput]] | None = (
        ReorderBuffer() if isinstance(clock, EventTimeClock) else None
    )
    if held is not None:
        topology.activity.on_recover(lambda: _forget_revoked(topology, held))

    async def handle(event: faust.EventT, decoded: AnyInput | None) -> None:
        message = event.message
        if event.key == MARKER_KEY or (decoded is None and message.topic != due_topic):
            return  # a marker (already observed) or an undecodable record (already logged)
        with metrics.EVENT_PROCESSING.time():
            await update(event, decoded)

    async def update(event: faust.EventT, decoded: AnyInput | None) -> None:
        """Decide for the record's customer, publish, then write the state (an event or a due tick)."""
        message = event.message
        customer_id = event.key.decode()
        stored = table.get(event.key)
        state = CustomerActivity.decode(stored) if stored is not None else None
        stage_before = state.stage if state is not None else None  # the engine mutates the state
        if message.topic == due_topic:
            result = _on_due(engine, clock.now(message.partition), customer_id, state)
        else:
            result = _on_event(engine, customer_id, state, decoded)
        if result is not None:
            await emitter.publish(result.records)
            metrics.count_published(result.records, emitted_at=clock.now(message.partition))
            table[event.key] = result.state.encode()
            metrics.count_stage_change(stage_before, result.state.stage)
            scheduler.track(message.partition, customer_id, result.state)

    def ready(event: faust.EventT) -> list[tuple[faust.EventT, AnyInput | None]]:
        """What can be handled now that ``event`` arrived (markers are handled right here)."""
        message = event.message
        if event.key == MARKER_KEY:
            _on_marker(clock, message.partition, event.value)
            released = held.release(message.partition, clock.now(message.partition)) if held else []
            return [(event, None), *released]
        if message.topic == due_topic:
            return [(event, None)]
        decoded = _decode_internal(event)
        if held is None or decoded is None:
            return [(event, decoded)]
        held.hold(message.partition, decoded.occurred_at.timestamp(), decoded.event_id, (event, decoded))
        return []

    async def keep_customers(stream: faust.StreamT) -> AsyncIterator[None]:
        source = stream.noack() if held is not None else stream
        async for arrived in source.events():
            for event, decoded in ready(arrived):
                await handle(event, decoded)
                if held is not None:
                    await source.ack(event)
            yield None

    return keep_customers


async def _forget_revoked(topology: Topology, held: ReorderBuffer) -> None:
    """After a rebalance, drop held events of partitions now owned elsewhere (they are re-delivered there)."""
    name = topology.events.get_topic_name()
    held.keep_only({tp.partition for tp in topology.app.assignor.assigned_actives() if tp.topic == name})


def _decode_internal(event: faust.EventT) -> AnyInput | None:
    """An event from the internal topic (only our own ingest writes it; guard anyway)."""
    decoded = decode_line(event.value)
    if isinstance(decoded, Rejection):
        log.error("invalid record on the internal events topic for %r: %s", event.key, decoded.detail)
        return None
    return decoded


def _on_event(engine: Engine, customer_id: str, state: CustomerActivity | None, event: AnyInput) -> Result | None:
    """An event: fire what was due before it, fold it in (None when it changes nothing)."""
    result = engine.apply_at(customer_id, state, event, event.occurred_at.timestamp())
    metrics.EVENTS_APPLIED.labels(type(event).__struct_config__.tag).inc()
    return None if result.duplicate else result


def _on_marker(clock: Clock, partition: int, raw: bytes) -> None:
    """A watermark marker: event time has reached it on this partition (event clock only)."""
    if isinstance(clock, EventTimeClock):
        marker = MARKER_DECODER.decode(raw)
        clock.observe_marker(partition, marker.sender, marker.watermark)


def _on_due(engine: Engine, now: float, customer_id: str, state: CustomerActivity | None) -> Result | None:
    """A scheduler tick: fire whatever is due by now (the state is re-checked, ticks may be stale)."""
    if state is None:
        return None
    return engine.advance(customer_id, state, now)
