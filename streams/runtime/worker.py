"""Assemble and run one worker process: topology, policy, engine, agents, scheduler, web endpoints."""

from __future__ import annotations

import asyncio
import gc
import sys

import faust

from streams.runtime import provenance
from streams.runtime.observability import log_format, metrics
from streams.runtime.observability.endpoints import add_endpoints
from streams.runtime.agents import register_agents
from streams.runtime.faust_patches import UnsupportedVersion, check_versions
from streams.runtime.clock import EventTimeClock, KeyedEventClock, parse_clock
from streams.runtime.connection import client_options
from streams.model.codec import Limits
from streams.runtime.observability.consumer_metrics import watch_consumer
from streams.runtime.observability.memory_store import watch_memory_store
from streams.core.engine import Engine
from streams.policy.sections import Policy
from streams.runtime.scheduler import Scheduler
from streams.runtime.settings import Settings
from streams.runtime.topology import Topology, build_topology
from streams.runtime.watermarks import MarkerSender
from streams.runtime.keyed_event_time import HeldInput
from streams.runtime.output_encoding import OutputEncoding
from streams.runtime.output_schemas import OutputSchemaError, register_outputs
from streams.runtime.schema_registry import registry_client
from streams.runtime.wire_format import FramedInput


def build_worker_app(settings: Settings, policy: Policy, encoding: OutputEncoding | None = None) -> Topology:
    """The fully wired app for these settings and policy (no Kafka connection is made yet);
    ``encoding``: how output records are encoded (plain JSON by default)."""
    topology = build_topology(settings)
    provenance.check_distinct(list(settings.input_topics.values()), settings.partitions)
    engine = Engine(
        policy,
        profile_skew=settings.max_profile_skew_seconds,
        erasure_grace=settings.erasure_grace_seconds,
        catch_up=settings.catch_up_default,
    )
    clock = parse_clock(settings.clock)
    if settings.input_keyed and isinstance(clock, EventTimeClock):  # keyed input needs no markers
        clock = KeyedEventClock(idle_after=settings.clock_idle_seconds)
    metrics.WORKER_CLOCK.labels(settings.clock.partition(":")[0]).set(1)
    metrics.set_economics(policy.economics)
    metrics.set_build_info(policy)
    earliest, earliest_named = settings.event_floor
    limits = Limits(
        max_payload_bytes=settings.max_payload_bytes,
        max_future_skew_seconds=settings.max_future_skew_seconds,
        earliest_event=earliest,
        earliest_named=earliest_named,
    )
    scheduler = Scheduler(topology, engine, clock, max_per_tick=settings.tick_max_due)
    watermarks, held_input = None, None
    if isinstance(clock, EventTimeClock):
        watermarks = MarkerSender(topology, settings.partitions, idle_after=settings.clock_idle_seconds)
        topology.app.timer(settings.tick_seconds / 2, name="watermark-markers")(watermarks.broadcast)
    if isinstance(clock, KeyedEventClock):
        held_input = HeldInput(topology, clock)
        topology.activity.on_recover(held_input.own_assigned)
        topology.app.timer(settings.tick_seconds / 2, name="event-time-wake")(held_input.wake)
    framed_inputs = {
        kind: FramedInput(input_format, lambda: registry_client(settings))
        for kind, input_format in settings.input_formats.items()
        if input_format != "json"
    }
    register_agents(
        topology, engine, scheduler, clock, limits, watermarks, framed_inputs, encoding, settings.input_keyed, held_input
    )
    topology.activity.on_recover(scheduler.rebuild)
    topology.app.timer(settings.tick_seconds, name="scheduler-tick")(scheduler.tick)
    consumed = [*settings.input_topics.values(), settings.topic_events, settings.topic_due]
    watch_consumer(topology.app, consumed, client_options(settings))
    if settings.store == "memory":
        watch_memory_store(topology.app, topology.activity, settings.memory_store_warn_customers)
    add_endpoints(topology.app)
    return topology


def run_worker(settings: Settings, policy: Policy) -> None:
    """Run a worker until it is stopped (SIGINT/SIGTERM); blocks.  ``settings.data_dir`` must exist.

    Exits with a one-line message when an installed Faust, mode or aiokafka is outside the
    range ``streams.runtime.faust_patches`` was written for.
    """
    try:
        check_versions()
    except UnsupportedVersion as error:
        raise SystemExit(f"winback worker: {error}") from None
    topology = build_worker_app(settings, policy, _output_encoding(settings))
    # mode puts sys.__stdout__ and sys.__stderr__ back when the worker stops: make them the
    # streams in use (which mask secrets, streams.runtime.redaction) so the last lines are too.
    sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr
    log_format.filter_worker_logs()
    worker = faust.Worker(
        topology.app,
        loglevel=settings.log_level,
        stdout=sys.stdout,
        stderr=sys.stderr,
        debug=False,  # not FAUST_DEBUG's: debug mode would serve an aiomonitor console
        **log_format.worker_options(settings.log_format),
    )
    _freeze_startup_heap()
    worker.execute_from_commandline()


def _freeze_startup_heap() -> None:
    """Keep the objects made at start (modules, policy, engine, app: they live as long as the
    process) out of the garbage collector's full collections.  A batch of thousands of records
    triggers one every few batches, and each traversed the whole heap: a fifth of a worker's CPU
    on a backlog (benchmarks/pipeline.py)."""
    gc.collect()
    gc.freeze()


def _output_encoding(settings: Settings) -> OutputEncoding:
    """Plain JSON, or (WINBACK_OUTPUT_FORMAT=jsonschema) the registry's ids of the output schemas,
    checked and registered now: a registry that refuses them stops the start with one line."""
    if settings.output_format == "json":
        return OutputEncoding()
    try:
        return OutputEncoding(asyncio.run(register_outputs(settings)))
    except OutputSchemaError as error:
        raise SystemExit(f"winback worker: {error}") from None
