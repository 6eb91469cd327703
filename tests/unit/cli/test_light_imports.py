"""Loading the command line imports no Faust: `winback worker` removes Faust's FAUST_* variables
before Faust reads them on import, and every other command starts without its weight."""

import subprocess
import sys


def test_the_cli_loads_without_importing_faust() -> None:
    probe = "import sys, streams.cli; print(sorted(name for name in ('faust', 'mode') if name in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
