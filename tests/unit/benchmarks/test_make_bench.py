"""`make bench` runs every benchmark that starts without arguments; the ones run by hand stay out."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[3]
BENCHMARKS = ROOT / "benchmarks"
BY_HAND = {"compiled_core.py", "worker_ab.py"}  # the Makefile's BENCH_BY_HAND: ~2.5 min of mypyc; needs --before


def bench_scripts() -> set[str]:
    """The scripts `make bench` would run, as make itself expands the loop (nothing is run)."""
    planned = subprocess.run(["make", "-n", "-C", str(ROOT), "bench"], capture_output=True, text=True, check=True).stdout
    [loop] = re.findall(r"for script in ([^;]+);", planned)
    return {name.removeprefix("benchmarks/") for name in loop.split()}


def test_make_bench_runs_every_script_but_those_run_by_hand():
    scripts = bench_scripts()
    assert scripts == {path.name for path in BENCHMARKS.glob("*.py")} - BY_HAND
    for name in scripts:  # a required argument would stop the loop at once
        assert "required=True" not in (BENCHMARKS / name).read_text(), name
