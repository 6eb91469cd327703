"""The lock files are what every install uses: they must cover pyproject.toml and agree."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[3]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    assert "--hash=sha256:" in text, f"{name} must carry hashes (pip --require-hashes)"
    return {canonicalize_name(package): version for package, version in PIN.findall(text)}


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *(line for extra in extras for line in project["optional-dependencies"][extra])]
    return [Requirement(line) for line in lines]


def test_each_lock_satisfies_the_ranges_in_pyproject():
    for lock, extras in (("requirements.lock", ("dev", "rocksdb", "build", "fit")), ("requirements-image.lock", ("rocksdb", "build"))):
        locked = pins(lock)
        for requirement in declared(*extras):
            name = canonicalize_name(requirement.name)
            assert name in locked, f"{requirement.name} is missing from {lock}: run `make lock`"
            assert requirement.specifier.contains(locked[name], prereleases=True), (lock, str(requirement), locked[name])


def test_the_image_runs_the_versions_the_suite_tested():
    tested = pins("requirements.lock")
    for package, version in pins("requirements-image.lock").items():
        assert tested.get(package) == version, f"{package}: image {version}, suite {tested.get(package)}"


def test_every_install_goes_through_a_lock():
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r $(LOCK)" in makefile and "LOCK   := requirements.lock" in makefile
    assert "--require-hashes -r requirements-image.lock" in dockerfile
    for text in (makefile, dockerfile):
        for line in text.splitlines():
            if "pip install" in line and "--require-hashes" not in line:
                assert "--no-deps" in line, f"an install that resolves dependencies outside the lock: {line.strip()}"


def test_the_image_leaves_out_the_offline_fit():
    """scipy (and numpy with it) serve only `winback model fit`: the worker's image does without them."""
    fit = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["fit"]
    assert {canonicalize_name(Requirement(line).name) for line in fit} == {"scipy", "numpy"}
    assert not {"scipy", "numpy"} & pins("requirements-image.lock").keys()
