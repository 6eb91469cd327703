"""The worker of two checkouts side by side: one broker, one backlog, one run.

A change to the worker's hot path is measured against the code it changes on the same broker
and backlog, alternating the two so that the machine's load falls on both alike, between an
aiokafka relay run first and last (benchmarks/pipeline.py's baseline).  Each worker entry is
the real ``winback worker`` of its checkout (its own virtualenv and source tree), keyed
(``WINBACK_INPUT_KEYED``) and repartitioned, timed from outside as in benchmarks/pipeline.py.
Compare CPU µs per record first: on a shared machine it is steadier than events/s.
``--event-clock`` runs every worker on the event clock (benchmarks/keyed_event_clock.py's
settings), which holds events back and applies them in event-time order, instead of a clock
frozen before the history.

    python benchmarks/worker_ab.py --before /work/main [--rounds 2] [--customers 2000] [--event-clock]

``--before`` is another checkout with its ``.venv`` (``make venv`` there); the "after" is this one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
from pathlib import Path

import pipeline
from keyed_event_clock import EVENT_CLOCK
from progress import Window
from scratch_broker import scratch_broker
from streams.devtools.spawn import WorkerProcess

HERE = Path(__file__).resolve().parent.parent  # this checkout


class CheckoutWorker(WorkerProcess):
    """``winback worker`` run from another checkout's source tree with that checkout's Python."""

    def __init__(self, env: dict[str, str], workdir: Path, checkout: Path):
        super().__init__({**env, "PYTHONPATH": str(checkout)}, workdir)
        self.checkout = checkout

    def launch(self) -> "CheckoutWorker":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(self.checkout / ".venv" / "bin" / "python"), "-m", "streams", "worker"],
                env=self.env, cwd=self.checkout, stdout=log, stderr=subprocess.STDOUT,
            )
        return self


async def start_worker(bench: pipeline.Bench, checkout: Path, label: str, keyed: bool, clock: dict[str, str]) -> pipeline.Run:
    """One worker of ``checkout`` on the keyed or the unkeyed backlog, with its own group and
    topics; ``clock``: settings that replace the bench's clock (none: its frozen one)."""
    name = f"ab-{label}-{'keyed' if keyed else 'repartition'}"
    env = await bench.worker_env(name, keyed) | clock
    worker = CheckoutWorker(env, bench.workdir / name, checkout).launch()

    async def applied() -> int:
        return round(await asyncio.to_thread(pipeline.applied_by, worker))

    assert worker.process is not None
    return pipeline.Run([worker.process], applied, [worker.log_path], [Path(worker.env["WINBACK_DATA_DIR"])])


async def run_all(bench: pipeline.Bench, before: Path, rounds: int, clock: dict[str, str]) -> list[pipeline.Result]:
    entries = [("aiokafka relay, before", lambda: bench.relay("ab-relay-before"))]
    for number in range(1, rounds + 1):
        for keyed in (True, False):
            mode = "keyed" if keyed else "repartition"
            for label, checkout in (("before", before), ("after", HERE)):
                start = lambda checkout=checkout, label=f"{label}{number}", keyed=keyed: start_worker(bench, checkout, label, keyed, clock)  # noqa: E731
                entries.append((f"{label}, {mode}, round {number}", start))
    entries.append(("aiokafka relay, after", lambda: bench.relay("ab-relay-after")))
    results = []
    for name, start in entries:
        results.append(await bench.time(name, start))
        window: Window | None = results[-1].window
        print(f"  {name}: {results[-1].missing or f'{window.events_per_second:,.0f} events/s, {window.cpu_us_per_record:.0f} µs/record'}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the checkout to compare with (with its .venv)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--event-clock", action="store_true", help="run every worker on the event clock")
    args = parser.parse_args()
    if not (args.before / ".venv" / "bin" / "python").exists():
        parser.error(f"{args.before} has no .venv (run make venv there)")

    with scratch_broker("worker-ab", args.partitions, heap="1g") as (settings, workdir):
        backlog = pipeline.publish_backlog(settings, args.customers, 365)
        print(f"backlog: {backlog.records:,} records of {backlog.customers:,} customers; load average {os.getloadavg()[0]:.1f}", flush=True)
        timing = pipeline.Timing(warmup=0.5, box=10.0, entry_cores=None)  # both checkouts as the shared machine gives
        bench = pipeline.Bench(settings, backlog.keyed, workdir, backlog.records, timing)
        results = asyncio.run(run_all(bench, args.before.resolve(), args.rounds, EVENT_CLOCK if args.event_clock else {}))
    print(pipeline.table(results, backlog.customers))
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
