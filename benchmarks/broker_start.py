"""Start time of the local broker: plaintext against each secured mode, side by side.

A first start of a fresh data dir includes everything a secured broker adds: passwords, the
throw-away CA and certificates (openssl), SCRAM users at format time, and a readiness probe
that authenticates. A restart of the same data dir reuses all of it. Rounds alternate the modes
so the machine's load falls on each alike; medians are printed with the ratio to plaintext.

    python benchmarks/broker_start.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from streams.devtools.kafka_local import LocalKafka, ensure_distribution, listeners_for
from streams.devtools.kafka_security import SECURITY_MODES, BrokerSecrets


def timed_starts(mode: str, scratch: Path) -> tuple[float, float]:
    """Seconds to a ready broker on a fresh data dir, then after a stop, on the same one."""
    broker = LocalKafka(scratch / mode, listeners=listeners_for(mode))
    try:
        began = time.perf_counter()
        broker.start(timeout=240)
        first = time.perf_counter() - began
        broker.stop()
        began = time.perf_counter()
        broker.start(timeout=240)
        return first, time.perf_counter() - began
    finally:
        broker.stop()


def certificate_seconds(scratch: Path) -> float:
    """Seconds to make one broker's passwords and certificates."""
    began = time.perf_counter()
    BrokerSecrets(scratch / "secrets-only").create(tls=True)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each starts every mode twice")
    rounds = parser.parse_args().repeat
    ensure_distribution()  # a first-ever fetch is not a start
    firsts: dict[str, list[float]] = {mode: [] for mode in SECURITY_MODES}
    restarts: dict[str, list[float]] = {mode: [] for mode in SECURITY_MODES}
    certificates: list[float] = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="winback-bench-start-") as scratch:
            certificates.append(certificate_seconds(Path(scratch)))
            for mode in SECURITY_MODES:
                first, restart = timed_starts(mode, Path(scratch))
                firsts[mode].append(first)
                restarts[mode].append(restart)
    base_first, base_restart = statistics.median(firsts["plaintext"]), statistics.median(restarts["plaintext"])
    print(f"median of {rounds} rounds; passwords + certificates alone: {statistics.median(certificates):.2f} s")
    print(f"{'mode':<16}{'first start':>14}{'x plaintext':>13}{'restart':>11}{'x plaintext':>13}")
    for mode in SECURITY_MODES:
        first, restart = statistics.median(firsts[mode]), statistics.median(restarts[mode])
        print(f"{mode:<16}{first:>12.2f} s{first / base_first:>12.2f}x{restart:>9.2f} s{restart / base_restart:>12.2f}x")


if __name__ == "__main__":
    main()
