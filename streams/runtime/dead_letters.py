"""Dead-letter records: the original record with why and where it came from, always small
enough to send, and sent until Kafka acknowledges it.

The value and key of a dead letter are the original record's bytes, so a fixed record can be
re-published as-is; the original headers (``traceparent``...) come along.  The reason and
source coordinates travel in ``winback.dlq.*`` headers (the convention Kafka Connect's
dead-letter queues use), which every Kafka client can read.

A dead letter must fit where the original did not have to: a record with a 1 MB key reached
the worker, and its dead letter failed with MessageSizeTooLarge.  So a key longer than
``MAX_KEY_BYTES`` or a value longer than ``MAX_VALUE_BYTES`` is cut to that many bytes, and
headers say its original size and SHA-256 (the original is still in the source topic, at the
coordinates given); original headers beyond ``MAX_HEADER_BYTES`` in all are left out and
counted.  A dead letter is then at most about 322 KiB, well inside Kafka's 1 MiB default.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from streams.model.codec import Rejection
from streams.runtime.provenance import Origin

if TYPE_CHECKING:  # the demo's watcher reads dead letters without loading Faust
    import faust

log = logging.getLogger(__name__)

HEADER_PREFIX = "winback.dlq."
MAX_KEY_BYTES = 1024  # a customer id is at most 512 bytes of UTF-8
MAX_VALUE_BYTES = 256 * 1024  # four times the default payload limit
MAX_HEADER_BYTES = 64 * 1024  # the original headers kept, names and values together
SEND_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 0.5  # doubled after each failed attempt: 0.5 + 1 + 2 + 4 s in all


@dataclass(frozen=True)
class Source(Origin):
    """Where a record was read (``provenance.Origin``) and when it was written, for the headers."""

    timestamp_ms: int | None = None


@dataclass(frozen=True)
class DeadLetter:
    """What goes to the dead-letter topic for one rejected record."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    source: Source


class Undeliverable(Exception):
    """A dead letter Kafka did not acknowledge after every attempt."""

    def __init__(self, source: Source, problem: str):
        super().__init__(problem)
        self.source = source


def letter(
    key: bytes | None,
    value: bytes | None,
    original_headers: Iterable[tuple[str, bytes | None]],
    rejection: Rejection,
    source: Source,
) -> DeadLetter:
    """The dead letter of a rejected record: its key and value (cut to fit), its own headers
    first, then ours."""
    fields = {
        "reason": rejection.reason,
        "detail": rejection.detail[:1000],
        "topic": source.topic,
        "partition": str(source.partition),
        "offset": str(source.offset),
    }
    if source.timestamp_ms is not None:
        fields["timestamp_ms"] = str(source.timestamp_ms)
    key, key_fields = _cut("key", key, MAX_KEY_BYTES)
    value, value_fields = _cut("value", value, MAX_VALUE_BYTES)
    kept, dropped = _kept_headers(original_headers)
    if dropped:
        fields["headers_dropped"] = str(dropped)
    ours = [(HEADER_PREFIX + name, text.encode("utf-8", "backslashreplace")) for name, text in fields.items()]
    return DeadLetter(key, value, [*kept, *ours, *key_fields, *value_fields], source)


def _cut(part: str, data: bytes | None, limit: int) -> tuple[bytes | None, list[tuple[str, bytes]]]:
    """``data`` cut to ``limit`` bytes, with headers giving its original size and SHA-256 if it was."""
    if data is None or len(data) <= limit:
        return data, []
    return data[:limit], [
        (f"{HEADER_PREFIX}{part}_bytes", str(len(data)).encode()),
        (f"{HEADER_PREFIX}{part}_sha256", hashlib.sha256(data).hexdigest().encode()),
    ]


def _kept_headers(headers: Iterable[tuple[str, bytes | None]]) -> tuple[list[tuple[str, bytes | None]], int]:
    """The original headers that fit in ``MAX_HEADER_BYTES``, in order, and how many did not.

    Those named like ours are left out too: they describe an earlier rejection of a record
    that was re-published from the dead-letter topic, and this letter's own say what happened now.
    """
    kept: list[tuple[str, bytes | None]] = []
    room, dropped = MAX_HEADER_BYTES, 0
    for name, data in headers:
        size = len(name.encode()) + len(data or b"")
        if name.startswith(HEADER_PREFIX) or size > room:
            dropped += 1
            continue
        kept.append((name, data))
        room -= size
    return kept, dropped


class Outbox:
    """The dead letters of the batch of input records in hand: each handed to the producer as it
    comes (``queue``), then all awaited at once (``acknowledged``), which empties the outbox for
    the handler's next batch.  Should a batch fail between the two, its letters (already handed
    to the producer) are awaited with the next batch's: none is lost or sent twice by that.

    Waiting for each one's acknowledgement before the next record cost a broker round trip per
    dead letter (about 65 a second per agent under load); a batch waits for one.
    """

    def __init__(self, topic: faust.TopicT):
        self.topic = topic
        self._queued: list[tuple[DeadLetter, asyncio.Future]] = []

    async def queue(self, dead_letter: DeadLetter) -> None:
        """Hand ``dead_letter`` to the producer without waiting for Kafka."""
        self._queued.append((dead_letter, await _handed_over(self.topic, dead_letter)))

    async def acknowledged(self) -> None:
        """Return once Kafka acknowledged every queued dead letter.

        The failed ones are sent again after a pause that doubles each time; if one still
        fails at the ``SEND_ATTEMPTS``th attempt, raises ``Undeliverable`` naming its source.
        """
        pending, self._queued = self._queued, []
        pause = FIRST_RETRY_SECONDS
        for attempt in range(1, SEND_ATTEMPTS + 1):
            failed = await _failures(pending)
            if not failed:
                return
            dead_letter, error = failed[0]
            if attempt == SEND_ATTEMPTS:
                raise Undeliverable(dead_letter.source, f"not acknowledged after {SEND_ATTEMPTS} attempts: {error!r}")
            log.warning(
                "%d dead letter(s) not sent (attempt %d of %d), the first: %r; retrying in %.1fs",
                len(failed), attempt, SEND_ATTEMPTS, error, pause,
            )
            await asyncio.sleep(pause)
            pause *= 2
            pending = [(letter, await _handed_over(self.topic, letter)) for letter, _ in failed]


async def _handed_over(topic: faust.TopicT, dead_letter: DeadLetter) -> asyncio.Future:
    """``dead_letter`` handed to the producer: its delivery, or a failed one if even that failed."""
    try:
        return await topic.send(key=dead_letter.key, value=dead_letter.value, headers=dead_letter.headers)
    except Exception as error:  # any reason Kafka did not take it: retried alike, then reported
        failed: asyncio.Future = asyncio.get_running_loop().create_future()
        failed.set_exception(error)
        return failed


async def _failures(queued: list[tuple[DeadLetter, asyncio.Future]]) -> list[tuple[DeadLetter, BaseException]]:
    """The queued dead letters whose delivery failed, with why, in order."""
    outcomes = await asyncio.gather(*(delivery for _, delivery in queued), return_exceptions=True)
    return [(letter, outcome) for (letter, _), outcome in zip(queued, outcomes) if isinstance(outcome, BaseException)]


def read_headers(pairs: list[tuple[str, bytes]] | None) -> dict[str, str]:
    """The dead-letter headers of a record as a plain dict (for tools, tests and the demo)."""
    return {
        name.removeprefix(HEADER_PREFIX): value.decode("utf-8", "replace")
        for name, value in pairs or []
        if name.startswith(HEADER_PREFIX)
    }
