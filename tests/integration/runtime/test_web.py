"""A real worker on the real broker: it serves /metrics, /healthz and /readyz and nothing else,
on loopback; Faust's own environment variables do not configure (or crash) it; the broker's
password never appears in its output; and /readyz turns 200 only once its table has recovered.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
import pytest

from streams.devtools.spawn import WorkerProcess, worker_env
from streams.runtime.observability.endpoints import LIVENESS_PATH, METRICS_PATH, READINESS_PATH
from streams.runtime.settings import Settings
from tests.support import builders
from tests.support.kafka_io import produce
from tests.support.workload import START, burst

pytestmark = pytest.mark.integration

SECRET = "n0t-For-The-Logs-7f3a"
FAUST_PATHS = ["/", "/table/", "/table/activity/", "/router/", "/stats/", "/assignment/", "/graph/", "/performance/", "/metrics/"]
# What Kubernetes service links, a shared shell or an old Faust deployment may leave in the
# environment; each one used to override the worker's settings or crash it.
FAUST_VARIABLES = {
    "WEB_PORT": "tcp://10.0.0.1:6066",
    "BROKER_URL": "kafka://127.0.0.1:1",
    "PRODUCER_ACKS": "0",
    "WEB_BIND": "0.0.0.0",
    "APP_WEB_TABLES_ENABLED": "true",
    "APP_DEBUG": "true",
    "FAUST_DEBUG": "1",
    "FAUST_LOOP": "no-such-event-loop",
    "FAUST_WEB_PORT": "1",
}
CLOCK = f"fixed:{START.isoformat()}"  # before every event: nothing lapses, the table only fills


def status(port: str, path: str) -> tuple[int, str]:
    """The HTTP status and body of ``path`` on the worker's web server (0 if it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError:
        return 0, ""


def customers(page: str) -> float:
    """The sum of winback_customers{stage} on a /metrics page: the customers in the worker's table."""
    return sum(float(value) for value in re.findall(r"^winback_customers\{.*\} (\S+)$", page, re.M))


def listening_addresses(port: int) -> set[str]:
    """The local IPv4/IPv6 addresses (hex, as the kernel shows them) with a socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


async def test_a_worker_serves_its_endpoints_only_ignores_faust_s_variables_and_never_prints_the_password(
    app_settings: Settings, worker_factory, monkeypatch: pytest.MonkeyPatch
):
    for name, value in FAUST_VARIABLES.items():
        monkeypatch.setenv(name, value)
    broker = f"kafka://winback:{SECRET}@{app_settings.broker}"
    worker = worker_factory(WINBACK_BROKER=broker, WINBACK_LOG_LEVEL="debug", WINBACK_CLOCK=CLOCK)
    port = worker.env["WINBACK_WEB_PORT"]
    purchase = builders.purchase(0, customer="customer-1")
    await produce(app_settings.broker, [(app_settings.topic_purchases, purchase.customer_id.encode(), msgspec.json.encode(purchase))])
    deadline = time.monotonic() + 30
    while worker.metric("winback_events_applied_total") < 1:  # its state is in the table: Faust would serve it
        assert time.monotonic() < deadline, worker.tail()
        await asyncio.sleep(0.2)

    pages = {path: status(port, path)[0] for path in [*FAUST_PATHS, f"/table/activity/{purchase.customer_id}/"]}
    ours = {path: status(port, path)[0] for path in (METRICS_PATH, LIVENESS_PATH, READINESS_PATH)}
    bound = listening_addresses(int(port))
    settings_output = subprocess.run(
        [sys.executable, "-m", "streams", "settings"], env=worker.env, capture_output=True, text=True, check=True
    )
    worker.stop()

    assert pages == dict.fromkeys(pages, 404)
    assert ours == dict.fromkeys(ours, 200)
    assert bound == {"0100007F"}  # 127.0.0.1 only: WINBACK_WEB_HOST's default
    assert f"winback:***@{app_settings.broker}" in settings_output.stdout
    assert SECRET not in settings_output.stdout + settings_output.stderr
    log = worker.log_path.read_text(errors="replace")
    assert "Gathering service tasks" in log  # the whole run is in it, to the end of the shutdown
    assert SECRET not in log


async def test_readiness_waits_for_the_table_to_recover(app_settings: Settings, worker_factory, tmp_path: Path, report):
    """A restarted worker answers /metrics (and /healthz) at once, but /readyz only once its
    table is back: the due index and the per-stage counts rebuilt from the changelog count
    every customer at the first 200."""
    purchases = burst(customers=2000)
    first = worker_factory(WINBACK_CLOCK=CLOCK)
    topic = app_settings.topic_purchases
    await produce(app_settings.broker, [(topic, p.customer_id.encode(), msgspec.json.encode(p)) for p in purchases])
    population = len({p.customer_id for p in purchases})
    deadline = time.monotonic() + 120
    while first.metric("winback_events_applied_total") < len(purchases):
        assert time.monotonic() < deadline, first.tail()
        await asyncio.sleep(0.5)
    # Applied is counted as a batch is decided, before its state is written and its offsets
    # committed: two commit rounds later every write is in the changelog (a commit flushes the
    # producer first) and nothing is left to read again, so the restart recovers everyone.
    committed = first.metric("winback_consumer_commit_seconds_count")
    while first.metric("winback_consumer_commit_seconds_count") < committed + 2:
        assert time.monotonic() < deadline, first.tail()
        await asyncio.sleep(0.5)
    first.stop()

    restarted = WorkerProcess({**worker_env(app_settings), "WINBACK_CLOCK": CLOCK}, tmp_path, "restarted")
    port = restarted.env["WINBACK_WEB_PORT"]
    not_ready: set[str] = set()
    serving_at = None
    with ThreadPoolExecutor(1) as pool:
        started = pool.submit(restarted.start)  # returns once the worker logged "Ready"
        try:
            while (readiness := status(port, READINESS_PATH))[0] != 200:
                assert readiness[0] in (0, 503), readiness
                assert not (started.done() and started.exception()), restarted.tail()
                if readiness[0] == 503:
                    not_ready.add(readiness[1])
                    serving_at = serving_at or time.monotonic()
                time.sleep(0.02)
            ready_at = time.monotonic()
            at_first_ready = customers(status(port, METRICS_PATH)[1])
            started.result(timeout=60)
        finally:
            if restarted.alive():
                restarted.kill()

    assert at_first_ready == population
    assert not_ready and not_ready <= {
        "not ready: waiting for partitions: joining the consumer group\n",
        "not ready: recovering tables from their changelogs\n",
        "not ready: rebalancing\n",
    }
    report(customers=population, not_ready_seen=len(not_ready), serving_to_ready_s=round(ready_at - serving_at, 2))
