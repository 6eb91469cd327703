"""What sharing a backtest among processes costs, in instructions counted by callgrind (needs valgrind).

On a shared machine the CPU time of the same run varies by a third with the load; the number of
instructions executed does not.  This runs the backtest of the seeded sparse log of
``benchmarks/backtest.py`` (its ``event_log``, cached) under ``valgrind --tool=callgrind`` three
ways: only the imports and the policy (the base), in one process (``backtest_file``) and in
``--workers`` processes (``backtest_in_workers``), and prints each run's instructions less the
base, summed over its processes, beside the one process's.

A forked worker's count starts from its parent's at the fork; the workers are forked right
after the imports and the policy, before the file is read, so the base is taken off each of
them as well.  From the same counts, the wall time on idle cores is bounded by the parent's own
work (reading and filing, dealing the parts, merging) plus the largest worker's: printed as
"critical path".  The one process's instructions are split into its steps (reading and filing
the lines, decoding them, the replay and report), to bound what workers that decode their
customers' lines while the parent still reads could gain.  Slow (callgrind runs ~50x slower):
keep the log small.

    python benchmarks/backtest_instructions.py [--sparse 8000] [--workers 2]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

COLLECTED = re.compile(rb"==(\d+)== Collected : (\d+)")


def run(mode: str, path: Path) -> None:
    """One run, under valgrind: the imports and the policy, then the backtest ``mode`` asks for."""
    from streams.backtest.event_log import EventLog, read_text
    from streams.backtest.run import backtest_file
    from streams.backtest.workers import backtest_in_workers
    from streams.policy.loading import default_policy_path, load_policy

    policy = load_policy(default_policy_path())
    if mode in ("filed", "decoded"):  # the first steps of a backtest alone: read and file; and decode
        log = EventLog.from_text(read_text(path), now=time.time())
        for _ in log.customers() if mode == "decoded" else ():
            pass
    elif mode == "one":
        backtest_file(path, policy, now=time.time())
    elif mode.startswith("workers="):
        backtest_in_workers(path, policy, int(mode.partition("=")[2]), now=time.time())


def counted(mode: str, path: Path) -> list[int]:
    """Instructions of each process of the run (the parent first)."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__, "--run", mode, str(path)]
    result = subprocess.run(command, capture_output=True, check=True)
    first = re.search(rb"==(\d+)==", result.stderr)
    parent = first.group(1) if first else b""  # valgrind's first line is the parent's
    found = COLLECTED.findall(result.stderr)
    return [int(count) for pid, count in found if pid == parent] + [int(count) for pid, count in found if pid != parent]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparse", type=int, default=8000, help="customers of the sparse shop (about 3.9 events each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--run", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run[0], Path(args.run[1]))
        return
    from backtest import event_log  # the sparse workload of benchmarks/backtest.py, cached

    path = event_log("sparse", args.sparse)
    with open(path, "rb") as lines:
        events = sum(1 for _ in lines)
    base = counted("base", path)[0]
    filed = counted("filed", path)[0] - base
    decoded = counted("decoded", path)[0] - base - filed
    one = counted("one", path)[0] - base
    parent, *workers = (count - base for count in counted(f"workers={args.workers}", path))
    shared = parent + sum(workers)
    print(f"{events:,} events of {args.sparse:,} customers; instructions less the imports and policy ({base / 1e9:.2f} G):")
    print(f"  one process:  {one / 1e9:.3f} G")
    print(f"  {args.workers} workers:    {shared / 1e9:.3f} G ({shared / one:.2f}x): parent {parent / 1e9:.3f} G, workers " + ", ".join(f"{count / 1e9:.3f} G" for count in workers))
    print(f"  critical path on idle cores: {(parent + max(workers)) / 1e9:.3f} G, a speed-up of at most {one / (parent + max(workers)):.2f}x")
    replay = one - filed - decoded
    print(f"  of the one process: reading and filing {filed / 1e9:.3f} G, decoding {decoded / 1e9:.3f} G, replay and report {replay / 1e9:.3f} G")
    dealt = max(filed, decoded / args.workers) + replay / args.workers
    print(f"  workers decoding their lines as they are dealt, while the file is read: a critical path of at least {dealt / 1e9:.3f} G, at most {one / dealt:.2f}x")


if __name__ == "__main__":
    main()
