"""A full disk under a command's standard output is one line naming the problem, not a traceback."""

import subprocess
import sys
from pathlib import Path

FULL = Path("/dev/full")  # Linux (where the suite runs): every write fails with ENOSPC


def test_output_to_a_full_disk_is_one_line():
    with FULL.open("w") as full:
        ended = subprocess.run(
            [sys.executable, "-c", "from streams.cli import main; main()", "settings"],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60,
        )
    assert (ended.returncode, ended.stderr) == (1, "winback: cannot write: No space left on device - free some space and run it again\n")
