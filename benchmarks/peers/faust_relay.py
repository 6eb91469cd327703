"""A bare Faust relay for benchmarks/pipeline.py: no tables, no decoding.

A plain ``faust.App`` (none of the worker's patches; the worker's producer batching) with one
agent that sends every input record, as bytes, to the output topic with ``topic.send``, the
idiomatic Faust relay: Faust publishes what an event sent when it commits the event's offset.
No Faust design that handles records one by one in a Stream can go faster.  Runs until SIGTERM.

    python benchmarks/peers/faust_relay.py BOOTSTRAP APP_ID IN1,IN2,... OUTPUT DATA_DIR WEB_PORT
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import faust


def main(bootstrap: str, app_id: str, inputs: list[str], output: str, data_dir: Path, web_port: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        env={},  # no FAUST_* or other variables from the environment
        broker=f"kafka://{bootstrap}",
        datadir=str(data_dir),
        web_port=web_port,
        web_bind="127.0.0.1",
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        broker_rebalance_timeout=10,
        producer_linger=0.005,
        producer_max_batch_size=65536,
    )
    source = app.topic(*inputs, value_type=bytes, key_serializer="raw", value_serializer="raw")
    sink = app.topic(output, key_serializer="raw", value_serializer="raw")

    @app.agent(source)
    async def relay(stream: faust.StreamT) -> None:
        async for event in stream.events():
            await sink.send(key=event.key, value=event.value)

    console = open(os.devnull, "w")  # no banner or spinner (open until the process ends)
    faust.Worker(app, loglevel="warning", quiet=True, stdout=console).execute_from_commandline()


if __name__ == "__main__":
    bootstrap, app_id, inputs, output, data_dir, web_port = sys.argv[1:]
    main(bootstrap, app_id, inputs.split(","), output, Path(data_dir), int(web_port))
