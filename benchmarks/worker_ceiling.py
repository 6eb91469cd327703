"""Where the worker's CPU goes: the runtime around the pure core, and the core (issue 21).

One broker, one backlog (benchmarks/pipeline.py's generated history, published keyed by
customer, and unkeyed for the relay and the repartitioned path), one run, every entry at the
same CPU cap (``--cores``, benchmarks/cpu_cap.py; uncapped, with one line, where cgroups are not
writable), timed from outside as in benchmarks/pipeline.py (its ``Bench``), each draining the
whole backlog from half a second after its first record:

1. the aiokafka relay, first and last (the baseline: the median of the two);
2. the real keyed worker (``WINBACK_INPUT_KEYED``) under the bundled example policy, and under
   benchmarks/never_due_policy.yaml (loaded through ``WINBACK_POLICY``): the same events applied
   and states kept, but no stage entry, series step or message ever due, so the engine does the
   least it can;
3. right before each worker entry, the pure core on the same records under the same policy,
   in a child process capped alike and configured by the worker's own environment (settings,
   policy, fixed clock): decode each line, decode the customer's stored state,
   ``Engine.apply_at``, encode records and state (benchmarks/compiled_core.py's ``core_work``),
   CPU time of that loop only (on a shared machine the CPU a record costs drifts with the
   load, so each core figure is taken next to the worker figure it is set against);
4. with ``--repartition``: the repartitioned worker (ingest, then the customers stage) under
   both policies too.

Then the arithmetic (benchmarks/ceilings.py), per policy and path: the runtime's CPU per record
(worker minus core), the worker's ratio to the relay at equal CPU (the relay's CPU per record
over the worker's), and the ratio with (a) a runtime that costs nothing, (b) a core that costs
nothing, (c) a runtime as cheap as the relay; and the CPU the core may take for the issue's goal
(0.5x keyed, 0.3x repartitioned) with today's runtime.

The core loop over-estimates the core's share in the worker, so the runtime's share is if
anything larger: it decodes each line on its own, where the worker decodes a topic's records of a
batch in one call (2-3 µs a record cheaper on this backlog), and decodes and encodes a
customer's state for every record, where the worker does so once per customer per batch.  The
worker's window leaves out the records of its first half second.

    python benchmarks/worker_ceiling.py [--customers 6000] [--days 365] [--partitions 8]
                                        [--cores 0.5] [--repartition]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from collections.abc import Callable
from pathlib import Path

import pipeline
from ceilings import Split
from compiled_core import core_work
from cpu_cap import cpu_capped, unavailable
from scratch_broker import scratch_broker
from streams.core.engine import Engine
from streams.devtools.spawn import worker_env
from streams.devtools.traffic import write_jsonl
from streams.policy.loading import load_policy
from streams.runtime.clock import parse_clock
from streams.runtime.settings import Settings

NEVER_DUE = Path(__file__).resolve().parent / "never_due_policy.yaml"
POLICIES: dict[str, Path | None] = {"example policy": None, "never-due policy": NEVER_DUE}
GOALS = {"keyed": 0.5, "repartition": 0.3}  # issue 21's ratios to the relay
WHOLE_BACKLOG = 300.0  # seconds: a box no entry reaches, so each is timed to its last record
WARM_LINES = 2000  # lines the core child runs before it is timed (imports, first calls)
CoreRun = Callable[[Path | None], float]  # the pure core's CPU µs per record under a policy file (None: the example)


async def run_all(bench: pipeline.Bench, paths: list[str], core: CoreRun) -> tuple[list[pipeline.Result], dict[str, float]]:
    """The relay first and last, and between them the worker of each path under each policy,
    each right after a run of the pure core under the same policy (the machine's load varies:
    each pair is measured close together).  The results, and the core's µs per record by the
    name of the worker entry it goes with."""
    results = [await bench.time("aiokafka relay, before", lambda: bench.relay("relay-before"))]
    pipeline.report(results[-1])
    core_us: dict[str, float] = {}
    for path in paths:
        for label, policy in POLICIES.items():
            name = f"worker, {path}, {label}"
            core_us[name] = core(policy)
            print(f"  pure core, {label}: {core_us[name]:.1f} µs/record", flush=True)
            results.append(await bench.time(name, lambda keyed=path == "keyed", policy=policy: bench.worker(keyed, 1, policy=policy)))
            pipeline.report(results[-1])
    results.append(await bench.time("aiokafka relay, after", lambda: bench.relay("relay-after")))
    pipeline.report(results[-1])
    return results, core_us


def core_env(settings: Settings, policy: Path | None) -> dict[str, str]:
    """The environment a worker of the benchmark gets (its settings, fixed clock and policy)."""
    env = {**os.environ, **worker_env(settings), "WINBACK_CLOCK": f"fixed:{pipeline.HISTORY_START.isoformat()}"}
    if policy is not None:
        env["WINBACK_POLICY"] = str(policy)
    return env


def core_cost(settings: Settings, lines: Path, policy: Path | None, cores: float | None) -> float:
    """CPU µs per record of the pure core over the backlog's lines in a child process
    (``measure_core``), capped at ``cores`` CPUs."""
    command = [sys.executable, __file__, "--core", str(lines)]
    child = subprocess.Popen(command, env=core_env(settings, policy), stdout=subprocess.PIPE, text=True)
    with ExitStack() as cap:
        if cores:
            cap.enter_context(cpu_capped(f"bench-core-{os.getpid()}-{child.pid}", cores)).add(child.pid)
        out, _ = child.communicate()
    if child.returncode != 0:
        raise SystemExit(f"the core run under {policy or 'the example policy'} failed (exit {child.returncode})")
    figures = json.loads(out.splitlines()[-1])
    return float(figures["cpu"]) * 1e6 / int(figures["records"])


def measure_core(lines_path: Path) -> None:
    """The child's side: the engine built from the environment's settings as the worker builds
    it (streams/runtime/worker.py), run over the lines; one JSON line out."""
    settings = Settings()

    def engine() -> Engine:
        return Engine(
            load_policy(settings.policy_path),
            profile_skew=settings.max_profile_skew_seconds,
            erasure_grace=settings.erasure_grace_seconds,
            catch_up=settings.catch_up_default,
        )

    applied_at = parse_clock(settings.clock).now()
    lines = lines_path.read_bytes().splitlines()
    core_work(lines[:WARM_LINES], engine(), time.time(), applied_at)
    measured = engine()
    started = time.process_time()
    records, _ = core_work(lines, measured, time.time(), applied_at)
    cpu = time.process_time() - started
    print(json.dumps({"records": records, "cpu": cpu}))


def ceiling_table(results: list[pipeline.Result], core_us: dict[str, float], paths: list[str]) -> str:
    """Per path and policy: relay, worker and core CPU µs per record (``core_us``: the core's by
    worker entry), the runtime's share and the ratios it allows (``ceilings.Split``)."""
    relays = [r.window.cpu_us_per_record for r in results if r.name.startswith("aiokafka relay") and r.window]
    relay = statistics.median(relays)
    lines = [
        "| path, policy | relay µs | worker µs | core µs | runtime µs (share) | ratio now | (a) free runtime | "
        "(b) free core | (c) runtime = relay | core budget for the goal |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_name = {result.name: result for result in results}
    for path in paths:
        for label in POLICIES:
            name = f"worker, {path}, {label}"
            worker = by_name[name].window
            if worker is None:
                lines.append(f"| {path}, {label} | {relay:.1f} | n/a | | | | | | | |")
                continue
            split = Split(relay, worker.cpu_us_per_record, core_us[name])
            goal = GOALS[path]
            lines.append(
                f"| {path}, {label} | {split.relay:.1f} | {split.worker:.1f} | {split.core:.1f} | "
                f"{split.runtime:.1f} ({split.runtime / split.worker:.0%}) | {split.ratio:.2f}x | {split.free_runtime:.2f}x | "
                f"{split.free_core:.2f}x | {split.relay_runtime:.2f}x | {split.core_budget(goal):.1f} µs for {goal:g}x |"
            )
    return "\n".join([*lines, f"(relay: median of {len(relays)} runs, {', '.join(f'{r:.1f}' for r in relays)} µs/record)"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=pipeline.CUSTOMERS, help="customers in the generated history")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--cores", type=float, default=0.5, help="CPUs each entry's processes share (0: uncapped)")
    parser.add_argument("--repartition", action="store_true", help="also the repartitioned worker (about a minute more)")
    parser.add_argument("--core", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.core:
        measure_core(args.core)
        return

    began = time.monotonic()
    why = unavailable() if args.cores else "not asked for (--cores 0)"
    cores = None if why else args.cores
    paths = ["keyed", "repartition"] if args.repartition else ["keyed"]
    with scratch_broker("ceiling", args.partitions, heap="1g") as (settings, workdir):
        backlog = pipeline.publish_backlog(settings, args.customers, args.days)
        keyed, events, produced, customers = backlog.keyed, backlog.events, backlog.records, backlog.customers
        lines = workdir / "backlog.jsonl"
        write_jsonl(events, lines)
        print(f"backlog: {produced:,} records of {customers:,} customers over {args.days} days; load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {time.monotonic() - began:,.0f} s to publish", flush=True)
        timing = pipeline.Timing(warmup=0.5, box=WHOLE_BACKLOG, entry_cores=cores)
        bench = pipeline.Bench(settings, keyed, workdir, produced, timing)
        results, core = asyncio.run(run_all(bench, paths, lambda policy: core_cost(keyed, lines, policy, cores)))
    print(pipeline.table(results, customers))
    print(f"(each entry timed from 0.5 s after its first record to its last; {f'capped at {cores:g} CPU' if cores else f'uncapped: {why}'})")
    print()
    print(ceiling_table(results, core, paths))
    print("(µs: CPU per record; ratios at equal CPU: the relay's µs over the worker's; (a) core only, (b) runtime only, "
          "(c) core plus the relay's own cost; budget: relay µs / goal - runtime µs, negative: out of reach with this runtime)")
    print(f"load average {os.getloadavg()[0]:.1f} at the end; elapsed {time.monotonic() - began:,.0f} s")


if __name__ == "__main__":
    main()
