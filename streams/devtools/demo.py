"""``make demo``: a local broker, a worker and a shop's traffic, watched live.

Everything is real: Apache Kafka runs locally, the worker is the same ``winback worker``
process production runs, and the watcher reads the same topics an operator would
(``streams.devtools.demo_watch``).  The worker runs the bundled policy with every campaign control
(``policy.full.yaml``), so deferrals, channel fallbacks, holdouts and conversions show up too.

The traffic is ``traffic.demo_history``: two years of a small shop, with a scripted cast that
reaches every stage in the first year, replayed in about two minutes with a few malformed
records mixed in.  Because years pass in minutes, the worker runs on the *event-time* clock
(``WINBACK_CLOCK=event``): "now" is the replayed history's own time, not the wall clock.

Each run starts clean: the previous run's broker data and worker state are removed first.
Ctrl-C (SIGTERM, or closing the terminal) stops the traffic, the watcher, the worker and the
broker, in that order.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Iterable, Iterator

from rich.console import Console
from rich.live import Live

from streams.devtools.demo_view import render
from streams.devtools.demo_watch import ELEMENTS, Observed, watch
from streams.model.events import AnyInput
from streams.devtools.kafka_local import LocalKafka
from streams.policy.loading import default_policy_path
from streams.devtools.publisher import publish
from streams.runtime.settings import SECURITY_SETTINGS, Settings
from streams.admin.topics import ensure_topics
from streams.devtools.traffic import demo_history
from streams.devtools.spawn import WorkerProcess, worker_env

DEMO_DIR = Path("var/demo")
# What the demo's worker runs with, on top of the defaults: every campaign control, and the
# event clock, which moves on a second after an input partition falls silent, and ticks twice
# a second (some three days of history pass between ticks).
DEMO_SETTINGS = {
    "policy": default_policy_path().with_name("policy.full.yaml"),
    "clock": "event",
    "clock_idle_seconds": 1.0,
    "tick_seconds": 0.5,
}
# Partitions of every topic: one worker needs no more, and the broker stops sooner with fewer
# (it flushes and closes each one).
DEMO_PARTITIONS = 2
REFRESH_SECONDS = 0.5
# How long the broker may take to stop before it is killed.  A clean stop flushes and closes
# every partition, over two seconds on a busy machine, and the next run deletes them anyway.
BROKER_STOP_SECONDS = 1.0
# Ctrl-C, kill, and a closed terminal: each stops everything the demo started.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class DemoConfig:
    """How much traffic the demo replays, how fast, and on which ports."""

    customers: int = 300
    days: int = 730
    rate: float = 180.0  # events per second: about six days of history per second
    malformed_every: int = 250  # one malformed record per this many events
    port: int = 9092  # the broker's
    web_port: int = 6066  # the worker's /metrics


def demo_settings(base: Settings) -> Settings:
    """``base`` (broker address, topic names) with the demo's worker settings."""
    return base.model_copy(update=DEMO_SETTINGS)


def on_local_broker(base: Settings, bootstrap: str) -> Settings:
    """``base`` pointed at the demo's own broker: its address, the demo's partitions, and none of
    the security settings (the local broker is plaintext; they may be set for a real cluster)."""
    local = {**base.model_dump(exclude=SECURITY_SETTINGS), "broker": bootstrap, "partitions": DEMO_PARTITIONS}
    return Settings(**local)


def run_demo(config: DemoConfig, base: Settings) -> None:
    """Start everything, show it live until Ctrl-C (or SIGTERM, SIGHUP), then stop everything.

    ``base``: the WINBACK_* settings; the demo replaces the broker (``on_local_broker``), the
    partitions, the data directory (under var/demo) and the worker settings of ``DEMO_SETTINGS``.
    """
    for signum in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C does: leave no broker or worker behind
        signal.signal(signum, _interrupt)
    console = Console()
    _remove_previous_run(DEMO_DIR, console)
    broker = LocalKafka(DEMO_DIR / "kafka", port=config.port)
    worker: WorkerProcess | None = None
    observed: Observed | None = None
    try:
        console.print(f"Starting Apache Kafka on 127.0.0.1:{config.port} (the first run downloads it)...")
        bootstrap = broker.start()
        settings = demo_settings(on_local_broker(base, bootstrap))
        console.print(f"Created {len(asyncio.run(ensure_topics(settings)))} topics.")
        console.print(f"Starting a worker (log: {DEMO_DIR / 'worker.log'})...")
        env = {**worker_env(settings), "WINBACK_WEB_PORT": str(config.web_port)}
        worker = WorkerProcess(env, DEMO_DIR)
        worker.start()
        observed, asked = asyncio.run(_show_live(settings, config, console))
    except KeyboardInterrupt:
        asked = time.monotonic()  # stopped while starting: stop what did start
    finally:
        _stop(worker, broker)
    _report(observed, time.monotonic() - asked, console)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _remove_previous_run(demo_dir: Path, console: Console) -> None:
    """Each run starts clean: stop a broker a killed demo left behind, then remove its data."""
    if not demo_dir.exists():
        return
    LocalKafka(demo_dir / "kafka").stop()
    shutil.rmtree(demo_dir)
    console.print(f"Fresh start: removed the previous run's broker data and worker state ({demo_dir}).")


async def _show_live(settings: Settings, config: DemoConfig, console: Console) -> tuple[Observed, float]:
    """Replay and watch, redrawing the view, until a stop signal: what was seen, and when
    (``time.monotonic``) the stop was asked for."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stopping.set)
    observed = observing(settings)
    with Live(render(observed, config), console=console, auto_refresh=False) as live:
        async with replaying(settings, config, observed) as tasks:
            while not stopping.is_set() and not _failed(tasks):
                live.update(render(observed, config), refresh=True)
                try:
                    await asyncio.wait_for(stopping.wait(), REFRESH_SECONDS)
                except TimeoutError:
                    pass
            asked = time.monotonic()
    return observed, asked


def observing(settings: Settings) -> Observed:
    """Nothing observed yet, for the channels of the worker's policy: the built-ins and its own."""
    return Observed(channels=tuple(settings.command_topics))


@asynccontextmanager
async def replaying(settings: Settings, config: DemoConfig, observed: Observed) -> AsyncIterator[list[asyncio.Task]]:
    """Replay the demo's history onto the input topics and watch the worker's outputs while
    the block runs; on leaving it, stop both and wait until their Kafka clients are closed."""
    events = demo_history(config.customers, config.days)
    observed.total = len(events)
    tasks = [
        asyncio.create_task(_produce(settings, events, config, observed)),
        asyncio.create_task(watch(settings, observed)),
    ]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        for outcome in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(outcome, Exception):
                raise outcome


def _failed(tasks: list[asyncio.Task]) -> bool:
    return any(task.done() and not task.cancelled() and task.exception() is not None for task in tasks)


async def _produce(settings: Settings, events: list[AnyInput], config: DemoConfig, observed: Observed) -> None:
    """Send the history at the demo's rate, with a malformed record every ``malformed_every``."""
    await publish(settings, _counted(events, observed), rate=config.rate, malformed_every=config.malformed_every)
    observed.replay_done = True


def _counted(events: Iterable[AnyInput], observed: Observed) -> Iterator[AnyInput]:
    """``events``, noting in ``observed`` how many were handed to the producer and how far in time."""
    for event in events:
        observed.sent += 1
        observed.sent_up_to = event.occurred_at
        yield event


def _stop(worker: WorkerProcess | None, broker: LocalKafka) -> None:
    """Stop the worker (it commits and leaves its group), then the broker (given a second) while
    the worker's process winds down, so the two take the time of one.

    A second Ctrl-C while stopping is ignored: the stops below have their own time limits.
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    if worker is not None:
        worker.wind_down()
    broker.stop(timeout=BROKER_STOP_SECONDS)
    if worker is not None:
        worker.stop(timeout=10)


def _report(observed: Observed | None, stopped_in: float, console: Console) -> None:
    """What a person would want to know at the end: when each element first showed, how long stopping took."""
    if observed is not None:
        firsts = ", ".join(
            f"{element} {observed.first_seen[element]:.0f}" if element in observed.first_seen else f"{element} -"
            for element in ELEMENTS
        )
        console.print(f"First seen, in seconds after the worker was ready:\n  {firsts}")
    console.print(f"Stopped the traffic, the worker and the broker in {stopped_in:.1f} s; the next run starts clean.")
