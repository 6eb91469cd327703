"""Dead-letter records: the original bytes, untouched, with why and where they came from.

The value and key of a dead letter are the original record's bytes, so nothing is lost and a
fixed record can be re-published as-is.  The reason and source coordinates travel in headers
(the convention Kafka Connect's dead-letter queues use), which every Kafka client can read.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.model.codec import Rejection

HEADER_PREFIX = "winback.dlq."


@dataclass(frozen=True)
class Source:
    """Where a record was read: enough to find it again in the source topic."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None = None


def headers(rejection: Rejection, source: Source) -> list[tuple[str, bytes]]:
    """Kafka headers describing a rejected record."""
    fields = {
        "reason": rejection.reason,
        "detail": rejection.detail[:1000],
        "topic": source.topic,
        "partition": str(source.partition),
        "offset": str(source.offset),
    }
    if source.timestamp_ms is not None:
        fields["timestamp_ms"] = str(source.timestamp_ms)
    return [(HEADER_PREFIX + name, value.encode("utf-8", "backslashreplace")) for name, value in fields.items()]


def read_headers(pairs: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """The dead-letter headers of a record as a plain dict (for tools, tests and the demo)."""
    return {
        name.removeprefix(HEADER_PREFIX): value.decode("utf-8", "replace")
        for name, value in pairs or []
        if name.startswith(HEADER_PREFIX)
    }
