"""Dead letters per second of a real worker's ingest, side by side with its forwards per second.

One run, one local broker: ``--records`` malformed records, then as many valid purchases, are
produced to the purchases topic (spread over its partitions); a real ``winback worker`` then
reads them.  Each rate is taken from the create-times of what ingest wrote (first to last dead
letter on the dead-letter topic, first to last forward on the internal events topic), so the
worker's start-up does not count.  A dead letter must be acknowledged before its record is,
a forward need not: the ratio shows what waiting for those acknowledgements costs (issue #18:
awaiting each one in turn held an agent to about 65 dead letters a second).

To compare with another version of the worker, run this script with that version first on
``PYTHONPATH`` (the worker subprocess imports ``streams`` from there).

    python benchmarks/dead_letters.py [--records 4000] [--partitions 4]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from streams.devtools.spawn import WorkerProcess, worker_env
from streams.runtime.settings import Settings

from scratch_broker import scratch_broker

PURCHASE = (
    b'{"event_id":"e-%d","customer_id":"c-%d","occurred_at":"2024-02-01T10:00:00Z",'
    b'"order_id":"o-%d","amount":10,"currency":"EUR"}'
)


async def produce(settings: Settings, records: int) -> None:
    """``records`` malformed records, then ``records`` valid purchases, on every partition alike."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=20, acks="all")
    await producer.start()
    try:
        topic = settings.input_topics["purchase"]
        values = [b"{not json %d" % n for n in range(records)] + [PURCHASE % (n, n, n) for n in range(records)]
        sent = [
            await producer.send(topic, value, key=b"c-%d" % n, partition=n % settings.partitions)
            for n, value in enumerate(values)
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def span(settings: Settings, topic: str, expected: int, timeout: float) -> float:
    """Seconds between the create-times of the first and the last of ``expected`` records of
    ``topic``, read once all of them are there."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest")
    await consumer.start()
    try:
        stamps: list[int] = []
        deadline = time.monotonic() + timeout
        while len(stamps) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(stamps)} of {expected} records on {topic} after {timeout:.0f} s")
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                stamps.extend(record.timestamp for record in records)
        return (max(stamps) - min(stamps)) / 1000
    finally:
        await consumer.stop()


def measure(settings: Settings, records: int, workdir: Path) -> tuple[float, float]:
    """Dead letters/s and forwards/s of one worker over the produced records."""
    env = {**worker_env(settings), "WINBACK_CLOCK": "fixed:2024-02-01T00:00:00+00:00", "WINBACK_LOG_LEVEL": "info"}
    worker = WorkerProcess(env, workdir, "bench-worker").start(ready_timeout=120)
    try:
        letters = asyncio.run(span(settings, settings.topic_dead_letters, records, timeout=600))
        forwards = asyncio.run(span(settings, settings.topic_events, records, timeout=600))
        if not worker.alive():
            raise RuntimeError(f"the worker stopped:\n{worker.tail()}")
        return records / max(letters, 1e-3), records / max(forwards, 1e-3)
    finally:
        worker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=4000, help="malformed records, and as many valid ones")
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()

    with scratch_broker("dead-letters", args.partitions, heap="512m") as (settings, workdir):
        asyncio.run(produce(settings, args.records))
        letters, forwards = measure(settings, args.records, workdir)
        print(f"{args.records:,} malformed then {args.records:,} valid records on {args.partitions} partitions")
        print(f"ingest: {letters:,.0f} dead letters/s, {forwards:,.0f} forwards/s; "
              f"dead letters / forwards: {letters / forwards:.2f}")


if __name__ == "__main__":
    main()
