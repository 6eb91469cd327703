"""The agents: validate input, repartition by customer, keep the activity table.

Kept thin on purpose: decisions live in the pure engine, these functions only move bytes
between Kafka and it.  Processing is at-least-once: a record's offset is committed after the
agent has handled it, so after a crash it may be handled again, which the engine's idempotent
updates (event-id dedupe, max() of timestamps) make harmless.
"""

from __future__ import annotations

import logging
from typing import AsyncIterator, Callable

import faust

from streams import dead_letters, metrics
from streams.activity import CustomerActivity
from streams.codec import Limits, Rejection, decode_line, decode_record
from streams.engine import Engine
from streams.events import encode_event
from streams.topology import Topology

log = logging.getLogger(__name__)
Clock = Callable[[], float]


def register_agents(topology: Topology, engine: Engine, limits: Limits, clock: Clock) -> None:
    """Attach the ingest agents (one per input topic) and the activity agent to the app."""
    for kind, topic in topology.inputs.items():
        topology.app.agent(topic, name=f"ingest-{kind}")(_ingest(kind, topology, limits, clock))
    topology.app.agent(topology.events, name="activity")(_keep_activity(topology, engine))


def _ingest(kind: str, topology: Topology, limits: Limits, clock: Clock):
    """Validate each raw record: dead-letter it with the reason, or forward it keyed by customer."""
    consumed = metrics.EVENTS_CONSUMED.labels(kind)

    async def ingest(stream: faust.StreamT) -> AsyncIterator[None]:
        async for event in stream.events():
            consumed.inc()
            result = decode_record(event.value, kind, now=clock(), limits=limits)
            if isinstance(result, Rejection):
                await _dead_letter(topology, kind, event, result)
            else:
                await topology.events.send(key=result.customer_id.encode(), value=encode_event(result))
            yield None

    return ingest


async def _dead_letter(topology: Topology, kind: str, event: faust.EventT, rejection: Rejection) -> None:
    message = event.message
    source = dead_letters.Source(message.topic, message.partition, message.offset, _timestamp_ms(message))
    metrics.DEAD_LETTERS.labels(kind, rejection.reason).inc()
    log.warning("dead-lettered %s:%d@%d: %s", message.topic, message.partition, message.offset, rejection.detail)
    await topology.dead_letters.send(
        key=event.key, value=event.value, headers=dead_letters.headers(rejection, source)
    )


def _timestamp_ms(message: faust.types.tuples.Message) -> int | None:
    return int(message.timestamp * 1000) if message.timestamp else None


def _keep_activity(topology: Topology, engine: Engine):
    """Apply each validated event to its customer's state in the changelog-backed table."""
    table = topology.activity

    async def keep_activity(stream: faust.StreamT) -> AsyncIterator[None]:
        async for customer_id, raw in stream.items():
            event = decode_line(raw)
            if isinstance(event, Rejection):  # only our own ingest writes here; guard anyway
                log.error("invalid record on internal events topic for %s: %s", customer_id, event.detail)
                continue
            stored = table.get(customer_id)
            state = CustomerActivity.decode(stored) if stored is not None else None
            result = engine.apply(event.customer_id, state, event)
            table[customer_id] = result.state.encode()
            metrics.EVENTS_APPLIED.labels(type(event).__struct_config__.tag).inc()
            yield None

    return keep_activity
