"""Publishing events to the input topics at a steady rate (demo, compose, benchmarks).

Events are sent unkeyed, as many upstream services do: the worker repartitions them by
customer itself.  Profiles are keyed by customer, as a compacted topic requires, and an erasure
is a tombstone there, dated by its record's timestamp.  Optionally a malformed record is mixed
in every N events, so the dead-letter path can be seen working.
"""

from __future__ import annotations

import asyncio
import random
from typing import Callable, Iterable

import msgspec
from aiokafka import AIOKafkaProducer

from streams.model.events import AnyInput, Erasure, topic_kind
from streams.runtime.connection import client_options
from streams.runtime.settings import Settings
from streams.devtools.traffic import malformed_records

OnSent = Callable[[str], None]  # called with the event type ("malformed" for a bad record)


async def publish(
    settings: Settings,
    events: Iterable[AnyInput],
    *,
    rate: float | None = None,
    speed: float | None = None,
    keyed: bool = False,
    malformed_every: int = 0,
    on_sent: OnSent = lambda kind: None,
) -> int:
    """Send every event to its input topic; ``rate`` in events/s (None: as fast as possible), or
    ``speed``: as the events happened, ``speed`` times faster (events in time order).
    ``keyed``: every record keyed by its customer (a shop's own history), not only profiles.

    A missing topic is not created: sending to it fails after ``WINBACK_BROKER_TIMEOUT``, as
    does every request the broker does not answer.
    """
    from streams.runtime.faust_patches import forbid_topic_auto_creation  # imports Faust: only when publishing

    forbid_topic_auto_creation()
    producer = AIOKafkaProducer(
        **client_options(settings),
        linger_ms=20,
        max_batch_size=65536,
        acks="all",
        request_timeout_ms=round(settings.broker_timeout * 1000),
    )
    encoder = msgspec.json.Encoder()
    rng = random.Random(11)
    pacer: _Pacer | _Replay = _Replay(speed) if speed else _Pacer(rate)
    sent = 0
    await producer.start()
    try:
        for sent, event in enumerate(events, start=1):
            await pacer.tick(event)
            kind = topic_kind(event)
            if type(event) is Erasure:
                erased_ms = int(event.erased_at.timestamp() * 1000)
                await producer.send(settings.topic_profiles, None, key=event.customer_id.encode(), timestamp_ms=erased_ms)
            else:
                key = event.customer_id.encode() if keyed or kind == "profile" else None  # the profiles topic is compacted
                await producer.send(settings.input_topics[kind], encoder.encode(event), key=key)
            on_sent(kind)
            if malformed_every and sent % malformed_every == 0:
                await producer.send(settings.topic_purchases, malformed_records(rng))
                on_sent("malformed")
        await producer.flush()
    finally:
        await producer.stop()
    return sent


class _Pacer:
    """Sleeps just enough, every tenth of a second's worth of events, to hold a rate (before an event is sent)."""

    def __init__(self, rate: float | None):
        self.batch = max(1, int(rate / 10)) if rate else 0
        self.count = 0
        self.started = asyncio.get_event_loop().time()
        self.rate = rate

    async def tick(self, event: AnyInput) -> None:
        if not self.rate:
            return
        self.count += 1
        if self.count % self.batch == 0:
            ahead = self.count / self.rate - (asyncio.get_event_loop().time() - self.started)
            await asyncio.sleep(max(0.0, ahead))


class _Replay:
    """Sleeps before each event until it is due: events go out as they happened, ``speed`` times
    faster (3600: an hour a second)."""

    def __init__(self, speed: float):
        self.speed = speed
        self.first: float | None = None
        self.started = asyncio.get_event_loop().time()

    async def tick(self, event: AnyInput) -> None:
        at = event.occurred_at.timestamp()
        if self.first is None:
            self.first = at
        ahead = (at - self.first) / self.speed - (asyncio.get_event_loop().time() - self.started)
        if ahead > 0:
            await asyncio.sleep(ahead)
