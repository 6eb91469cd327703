"""The benchmarks' pure helpers, loaded from their files: benchmarks/ is scripts, not a package."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[3] / "benchmarks"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def progress():
    yield load("progress")
    del sys.modules["bench_progress"]


@pytest.fixture(scope="module")
def cpu_cap():
    yield load("cpu_cap")
    del sys.modules["bench_cpu_cap"]


@pytest.fixture(scope="module")
def ceilings():
    yield load("ceilings")
    del sys.modules["bench_ceilings"]
