"""What the local services (the broker, the schema registry) share: a process started detached,
whose pid and ports live in a state file of its data directory, so that another command can
find and stop it."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def stop(pid: int, alive: Callable[[], bool], timeout: float) -> None:
    """SIGTERM (a clean shutdown), then SIGKILL after ``timeout`` seconds; returns once ``alive()``
    says the process is gone (or 10 s after the SIGKILL)."""
    os.kill(pid, signal.SIGTERM)
    if not _gone(alive, timeout):
        os.kill(pid, signal.SIGKILL)
        _gone(alive, 10)


def _gone(alive: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return True
        time.sleep(0.1)
    return not alive()


def read_state(path: Path) -> dict[str, Any]:
    """The state file's content ({} when there is none yet)."""
    return json.loads(path.read_text()) if path.exists() else {}
