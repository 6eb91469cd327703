"""The event clock on keyed input against the repartitioned path's: one broker, one backlog, one run.

A shop replaying its history with ``WINBACK_CLOCK=event`` used to need the repartitioned path
(ingest, markers through the events topic) even when its input was keyed by customer; now the
customers handler holds keyed input itself (``streams/runtime/keyed_event_time.py``).  This
times the real ``winback worker`` on the event clock, keyed and repartitioned, alternating the
two, between an aiokafka relay run first and last, each entry capped and timed as in
benchmarks/pipeline.py (events applied; CPU µs per record is the steadier figure on a shared
machine).  Both workers fire the history's transitions as event time passes them, so they do
the same work, unlike pipeline.py's, whose clock is frozen before the history.

    python benchmarks/keyed_event_clock.py [--customers 6000] [--rounds 2] [--box 10] [--entry-cores 0.5]

Give it a backlog that fills the box: with 1,500 customers the windows lasted 2.5 s and one run
put keyed at 0.67x the repartitioned rate; with 6,000 (5,466 of them with events; 10 s windows) it was 1.13x.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics

import pipeline
from scratch_broker import scratch_broker

EVENT_CLOCK = {"WINBACK_CLOCK": "event", "WINBACK_CLOCK_IDLE_SECONDS": "1", "WINBACK_TICK_SECONDS": "0.5"}


class EventClockBench(pipeline.Bench):
    """pipeline.py's bench with its workers on the event clock, each round's in a group, topics
    and directory of its own (a group of an earlier round would find the backlog done)."""

    round = 0

    def next_round(self) -> None:
        self.round += 1
        self.workdir = self.workdir.parent / f"round-{self.round}"
        self.workdir.mkdir(exist_ok=True)

    async def worker_env(self, name: str, keyed: bool) -> dict[str, str]:
        return await super().worker_env(f"{name}-round-{self.round}", keyed) | EVENT_CLOCK


async def run_rounds(bench: EventClockBench, rounds: int) -> list[pipeline.Result]:
    """The relay, then the repartitioned and the keyed worker ``rounds`` times, then the relay."""
    results = [await bench.time("aiokafka relay, before", lambda: bench.relay("relay-before"))]
    pipeline.report(results[-1])
    for _ in range(rounds):
        bench.next_round()
        for keyed in (False, True):
            name = f"event clock, {'keyed' if keyed else 'repartition'} ({bench.round})"
            results.append(await bench.time(name, lambda: bench.worker(keyed, count=1)))
            pipeline.report(results[-1])
    results.append(await bench.time("aiokafka relay, after", lambda: bench.relay("relay-after")))
    pipeline.report(results[-1])
    return results


def ratios(results: list[pipeline.Result]) -> str:
    """Keyed over repartitioned: events/s and CPU per record, median of the rounds."""
    def median(mode: str, figure: str) -> float:
        windows = [result.window for result in results if f", {mode} (" in result.name and result.window]
        return statistics.median(getattr(window, figure) for window in windows) if windows else float("nan")

    rate = median("keyed", "events_per_second") / median("repartition", "events_per_second")
    cpu = median("repartition", "cpu_us_per_record") / median("keyed", "cpu_us_per_record")
    return f"keyed / repartitioned on the event clock (medians of the rounds): {rate:.2f}x events/s, {cpu:.2f}x less CPU per record"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=pipeline.CUSTOMERS)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--box", type=float, default=10.0)
    parser.add_argument("--entry-cores", type=float, default=0.5, help="CPUs each entry's processes share (0: uncapped)")
    args = parser.parse_args()
    why = pipeline.unavailable()
    with scratch_broker("keyed-event-clock", 8, heap="1g") as (settings, workdir):
        backlog = pipeline.publish_backlog(settings, args.customers, args.days)
        print(f"backlog: {backlog.records:,} records of {backlog.customers:,} customers, unkeyed and keyed; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        timing = pipeline.Timing(args.warmup, args.box, None if why else args.entry_cores or None)
        bench = EventClockBench(settings, backlog.keyed, workdir / "round-0", backlog.records, timing)
        (workdir / "round-0").mkdir()
        results = asyncio.run(run_rounds(bench, args.rounds))
    print(pipeline.table(results, backlog.customers))
    print(ratios(results))
    print(f"(each entry timed from {args.warmup:g} s after its first record for at most {args.box:g} s; "
          f"{pipeline.entry_share(timing, why)}; load average {os.getloadavg()[0]:.1f} at the end)")


if __name__ == "__main__":
    main()
