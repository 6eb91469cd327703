"""Timing a stream processor from outside, the same way for every entry of benchmarks/pipeline.py.

A run is watched by polling how many records it has done (output records on its topic, or a
worker's applied-events metric) and the CPU its processes have used.  The timed window opens
at the last poll that sees no record done yet, so start-up and group join are not counted,
and closes at the first poll that sees every record done; the rate is the records done between
those two polls over the time between them (a record done twice, as a worker re-applies
what it had not committed before a rebalance, counts once; its CPU counts).  Opening at the last poll before any progress
(rather than the first with some) also holds when a process answers no poll while it works:
a worker whose event loop is busy with a whole backlog answers its metrics page only at the
end, and its window still spans its work.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.05
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    """One poll: when (monotonic seconds), records done so far, CPU seconds used so far."""

    at: float
    done: int
    cpu: float


@dataclass(frozen=True)
class Window:
    """From the last poll that saw no progress (or the first poll, if it saw some) to the one
    that saw the last record done."""

    first: Sample
    last: Sample

    @property
    def records(self) -> int:
        return self.last.done - self.first.done

    @property
    def seconds(self) -> float:
        return self.last.at - self.first.at

    @property
    def events_per_second(self) -> float:
        return self.records / self.seconds

    @property
    def cpu_us_per_record(self) -> float:
        return (self.last.cpu - self.first.cpu) * 1e6 / self.records


def cpu_seconds_of_stat(stat: str, ticks: int = CLOCK_TICKS) -> float:
    """User + system CPU seconds of all of a process's threads, from its /proc/<pid>/stat line.

    The command name (field 2) may hold spaces and parentheses, so fields are counted from the
    last ")": utime and stime are fields 14 and 15 of the line.
    """
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def cpu_seconds(pids: Iterable[int]) -> float:
    return sum(cpu_seconds_of_stat(Path(f"/proc/{pid}/stat").read_text()) for pid in pids)


def bytes_under(directories: Iterable[Path]) -> int:
    """Bytes of the files under the directories (a stopped run's on-disk state)."""
    return sum(path.stat().st_size for directory in directories for path in directory.rglob("*") if path.is_file())


async def watch(
    done: Callable[[], Awaitable[int]], pids: list[int], expected: int, timeout: float, alive: Callable[[], bool]
) -> Window:
    """Poll until ``expected`` records are done; RuntimeError when it takes longer than
    ``timeout`` seconds or a process has died."""
    deadline = time.monotonic() + timeout
    first: Sample | None = None
    while True:
        count = min(await done(), expected)  # the time is read after the answer: a busy process answers late
        sample = Sample(time.monotonic(), count, cpu_seconds(pids))
        if first is None or first.done == sample.done == 0:
            first = sample
        if sample.done >= expected:
            if sample is first:
                raise RuntimeError(f"all {expected} records were done before the first poll: give a larger backlog")
            return Window(first, sample)
        if sample.at > deadline or not alive():
            state = "timed out" if alive() else "a process exited"
            raise RuntimeError(f"{state} with {sample.done} of {expected} records done")
        await asyncio.sleep(POLL_SECONDS)
