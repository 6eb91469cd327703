"""Observability end to end: a real worker runs the known scenario (tests/support/scenarios.py) with JSON
logs; its /metrics text passes `promtool check metrics`, and a real Prometheus server on
loopback, loading the project's alert rules, scrapes it and answers PromQL queries with exactly
the scenario's trigger, command and per-stage customer counts."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest
import yaml

from streams.runtime.settings import Settings
from streams.devtools.spawn import WorkerProcess, free_port
from tests.support.kafka_io import produce
from tests.support.scenarios import CLOCK, EXPECTED_COMMANDS, EXPECTED_TRIGGERS, publish_histories, read_outputs
from tests.support.tools import installed

pytestmark = pytest.mark.integration

ROOT = Path(__file__).parents[3]
RULES = ROOT / "deploy/prometheus/rules/winback.yml"
MALFORMED = b"{not json"
# The scenario (tests/support/scenarios.py): lapsed-40, lapsed-100 and returned entered
# reactivation, lapsed-100 also winback; seven emails of theirs and one SMS; "fresh" and
# "returned" are active now.
TRIGGERS_BY_STAGE = {"reactivation": 3, "winback": 1}
COMMANDS_BY_CHANNEL = {"email": 8, "sms": 1}
CUSTOMERS_BY_STAGE = {"active": 2, "reactivation": 1, "winback": 1, "sunset": 0}
DEADLINE_SECONDS = 30.0


def eventually(probe: Callable[[], object], expected: object, what: str) -> None:
    """Poll ``probe`` until it returns ``expected``; fail with the last value after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (value := probe()) != expected:
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: {value!r} != {expected!r} after {DEADLINE_SECONDS}s")
        time.sleep(0.25)


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


class Prometheus:
    """A Prometheus server on loopback scraping one worker every second, with the project's rules."""

    def __init__(self, workdir: Path, target: str):
        workdir.mkdir()
        self.port = free_port()
        self.log_path = workdir / "prometheus.log"
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "winback", "static_configs": [{"targets": [target]}]}],
        }))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([
                installed("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ], stdout=log, stderr=subprocess.STDOUT)

    def query(self, promql: str) -> dict[str, float]:
        """An instant query's result: the value by the series' one remaining label (or "" for none)."""
        try:
            body = json.loads(get(f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
        except OSError:
            return {}  # not listening yet
        return {next(iter(series["metric"].values()), ""): float(series["value"][1]) for series in body["data"]["result"]}

    def alert_rules(self) -> dict[str, str]:
        body = json.loads(get(f"http://127.0.0.1:{self.port}/api/v1/rules?type=alert"))
        return {rule["name"]: rule["health"] for group in body["data"]["groups"] for rule in group["rules"]}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])


@pytest.fixture
def scenario_worker(app_settings: Settings, worker_factory) -> WorkerProcess:
    """A worker with JSON logs under the scenario's fixed clock."""
    return worker_factory(WINBACK_CLOCK=CLOCK, WINBACK_TICK_SECONDS="0.2", WINBACK_LOG_FORMAT="json")


@pytest.fixture
def prometheus(scenario_worker: WorkerProcess, tmp_path: Path) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path / "prometheus", f"127.0.0.1:{scenario_worker.env['WINBACK_WEB_PORT']}")
    yield server
    server.stop()


def metrics_text(worker: WorkerProcess) -> str:
    return get(f"http://127.0.0.1:{worker.env['WINBACK_WEB_PORT']}/metrics").decode()


async def test_prometheus_scrapes_the_scenario_counts_from_a_running_worker(
    app_settings: Settings, scenario_worker: WorkerProcess, prometheus: Prometheus
):
    await publish_histories(app_settings)
    await produce(app_settings.broker, [(app_settings.topic_purchases, b"bad", MALFORMED)])
    expected = len(EXPECTED_TRIGGERS) + len(EXPECTED_COMMANDS)
    await read_outputs(app_settings, lambda records: len(records) >= expected)

    def by(label: str, metric: str) -> Callable[[], dict[str, float]]:
        return lambda: prometheus.query(f"sum by ({label}) ({metric})")

    try:
        eventually(by("stage", "winback_triggers_total"), TRIGGERS_BY_STAGE, "triggers by stage")
        eventually(by("channel", "winback_commands_total"), COMMANDS_BY_CHANNEL, "commands by channel")
        eventually(by("stage", "winback_customers"), CUSTOMERS_BY_STAGE, "customers by stage")
        eventually(by("reason", "winback_dead_letters_total"), {"malformed_json": 1}, "dead letters by reason")
        # Everything read is processed and committed: no lag left on any topic the worker consumes.
        consumed = [*app_settings.input_topics.values(), app_settings.topic_events, app_settings.topic_due]
        eventually(by("topic", "winback_consumer_lag_records"), dict.fromkeys(consumed, 0.0), "lag by topic")
        eventually(lambda: bool(prometheus.query("sum(winback_consumer_commit_seconds_count) > 0")), True, "commits")
        assert prometheus.query('sum by (job) (up)') == {"winback": 1}
        assert set(prometheus.alert_rules().values()) == {"ok"} and len(prometheus.alert_rules()) == 5
    except BaseException:
        print(prometheus.tail())
        raise

    checked = subprocess.run([installed("promtool"), "check", "metrics"], input=metrics_text(scenario_worker),
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert_json_logs(scenario_worker)


def assert_json_logs(worker: WorkerProcess) -> None:
    """Every line the worker wrote is a JSON object; the dead letter's carries the metric's labels."""
    entries = [json.loads(line) for line in worker.log_path.read_text().splitlines()]
    assert all({"ts", "level", "logger", "message"} <= entry.keys() for entry in entries)
    assert any(entry["message"].endswith("Ready") for entry in entries)
    [dead_letter] = [entry for entry in entries if entry["message"].startswith("dead-lettered")]
    assert (dead_letter["type"], dead_letter["reason"], dead_letter["level"]) == ("purchase", "malformed_json", "warning")
