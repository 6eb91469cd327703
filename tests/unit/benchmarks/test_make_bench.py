"""`make bench` runs every benchmark that starts without arguments; the ones run by hand stay out."""

import ast
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


def required_arguments(source: str) -> list[str]:
    """The arguments an argparse parser in ``source`` cannot run without: each ``required=True``
    option, and each positional one not optional by its ``nargs`` (``?`` or ``*``)."""
    required = []
    for call in ast.walk(ast.parse(source)):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument"):
            continue
        keywords = {keyword.arg: keyword.value for keyword in call.keywords}
        name = call.args[0].value if call.args and isinstance(call.args[0], ast.Constant) else "?"
        forced = isinstance(keywords.get("required"), ast.Constant) and keywords["required"].value is True
        nargs = keywords.get("nargs")
        positional = not str(name).startswith("-") and not (isinstance(nargs, ast.Constant) and nargs.value in ("?", "*"))
        if forced or positional:
            required.append(str(name))
    return required


def test_make_bench_runs_every_script_but_those_run_by_hand():
    scripts = bench_scripts()
    assert scripts == {path.name for path in BENCHMARKS.glob("*.py")} - BY_HAND
    for name in scripts:  # a required argument would stop the loop at once
        assert required_arguments((BENCHMARKS / name).read_text()) == [], name


def test_a_required_option_or_a_positional_argument_is_found():
    source = """
parser.add_argument("--sparse", type=int, default=8000)
parser.add_argument("--run", nargs=2, metavar=("MODE", "FILE"))
parser.add_argument("log", nargs="?")
parser.add_argument("--before", required=True)
parser.add_argument("checkout")
"""
    assert required_arguments(source) == ["--before", "checkout"]


def test_make_bench_checks_for_the_programs_the_benchmarks_run():
    planned = subprocess.run(["make", "-n", "-C", str(ROOT), "bench"], capture_output=True, text=True, check=True).stdout
    checked = re.search(r"for tool in ([^;]+);", planned)
    assert checked is not None and {"java", "mvn", "valgrind"} <= set(checked.group(1).split())
