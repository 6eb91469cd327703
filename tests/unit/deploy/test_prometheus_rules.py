"""The alert rules and the Grafana dashboard: valid for Prometheus' own tool, unit-tested alerts,
one set of rules for compose and Kubernetes, and only metric names the worker exposes.

promtool comes with Debian's ``prometheus`` package, which ``.ci/run`` installs when missing.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from streams.runtime.observability import metrics
from tests.support.tools import installed

ROOT = Path(__file__).parents[3]
RULES = ROOT / "deploy/prometheus/rules/winback.yml"
RULE_TESTS = ROOT / "deploy/prometheus/tests/winback_test.yml"
DASHBOARD = ROOT / "deploy/grafana/dashboards/winback.json"
PROMETHEUS_RULE = ROOT / "deploy/kubernetes/base/prometheusrule.yaml"
SCRAPE_SERIES = {"up"}  # what Prometheus itself records for every target
# Words of PromQL that look like metric names: functions, aggregations, keywords and Grafana's variables.
PROMQL_WORDS = {"sum", "max", "by", "rate", "increase", "delta", "histogram_quantile", "absent", "and", "or", "on",
                "group_left", "le", "__range", "__rate_interval", "max_over_time"}
RUNBOOKS = ROOT / "docs/runbooks"
RUNBOOK_URL = "https://github.com/winback-streams/winback-streams/blob/main/docs/runbooks/"


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([installed("promtool"), *args], capture_output=True, text=True, cwd=ROOT)


def alerts() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_exprs() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def exposed_series() -> set[str]:
    """Every series name in the worker's exposition text (a counter `x` is exposed as `x_total`)."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    families = text_string_to_metric_families(metrics.exposition().decode())
    return {family.name + suffix for family in families for suffix in suffixes.get(family.type, [""])}


def metric_names(expr: str) -> set[str]:
    """Identifiers in a PromQL expression that name series (not labels, functions or keywords)."""
    without_matchers = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"", " ", expr)
    words = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", without_matchers))
    labels = set(re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", without_matchers))
    label_names = {name.strip() for group in labels for name in group.split(",")}
    return words - PROMQL_WORDS - label_names


def test_promtool_accepts_the_rules():
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_fires_and_stays_quiet_as_its_promtool_unit_test_expects():
    tested = promtool("test", "rules", str(RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    covered = {check["alertname"] for case in cases for check in case["alert_rule_test"] if check["exp_alerts"]}
    assert covered == {alert["alert"] for alert in alerts()}


def test_the_alerts_are_the_ones_operators_need_with_a_runbook_each():
    assert {alert["alert"] for alert in alerts()} == {
        "WinbackWorkerDown", "WinbackMetricsAbsent", "WinbackNoEvents", "WinbackDeadLettersSpiking",
        "WinbackConsumerLagGrowing", "WinbackSchedulerBehind",
    }
    for alert in alerts():
        assert {"summary", "description", "runbook_url"} <= alert["annotations"].keys(), alert["alert"]


def test_every_runbook_url_points_at_a_page_that_names_its_alert_and_every_page_has_an_alert():
    pages = {}
    for alert in alerts():
        url = alert["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_URL), url
        page = RUNBOOKS / url.removeprefix(RUNBOOK_URL)
        assert page.is_file(), f"{alert['alert']}: no page {page}"
        assert page.read_text().startswith(f"# {alert['alert']}\n"), page
        pages[page.name] = alert["alert"]
    assert {page.name for page in RUNBOOKS.glob("*.md")} - {"README.md"} == pages.keys()
    index = (RUNBOOKS / "README.md").read_text()
    assert all(f"| {name} |" in index and f"]({page})" in index for page, name in pages.items())


def test_a_worker_with_no_scrape_target_at_all_is_alerted_by_absence():
    absent = [alert for alert in alerts() if alert["expr"].startswith("absent(")]
    assert [alert["alert"] for alert in absent] == ["WinbackMetricsAbsent"]
    assert absent[0]["labels"]["severity"] == "critical"
    assert absent[0]["expr"] == "absent(winback_build_info)"  # a metric every worker exports from its start


def test_no_rule_names_the_scrape_job_so_a_shop_may_call_it_anything():
    """The promtool tests run every alert under job names other than ``winback``."""
    assert all("job=" not in alert["expr"] for alert in alerts())
    jobs = set(re.findall(r'job="([^"]+)"', RULE_TESTS.read_text()))
    assert jobs and "winback" not in jobs


def test_kubernetes_carries_exactly_the_same_rules():
    rule = yaml.safe_load(PROMETHEUS_RULE.read_text())
    assert rule["spec"] == yaml.safe_load(RULES.read_text())


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_expressions_name_only_series_the_worker_exposes(source: str):
    exprs = [alert["expr"] for alert in alerts()] if source == "rules" else dashboard_exprs()
    used = {name for expr in exprs for name in metric_names(expr)}
    assert used and used <= exposed_series() | SCRAPE_SERIES, sorted(used - exposed_series() - SCRAPE_SERIES)


def test_the_dashboard_shows_the_funnel_and_every_worker_metric():
    used = {name for expr in dashboard_exprs() for name in metric_names(expr)}
    shown = {re.sub(r"_(total|bucket)$", "", name) for name in used}
    families = {family.name for family in text_string_to_metric_families(metrics.exposition().decode())}
    # Not on the dashboard: the memory store's customer count, a metric of demo and test workers
    # (production runs RocksDB), besides three that other panels already cover.
    not_shown = {"winback_events_applied", "winback_due_published", "winback_worker_clock", "winback_memory_store_customers"}
    assert {name for name in families if name.startswith("winback_")} - shown == not_shown
    assert {"process_cpu_seconds", "process_resident_memory_bytes"} <= shown
    [funnel] = [panel for panel in json.loads(DASHBOARD.read_text())["panels"] if panel["title"].startswith("Events →")]
    assert [target["legendFormat"] for target in funnel["targets"]] == ["events", "triggers", "commands", "conversions"]


def test_the_dashboard_is_importable_anywhere():
    """Panels name the datasource through a variable, ids are unique and the grid is 24 wide;
    queries select the workers by the $job and $instance variables, never a fixed job name."""
    dashboard = json.loads(DASHBOARD.read_text())
    variable, *selectors = dashboard["templating"]["list"]
    assert [selector["name"] for selector in selectors] == ["job", "instance", "campaign"]
    assert all('job=~"$job",instance=~"$instance"' in expr and 'job="' not in expr for expr in dashboard_exprs())
    assert (variable["type"], variable["query"]) == ("datasource", "prometheus")
    panels = dashboard["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${" + variable["name"] + "}", panel["title"]


def test_the_readme_lists_every_metric_the_worker_exposes():
    listed = set(re.findall(r"^\| `(winback_\w+)[{`]", (ROOT / "README.md").read_text(), re.MULTILINE))
    families = text_string_to_metric_families(metrics.exposition().decode())
    ours = [family for family in families if family.name.startswith("winback_")]
    assert listed == {family.name + ("_total" if family.type == "counter" else "") for family in ours}
