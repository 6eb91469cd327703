"""The pure helpers of benchmarks/progress.py: CPU time from a /proc stat line, the timed window."""

import importlib.util
import sys
from pathlib import Path

import pytest

PROGRESS = Path(__file__).parents[3] / "benchmarks" / "progress.py"  # benchmarks/ is scripts, not a package


@pytest.fixture(scope="module")
def progress():
    spec = importlib.util.spec_from_file_location("bench_progress", PROGRESS)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def test_cpu_seconds_add_user_and_system_time_counted_after_the_command_name(progress):
    # utime 250 and stime 50 ticks; the command name holds a space and a ")" of its own
    stat = "4242 (java (main) x) S 1 4242 1 0 -1 4194304 102 0 0 0 250 50 0 0 20 0 31 0 3400540 3133440 416"

    assert progress.cpu_seconds_of_stat(stat, ticks=100) == 3.0


def test_the_window_counts_the_records_and_cpu_between_its_two_polls(progress):
    window = progress.Window(progress.Sample(at=10.0, done=200, cpu=1.0), progress.Sample(at=12.0, done=1200, cpu=1.5))

    assert (window.records, window.seconds) == (1000, 2.0)
    assert window.events_per_second == 500.0
    assert window.cpu_us_per_record == 500.0


async def test_watch_opens_the_window_at_the_last_poll_before_progress_and_closes_it_at_the_last_record(progress):
    counts = iter([0, 0, 40, 70, 100])
    polls = iter(range(100))

    async def done() -> int:
        next(polls)
        return next(counts)

    window = await progress.watch(done, [], expected=100, timeout=10, alive=lambda: True)

    assert (window.first.done, window.last.done, window.records) == (0, 100, 100)
    assert next(polls) == 5  # no poll after the one that saw every record done


async def test_watch_counts_from_the_first_poll_when_it_already_sees_progress(progress):
    counts = iter([30, 60, 100])

    async def done() -> int:
        return next(counts)

    window = await progress.watch(done, [], expected=100, timeout=10, alive=lambda: True)

    assert (window.first.done, window.records) == (30, 70)


async def test_watch_says_why_it_gave_up_when_a_process_exits(progress):
    async def done() -> int:
        return 5

    with pytest.raises(RuntimeError, match="a process exited with 5 of 100 records done"):
        await progress.watch(done, [], expected=100, timeout=10, alive=lambda: False)


async def test_watch_counts_records_done_twice_once(progress):
    counts = iter([0, 60, 130])  # 30 re-applied after a rebalance

    async def done() -> int:
        return next(counts)

    window = await progress.watch(done, [], expected=100, timeout=10, alive=lambda: True)

    assert window.records == 100
