"""Consumer lag on the real broker: a worker restarted on a backlog reports the backlog at once
(end offsets minus the group's committed offsets, per partition, as Kafka's tools count it),
then drains it to 0."""

from __future__ import annotations

import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.devtools.spawn import WorkerProcess
from streams.runtime.settings import Settings
from tests.support.builders import line, purchase
from tests.support.kafka_io import group_lag, produce

pytestmark = pytest.mark.integration

CUSTOMERS = 40
FIRST_SECONDS = 10.0  # the backlog must show within this long of the restarted worker's "Ready"
DRAIN_SECONDS = 120.0  # generous: the machine is shared


def purchases(topic: str, days: range) -> list[tuple[str, bytes, bytes]]:
    """One purchase per customer per day, keyed by customer so they spread over the partitions."""
    return [
        (topic, customer.encode(), line(purchase(day, customer, event_id=f"p-{customer}-{day}")))
        for day in days
        for customer in (f"lag-{number:02d}" for number in range(CUSTOMERS))
    ]


def lag_gauge(worker: WorkerProcess, topic: str) -> dict[int, float]:
    """``winback_consumer_lag_records`` of ``topic`` by partition, from the worker's /metrics page."""
    url = f"http://127.0.0.1:{worker.env['WINBACK_WEB_PORT']}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        page = response.read().decode()
    return {
        int(sample.labels["partition"]): sample.value
        for family in text_string_to_metric_families(page)
        if family.name == "winback_consumer_lag_records"
        for sample in family.samples
        if sample.labels["topic"] == topic
    }


def poll(probe, until, seconds: float, what: str):
    """``probe()`` every 0.1 s until ``until(value)``; fail with the last value after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not until(value := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still {value!r} after {seconds}s")
        time.sleep(0.1)
    return value


async def test_a_restarted_worker_reports_its_backlog_at_once_then_drains_it(app_settings: Settings, worker_factory):
    topic, group = app_settings.topic_purchases, app_settings.app_id
    worker = worker_factory()
    await produce(app_settings.broker, purchases(topic, range(3)))
    deadline = time.monotonic() + DRAIN_SECONDS
    while any((await group_lag(app_settings.broker, group, topic)).values()):  # the group committed them all
        assert time.monotonic() < deadline, "the first records were never committed"
        time.sleep(0.2)
    worker.stop()

    await produce(app_settings.broker, purchases(topic, range(3, 30)))
    backlog = await group_lag(app_settings.broker, group, topic)
    assert all(backlog.values()) and sum(backlog.values()) == CUSTOMERS * 27

    worker.start()
    first = poll(lambda: lag_gauge(worker, topic), bool, FIRST_SECONDS, "no lag measured after the restart")
    assert first == backlog
    try:
        poll(lambda: lag_gauge(worker, topic), lambda lag: set(lag.values()) == {0.0}, DRAIN_SECONDS, "lag not drained")
    finally:
        print("the group's lag on the broker:", await group_lag(app_settings.broker, group, topic), worker.tail(), sep="\n")
    assert await group_lag(app_settings.broker, group, topic) == dict.fromkeys(backlog, 0)
