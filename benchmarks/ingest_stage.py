"""The ingest stage alone, two checkouts side by side: CPU µs a record to validate and forward input.

The repartitioned worker costs more a record than the keyed one by its ingest stage (read each
raw input record, decode and validate it, forward it keyed by customer, dead-letter the bad).
This measures that stage's handler (``streams.runtime.agents._ingest``) by itself, in process:
a generated shop history's input records (the values benchmarks/pipeline.py publishes) are
handed to it as the messages Faust's consumer makes of fetched records, ``--batch`` records of
one input topic at a time as a fetch brings them, and its forwards go to a scratch broker, handed
to the Kafka client without waiting, as in the worker.  The first batch warms up (first calls,
the producer's connections) and is not timed.  Timed: the process's CPU (every thread) from the
second batch until Kafka acknowledged every forward; the sender's work is in it, the fetching and
the making of the messages are not, nor is the broker's.

Every round runs this checkout and ``--before``'s (if given) one after the other, each in a
process of its own with its checkout's Python and source tree, on the same broker and records;
the ratio of their CPU per record is the figure to read (the machine is shared: wall time
means little).

    python benchmarks/ingest_stage.py [--before /work/main] [--rounds 3] [--customers 2000] [--batch 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import msgspec
from faust.types import TP
from faust.types.tuples import ConsumerMessage

import pipeline
from streams.devtools.traffic import generate_history
from streams.model.codec import Limits
from streams.model.events import Erasure, topic_kind
from streams.runtime.agents import _ingest
from streams.runtime.settings import Settings
from streams.runtime.topology import Topology, build_topology

HERE = Path(__file__).resolve().parent.parent  # this checkout
PARTITIONS = 8
Fetch = tuple[str, list[ConsumerMessage]]  # an input kind, and records of its topic fetched together


def measure(broker: str, customers: int, batch_size: int) -> dict[str, float]:
    """This process's checkout's ingest over the whole history: CPU seconds, and records."""
    settings = Settings(broker=broker, app_id=f"ingest-bench-{os.getpid()}", partitions=PARTITIONS)
    topology = build_topology(settings)
    return asyncio.run(_ingest_all(topology, settings, _fetches(settings, customers, batch_size)))


def _fetches(settings: Settings, customers: int, batch_size: int) -> list[Fetch]:
    """Each input topic's records as the consumer would hand them over, ``batch_size`` at a time
    (spread over the topic's partitions; the values as benchmarks/pipeline.py publishes them)."""
    encode = msgspec.json.Encoder().encode
    by_kind: dict[str, list[ConsumerMessage]] = defaultdict(list)
    offsets: dict[TP, int] = defaultdict(int)
    for event in generate_history(customers, 365, seed=7, start=pipeline.HISTORY_START):
        kind = topic_kind(event)
        tp = TP(settings.input_topics[kind], len(by_kind[kind]) % PARTITIONS)
        value = None if type(event) is Erasure else encode(event)
        key = event.customer_id.encode() if kind == "profile" else None
        by_kind[kind].append(ConsumerMessage(tp.topic, tp.partition, offsets[tp], 1_700_000_000.0, 0, (), key, value, None, tp=tp))
        offsets[tp] += 1
    return [(kind, records[start : start + batch_size]) for kind, records in by_kind.items() for start in range(0, len(records), batch_size)]


async def _ingest_all(topology: Topology, settings: Settings, fetches: list[Fetch]) -> dict[str, float]:
    """Hand every fetch to its topic's ingest handler: the CPU time from the second fetch (the
    first warms up) until Kafka acknowledged every forward."""
    app = topology.app
    await app.producer.start()
    try:
        handlers = {kind: _ingest(kind, topology, Limits(), None, None) for kind in settings.input_topics}
        (warm_kind, warm), *timed = fetches
        await handlers[warm_kind](warm)
        await app.producer.acknowledged()
        started = time.process_time()
        for kind, batch in timed:
            await handlers[kind](batch)
        await app.producer.acknowledged()
        return {"records": sum(len(batch) for _, batch in timed), "cpu": time.process_time() - started}
    finally:
        await app.producer.stop()


def run_checkout(checkout: Path, broker: str, args: argparse.Namespace) -> float:
    """CPU µs a record of ``checkout``'s ingest, measured in a process of its own."""
    command = [str(checkout / ".venv" / "bin" / "python"), str(Path(__file__)), "--measure", broker,
               "--customers", str(args.customers), "--batch", str(args.batch)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(checkout), str(Path(__file__).parent)])}
    done = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: the measurement failed:\n{done.stderr[-2000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures["cpu"] / figures["records"] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="the checkout to compare with (with its .venv)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=1000, help="records handed to ingest at a time")
    parser.add_argument("--measure", metavar="BROKER", help=argparse.SUPPRESS)  # one checkout's run (internal)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.customers, args.batch)))
        return
    if args.before is not None and not (args.before / ".venv" / "bin" / "python").exists():
        parser.error(f"{args.before} has no .venv (run make venv there)")

    from scratch_broker import scratch_broker

    checkouts = {"after": HERE} if args.before is None else {"before": args.before.resolve(), "after": HERE}
    with scratch_broker("ingest-stage", PARTITIONS, heap="1g") as (settings, _):
        print(f"load average {os.getloadavg()[0]:.1f} at the start", flush=True)
        figures: dict[str, list[float]] = {label: [] for label in checkouts}
        for number in range(1, args.rounds + 1):
            for label, checkout in checkouts.items():
                figures[label].append(run_checkout(checkout, settings.broker, args))
                print(f"  round {number}, {label}: {figures[label][-1]:.1f} µs/record", flush=True)
    medians = {label: statistics.median(rounds) for label, rounds in figures.items()}
    print("| ingest stage | CPU µs/record, median | rounds |\n|---|---:|---|")
    for label, checkout in checkouts.items():
        print(f"| {label} ({checkout}) | {medians[label]:.1f} | {', '.join(f'{value:.1f}' for value in figures[label])} |")
    if "before" in medians:
        print(f"after / before: {medians['after'] / medians['before']:.2f}x CPU a record")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
