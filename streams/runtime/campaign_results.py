"""Campaign results from the topics a worker wrote: the records that tell the KPIs, read once
from the beginning up to the end each partition had when the read began.

The KPIs need the lapses (the triggers topic), the messages sent (the command topics; a
cancel is not one) and what came of them (engagements, conversions and retractions on the
outcomes topic); they are tallied by
``streams.core.kpis``, the same tally as the backtest's, so a live report and a backtest say
the same numbers about the same history.  Records are kept once per id (the worker publishes
at least once).  A time range keeps the records whose Kafka timestamp falls in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from streams.core.kpis import KpiTally
from streams.model.records import Engagement, MessageCommand, Outcome, Retraction, Trigger
from streams.policy.sections import Economics
from streams.runtime.connection import client_options
from streams.runtime.settings import Settings

Tallied = Trigger | MessageCommand | Engagement | Outcome | Retraction


@dataclass(frozen=True)
class TimeRange:
    """Record timestamps from ``since`` (inclusive) to ``until`` (exclusive), epoch seconds; None: open."""

    since: float | None = None
    until: float | None = None

    def holds(self, timestamp_ms: int) -> bool:
        seconds = timestamp_ms / 1000
        return (self.since is None or seconds >= self.since) and (self.until is None or seconds < self.until)


def result_topics(settings: Settings) -> list[str]:
    """The topics whose records make the KPIs."""
    return [settings.topic_triggers, *settings.command_topics.values(), settings.topic_outcomes]


def consumer(settings: Settings, *topics: str) -> AIOKafkaConsumer:
    """The one place a results reader's Kafka client is made: outside any consumer group (so it
    reads every partition of ``topics`` and commits nothing), from the beginning."""
    return AIOKafkaConsumer(
        *topics,
        **client_options(settings),
        client_id=f"{settings.app_id}-report",
        request_timeout_ms=round(settings.broker_timeout * 1000),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


@dataclass(frozen=True)
class Results:
    """The KPI summary (``KpiTally.summary``) and how many records could not be decoded."""

    kpis: dict[str, Any]
    unreadable: int


async def read_results(settings: Settings, economics: Economics, period: TimeRange = TimeRange()) -> Results:
    """The KPIs of every result record whose timestamp is in ``period``."""
    decode = _decoder(settings)
    records: dict[str, Tallied] = {}
    unreadable = 0
    reader = consumer(settings, *result_topics(settings))
    await reader.start()  # outside a group it is assigned every partition of the topics
    try:
        partitions = list(reader.assignment())
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        unread = {tp for tp, end in ends.items() if end > 0}
        while unread:
            batches = await reader.getmany(*unread, timeout_ms=round(settings.broker_timeout * 1000))
            for message in (message for batch in batches.values() for message in batch if period.holds(message.timestamp)):
                try:
                    record = decode(message)
                except msgspec.DecodeError:  # ValidationError is one
                    unreadable += 1
                    continue
                if record is not None and not (isinstance(record, MessageCommand) and record.action == "cancel"):
                    records[record.id] = record
            unread = {tp for tp in unread if await reader.position(tp) < ends[tp]}
    finally:
        await reader.stop()
    tally = KpiTally(economics)
    for record in records.values():
        tally.add(record)
    return Results(tally.summary(), unreadable)


def _decoder(settings: Settings) -> Callable[[ConsumerRecord], Tallied | None]:
    """Decodes a result record by its topic; None for what the KPIs do not count (erasures, tombstones)."""
    triggers = msgspec.json.Decoder(Trigger)
    commands = msgspec.json.Decoder(MessageCommand)

    def decode(message: ConsumerRecord) -> Tallied | None:
        if message.value is None:
            return None
        if message.topic == settings.topic_triggers:
            return triggers.decode(message.value)
        if message.topic == settings.topic_outcomes:
            return _outcome(message.value)
        return commands.decode(message.value)

    return decode


def _outcome(value: bytes) -> Outcome | Engagement | Retraction | None:
    """An outcome, an engagement or a retraction (the outcomes topic also holds erasures, which no KPI counts)."""
    document = msgspec.json.decode(value)
    if not isinstance(document, dict):
        raise msgspec.ValidationError("not a JSON object")
    if "engagement_id" in document:
        return msgspec.json.decode(value, type=Engagement)
    if "outcome_id" in document:
        return msgspec.json.decode(value, type=Outcome)
    if "retraction_id" in document:
        return msgspec.json.decode(value, type=Retraction)
    return None
