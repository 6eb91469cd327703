"""What the predictive trigger costs: the model fit's time, and the backtest's speed with and
without the trigger, side by side, on one generated shop log.

The predictive trigger narrows the engine's fast path for active customers: the customer is
known to stay active until the sooner of the first threshold and the predicted drop of P(alive),
which each purchase may bring forward, so it is solved for again after every purchase
(``Lifecycle.quiet_until``).  This prints that cost as a ratio of events per second, and how
long fitting the model on the same log takes.

    python benchmarks/predictive.py [--customers 20000] [--days 365] [--threshold 0.3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from streams.backtest.churn_fit import buyers_of, fit
from streams.backtest.history import read_history
from streams.backtest.run import backtest_file
from streams.devtools.traffic import generate_history, write_jsonl
from streams.policy.loading import default_policy_path, load_policy
from streams.policy.sections import ChurnModel, Predictive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--threshold", type=float, default=0.3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "history.jsonl"
        events = write_jsonl(generate_history(options.customers, options.days, seed=7), log)

        started = time.perf_counter()
        buyers = buyers_of(read_history([log]))
        read = time.perf_counter()
        fitted = fit(buyers)
        done = time.perf_counter()
        model = fitted.model
        print(f"fit: {len(buyers.x):,} buyers, {buyers.purchases:,} purchases: read {read - started:.2f} s, fitted in {done - read:.2f} s "
              f"(r={model.r:.3f} alpha={model.alpha:.2f} a={model.a:.3f} b={model.b:.3f}, LL={fitted.log_likelihood:.1f})")

        thresholds = load_policy(default_policy_path())
        parameters = ChurnModel(r=model.r, alpha=model.alpha, a=model.a, b=model.b)
        predictive = thresholds.model_copy(update={"predictive": Predictive(model=parameters, enter_winback_below=options.threshold)})
        rates = {}
        for name, policy in (("thresholds", thresholds), ("predictive", predictive)):
            started = time.perf_counter()
            report = backtest_file(log, policy)
            seconds = time.perf_counter() - started
            rates[name] = events / seconds
            print(f"backtest {name:<10}: {events:,} events in {seconds:.2f} s = {rates[name]:,.0f} events/s, winback entries {report.triggers['winback']:,}")
        print(f"predictive / thresholds events/s: {rates['predictive'] / rates['thresholds']:.2f}x")


if __name__ == "__main__":
    main()
