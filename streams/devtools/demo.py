"""``make demo``: a local broker, a worker and a shop's traffic, watched live.

Everything is real: Apache Kafka runs locally, the worker is the same ``winback worker``
process production runs, and the watcher reads the same topics an operator would (the
activity table's changelog, triggers, message commands, skips, outcomes and dead letters).
The worker runs the bundled policy with every campaign control (``policy.full.yaml``), so
deferrals, channel fallbacks, holdouts and conversions show up too.  The traffic is a
generated year of shop history (profiles included) replayed in minutes, with a few malformed
records mixed in.
Because a year is compressed into minutes, the worker runs on the *event-time* clock
(``WINBACK_CLOCK=event``): "now" is the replayed history's own time, not the wall clock.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaConsumer
from rich.console import Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from streams.runtime import dead_letters
from streams.model.activity import CustomerActivity
from streams.model.records import MessageCommand, Outcome, Skip, Trigger
from streams.devtools.kafka_local import LocalKafka
from streams.model.records import STAGES
from streams.policy.loading import default_policy_path
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic, ensure_topics
from streams.devtools.publisher import publish
from streams.devtools.traffic import generate_history
from streams.devtools.spawn import WorkerProcess

DEMO_DIR = Path("var/demo")
FULL_POLICY = default_policy_path().with_name("policy.full.yaml")  # every campaign control, to watch them work


@dataclass
class DemoConfig:
    """How much traffic the demo replays and how fast."""

    customers: int = 2000
    days: int = 365
    rate: float = 400.0  # events per second
    malformed_every: int = 250  # one malformed record per this many events
    port: int = 9092


@dataclass
class Observed:
    """What the watcher has seen so far, for the live view."""

    produced: Counter = field(default_factory=Counter)
    customers: dict[str, CustomerActivity] = field(default_factory=dict)
    dead_letters: Counter = field(default_factory=Counter)
    recent_dead_letters: list[str] = field(default_factory=list)
    triggers: Counter = field(default_factory=Counter)
    commands: Counter = field(default_factory=Counter)
    recent_commands: list[MessageCommand] = field(default_factory=list)
    skips: Counter = field(default_factory=Counter)  # (action, reason)
    conversions: Counter = field(default_factory=Counter)  # "campaign variant" or "campaign holdout"
    revenue: Counter = field(default_factory=Counter)
    event_time: str = "-"


def run_demo(config: DemoConfig, base: Settings) -> None:
    """Start everything, show it live until Ctrl-C (or SIGTERM), then stop everything cleanly.

    ``base``: the WINBACK_* settings; the demo replaces the broker and the data directory.
    """
    signal.signal(signal.SIGTERM, _interrupt)  # a terminated demo must not leave a broker and worker behind
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    broker = LocalKafka(DEMO_DIR / "kafka", port=config.port)
    print(f"Starting Apache Kafka on 127.0.0.1:{config.port} (first run downloads it from Maven Central)...")
    bootstrap = broker.start()
    settings = Settings(**{**base.model_dump(), "broker": bootstrap, "data_dir": DEMO_DIR / "worker"})
    worker = WorkerProcess(
        {
            "WINBACK_BROKER": settings.broker,
            "WINBACK_DATA_DIR": str(settings.data_dir),
            "WINBACK_WEB_PORT": "6066",
            "WINBACK_CLOCK": "event",
            "WINBACK_POLICY": str(FULL_POLICY),
        },
        DEMO_DIR,
    )
    try:
        for status in asyncio.run(ensure_topics(settings)):
            print(f"  topic {status.spec.name}: {status.action}")
        print(f"Starting a worker (log: {DEMO_DIR / 'worker.log'})...")
        worker.start()
        print("Worker ready; metrics on http://127.0.0.1:6066/metrics. Press Ctrl-C to stop.")
        asyncio.run(_produce_and_watch(settings, config))
    except KeyboardInterrupt:
        print("\nStopping...")
    finally:
        worker.stop()
        broker.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _produce_and_watch(settings: Settings, config: DemoConfig) -> None:
    observed = Observed()
    with Live(_render(observed, config), refresh_per_second=2) as live:
        producer = asyncio.create_task(_produce(settings, config, observed))
        watcher = asyncio.create_task(_watch(settings, observed))
        while not producer.done() or not watcher.done():
            live.update(_render(observed, config))
            await asyncio.sleep(0.5)


async def _produce(settings: Settings, config: DemoConfig, observed: Observed) -> None:
    """Replay the generated history at the demo's rate, with a few malformed records."""
    events = generate_history(config.customers, config.days, seed=42, exact_count=True)
    await publish(
        settings, events, rate=config.rate, malformed_every=config.malformed_every,
        on_sent=lambda kind: observed.produced.update([kind]),
    )


async def _watch(settings: Settings, observed: Observed) -> None:
    """Follow the activity changelog and the dead-letter topic, like an operator would."""
    changelog = changelog_topic(settings)
    commands = set(settings.command_topics.values())
    consumer = AIOKafkaConsumer(
        changelog, settings.topic_dead_letters, *settings.output_topics,
        bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest", enable_auto_commit=False,
        metadata_max_age_ms=2000,
    )
    await consumer.start()
    try:
        async for record in consumer:
            if record.topic == changelog and record.value is not None:
                state = CustomerActivity.decode(record.value)
                observed.customers[record.key.decode()] = state
            elif record.topic == settings.topic_dead_letters:
                info = dead_letters.read_headers(list(record.headers))
                observed.dead_letters[info.get("reason", "?")] += 1
                observed.recent_dead_letters = [*observed.recent_dead_letters[-4:], info.get("detail", "")[:90]]
            elif record.topic == settings.topic_triggers:
                trigger = msgspec.json.decode(record.value, type=Trigger)
                observed.triggers[trigger.stage] += 1
                observed.event_time = trigger.fired_at.strftime("%Y-%m-%d")
            elif record.topic in commands:
                command = msgspec.json.decode(record.value, type=MessageCommand)
                observed.commands[command.channel] += 1
                observed.recent_commands = [*observed.recent_commands[-5:], command]
            elif record.topic == settings.topic_skips:
                skip = msgspec.json.decode(record.value, type=Skip)
                observed.skips[skip.action, skip.reason] += 1
            elif record.topic == settings.topic_outcomes:
                outcome = msgspec.json.decode(record.value, type=Outcome)
                group = f"{outcome.campaign} {'holdout' if outcome.holdout else outcome.variant}"
                observed.conversions[group] += 1
                observed.revenue[group] += outcome.revenue
    finally:
        await consumer.stop()


def _render(observed: Observed, config: DemoConfig) -> Group:
    produced = Table(title="Produced to the input topics", show_header=False)
    for kind, count in sorted(observed.produced.items()):
        produced.add_row(kind, str(count))
    table = Table(title="Activity table (from its changelog)", show_header=False)
    table.add_row("customers", str(len(observed.customers)))
    stages = Counter(STAGES[state.stage] for state in observed.customers.values())
    for stage, count in sorted(stages.items()):
        table.add_row(f"stage {stage}", str(count))
    letters = Table(title="Dead letters, by reason", show_header=False)
    for reason, count in sorted(observed.dead_letters.items()):
        letters.add_row(reason, str(count))
    recent = "\n".join(observed.recent_dead_letters) or "(none yet)"
    intro = (
        f"Replaying {config.days} days of shop history for {config.customers} customers "
        f"at {config.rate:.0f} events/s; one malformed record every {config.malformed_every}.\n"
        f"Clock: EVENT TIME (accelerated, simulated) - latest trigger fired at {observed.event_time}."
    )
    funnel = Table(title="Triggers, messages, skips and conversions (policy.full.yaml)", show_header=False)
    for stage, count in sorted(observed.triggers.items()):
        funnel.add_row(f"trigger {stage}", str(count))
    for channel, count in sorted(observed.commands.items()):
        funnel.add_row(f"command {channel}", str(count))
    for (action, reason), count in sorted(observed.skips.items()):
        funnel.add_row(f"{action} ({reason})", str(count))
    for group, count in sorted(observed.conversions.items()):
        funnel.add_row(f"converted {group}", f"{count} ({observed.revenue[group]:,.0f} revenue)")
    return Group(
        Panel(intro, title="winback demo"),
        produced,
        table,
        funnel,
        _latest_commands(observed.recent_commands),
        letters,
        Panel(recent, title="Latest dead letters"),
    )


def _latest_commands(commands: list[MessageCommand]) -> Table:
    view = Table(title="Latest message commands")
    for column in ("due", "customer", "channel", "template", "offer", "idle days", "likes"):
        view.add_column(column, no_wrap=True)
    for command in commands:
        offer = f"{command.offer.percent_off}% off" if command.offer and command.offer.percent_off else ""
        view.add_row(
            command.due_at.strftime("%Y-%m-%d"), command.customer_id, command.channel, command.template, offer,
            str(command.personalisation.days_inactive), next(iter(command.personalisation.top_categories), ""),
        )
    return view
