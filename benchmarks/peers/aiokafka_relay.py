"""The baseline of benchmarks/pipeline.py: a bare aiokafka consume -> produce relay.

Reads the input topics from the beginning in batches (``getmany``) and hands every record, as
bytes, to the producer without awaiting its delivery; the producer is flushed once per batch.
No decoding, no state: the most any Python consumer of these topics can do per record.
Runs until SIGTERM.

    python benchmarks/peers/aiokafka_relay.py BOOTSTRAP GROUP IN1,IN2,... OUTPUT
"""

from __future__ import annotations

import asyncio
import signal
import sys

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


async def relay(bootstrap: str, group: str, inputs: list[str], output: str) -> None:
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    consumer = AIOKafkaConsumer(*inputs, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=65536, acks="all")
    await consumer.start()
    await producer.start()
    try:
        while not stopping.is_set():
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    await producer.send(output, record.value, key=record.key)  # enqueues; returns the delivery future
            await producer.flush()
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    bootstrap, group, inputs, output = sys.argv[1:]
    asyncio.run(relay(bootstrap, group, inputs.split(","), output))
