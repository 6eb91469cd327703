"""Observability end to end: a real worker runs the known scenario (tests/support/scenarios.py) with JSON
logs; its /metrics text passes `promtool check metrics`, and a real Prometheus server on
loopback, loading the project's alert rules, scrapes it and answers PromQL queries with exactly
the scenario's trigger, command and per-stage customer counts."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from streams import __version__
from streams.runtime.settings import Settings
from streams.devtools.spawn import WorkerProcess
from tests.support.kafka_io import produce
from tests.support.scenarios import CLOCK, EXPECTED_COMMANDS, EXPECTED_TRIGGERS, publish_histories, read_outputs
from tests.support.prometheus import JOB, Prometheus, get
from tests.support.tools import installed

pytestmark = pytest.mark.integration

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
        assert prometheus.query('sum by (job) (up)') == {JOB: 1}
        assert prometheus.query("sum by (version) (winback_build_info)") == {__version__: 1}
        assert prometheus.query("count by (job) (process_resident_memory_bytes)") == {JOB: 1}
        # Every alert loaded and quiet, the absent() one included: the worker is scraped.
        assert set(prometheus.alert_rules().values()) == {"ok"} and len(prometheus.alert_rules()) == 6
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
