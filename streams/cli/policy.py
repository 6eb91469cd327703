"""``winback policy``: validate campaign policy files before they go live."""

from __future__ import annotations

from pathlib import Path

import click

from streams.policy.sections import Policy
from streams.policy.messages import PolicyError
from streams.policy.loading import load_policy


@click.group("policy")
def policy() -> None:
    """Campaign policy files (YAML): stages, thresholds, campaign series and their controls."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE; print every problem as FILE: key.path: what is wrong, in line order; exit 1 if any."""
    try:
        loaded = load_policy(file)
    except PolicyError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    click.echo(f"{file}: ok ({'; '.join(summary(loaded))})")


def summary(loaded: Policy) -> list[str]:
    """What the policy does, in a few words per part (the controls only when configured)."""
    stages = ", ".join(f"{stage} {threshold.earliest_days:g}d" for stage, threshold in loaded.stages.configured())
    steps = sum(len(campaign.steps) for campaign in loaded.campaigns.values())
    parts = [stages, f"{len(loaded.campaigns)} campaigns, {steps} steps"]
    caps = len(loaded.caps.limits) + sum(len(campaign.caps) for campaign in loaded.campaigns.values())
    if caps:
        parts.append(f"caps {caps} ({loaded.caps.when_capped})")
    if loaded.quiet_hours:
        quiet = loaded.quiet_hours
        parts.append(f"quiet hours {quiet.start:%H:%M}-{quiet.end:%H:%M} {quiet.default_time_zone}")
    if loaded.tiers:
        parts.append(f"tiers {', '.join(tier.name for tier in loaded.tiers)}")
    if loaded.predictive:
        parts.append(f"predictive: winback when P(alive) < {loaded.predictive.enter_winback_below:g}")
    held = [f"{name} {campaign.holdout:.0%}" for name, campaign in loaded.campaigns.items() if campaign.holdout]
    if held:
        parts.append(f"holdout {', '.join(held)}")
    return parts
