"""Prometheus metrics of the worker (``winback_`` prefix, base units, bounded labels).

Labels never carry customer ids: only event types, reason codes, stages, campaigns and
channels, whose sets are small and fixed by the code or the policy.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

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


def exposition() -> bytes:
    """The metrics in Prometheus text format."""
    return generate_latest(REGISTRY)
