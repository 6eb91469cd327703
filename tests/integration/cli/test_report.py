"""`winback report` and the Grafana dashboard on what a real worker published: the hand-computed
history of ``tests.support.kpi_history`` goes through the real broker and worker (event clock)
while a real Prometheus scrapes the worker; then the report's JSON equals the hand computation
and the backtest's KPIs, its CSV and HTML carry the same numbers, a time range selects by record
timestamp, and every query of the dashboard returns data from the scrape.

One worker and one Prometheus for the whole file: it is one test, checked in several steps.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from streams.devtools.spawn import worker_env
from streams.runtime.settings import Settings
from tests.support import kpi_history as history
from tests.support.commands import run_winback
from tests.support.kafka_io import produce
from tests.support.kpi_checks import check_summary
from tests.support.kpi_run import backtest_history, publish_history, start_worker
from tests.support.prometheus import JOB, ROOT, Prometheus

pytestmark = pytest.mark.integration

DASHBOARD = ROOT / "deploy/grafana/dashboards/winback.json"
SCRAPE_DEADLINE_SECONDS = 30.0


class Page(HTMLParser):
    """What a check needs of the report's HTML: its tags and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).isoformat()


def dashboard_queries(job: str, instance: str, campaign: str) -> dict[str, str]:
    """Every panel query, by panel title and refId, with Grafana's variables filled in."""
    values = {"$job": job, "$instance": instance, "$campaign": campaign, "$__range": "10m", "$__rate_interval": "1m"}
    queries = {}
    for panel in json.loads(DASHBOARD.read_text())["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in values.items():
                expr = expr.replace(variable, value)
            queries[f"{panel['title']} [{target['refId']}]"] = expr
    return queries


async def test_the_report_and_the_dashboard_show_the_hand_computed_kpis(app_settings: Settings, worker_factory, tmp_path: Path):
    settings = app_settings
    replay = backtest_history(tmp_path)
    env = {**worker_env(settings), "WINBACK_POLICY": str(replay.policy_file)}
    started = time.time()
    worker = start_worker(worker_factory, replay)
    instance = f"127.0.0.1:{worker.env['WINBACK_WEB_PORT']}"
    prometheus = Prometheus(tmp_path / "prometheus", instance)
    try:
        await publish_history(settings, replay, [(settings.topic_purchases, b"bad", b"{not json")])  # and a dead letter for its panel

        reported = run_winback(["report", "--format", "json"], env)
        assert reported.returncode == 0, reported.stderr
        live = json.loads(reported.stdout)
        check_summary(live)
        assert live == replay.backtest.as_dict()["kpis"]

        check_csv(env)
        check_html(env, tmp_path / "report.html")
        check_time_range(env, started, live)
        check_dashboard(prometheus, instance)
        await produce(settings.broker, [(settings.topic_outcomes, b"x", b'{"outcome_id": 7}')])
        check_unreadable(env, live)
    finally:
        prometheus.stop()


def check_csv(env: dict[str, str]) -> None:
    """One line per funnel row: the message's row and the held-out conversions' row."""
    reported = run_winback(["report", "--format", "csv"], env)
    assert reported.returncode == 0, reported.stderr
    sent, held_out = csv.DictReader(io.StringIO(reported.stdout))
    funnel = history.EXPECTED_FUNNEL
    assert (sent["campaign"], sent["step"], sent["variant"], sent["channel"]) == ("reactivation", "0", "default", "email")
    assert {key: float(sent[key]) for key in ("sent", "delivered", "opened_rate", "conversions", "incentive_cost", "send_cost", "roi")} == {
        key: funnel[key] for key in ("sent", "delivered", "opened_rate", "conversions", "incentive_cost", "send_cost", "roi")
    }
    assert (float(sent["revenue_EUR"]), float(sent["revenue_USD"]), sent["currency"]) == (50.0, 60.0, "EUR")
    assert (float(sent["conversion_rate_lift_difference"]), sent["conversion_rate_lift_significant"]) == (0.0, "False")
    assert (held_out["step"], held_out["conversions"], held_out["revenue_EUR"], held_out["conversion_rate_lift_low"]) == ("", "1", "40.0", "")


def check_html(env: dict[str, str], path: Path) -> None:
    """A page with the funnel and lift charts as inline SVG, the numbers, and nothing to load."""
    reported = run_winback(["report", "--format", "json", "--html", str(path)], env)
    assert reported.returncode == 0, reported.stderr
    page = Page()
    page.feed(path.read_text())
    charts = {attrs.get("class") for tag, attrs in page.tags if tag == "svg"}
    assert charts == {"funnel", "lift"}
    assert not [attrs for tag, attrs in page.tags if tag in {"script", "link", "img"} or "src" in attrs or "href" in attrs]
    bars = [float(attrs["width"]) for tag, attrs in page.tags if tag == "rect"]
    assert bars == [420.0, 315.0, 210.0, 105.0, 210.0]  # sent 4, delivered 3, opened 2, clicked 1, converted 2 on 420 px
    text = " ".join(page.text)
    for shown in ("Campaign reactivation", "step 0 · default · email", "75.0%", "50.00 EUR, 60.00 USD", "5.00", "2.00", "10.43", "+0.0 pts"):
        assert shown in text, shown


def check_time_range(env: dict[str, str], started: float, everything: dict) -> None:
    """Records are selected by their timestamp: all were published after ``started``."""
    since = run_winback(["report", "--format", "json", "--since", iso(started - 1)], env)
    until = run_winback(["report", "--format", "json", "--until", iso(started - 1)], env)
    assert json.loads(since.stdout) == everything
    assert json.loads(until.stdout) == {"currency": "EUR", "campaigns": {}}
    backwards = run_winback(["report", "--since", iso(started), "--until", iso(started - 1)], env)
    assert (backwards.returncode, backwards.stderr.strip()) == (2, "winback: --since must be before --until")


def check_dashboard(prometheus: Prometheus, instance: str) -> None:
    """The variables list the scraped job, instance and campaign; every panel query returns data."""
    queries = dashboard_queries(JOB, instance, "reactivation")
    deadline = time.monotonic() + SCRAPE_DEADLINE_SECONDS
    empty = set(queries)
    while empty and time.monotonic() < deadline:
        empty = {title for title in empty if not prometheus.series(queries[title])}
        time.sleep(0.5)
    assert not empty, {title: queries[title] for title in sorted(empty)}
    assert prometheus.label_values("job", "winback_worker_clock") == [JOB]
    assert prometheus.label_values("instance", f'winback_worker_clock{{job="{JOB}"}}') == [instance]
    assert prometheus.label_values("campaign", f'winback_triggers_total{{job="{JOB}"}}') == ["reactivation"]


def check_unreadable(env: dict[str, str], everything: dict) -> None:
    """A record on the outcomes topic that is no outcome is counted on stderr, not tallied, no traceback."""
    reported = run_winback(["report", "--format", "json"], env)
    assert (reported.returncode, json.loads(reported.stdout)) == (0, everything)
    assert reported.stderr.strip() == "winback: 1 record(s) could not be decoded and are not counted"
