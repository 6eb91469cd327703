"""The worker's web server: its own three endpoints and nothing of Faust's, configured by WINBACK_* only.

The real app of a worker (``build_worker_app``) and its real aiohttp application, served on a
loopback port by aiohttp's test server; no broker (the app is not started, so it is not ready).
tests/integration/runtime/test_web.py runs the same against a real worker on a real broker.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streams.policy.loading import default_policy_path, load_policy
from streams.runtime.observability.endpoints import LIVENESS_PATH, METRICS_PATH, READINESS_PATH, not_ready_because
from streams.runtime.settings import Settings
from streams.runtime.topology import create_app
from streams.runtime.worker import build_worker_app

# Faust's own pages, as Faust would serve them: a customer's state, the cluster's layout, internals.
FAUST_PATHS = ["/", "/table/", "/table/activity/", "/table/activity/customer-1/", "/router/", "/router/activity/customer-1/",
               "/stats/", "/assignment/", "/graph/", "/performance/", "/metrics/", "/healthz/x"]


def worker_app(**settings: object):
    return build_worker_app(Settings(broker="127.0.0.1:1", **settings), load_policy(default_policy_path())).app


def test_only_the_worker_s_endpoints_are_routed() -> None:
    web = worker_app().web
    web.init_server()

    routes = {(route.method, route.resource.canonical) for route in web.web_app.router.routes()}

    assert routes == {(method, path) for method in ("GET", "HEAD") for path in (METRICS_PATH, LIVENESS_PATH, READINESS_PATH)}


async def test_faust_s_pages_are_not_found_and_an_unstarted_worker_is_alive_but_not_ready() -> None:
    web = worker_app().web
    web.init_server()
    async with TestClient(TestServer(web.web_app)) as client:
        statuses = {path: (await client.get(path)).status for path in FAUST_PATHS}
        liveness = await client.get(LIVENESS_PATH)
        readiness = await client.get(READINESS_PATH)

        assert statuses == dict.fromkeys(FAUST_PATHS, 404)
        assert (liveness.status, await liveness.text()) == (200, "ok\n")
        assert (readiness.status, await readiness.text()) == (503, "not ready: waiting for partitions: joining the consumer group\n")


def test_readiness_follows_faust_s_rebalance_and_recovery() -> None:
    app = create_app(Settings(broker="127.0.0.1:1"))
    app.on_rebalance_start()  # what Faust's rebalance listener calls when the group (re)assigns
    app.in_recovery = True  # what Faust's recovery service sets while it restores the changelogs

    recovering = not_ready_because(app)
    app.in_recovery = False
    resuming = not_ready_because(app)
    app.rebalancing = False  # Faust's on_rebalance_end, once the streams resumed

    assert (recovering, resuming, not_ready_because(app)) == ("recovering tables from their changelogs", "rebalancing", None)


HOSTILE_ENVIRONMENT = {
    "BROKER_URL": "kafka://attacker.example:9092",
    "WEB_PORT": "tcp://10.0.0.1:6066",  # a Kubernetes service link for a Service named "web"
    "WEB_BIND": "0.0.0.0",
    "WEB_HOST": "attacker.example",
    "PRODUCER_ACKS": "0",
    "APP_WEB_TABLES_ENABLED": "true",
    "APP_WEB_ROUTER_ENABLED": "true",
    "APP_DEBUG": "true",
    "STORE": "rocksdb://",
    "BROKER_SESSION_TIMEOUT": "1",
    "APP_ENV_PREFIX": "EVIL_",
}


def test_faust_s_environment_variables_do_not_configure_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in HOSTILE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    settings = Settings(broker="kafka-0:9092", web_port=7000)

    conf = create_app(settings).conf

    assert [str(url) for url in conf.broker] == ["kafka://kafka-0:9092"]
    assert (conf.web_port, conf.web_bind, conf.web_host) == (7000, "127.0.0.1", "127.0.0.1")
    assert (conf.producer_acks, conf.broker_session_timeout, str(conf.store)) == (-1, settings.session_timeout, "memory:")
    assert not (conf.web_tables_enabled or conf.web_router_enabled or conf.debug)
