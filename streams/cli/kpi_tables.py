"""The campaign KPIs (``streams.core.kpis``' summary) as rich tables: the funnel with ROI and
messages sent in error (a late event retracted their lapse) per campaign step, variant and
channel, and each variant's lift over the holdout with its 95 % interval, and the feedback
answers per reason when there are any.  Any command that reports KPIs prints them with these."""

from __future__ import annotations

from typing import Any

from rich.table import Table


def kpi_tables(summary: dict[str, Any]) -> list[Table]:
    """The funnel table and the lift table of every campaign in ``summary`` (and its feedback table, if answered)."""
    currency = summary["currency"] or "-"
    funnel = Table(
        "campaign", "step", "variant", "channel", "sent", "delivered", "opened", "clicked", "unsubscribed", "converted",
        "revenue", f"incentives ({currency})", f"send cost ({currency})", "ROI", "sent in error",
        title="Campaign funnel (rates per message sent)",
    )
    lift = Table(
        "campaign", "group", "lapses", "conversion", "lift (95 % CI)", f"revenue per lapse ({currency})", "lift (95 % CI)",
        title="Lift over the holdout",
    )
    for campaign, figures in summary["campaigns"].items():
        for row in figures["funnel"]:
            funnel.add_row(
                campaign, text(row["step"]), row["variant"], text(row["channel"]), f"{row['sent']:,}",
                percent(row["delivered_rate"]), percent(row["opened_rate"]), percent(row["clicked_rate"]),
                percent(row["unsubscribed_rate"]), f"{row['conversions']:,} ({percent(row['conversion_rate'])})",
                revenue(row["revenue"]), money(row["incentive_cost"]), money(row["send_cost"]), ratio(row["roi"]),
                f"{row['sent_in_error']:,}",
            )
        for variant, arm in figures["variants"].items():
            lift.add_row(
                campaign, variant, f"{arm['lapses']:,}", percent(arm["conversion_rate"]), interval(arm["lift"]["conversion_rate"], True),
                money(arm["revenue_per_lapse"]), interval(arm["lift"]["revenue_per_lapse"], False),
            )
        holdout = figures["holdout"]
        lift.add_row(campaign, "holdout", f"{holdout['lapses']:,}", percent(holdout["conversion_rate"]), "", money(holdout["revenue_per_lapse"]), "")
        leader = figures["leader"]
        if leader is not None and leader["runner_up"] is not None:
            verdict = "significant" if leader["significant"] else "not significant yet"
            lift.add_row(campaign, f"leader: {leader['variant']}", "", f"vs {leader['runner_up']}", interval(leader["lead"], True) + f" {verdict}", "", "")
    return [funnel, lift, *feedback_table(summary)]


def feedback_table(summary: dict[str, Any]) -> list[Table]:
    """Why customers said they left, per campaign and reason: no table when nobody answered."""
    answered = [(campaign, figures["feedback"]) for campaign, figures in summary["campaigns"].items() if figures["feedback"]["answers"]]
    if not answered:
        return []
    table = Table("campaign", "reason", "answers", "share", title="Feedback: why customers left")
    for campaign, feedback in answered:
        for reason, count in feedback["reasons"].items():
            table.add_row(campaign, reason, f"{count:,}", percent(count / feedback["answers"]))
    return [table]


def text(value: object) -> str:
    return "-" if value is None else str(value)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def revenue(per_currency: dict[str, float]) -> str:
    return ", ".join(f"{amount:,.2f} {currency}" for currency, amount in per_currency.items()) or "-"


def interval(figures: dict[str, Any] | None, points: bool) -> str:
    """``+2.0 pts [-1.0, +5.0]*`` (``*``: significant), or ``-`` while not measurable."""
    if figures is None:
        return "-"
    scale, unit = (100, " pts") if points else (1, "")
    star = "*" if figures["significant"] else ""
    return f"{figures['difference'] * scale:+.1f}{unit} [{figures['low'] * scale:+.1f}, {figures['high'] * scale:+.1f}]{star}"
