"""Capping processes at a fraction of a CPU with a cgroup (v1 cpu controller), for scale-out runs.

On a shared machine two workers compete with the broker, the benchmark and everyone else for
the same cores, so running two of them shows the machine, not the workers.  Each worker in its
own cgroup with the same CFS quota (say half a core) makes the workers the bottleneck, as in
a deployment with a core per worker: one worker against two then shows what the second adds.
A high ``cpu.shares`` lets a group get its quota on a loaded machine; the quota bounds what it
takes from the rest.  Needs a writable /sys/fs/cgroup/cpu (root, cgroup v1).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CPU_CONTROLLER = Path("/sys/fs/cgroup/cpu")
PERIOD_US = 100_000  # the CFS period: the quota is spent within each tenth of a second
SHARES = 8192  # weight against other processes (1024 each): enough to get the quota under load


def quota_us(cores: float, period_us: int = PERIOD_US, cpus: int | None = None) -> int:
    """The CFS quota (µs per period) for ``cores`` CPUs; ValueError for a share the kernel
    would refuse (below 1 ms per period) or the machine has not got."""
    available = cpus or os.cpu_count() or 1
    if not 0 < cores <= available:
        raise ValueError(f"a CPU cap must be above 0 and at most the {available} CPUs here, not {cores}")
    quota = round(cores * period_us)
    if quota < 1000:
        raise ValueError(f"a CPU cap of {cores} is below the kernel's least quota of 1 ms per {period_us} µs period")
    return quota


def unavailable(controller: Path = CPU_CONTROLLER) -> str:
    """Why processes cannot be capped here, or "" when they can."""
    if not (controller / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 cpu controller at {controller}"
    if not os.access(controller, os.W_OK):
        return f"{controller} is not writable (needs root)"
    return ""


@dataclass(frozen=True)
class CpuGroup:
    """One cgroup: processes moved into it share its quota."""

    path: Path

    def add(self, pid: int) -> None:
        """Move a process, all its threads, and the children it starts later into the group."""
        (self.path / "cgroup.procs").write_text(str(pid))


@contextmanager
def cpu_capped(name: str, cores: float | None, controller: Path = CPU_CONTROLLER) -> Iterator[CpuGroup]:
    """A new cgroup capped at ``cores`` CPUs (None: not capped, only weighted ahead of other
    work); removed afterwards, once its processes have ended (the caller ends them)."""
    quota = quota_us(cores) if cores is not None else None
    path = controller / name
    path.mkdir()
    try:
        if quota is not None:
            (path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (path / "cpu.cfs_quota_us").write_text(str(quota))
        (path / "cpu.shares").write_text(str(SHARES))
        yield CpuGroup(path)
    finally:
        remove(path)


def remove(path: Path, patience: float = 10.0) -> None:
    """rmdir a cgroup, waiting for its processes to be gone (an exited process leaves it late)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            path.rmdir()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
