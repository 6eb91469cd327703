"""Prometheus metrics of the worker (``winback_`` prefix, base units, bounded labels).

Labels never carry customer ids: only event types, reason codes, stages, campaigns and
channels, whose sets are small and fixed by the code or the policy.
"""

from __future__ import annotations

from typing import Any, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from streams.commands import MessageCommand, Trigger

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS_CONSUMED = Counter(
    "winback_events_consumed", "Input records read, by event type.", ["type"], registry=REGISTRY
)
DEAD_LETTERS = Counter(
    "winback_dead_letters", "Records sent to the dead-letter topic, by reason.", ["type", "reason"], registry=REGISTRY
)
EVENTS_APPLIED = Counter(
    "winback_events_applied", "Validated events applied to the activity table, by event type.", ["type"],
    registry=REGISTRY,
)

TRIGGERS = Counter(
    "winback_triggers", "Stage entries published, by stage and campaign.", ["stage", "campaign"], registry=REGISTRY
)
COMMANDS = Counter(
    "winback_commands",
    "Message commands published, by channel, campaign and step.",
    ["channel", "campaign", "step"],
    registry=REGISTRY,
)
DUE_INDEX_SIZE = Gauge(
    "winback_due_index_customers", "Customers with a scheduled transition in this worker's due index.",
    registry=REGISTRY,
)
SCHEDULER_TICK = Histogram(
    "winback_scheduler_tick_seconds", "Time one scheduler tick takes (pop due customers, publish ticks).",
    registry=REGISTRY,
)
DUE_PUBLISHED = Counter(
    "winback_due_published", "Due ticks the scheduler published for its customers.", registry=REGISTRY
)


def exposition() -> bytes:
    """The metrics in Prometheus text format."""
    return generate_latest(REGISTRY)


def count_published(records: Iterable[Any]) -> None:
    """Count published records by kind (the one place that maps records to metrics)."""
    for record in records:
        kind = record.__class__
        if kind is Trigger:
            TRIGGERS.labels(record.stage, record.campaign).inc()
        elif kind is MessageCommand:
            COMMANDS.labels(record.channel, record.campaign, str(record.step)).inc()
