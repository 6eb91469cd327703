"""A bare Faust relay for benchmarks/pipeline.py: no tables, no decoding.

A Faust app configured as the worker's (``topology.create_app``: same broker, producer and
group settings) with one agent that sends every input record, as bytes, to the output topic
with ``topic.send``, the idiomatic Faust relay.  No Faust design that handles records one by
one in a Stream can go faster than this.  Runs until SIGTERM.

    python benchmarks/peers/faust_relay.py BOOTSTRAP APP_ID IN1,IN2,... OUTPUT DATA_DIR WEB_PORT
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import faust

from streams.runtime.settings import Settings
from streams.runtime.topology import create_app


def main(bootstrap: str, app_id: str, inputs: list[str], output: str, data_dir: Path, web_port: int) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(Settings(broker=bootstrap, app_id=app_id, data_dir=data_dir, web_port=web_port))
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
