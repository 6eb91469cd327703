"""Timing a stream processor from outside, the same way for every entry of benchmarks/pipeline.py.

A run is watched by polling how many records it has done (output records on its topic, or a
worker's applied-events metric) and the CPU its processes have used.  Progress starts at the
last poll that sees no record done yet, so start-up and group join are not counted.  The timed
window opens ``warmup`` seconds later (a JVM's compiler, a first fetch), and closes at the first
poll that sees every record done or, with a ``box``, once it has been open that many seconds:
a slow pipeline is timed over a steady part of a backlog large enough to time a fast one.
After the warm-up and the box the window opens and closes only at a poll that sees progress,
as a worker reports a whole batch at once.  The rate is the records done between those two
polls over the time between them (a record done twice, as a worker re-applies what it had not
committed before a rebalance, counts once; its CPU counts).  The polls in between give the
spread: the rate of each second or more of the window.  For a group of workers, each one's
progress gives the group's rate while all of them were at work (``together_rate``).

Opening at the last poll before any progress (rather than the first with some) also holds when
a process answers no poll while it works: a worker whose event loop is busy answers its metrics
page late, and its window still spans its work.
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
    """The polls of a timed window, from the one that opened it to the one that closed it."""

    polls: tuple[Sample, ...]
    complete: bool = True  # closed by the last record done, not by the time box

    @property
    def first(self) -> Sample:
        return self.polls[0]

    @property
    def last(self) -> Sample:
        return self.polls[-1]

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

    def slice_rates(self, seconds: float = 1.0) -> list[float]:
        """The rate of each ``seconds`` or more of the window, cut where progress was seen (a
        worker reports a whole batch at once); a last part shorter than half a slice joins the
        slice before it."""
        bounds = [self.first]
        for before, poll in zip(self.polls, self.polls[1:]):
            if poll.done != before.done and poll.at - bounds[-1].at >= seconds:
                bounds.append(poll)
        if bounds[-1] is not self.last:
            if len(bounds) > 1 and self.last.at - bounds[-1].at < seconds / 2:
                bounds.pop()
            bounds.append(self.last)
        return [(end.done - begin.done) / (end.at - begin.at) for begin, end in zip(bounds, bounds[1:])]


def timed_window(polls: list[Sample], expected: int, warmup: float = 0.0, box: float | None = None) -> Window | None:
    """The window of a run's polls (see the module docstring), or None while it is not closed.

    After the warm-up it opens, and after the box it closes, at a poll that sees progress, so
    that a process reporting a batch at a time is timed over whole batches."""

    def progressed(i: int) -> bool:
        return polls[i].done != polls[i - 1].done

    started = max((i for i, poll in enumerate(polls) if poll.done == 0), default=0)
    opened = next(
        (i for i in range(started, len(polls)) if polls[i].at - polls[started].at >= warmup and (i == started or progressed(i))),
        None,
    )
    finished = next((i for i in range(started, len(polls)) if polls[i].done >= expected), None)
    if finished is not None and (opened is None or finished <= opened):
        return Window(tuple(polls[started : finished + 1]))  # done within the warm-up: the whole run
    if opened is None:
        return None
    for closed in range(opened + 1, len(polls)):
        if polls[closed].done >= expected:
            return Window(tuple(polls[opened : closed + 1]))
        if box is not None and polls[closed].at - polls[opened].at >= box and progressed(closed):
            return Window(tuple(polls[opened : closed + 1]), complete=False)
    return None


@dataclass(frozen=True)
class Shares:
    """Records done by each process of a group (workers sharing partitions) at one poll."""

    at: float
    done: tuple[int, ...]


def together_rate(timeline: list[Shares]) -> float | None:
    """The group's rate while every process was working: from the poll where the last of them
    had done its first records to the one where the first of them had done all it would (its
    count at the last poll).  Each process's rate is taken from its own progress to its own
    progress in that stretch (so a batch at a time is timed whole) and the rates are added;
    None when a process progressed fewer than twice in it."""
    final = timeline[-1].done
    started = next((i for i, poll in enumerate(timeline) if all(poll.done)), None)
    if started is None:
        return None
    ended = next(i for i in range(started, len(timeline)) if any(map(int.__eq__, timeline[i].done, final)))
    rates = []
    for process in range(len(final)):
        steps = [timeline[i] for i in range(max(started, 1), ended + 1) if timeline[i].done[process] != timeline[i - 1].done[process]]
        if len(steps) < 2:
            return None
        rates.append((steps[-1].done[process] - steps[0].done[process]) / (steps[-1].at - steps[0].at))
    return sum(rates)


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
    done: Callable[[], Awaitable[int]],
    pids: list[int],
    expected: int,
    timeout: float,
    alive: Callable[[], bool],
    warmup: float = 0.0,
    box: float | None = None,
) -> Window:
    """Poll until the timed window closes (``timed_window``); RuntimeError when that takes
    longer than ``timeout`` seconds or a process has died."""
    deadline = time.monotonic() + timeout
    polls: list[Sample] = []
    while True:
        count = min(await done(), expected)  # the time is read after the answer: a busy process answers late
        polls.append(Sample(time.monotonic(), count, cpu_seconds(pids)))
        if count >= expected and len(polls) == 1:
            raise RuntimeError(f"all {expected} records were done before the first poll: give a larger backlog")
        window = timed_window(polls, expected, warmup, box)
        if window is not None:
            return window
        if polls[-1].at > deadline or not alive():
            state = "timed out" if alive() else "a process exited"
            raise RuntimeError(f"{state} with {count} of {expected} records done")
        await asyncio.sleep(POLL_SECONDS)
