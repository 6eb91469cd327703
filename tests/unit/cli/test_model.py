"""``winback model fit`` from the command line, and a policy naming the model file it wrote."""

import json
import re
import sys
from pathlib import Path

from click.testing import CliRunner

from streams.cli import main

from tests.support.churn_history import SHOP, purchase_lines, simulate
from tests.support.policies import SMALL


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_fit_prints_the_parameters_and_writes_a_model_the_policy_can_name(tmp_path):
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(purchase_lines(simulate(SHOP, 600, seed=11), 540.0)) + b"\noops\n")
    out = tmp_path / "model.json"
    result = invoke("model", "fit", str(history), "--out", str(out))
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert "BG/NBD fit: 600 customers" in result.output and f"log-likelihood  {written['log_likelihood']:.2f}" in result.output
    for name in ("r", "alpha", "a", "b"):
        assert f"  {name:<6} {written['parameters'][name]:.4f}" in result.output
    assert "1 rows rejected" in result.output  # on stderr, which the runner mixes in
    first = out.read_bytes()
    assert invoke("model", "fit", str(history), "--out", str(out)).exit_code == 0 and out.read_bytes() == first  # reproducible

    policy = tmp_path / "predictive.yaml"
    policy.write_text(SMALL + "predictive:\n  model: model.json\n  enter_winback_below: 0.3\n")
    checked = invoke("policy", "check", str(policy))
    assert checked.exit_code == 0, checked.output
    assert "predictive: winback when P(alive) < 0.3" in checked.output


def test_the_readme_shows_every_line_fit_prints(tmp_path):
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    shown = re.search(r"\nwinback model fit [^\n]*\n((?:# [^\n]*\n)+)", readme)
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(purchase_lines(simulate(SHOP, 200, seed=11), 540.0)))

    result = CliRunner().invoke(main, ["model", "fit", str(history), "--out", str(tmp_path / "churn-model.json")])

    assert result.exit_code == 0 and shown is not None, result.output
    first_words = [line.split()[0] for line in result.stdout.splitlines()]
    assert first_words == [line.removeprefix("#").split()[0] for line in shown.group(1).splitlines()]


def test_bad_histories_are_one_line_errors(tmp_path):
    few = tmp_path / "few.jsonl"
    few.write_bytes(b"\n".join(purchase_lines(simulate(SHOP, 30, seed=2), 540.0)) + b"\n")
    result = invoke("model", "fit", str(few), "--out", str(tmp_path / "m.json"))
    assert result.exit_code == 1 and result.output == "winback: too few customers to fit: 30 with a purchase, at least 100 needed\n"
    missing = invoke("model", "fit", str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "m.json"))
    assert missing.exit_code == 1 and missing.output.startswith("winback: ") and len(missing.output.splitlines()) == 1
    assert not (tmp_path / "m.json").exists()


def test_without_scipy_the_command_names_the_install_in_one_line(tmp_path, monkeypatch):
    """The worker image leaves the `fit` extra out: the fit's import fails as it would there."""
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(purchase_lines(simulate(SHOP, 200, seed=3), 540.0)) + b"\n")
    monkeypatch.delitem(sys.modules, "streams.backtest.churn_fit", raising=False)
    monkeypatch.setitem(sys.modules, "scipy", None)  # `import scipy` now raises ModuleNotFoundError, as uninstalled
    result = invoke("model", "fit", str(history), "--out", str(tmp_path / "m.json"))
    assert result.exit_code == 1
    assert result.output == "winback: `winback model fit` needs scipy, which the worker image leaves out: pip install '.[fit]' in a checkout (make venv does)\n"
    assert not (tmp_path / "m.json").exists()
