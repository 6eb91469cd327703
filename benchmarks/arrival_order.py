"""What replaying a log in arrival order (``winback backtest --order arrival``) costs next to the
usual event-time order, and what a shuffled log's late events retract.

Three runs of the same seeded log (``benchmarks/backtest.py``'s dense or sparse one) under the bundled policy with
``late_events: {retract_within_days: 7}``: event-time order; arrival order of the file as
written (in time order, so nothing is late); arrival order of the file with a share of its
lines moved later (each by a few hours to a few days, as a lagging feed delivers them).
Prints CPU seconds side by side as ratios to the first, the final stages (the same in all
three: the retractions put the customers back), and the retractions counted.

    python benchmarks/arrival_order.py [--customers 10000] [--log dense|sparse] [--late 0.02]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from backtest import event_log

from streams.backtest.report import Report
from streams.backtest.run import Order, backtest_file
from streams.policy.loading import default_policy_path, load_policy
from streams.policy.sections import LateEvents, Policy


def delayed(path: Path, share: float, seed: int = 7) -> Path:
    """The log with ``share`` of its lines moved 10 to 300 lines later (about hours to days)."""
    lines = path.read_bytes().splitlines(keepends=True)
    shuffler = random.Random(seed)
    moved = sorted((index + shuffler.randint(10, 300) if shuffler.random() < share else index, index) for index in range(len(lines)))
    out = path.with_name(f"{path.stem}-late{share}{path.suffix}")
    out.write_bytes(b"".join(lines[index] for _, index in moved))
    return out


def timed(path: Path, policy: Policy, order: Order) -> tuple[float, Report]:
    started = time.process_time()
    report = backtest_file(path, policy, order=order)
    return time.process_time() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--log", choices=["dense", "sparse"], default="dense", help="the workload of benchmarks/backtest.py")
    parser.add_argument("--late", type=float, default=0.02, help="share of the lines delivered late")
    arguments = parser.parse_args()
    policy = load_policy(default_policy_path()).model_copy(update={"late_events": LateEvents(retract_within_days=7)})
    log = event_log(arguments.log, arguments.customers)
    runs: list[tuple[str, Path, Order]] = [
        ("event-time order", log, "time"),
        ("arrival order, in-time file", log, "arrival"),
        (f"arrival order, {arguments.late:.0%} late", delayed(log, arguments.late), "arrival"),
    ]
    base = None
    for label, path, order in runs:
        seconds, report = timed(path, policy, order)
        base = base or seconds
        print(
            f"{label:32} CPU {seconds:6.2f} s  x{seconds / base:4.2f}  stages {dict(report.stages)}  "
            f"retracted {report.retractions}, cancels {report.cancels}, sent in error {report.sent_in_error}"
        )


if __name__ == "__main__":
    main()
