"""The campaign KPIs (``streams.core.kpis``' summary) as CSV for a spreadsheet: one line per
funnel row (campaign x step x variant x channel), with its variant's lift over the holdout and
95 % intervals beside it (empty where not measurable), revenue in one column per currency and
feedback answers in one column per reason given."""

from __future__ import annotations

import csv
import io
from typing import Any

FUNNEL_COLUMNS = [
    "sent", "delivered", "opened", "clicked", "bounced", "complained", "unsubscribed", "feedback", "conversions",
    "delivered_rate", "opened_rate", "clicked_rate", "bounced_rate", "complained_rate", "unsubscribed_rate", "feedback_rate",
    "conversion_rate",
    "revenue_converted", "incentive_cost", "send_cost", "roi", "sent_in_error",
]
LIFT_COLUMNS = [
    f"{measure}_lift_{part}" for measure in ("conversion_rate", "revenue_per_lapse") for part in ("difference", "low", "high", "significant")
]


def kpi_csv(summary: dict[str, Any]) -> str:
    """The CSV text of ``summary``, header first."""
    rows = [row for figures in summary["campaigns"].values() for row in figures["funnel"]]
    currencies = sorted({currency for row in rows for currency in row["revenue"]})
    reasons = sorted({reason for row in rows for reason in row["feedback_reasons"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([
        "campaign", "step", "variant", "channel", *FUNNEL_COLUMNS, *(f"revenue_{c}" for c in currencies), "currency",
        *LIFT_COLUMNS, *(f"feedback_{reason}" for reason in reasons),
    ])
    for campaign, figures in summary["campaigns"].items():
        for row in figures["funnel"]:
            arm = figures["variants"].get(row["variant"]) if row["step"] is not None else None  # the held-out row has no lift
            writer.writerow([
                campaign, row["step"], row["variant"], row["channel"],
                *(row[column] for column in FUNNEL_COLUMNS),
                *(row["revenue"].get(currency) for currency in currencies),
                summary["currency"],
                *_lift(arm),
                *(row["feedback_reasons"].get(reason, 0) for reason in reasons),
            ])
    return out.getvalue()


def _lift(arm: dict[str, Any] | None) -> list[object]:
    values: list[object] = []
    for measure in ("conversion_rate", "revenue_per_lapse"):
        interval = arm["lift"][measure] if arm is not None else None
        values.extend([None] * 4 if interval is None else [interval[part] for part in ("difference", "low", "high", "significant")])
    return values
