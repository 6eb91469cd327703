"""The campaign KPIs (``streams.core.kpis``' summary) as one self-contained HTML page: per
campaign a funnel chart (sent, delivered, opened, clicked, converted of each step, variant and
channel), a lift chart (each variant against the holdout, with its 95 % interval) and the
numbers in tables.  Inline CSS and SVG only: the page opens offline and loads nothing."""

from __future__ import annotations

from html import escape
from typing import Any

from streams.cli.kpi_tables import interval, money, percent, ratio, revenue

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg text { font-size: 12px; fill: #222; }
.bar { fill: #4a7ebb; } .axis { stroke: #888; } .ci { stroke: #c0392b; stroke-width: 2; } .point { fill: #c0392b; }
"""
STAGES = [("sent", "sent"), ("delivered", "delivered"), ("opened", "opened"), ("clicked", "clicked"), ("conversions", "converted")]
LABEL_WIDTH, CHART_WIDTH, BAR_HEIGHT = 260, 420, 16


def kpi_html(summary: dict[str, Any], title: str) -> str:
    """The page for ``summary``, headed ``title``."""
    sections = [_campaign(name, figures, summary["currency"] or "") for name, figures in summary["campaigns"].items()]
    body = "\n".join(sections) or "<p>No campaign records in this period.</p>"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head>\n<body><h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _campaign(name: str, figures: dict[str, Any], currency: str) -> str:
    sent_rows = [row for row in figures["funnel"] if row["step"] is not None]
    return "\n".join([
        f"<section><h2>Campaign {escape(name)}</h2>",
        "<h3>Funnel</h3>", _funnel_chart(sent_rows), _funnel_table(figures["funnel"], currency),
        "<h3>Lift over the holdout (95 % interval)</h3>", _lift_chart(figures), _lift_table(figures, currency),
        "</section>",
    ])


def _row_name(row: dict[str, Any]) -> str:
    return "held out / no message" if row["step"] is None else f"step {row['step']} · {row['variant']} · {row['channel']}"


def _funnel_chart(rows: list[dict[str, Any]]) -> str:
    """One group of bars per funnel row, each bar a stage's count scaled to the row's sent."""
    lines: list[str] = []
    y = 0
    for row in rows:
        lines.append(f'<text x="0" y="{y + 12}" font-weight="bold">{escape(_row_name(row))}</text>')
        y += BAR_HEIGHT + 2
        for key, label in STAGES:
            count = row[key]
            width = CHART_WIDTH * count / row["sent"] if row["sent"] else 0
            lines.append(
                f'<text x="10" y="{y + 12}">{label}</text>'
                f'<rect class="bar" x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT - 2}"/>'
                f'<text x="{LABEL_WIDTH + width + 4:.1f}" y="{y + 12}">{count:,}</text>'
            )
            y += BAR_HEIGHT
        y += 8
    return _svg("funnel", y, lines)


def _lift_chart(figures: dict[str, Any]) -> str:
    """Each variant's conversion-rate lift in points: the estimate and its interval around zero."""
    lifts = [(variant, arm["lift"]["conversion_rate"]) for variant, arm in figures["variants"].items()]
    reach = max([abs(lift[end]) for _, lift in lifts if lift is not None for end in ("low", "high")] + [0.01])
    zero = LABEL_WIDTH + CHART_WIDTH / 2

    def x(value: float) -> float:
        return zero + value / reach * (CHART_WIDTH / 2 - 40)

    lines = [f'<line class="axis" x1="{zero}" y1="0" x2="{zero}" y2="{BAR_HEIGHT * (len(lifts) + 1)}"/>']
    for index, (variant, lift) in enumerate(lifts):
        y = BAR_HEIGHT * index + BAR_HEIGHT / 2
        lines.append(f'<text x="0" y="{y + 4}">{escape(variant)} (conversion rate)</text>')
        if lift is None:
            lines.append(f'<text x="{zero + 4}" y="{y + 4}">not measurable yet</text>')
            continue
        lines.append(
            f'<line class="ci" x1="{x(lift["low"]):.1f}" y1="{y}" x2="{x(lift["high"]):.1f}" y2="{y}"/>'
            f'<circle class="point" cx="{x(lift["difference"]):.1f}" cy="{y}" r="4"/>'
            f'<text x="{LABEL_WIDTH + CHART_WIDTH + 10}" y="{y + 4}">{escape(interval(lift, True))}</text>'
        )
    return _svg("lift", BAR_HEIGHT * (len(lifts) + 1), lines, extra=220)


def _svg(kind: str, height: float, lines: list[str], extra: int = 80) -> str:
    return (
        f'<svg class="{kind}" xmlns="http://www.w3.org/2000/svg" width="{LABEL_WIDTH + CHART_WIDTH + extra}" height="{height:.0f}">'
        + "".join(lines) + "</svg>"
    )


def _funnel_table(rows: list[dict[str, Any]], currency: str) -> str:
    header = ["row", "sent", "delivered", "opened", "clicked", "unsubscribed", "converted", "revenue",
              f"incentives ({currency})", f"send cost ({currency})", "ROI", "sent in error"]
    body = [
        [
            _row_name(row), f"{row['sent']:,}", percent(row["delivered_rate"]), percent(row["opened_rate"]),
            percent(row["clicked_rate"]), percent(row["unsubscribed_rate"]),
            f"{row['conversions']:,} ({percent(row['conversion_rate'])})",
            revenue(row["revenue"]),
            money(row["incentive_cost"]), money(row["send_cost"]), ratio(row["roi"]), f"{row['sent_in_error']:,}",
        ]
        for row in rows
    ]
    return _table(header, body)


def _lift_table(figures: dict[str, Any], currency: str) -> str:
    header = ["group", "lapses", "conversions", "conversion rate", "lift (95 % CI)", f"revenue per lapse ({currency})", "lift (95 % CI)"]
    body = [
        [variant, f"{arm['lapses']:,}", f"{arm['conversions']:,}", percent(arm["conversion_rate"]),
         interval(arm["lift"]["conversion_rate"], True), money(arm["revenue_per_lapse"]), interval(arm["lift"]["revenue_per_lapse"], False)]
        for variant, arm in figures["variants"].items()
    ]
    holdout = figures["holdout"]
    body.append(["holdout", f"{holdout['lapses']:,}", f"{holdout['conversions']:,}", percent(holdout["conversion_rate"]), "",
                 money(holdout["revenue_per_lapse"]), ""])
    table = _table(header, body)
    leader = figures["leader"]
    if leader is None or leader["runner_up"] is None:
        return table
    verdict = "significant" if leader["significant"] else "not significant yet"
    return table + (f"<p>Leading variant: <b>{escape(leader['variant'])}</b> over {escape(leader['runner_up'])}, "
                    f"{escape(interval(leader['lead'], True))}: {verdict}.</p>")


def _table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
