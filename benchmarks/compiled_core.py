"""The pure core compiled with mypyc beside the same code interpreted: does compiling it pay?

Copies ``streams/`` to a scratch directory and compiles ``streams/core`` and the backtest's
replay modules there with mypyc (C extensions beside the sources, which Python imports ahead of
them); ``streams/model`` and ``streams/policy`` stay interpreted (``COMPILED`` says why).
Then, in child processes that alternate between the two trees (same machine, same run), it
times:

* the backtest (``backtest_file``) of the sparse and dense logs of benchmarks/backtest.py, as
  events per second of CPU time, and checks that both trees give the same report;
* the core part of the worker's per-record work, on the sparse log's lines in file order keyed
  by customer: decode the line, decode the customer's stored state, ``Engine.apply_at`` with
  the record's position (full records), encode the records and the state: CPU µs per record.

The figures printed are medians of ``--repeat`` runs of each.  On a shared machine CPU time
varies with the load; ``--instructions`` also counts instructions with valgrind (callgrind,
collecting only inside the measured call), which the load does not change.

    python benchmarks/compiled_core.py [--sparse 20000] [--dense 2000] [--repeat 3] [--instructions]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streams.core.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
# streams/model and streams/policy are left interpreted: mypyc creates a class that is not its
# own (a msgspec.Struct, a pydantic model) by calling its metaclass without the class keywords,
# so a Struct's ``array_like``/``omit_defaults``/``frozen``/``kw_only``/``tag`` settings would be
# lost (records.py then fails to import; activity.py would silently store its state as a map),
# and their annotations, which msgspec validates against, become erased types (``str | None`` is
# ``type``).  streams/core declares one Struct, ``engine.Result``, which is then not frozen:
# nothing measured here depends on that.  docs/scaling.md has the figures and the blockers.
COMPILED = ["streams/core", "streams/backtest/report.py", "streams/backtest/run.py", "streams/backtest/event_log.py"]


def compile_core(into: Path) -> None:
    """A copy of the sources in ``into`` with ``COMPILED`` compiled beside them."""
    shutil.copytree(ROOT / "streams", into / "streams", ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    shutil.copy(ROOT / "pyproject.toml", into)  # mypy's settings (the pydantic plugin, strictness)
    mypyc = Path(sys.executable).with_name("mypyc")
    started = time.perf_counter()
    build = subprocess.run([str(mypyc), *COMPILED], cwd=into, capture_output=True, text=True)
    if build.returncode != 0:
        raise SystemExit(f"mypyc failed:\n{build.stdout[-3000:]}{build.stderr[-3000:]}")
    print(f"compiled {', '.join(COMPILED)} with mypyc in {time.perf_counter() - started:.0f} s")


def child(tree: Path, task: str, workload: str, customers: int, instructions: bool) -> dict[str, float | str]:
    """One measurement in a fresh interpreter that imports ``streams`` from ``tree``."""
    command = [sys.executable, __file__, "--child", task, workload, str(customers)]
    if instructions:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            "--toggle-collect=builtin_exec",
            "--callgrind-out-file=/dev/null",
            *command,
        ]
    environment = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise SystemExit(f"{task} {workload} in {tree} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float | str] = json.loads(done.stdout.splitlines()[-1])
    if instructions:
        collected = [line for line in done.stderr.splitlines() if "Collected :" in line]
        result["instructions"] = float(collected[-1].split(":")[-1].replace(",", ""))
    return result


def measure(task: str, workload: str, customers: int) -> None:
    """The child's side: print one JSON line (the measured call runs inside ``exec``, where
    callgrind collects)."""
    sys.path.insert(1, str(ROOT / "benchmarks"))
    import streams.core.engine

    run = _backtest if task == "backtest" else _worker
    scope = {"run": run, "workload": workload, "customers": customers}
    run(workload, customers)  # warm: lazy imports, the log generated once
    started = time.process_time()
    exec("outcome = run(workload, customers)", scope)
    cpu = time.process_time() - started
    count, digest = scope["outcome"]
    compiled = not streams.core.engine.__file__.endswith(".py")
    print(json.dumps({"compiled": compiled, "count": count, "cpu": cpu, "digest": digest}))


def _backtest(workload: str, customers: int) -> tuple[int, str]:
    """The backtest of the workload's log: its event count and a digest of its report."""
    from backtest import event_log  # benchmarks/backtest.py: the seeded sparse and dense logs

    from streams.backtest.run import backtest_file
    from streams.policy.loading import default_policy_path, load_policy

    report = backtest_file(event_log(workload, customers), load_policy(default_policy_path()), now=1_900_000_000.0)
    return report.events, hashlib.sha1(json.dumps(report.as_dict(), sort_keys=True).encode()).hexdigest()[:12]


def _worker(workload: str, customers: int) -> tuple[int, str]:
    """The core part of the worker's per-record work over the log's lines (``core_work``)."""
    from backtest import event_log

    from streams.core.engine import Engine
    from streams.policy.loading import default_policy_path, load_policy

    lines = event_log(workload, customers).read_bytes().splitlines()
    now = 1_900_000_000.0
    return core_work(lines, Engine(load_policy(default_policy_path()), catch_up="latest"), now, now)


def core_work(lines: Iterable[bytes], engine: Engine, now: float, applied_at: float) -> tuple[int, str]:
    """The core part of the worker's per-record work, each line in turn keyed by its customer:
    decode the line, decode the customer's stored state, ``Engine.apply_at`` with the line's
    position (``now``: the real time, ``applied_at``: the scheduler's), encode the records and
    the state.  Returns the record count and a digest of the states and records it ends with.
    (benchmarks/worker_ceiling.py runs it on the pipeline's backlog.)"""
    import msgspec

    from streams.model.activity import CustomerActivity
    from streams.model.codec import Rejection, decode_line_at
    from streams.model.positions import Position

    stored: dict[str, bytes] = {}
    digest, count = hashlib.sha1(), 0
    for offset, line in enumerate(lines):
        decoded = decode_line_at(line, now=now)
        if isinstance(decoded, Rejection):
            continue
        event, at = decoded
        customer_id = event.customer_id
        state = CustomerActivity.decode(stored[customer_id]) if customer_id in stored else None
        result = engine.apply_at(customer_id, state, event, at, Position(0, offset), now, applied_at)
        if result.records:
            digest.update(msgspec.json.encode(result.records))
        stored[customer_id] = result.state.encode()
        count += 1
    for customer_id in sorted(stored):
        digest.update(stored[customer_id])
    return count, digest.hexdigest()[:12]


def compare(trees: dict[str, Path], task: str, workload: str, customers: int, repeat: int, instructions: bool) -> list[str]:
    """One row: the interpreted and compiled figures of ``task`` and their ratio."""
    runs: dict[str, list[dict[str, float | str]]] = {name: [] for name in trees}
    for _ in range(repeat):  # alternating, so a change of load hits both
        for name, tree in trees.items():
            runs[name].append(child(tree, task, workload, customers, False))
    if instructions:
        for name, tree in trees.items():
            runs[name].append(child(tree, task, workload, customers, True))
    if any(run["compiled"] != (name == "compiled") for name in trees for run in runs[name]):
        raise SystemExit(f"{task} {workload}: a child did not import the core it was meant to")
    digests = {str(run["digest"]) for name in trees for run in runs[name]}
    if len(digests) != 1:
        raise SystemExit(f"{task} {workload}: the compiled core gives a different result: {digests}")
    count = float(runs["interpreted"][0]["count"])
    cpu = {name: statistics.median(float(run["cpu"]) for run in runs[name][:repeat]) for name in trees}
    speed = "events/s" if task == "backtest" else "µs/record"
    figure = {name: (count / cpu[name] if task == "backtest" else cpu[name] / count * 1e6) for name in trees}
    row = [
        f"{task} {workload}",
        f"{count:,.0f}",
        f"{figure['interpreted']:,.0f} {speed}" if task == "backtest" else f"{figure['interpreted']:.1f} {speed}",
        f"{figure['compiled']:,.0f} {speed}" if task == "backtest" else f"{figure['compiled']:.1f} {speed}",
        f"{cpu['interpreted'] / cpu['compiled']:.2f}x",
    ]
    if instructions:
        row.append(f"{float(runs['interpreted'][-1]['instructions']) / float(runs['compiled'][-1]['instructions']):.2f}x")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparse", type=int, default=20_000, help="customers of the sparse shop (about 3.9 events each)")
    parser.add_argument("--dense", type=int, default=2_000, help="customers of the dense generated shop (about 40 events each)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating; the median is printed")
    parser.add_argument("--instructions", action="store_true", help="also count instructions with valgrind (slow)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args.child[0], args.child[1], int(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="winback-mypyc-") as scratch:
        compile_core(Path(scratch))
        trees = {"interpreted": ROOT, "compiled": Path(scratch)}
        header = ["what", "events", "interpreted (CPU)", "compiled (CPU)", "speed-up (CPU)"] + (
            ["speed-up (instructions)"] if args.instructions else []
        )
        rows = [
            compare(trees, task, workload, customers, args.repeat, args.instructions)
            for task, workload, customers in (
                ("backtest", "sparse", args.sparse),
                ("backtest", "dense", args.dense),
                ("worker", "sparse", args.sparse // 4),
            )
        ]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    for row in [header, *rows]:
        print(" | ".join(cell.rjust(width) for cell, width in zip(row, widths)))
    print(f"load average: {os.getloadavg()[0]:.1f}; compiled: {', '.join(COMPILED)}; the results are identical (report and state digests)")


if __name__ == "__main__":
    main()
