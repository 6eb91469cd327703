"""The policies the README shows are the bundled files, `winback policy check` accepts them, and it reports
the problems docs/policy.md shows as that page shows them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli import main
from streams.policy.loading import parse_policy

ROOT = Path(__file__).resolve().parents[3]
RESOURCES = ROOT / "streams" / "resources"


def readme_yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_the_readme_shows_both_bundled_policies_verbatim():
    blocks = readme_yaml_blocks()
    assert (RESOURCES / "policy.example.yaml").read_text() in blocks
    assert (RESOURCES / "policy.full.yaml").read_text() in blocks


def test_the_full_policy_uses_every_control():
    full = parse_policy((RESOURCES / "policy.full.yaml").read_text())
    assert full.caps.limits and full.quiet_hours and full.tiers and full.channels.fallback
    reactivation, winback = full.campaigns["reactivation"], full.campaigns["winback"]
    assert reactivation.holdout and reactivation.variants and winback.caps
    steps = [step for campaign in full.campaigns.values() for step in campaign.steps]
    assert any(step.offers_by_tier for step in steps) and any(step.variants for step in steps)
    assert any(step.feedback_request for step in steps)


def test_policy_check_accepts_the_full_policy():
    result = CliRunner().invoke(main, ["policy", "check", str(RESOURCES / "policy.full.yaml")])
    assert result.exit_code == 0, result.output
    assert "caps 3 (defer)" in result.output and "quiet hours 21:00-08:00 Europe/Berlin" in result.output


# A policy with the three mistakes docs/policy.md shows `winback policy check` reporting, on the lines it names.
MISTAKES = """\
activity:
  signals: [purchase]
stages:
  reactivation: 30
  winback: 20
  sunset: 365
campaigns:
  reactivation:
    steps:
      - {after_days: 0, channel: email, template: we-miss-you}
  # a misspelt campaign:
  winbak: {steps: [{after_days: 0, channel: email, template: winback-offer}]}
  winback:
    steps:
      - {after_days: 0, channel: email, template: winback-offer}
      - {after_days: 5, channel: fax, template: winback-reminder}
"""


def test_policy_check_reports_the_problems_docs_policy_md_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("policy.yaml").write_text(MISTAKES)
    shown = re.search(r"exits with status 1:\n\n```text\n(.*?)```", (ROOT / "docs/policy.md").read_text(), flags=re.S)

    result = CliRunner().invoke(main, ["policy", "check", "policy.yaml"])

    assert shown is not None
    assert (result.exit_code, result.output) == (1, shown.group(1))
