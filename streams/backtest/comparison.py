"""Two policies' backtests of the same log, side by side (``winback backtest --compare``).

A shop choosing between, say, fixed thresholds and the predictive trigger wants the figures
that decide it next to each other: how many customers each policy starts a campaign for, how
many messages that costs, how many lapses convert, and the lift over each campaign's holdout
(the conversions the campaign itself caused), per campaign and variants combined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from streams.backtest.report import GroupFigures, Report
from streams.model.records import TRIGGER_STAGES

Unit = Literal["count", "rate", "money"]


@dataclass(frozen=True)
class Figure:
    """One compared figure: its name, its unit, and its value under each policy (None: not defined)."""

    name: str
    unit: Unit
    baseline: float | None
    compared: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"figure": self.name, "unit": self.unit, "baseline": self.baseline, "compared": self.compared}


def compare(baseline: Report, compared: Report) -> list[Figure]:
    """The figures that tell the two policies apart, in the order a reader weighs them."""
    figures = [Figure(f"{stage} entries", "count", baseline.triggers[stage], compared.triggers[stage]) for stage in TRIGGER_STAGES]
    figures.append(
        Figure("entries the predictive trigger started", "count", *(sum(side.predictive_triggers.values()) for side in (baseline, compared)))
    )
    figures.append(Figure("messages", "count", sum(baseline.commands.values()), sum(compared.commands.values())))
    before, after = _campaigns(baseline), _campaigns(compared)
    messaged = {campaign for side in (before, after) for campaign, (treated, _) in side.items() if treated.commands}
    for campaign in sorted(messaged):  # sunset, which sends nothing, has its entries above
        treated = [side.get(campaign, (GroupFigures(), GroupFigures()))[0] for side in (before, after)]
        held_out = [side.get(campaign, (GroupFigures(), GroupFigures()))[1] for side in (before, after)]
        figures += [
            Figure(f"{campaign}: lapses", "count", *(group.triggered + holdout.triggered for group, holdout in zip(treated, held_out))),
            Figure(f"{campaign}: conversions", "count", *(group.conversions + holdout.conversions for group, holdout in zip(treated, held_out))),
            Figure(f"{campaign}: reactivation rate", "rate", *(group.rate for group in treated)),
            Figure(f"{campaign}: holdout rate", "rate", *(holdout.rate for holdout in held_out)),
            Figure(f"{campaign}: lift vs holdout", "rate", *(_lift(group, holdout) for group, holdout in zip(treated, held_out))),
            Figure(f"{campaign}: revenue", "money", *(round(group.revenue + holdout.revenue, 2) for group, holdout in zip(treated, held_out))),
        ]
    return figures


def _campaigns(report: Report) -> dict[str, tuple[GroupFigures, GroupFigures]]:
    """Per campaign: its variants' figures combined, and its holdout's."""
    out: dict[str, tuple[GroupFigures, GroupFigures]] = {}
    for (campaign, _variant, held_out), group in report.groups.items():
        treated, holdout = out.setdefault(campaign, (GroupFigures(), GroupFigures()))
        (holdout if held_out else treated).add(group)
    return out


def _lift(treated: GroupFigures, holdout: GroupFigures) -> float | None:
    """Reactivation rate points the campaign adds over its holdout (None without both rates)."""
    lift = treated.lift(holdout)
    return lift["rate_points"] if lift is not None else None
