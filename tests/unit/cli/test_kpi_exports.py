"""The KPI summary as CSV and as an HTML page, on the hand-computed history's backtest (the
live path through the broker is tests/integration/cli/test_report.py)."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

from streams.backtest.run import run_backtest
from streams.cli.kpi_csv import kpi_csv
from streams.cli.kpi_html import kpi_html
from streams.cli.kpi_tables import kpi_tables
from streams.devtools import testing
from tests.support import kpi_history as history
from tests.support.builders import policy


def summary() -> dict:
    return run_backtest(testing.event_lines(history.HISTORY), policy(history.POLICY)).as_dict()["kpis"]


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_csv_has_a_line_per_funnel_row_with_revenue_per_currency():
    rows = list(csv.DictReader(io.StringIO(kpi_csv(summary()))))
    assert [(row["step"], row["channel"], row["sent"], row["conversions"]) for row in rows] == [("0", "email", "4", "2"), ("", "", "0", "1")]
    assert (rows[0]["revenue_EUR"], rows[0]["revenue_USD"], rows[1]["revenue_USD"]) == ("50.0", "60.0", "")
    assert [row["sent_in_error"] for row in rows] == ["0", "0"]  # nothing arrived late
    assert "<th>sent in error</th>" in kpi_html(summary(), "results")


def test_the_csv_and_the_tables_count_feedback_answers_per_reason():
    figures = summary()
    rows = list(csv.DictReader(io.StringIO(kpi_csv(figures))))
    assert [(row["feedback"], row["feedback_rate"], row["feedback_too_many_messages"]) for row in rows] == [("1", "0.25", "1"), ("0", "", "0")]
    *_, feedback = kpi_tables(figures)
    assert feedback.title == "Feedback: why customers left"
    assert [list(column.cells) for column in feedback.columns] == [["reactivation"], ["too_many_messages"], ["1"], ["100.0%"]]
    figures["campaigns"]["reactivation"]["feedback"] = {"answers": 0, "reasons": {}}
    assert len(kpi_tables(figures)) == 2  # no feedback table when nobody answered


def test_campaign_names_are_escaped_and_an_empty_report_says_so():
    figures = summary()
    figures["campaigns"] = {"<script>x</script>": figures["campaigns"]["reactivation"]}
    page = Tags()
    page.feed(kpi_html(figures, "results"))
    assert "script" not in page.tags and "Campaign <script>x</script>" in page.text
    assert "No campaign records in this period." in kpi_html({"currency": None, "campaigns": {}}, "results")
