"""Session-wide fixtures and hooks. The Kafka broker starts only if a test asks for it, so unit tests need no Java.

Tests that run workers (integration and reliability) share ``app_settings`` and
``worker_factory``; a module that needs a broker of its own (one it may stop) overrides
``kafka_bootstrap``, and these fixtures follow it.

``make test`` runs the suite in several pytest-xdist processes.  "Session" then means one
process: each starts its own broker (on free ports) when its first test needs one.  The hooks
below start the longest tests first and gather the figures the reliability scenarios report
from every process.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import hypothesis
import pytest

from streams.devtools.kafka_local import LocalKafka
from streams.devtools.registry_local import LocalRegistry
from streams.runtime.settings import Settings
from streams.admin.topics import ensure_topics
from streams.devtools.spawn import FAST_GROUP, WorkerProcess, worker_env
from tests.support.secured_kafka import SecuredKafka

_namespaces = itertools.count(1)
FIGURES = "figures"  # the user property that carries a scenario's measured figures to the summary

# No test has a time limit (speed is measured in benchmarks/, never asserted).  Hypothesis's
# default deadline of 200 ms per example, and its health check on slow generation, would fail a
# property test whenever a loaded machine stalls its process for a moment (one 300 ms stall:
# "Unreliable test timings"), so they are off for every test, not only those that say so.
hypothesis.settings.register_profile("suite", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
hypothesis.settings.load_profile("suite")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first: the soak, then the other reliability scenarios, then integration tests.

    Under xdist (``--dist loadfile``) a process takes the next test file whenever it is nearly
    done with its own, so the soak's minutes of steady traffic run beside the rest of the suite
    and the short unit tests fill the end, instead of a long scenario starting last and running
    alone.  The sort is stable: within a rank, tests keep their order.
    """
    ranks = ("soak", "reliability", "integration")

    def rank(item: pytest.Item) -> int:
        return next((number for number, marker in enumerate(ranks) if item.get_closest_marker(marker)), len(ranks))

    items.sort(key=rank)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The figures the scenarios recorded with ``report``, after the results (no ``-s`` needed).

    They travel as user properties of each test's report, which xdist sends from its worker
    processes to the one that prints this summary.
    """
    reports = [report for kind in terminalreporter.stats.values() for report in kind if isinstance(report, pytest.TestReport)]
    calls = [report for report in reports if report.when == "call"]
    lines = sorted(value for report in calls for name, value in report.user_properties if name == FIGURES)
    if lines:
        terminalreporter.section("reliability figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Record this scenario's measured figures for the summary at the end of the run."""

    def add(**figures: object) -> None:
        line = f"{request.node.name}: " + ", ".join(f"{name}={value}" for name, value in figures.items())
        request.node.user_properties.append((FIGURES, line))

    return add


@pytest.fixture(scope="session")
def local_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """The session's real single-node broker (tests/integration/devtools/test_kafka_local.py restarts it in place)."""
    yield from _running_broker(tmp_path_factory, "kafka")


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """A broker of the requesting module's own, which its tests may stop and start."""
    yield from _running_broker(tmp_path_factory, "own-kafka")


@pytest.fixture(scope="module")
def secured_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredKafka]:
    """A secured broker of the requesting module's own: SASL_SSL, SSL (mTLS) and SASL_PLAINTEXT
    listeners, a super user ``admin`` and an ACL-only ``worker`` (tests/support/secured_kafka.py)."""
    broker = SecuredKafka(tmp_path_factory.mktemp("secured-kafka"))
    broker.start(timeout=240)
    yield broker
    broker.stop()


def _running_broker(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[LocalKafka]:
    """A broker in a fresh directory, stopped afterwards.

    The first run on a machine also fetches Kafka with Maven, hence the generous timeout.
    """
    broker = LocalKafka(tmp_path_factory.mktemp(name))
    broker.start(timeout=240)
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def schema_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the session's real schema registry (Apicurio, streams/devtools/registry_local.py),
    started only when a test asks for it; the first run on a machine builds it with Maven."""
    registry = LocalRegistry(tmp_path_factory.mktemp("registry"))
    registry.start(timeout=900)
    yield registry.url
    registry.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(local_kafka: LocalKafka) -> str:
    """Bootstrap address ("127.0.0.1:PORT") of the session's broker."""
    return local_kafka.bootstrap


@pytest.fixture
def store() -> str:
    """The workers' table store; a test runs with each by ``@pytest.mark.parametrize("store", ["memory", "rocksdb"])``."""
    return "memory"


@pytest.fixture
def connection_env() -> dict[str, str]:
    """How the test's clients and workers reach ``kafka_bootstrap``, as WINBACK_* settings: plaintext.
    A module on a secured broker overrides both (tests/integration/cli/test_secured_cluster.py)."""
    return {}


@pytest.fixture
def app_settings(kafka_bootstrap: str, connection_env: dict[str, str], tmp_path: Path, store: str) -> Settings:
    """Settings with topic names and app id unique to this test, topics already created.

    The consumer-group timeouts are the fast ones of ``FAST_GROUP``: workers get every setting
    from these, and Faust's defaults would make a crashed worker's partitions wait half a minute.
    """
    space = f"t{next(_namespaces)}-{tmp_path.name[:20]}".replace("_", "-")
    topics = {name: f"{space}.{name.removeprefix('topic_')}" for name in Settings.model_fields if name.startswith("topic_")}
    connection = {name.removeprefix("WINBACK_").lower(): value for name, value in connection_env.items()}
    settings = Settings(
        broker=kafka_bootstrap, app_id=f"winback-{space}", partitions=4, data_dir=tmp_path / "data", store=store, **topics,
        **{name.removeprefix("WINBACK_").lower(): float(value) for name, value in FAST_GROUP.items()}, **connection,
    )
    asyncio.run(ensure_topics(settings))
    return settings


@pytest.fixture
def worker_factory(app_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes for this test's settings; those still running are killed afterwards.

    Killed, not stopped: the test is over and its topics and consumer group are its own, so a
    graceful shutdown (over a second per worker) would only make the suite slower.
    """
    started: list[WorkerProcess] = []

    def start(name: str = "worker", **overrides: str) -> WorkerProcess:
        worker = WorkerProcess({**worker_env(app_settings), **overrides}, tmp_path, name)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        if worker.alive():
            worker.kill()
