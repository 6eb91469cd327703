"""`make test` and `make demo` name the system programs they lack before anything else runs."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def make_with_only(tmp_path: Path, target: str, programs: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `make TARGET` with a PATH holding just these programs (and this Python as python3)."""
    bin_dir = tmp_path / "-".join(["bin", target, *programs])
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(Path(sys.executable).resolve())
    for program in programs:
        (bin_dir / program).symlink_to(shutil.which(program) or "/bin/true")
    make = shutil.which("make")
    assert make is not None
    return subprocess.run(
        [make, "-s", "-C", str(ROOT), target], env={"PATH": str(bin_dir)}, capture_output=True, text=True, timeout=30
    )


def test_make_test_names_every_missing_program_and_how_to_install_it(tmp_path: Path):
    result = make_with_only(tmp_path, "prerequisites", ["java"])
    assert result.returncode != 0
    first, debian, _mac = result.stdout.splitlines()
    assert first == "make test needs programs this machine lacks: mvn promtool prometheus go"
    assert debian.split(": ", 1)[1] == "sudo apt-get install python3 python3-venv openjdk-17-jre-headless maven prometheus golang-go"


def test_make_demo_needs_no_prometheus(tmp_path: Path):
    assert make_with_only(tmp_path, "prerequisites-demo", ["java", "mvn"]).returncode == 0
    missing = make_with_only(tmp_path, "prerequisites-demo", [])
    assert missing.stdout.splitlines()[0] == "make demo needs programs this machine lacks: java mvn"


@pytest.mark.parametrize("target", ["prerequisites", "prerequisites-demo"])
def test_nothing_is_reported_when_everything_is_there(tmp_path: Path, target: str):
    result = make_with_only(tmp_path, target, ["java", "mvn", "promtool", "prometheus", "go"])
    assert (result.returncode, result.stdout) == (0, "")
