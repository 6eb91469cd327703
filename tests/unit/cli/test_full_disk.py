"""A full disk under a command's standard output is one line naming the problem, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

FULL = Path("/dev/full")  # Linux (where the suite runs): every write fails with ENOSPC


@pytest.mark.parametrize("command", ["settings", "--help", "--version"])  # the last two: click's own, before any command
def test_output_to_a_full_disk_is_one_line(command: str):
    with FULL.open("w") as full:
        ended = subprocess.run(
            [sys.executable, "-c", "from streams.cli import main; main()", command],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )
    assert (ended.returncode, ended.stderr) == (1, "winback: cannot write: No space left on device - free some space and run it again\n")
