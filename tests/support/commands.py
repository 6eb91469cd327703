"""Running the ``winback`` command as a user does: the installed script, in its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

WINBACK = str(Path(sys.executable).parent / "winback")


@dataclass(frozen=True)
class Finished:
    """How one run ended."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float  # wall time from start to exit


def run_winback(args: list[str], env: dict[str, str], timeout: float = 120.0) -> Finished:
    """``winback ARGS`` with ``env`` over this process's environment; waits at most ``timeout``
    seconds (then the process is killed and the test fails with TimeoutExpired)."""
    started = time.monotonic()
    done = subprocess.run(
        [WINBACK, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout, check=False
    )
    return Finished(done.returncode, done.stdout, done.stderr, time.monotonic() - started)
