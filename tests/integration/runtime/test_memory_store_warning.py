"""A worker on the memory store counts the customers it holds and warns once when they pass
WINBACK_MEMORY_STORE_WARN_CUSTOMERS (here 5 instead of the default 1,000,000)."""

from __future__ import annotations

import re
import time

import pytest

from streams.devtools.spawn import WorkerProcess
from streams.runtime.settings import Settings
from tests.support.builders import line, purchase
from tests.support.kafka_io import produce

pytestmark = pytest.mark.integration

WARNING = "the memory store holds"
DEADLINE_SECONDS = 60.0


def purchases(settings: Settings, customers: range) -> list[tuple[str, bytes, bytes]]:
    return [(settings.topic_purchases, f"mem-{n}".encode(), line(purchase(0, f"mem-{n}"))) for n in customers]


def held(worker: WorkerProcess, customers: int) -> None:
    """Wait until the worker's gauge counts ``customers``; fail with the last count after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while (counted := worker.metric("winback_memory_store_customers")) != customers:
        assert time.monotonic() < deadline, f"{counted} customers counted, not {customers}:\n{worker.tail()}"
        time.sleep(0.25)


def warnings(worker: WorkerProcess) -> list[str]:
    return [entry for entry in worker.log_path.read_text().splitlines() if WARNING in entry]


async def test_the_memory_store_warns_once_above_its_customer_limit(app_settings: Settings, worker_factory):
    worker = worker_factory(WINBACK_STORE="memory", WINBACK_MEMORY_STORE_WARN_CUSTOMERS="5")
    await produce(app_settings.broker, purchases(app_settings, range(4)))
    held(worker, 4)
    assert warnings(worker) == []

    await produce(app_settings.broker, purchases(app_settings, range(4, 12)))
    held(worker, 12)
    [warning] = warnings(worker)
    counted = re.search(r"\[WARNING\].* holds (\d+) customers, more than WINBACK_MEMORY_STORE_WARN_CUSTOMERS=5,", warning)
    assert counted and 5 < int(counted[1]) <= 12, warning  # the count when the check ran, with 8 of them arriving

    await produce(app_settings.broker, purchases(app_settings, range(12, 20)))
    held(worker, 20)
    assert len(warnings(worker)) == 1  # still above the limit: not said again
