"""External programs the tests run (Debian's prometheus package gives both promtool and the server)."""

from __future__ import annotations

import shutil

import pytest


def installed(name: str) -> str:
    """The path of program ``name``; the test fails (never skips) when it is missing."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install Debian's prometheus package (.ci/run does)")
    return found
