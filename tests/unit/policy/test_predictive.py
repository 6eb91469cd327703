"""The policy's predictive trigger: a model file or inline parameters, and a threshold, validated."""

import json

import pytest

from streams.policy.loading import load_policy, parse_policy
from streams.policy.messages import PolicyError

from tests.support.policies import SMALL

MODEL = {"format": 1, "model": "bg/nbd", "time_unit_days": 7.0, "parameters": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}}


def problems(text: str, tmp_path) -> list[str]:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    return error.value.problems


def test_a_model_file_next_to_the_policy_is_read_into_it(tmp_path):
    (tmp_path / "model.json").write_text(json.dumps(MODEL))
    (tmp_path / "p.yaml").write_text(SMALL + "predictive: {model: model.json, enter_winback_below: 0.25}\n")
    predictive = load_policy(tmp_path / "p.yaml").predictive
    assert predictive is not None and predictive.enter_winback_below == 0.25
    assert (predictive.model.r, predictive.model.alpha, predictive.model.a, predictive.model.b) == (0.243, 4.414, 0.793, 2.426)
    assert predictive.model.time_unit_days == 7.0


def test_inline_parameters_and_days_by_default():
    predictive = parse_policy(SMALL + "predictive:\n  model: {r: 1, alpha: 30, a: 0.8, b: 2}\n  enter_winback_below: 0.3\n").predictive
    assert predictive is not None and predictive.model.time_unit_days == 1.0 and predictive.model.alpha == 30


@pytest.mark.parametrize(
    ("predictive", "expected"),
    [
        ("{model: {r: 1, alpha: 30, a: 0.8, b: 2}, enter_winback_below: 1}", "predictive.enter_winback_below: Input should be less than 1 (line 13)"),
        ("{model: {r: 1, alpha: 30, a: 0.8, b: 2}}", "predictive.enter_winback_below: required key is missing (line 13)"),
        ("{model: {r: 1, alpha: 0, a: 0.8, b: 2}, enter_winback_below: 0.3}", "predictive.model.alpha: Input should be greater than 0 (line 13)"),
        ("{model: {r: 1, alfa: 3, a: 0.8, b: 2}, enter_winback_below: 0.3}", "predictive.model.alfa: unknown key (did you mean 'alpha'?) (line 13)"),
    ],
)
def test_bad_settings_name_their_key(tmp_path, predictive, expected):
    assert expected in [problem.split(": ", 1)[1] for problem in problems(SMALL + f"predictive: {predictive}\n", tmp_path)]


def test_a_missing_or_foreign_model_file_is_one_line(tmp_path):
    text = SMALL + "predictive: {model: model.json, enter_winback_below: 0.3}\n"
    [missing] = problems(text, tmp_path)
    assert missing.startswith(f"{tmp_path / 'p.yaml'}: predictive.model: cannot read {tmp_path / 'model.json'}: ") and missing.endswith("(line 13)")
    (tmp_path / "model.json").write_text('{"weights": [1, 2]}')
    assert problems(text, tmp_path) == [
        f"{tmp_path / 'p.yaml'}: predictive.model: {tmp_path / 'model.json'} is not a model file written by `winback model fit` (format 1, bg/nbd) (line 13)"
    ]


def test_the_trigger_enters_winback_so_the_policy_needs_that_stage(tmp_path):
    text = "stages: {reactivation: 10}\npredictive: {model: {r: 1, alpha: 30, a: 0.8, b: 2}, enter_winback_below: 0.3}\n"
    assert problems(text, tmp_path) == [
        f"{tmp_path / 'p.yaml'}: predictive: the predictive trigger enters win-back: configure stages.winback (line 2)"
    ]
