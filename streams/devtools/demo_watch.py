"""What the demo's watcher reads from Kafka, kept for the live view (``streams.devtools.demo_view``).

The watcher reads the topics an operator would: the activity table's changelog (which stage
each customer is in now), the triggers, message commands, skips, outcomes and dead letters.
It also notes when each element of the funnel first showed up, which the demo reports when it
stops and its integration test asserts on.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

import msgspec
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import ConsumerRecord

from streams.runtime import dead_letters
from streams.model.activity import CustomerActivity
from streams.model.records import STAGES, MessageCommand, Outcome, Skip, Trigger
from streams.runtime.connection import client_options
from streams.runtime.settings import Settings
from streams.admin.topics import changelog_topic

# Everything a newcomer should see early, in the order the demo reports them.
ELEMENTS = ("reactivation", "winback", "sunset", "conversion", "skip", "dead letter")
LATEST = 50  # latest commands and dead letters kept for the view (a tall terminal shows more)
BUILTIN_CHANNELS = ("email", "sms", "push")


@dataclass
class Observed:
    """The demo so far: what was sent, and what the worker made of it."""

    started: float = field(default_factory=time.monotonic)  # when the traffic started (the worker was ready)
    total: int = 0  # events in the replay
    sent: int = 0
    sent_up_to: datetime | None = None  # event time of the latest event sent
    replay_done: bool = False
    decided_up_to: datetime | None = None  # event time of the worker's latest decision
    stage_of: dict[bytes, int] = field(default_factory=dict)  # customer -> stage, from the changelog
    triggers: Counter[str] = field(default_factory=Counter)  # stage -> triggers
    commands: Counter[str] = field(default_factory=Counter)  # channel -> commands
    channels: tuple[str, ...] = BUILTIN_CHANNELS  # the policy's, its own (``channels.custom``) after the built-ins
    latest_commands: deque[MessageCommand] = field(default_factory=lambda: deque(maxlen=LATEST))
    skips: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, action) -> skips
    conversions: Counter[tuple[str, bool]] = field(default_factory=Counter)  # (campaign, holdout) -> outcomes
    revenue: Counter[str] = field(default_factory=Counter)  # campaign -> converted revenue
    dead_letters: Counter[str] = field(default_factory=Counter)  # reason -> dead letters
    latest_dead_letters: deque[str] = field(default_factory=lambda: deque(maxlen=LATEST))
    first_seen: dict[str, float] = field(default_factory=dict)  # element -> seconds after ``started``

    def customers_per_stage(self) -> Counter[str]:
        return Counter(STAGES[stage] for stage in self.stage_of.values())

    def seen(self, element: str) -> None:
        self.first_seen.setdefault(element, time.monotonic() - self.started)

    def decided(self, at: datetime) -> None:
        if self.decided_up_to is None or at > self.decided_up_to:
            self.decided_up_to = at


async def watch(settings: Settings, observed: Observed) -> None:
    """Read the worker's output topics from the start into ``observed``, until cancelled."""
    consumer = AIOKafkaConsumer(
        changelog_topic(settings), settings.topic_dead_letters, *settings.output_topics,
        **client_options(settings), auto_offset_reset="earliest", enable_auto_commit=False,
        metadata_max_age_ms=2000,
    )
    note = _Notes(settings, observed)
    await consumer.start()
    try:
        async for record in consumer:
            note(record)
    finally:
        await consumer.stop()


class _Notes:
    """Adds one record of any watched topic to ``observed``."""

    def __init__(self, settings: Settings, observed: Observed):
        self.observed = observed
        commands = dict.fromkeys(settings.command_topics.values(), self.command)
        self.by_topic = {
            changelog_topic(settings): self.state,
            settings.topic_dead_letters: self.dead_letter,
            settings.topic_triggers: self.trigger,
            settings.topic_skips: self.skip,
            settings.topic_outcomes: self.outcome,
            **commands,
        }

    def __call__(self, record: ConsumerRecord) -> None:
        if record.value is not None:  # a changelog tombstone says nothing about stages
            self.by_topic[record.topic](record)

    def state(self, record: ConsumerRecord) -> None:
        self.observed.stage_of[record.key] = CustomerActivity.decode(record.value).stage

    def trigger(self, record: ConsumerRecord) -> None:
        trigger = msgspec.json.decode(record.value, type=Trigger)
        self.observed.triggers[trigger.stage] += 1
        self.observed.decided(trigger.fired_at)
        self.observed.seen(trigger.stage)

    def command(self, record: ConsumerRecord) -> None:
        command = msgspec.json.decode(record.value, type=MessageCommand)
        if command.action == "cancel":  # a retracted step: no message
            return
        self.observed.commands[command.channel] += 1
        self.observed.latest_commands.append(command)

    def skip(self, record: ConsumerRecord) -> None:
        skip = msgspec.json.decode(record.value, type=Skip)
        self.observed.skips[skip.reason, skip.action] += 1
        self.observed.decided(skip.decided_at)
        self.observed.seen("skip")

    def outcome(self, record: ConsumerRecord) -> None:
        outcome = msgspec.json.decode(record.value, type=Outcome)
        self.observed.conversions[outcome.campaign, outcome.holdout] += 1
        self.observed.revenue[outcome.campaign] += outcome.revenue
        self.observed.decided(outcome.converted_at)
        self.observed.seen("conversion")

    def dead_letter(self, record: ConsumerRecord) -> None:
        info = dead_letters.read_headers(list(record.headers))
        self.observed.dead_letters[info.get("reason", "?")] += 1
        self.observed.latest_dead_letters.append(info.get("detail", ""))
        self.observed.seen("dead letter")
