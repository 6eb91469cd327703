"""The shape of the winback worker's hot path in Quix Streams, a peer in benchmarks/pipeline.py.

Every input record's JSON value is decoded; the record is keyed by customer (as it arrives in
``keyed`` mode, re-keyed with ``group_by`` and repartitioned in ``repartition`` mode), folded
into the customer's count and last event time in Quix's RocksDB state, and one output record
per input is written.  Quix's defaults otherwise (at-least-once, commit every 5 s).  Runs in
its own virtualenv (quixstreams pins pydantic below the project's lock) until SIGTERM.

    python activity_job.py BOOTSTRAP GROUP keyed|repartition IN1,IN2,... OUTPUT STATE_DIR
"""

from __future__ import annotations

import sys
from datetime import datetime

from quixstreams import Application, State
from quixstreams.dataframe import StreamingDataFrame


def fold(event: dict, state: State) -> str:
    """Count and last event time (epoch seconds) of the customer; the output record's value."""
    at = datetime.fromisoformat(event.get("occurred_at") or event["updated_at"]).timestamp()
    count = state.get("count", 0) + 1
    last = max(at, state.get("last", at))
    state.set("count", count)
    state.set("last", last)
    return f"{count},{last}"


def main(bootstrap: str, group: str, mode: str, inputs: list[str], output: str, state_dir: str) -> None:
    app = Application(
        broker_address=bootstrap, consumer_group=group, auto_offset_reset="earliest", state_dir=state_dir, loglevel="WARNING"
    )
    frames = [app.dataframe(app.topic(name, key_deserializer="str", value_deserializer="json")) for name in inputs]
    events: StreamingDataFrame = frames[0]
    for frame in frames[1:]:
        events = events.concat(frame)
    if mode == "repartition":
        events = events.group_by(lambda event: event["customer_id"], name="by-customer", key_serializer="str", key_deserializer="str")
    events.apply(fold, stateful=True).to_topic(app.topic(output, key_serializer="str", value_serializer="str"))
    app.run()


if __name__ == "__main__":
    if len(sys.argv) != 7 or sys.argv[3] not in ("keyed", "repartition"):
        sys.exit("usage: activity_job.py BOOTSTRAP GROUP keyed|repartition IN1,IN2,... OUTPUT STATE_DIR")
    bootstrap, group, mode, inputs, output, state_dir = sys.argv[1:]
    main(bootstrap, group, mode, inputs.split(","), output, state_dir)
