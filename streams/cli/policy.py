"""``winback policy``: validate campaign policy files before they go live."""

from __future__ import annotations

from pathlib import Path

import click

from streams.policy import PolicyError, load_policy


@click.group("policy")
def policy() -> None:
    """Campaign policy files (YAML): stages, thresholds, campaign series."""


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def check(file: Path) -> None:
    """Validate FILE; print every problem as FILE: key.path: what is wrong, exit 1 if any."""
    try:
        loaded = load_policy(file)
    except PolicyError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    stages = ", ".join(f"{stage} {threshold.earliest_days:g}d" for stage, threshold in loaded.stages.configured())
    steps = sum(len(campaign.steps) for campaign in loaded.campaigns.values())
    click.echo(f"{file}: ok ({stages}; {len(loaded.campaigns)} campaigns, {steps} steps)")
