"""The README and docs/scaling.md each list every benchmark, so neither list falls behind `benchmarks/`."""

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]
BENCHMARKS = sorted(path.name for path in (ROOT / "benchmarks").glob("*.py") if 'if __name__ == "__main__":' in path.read_text())


def test_the_benchmarks_are_the_scripts_not_their_helpers():
    assert "pipeline.py" in BENCHMARKS and "cpu_cap.py" not in BENCHMARKS  # a helper module runs nothing


@pytest.mark.parametrize("document", ["README.md", "docs/scaling.md"])
def test_every_benchmark_is_named_in(document: str):
    text = (ROOT / document).read_text()
    assert [name for name in BENCHMARKS if f"benchmarks/{name}" not in text] == []
