"""A single-node Apache Kafka broker for the demo and the integration tests.

There is no Docker on the machines this project runs on, but there are a JDK and Maven,
and Maven Central is reachable. So the broker is the real Apache Kafka, fetched once as
the ``kafka_2.13`` artifact and its dependencies into a git-ignored cache, and run with
``java -cp 'libs/*' kafka.Kafka`` in KRaft mode (broker and controller in one process).

Kafka 3.9 is pinned on purpose: 4.x dropped the old protocol versions that aiokafka and
Faust still speak.

Production never uses this module: point ``WINBACK_BROKER`` at a real cluster instead.
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from streams.devtools import detached
from streams.devtools.kafka_security import (
    BrokerSecrets,
    Listener,
    SecurityMaterialError,
    aiokafka_options,
    client_env,
    default_identity,
    scram_arguments,
    security_settings,
    write_private,
)

KAFKA_VERSION = "3.9.1"
HOST = "127.0.0.1"
PLAINTEXT_LISTENERS = (Listener("PLAINTEXT", "PLAINTEXT", HOST),)
CACHE_ENV = "WINBACK_KAFKA_HOME"
MARKER = ".complete"
STATE_FILE = "kafka-state.json"
LOG_FILE = "kafka.log"

# kafka_2.13 does not bring an slf4j binding, so without one the broker logs nothing at
# all. slf4j-reload4j (+ a recent reload4j) is the binding the official distribution uses.
POM_TEMPLATE = """\
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.winback</groupId>
  <artifactId>kafka-local</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>1.2.25</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>3.8.1</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
"""

# Everything goes to stdout, which the launcher redirects to one log file: the broker's
# own messages and anything the JVM prints before log4j is up end up side by side.
LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
"""


class KafkaLocalError(RuntimeError):
    """The local broker could not be fetched, started or stopped; the message is one line."""


class PortInUse(KafkaLocalError):
    """The client port asked for is taken by another program (found before anything is launched)."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is in use (by another program)")
        self.port = port


def default_cache_dir() -> Path:
    """Where Kafka versions are cached: ``$WINBACK_KAFKA_HOME``, else the per-user
    ``~/.cache/winback-streams/kafka``, shared by every checkout and installed copy (as the
    registry's cache is), so a fresh clone does not assemble Kafka again."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env).expanduser()
    return Path.home() / ".cache" / "winback-streams" / "kafka"


def render_pom(version: str) -> str:
    """The throwaway pom whose dependencies are exactly the broker's classpath."""
    return POM_TEMPLATE.format(version=version)


def ensure_distribution(cache_dir: Path | None = None, version: str = KAFKA_VERSION) -> Path:
    """Return ``<cache_dir>/<version>/libs``, fetching the jars with Maven on first use only.

    A marker written after a successful copy makes later calls free: no Maven, no network.
    A file lock keeps a test run and ``winback kafka start`` from downloading into the same
    directory at once.
    """
    home = (cache_dir or default_cache_dir()) / version
    libs = home / "libs"
    if (home / MARKER).exists():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / MARKER).exists():
            _fetch_with_maven(home, libs, version)
    return libs


def _fetch_with_maven(home: Path, libs: Path, version: str) -> None:
    """Copy the broker's jars from Maven Central (through ``~/.m2``) into ``libs``."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaLocalError("Maven (mvn) is not on PATH; it is needed once to fetch Kafka (apt-get install maven)")
    (home / "pom.xml").write_text(render_pom(version))
    shutil.rmtree(libs, ignore_errors=True)
    command = [mvn, "-q", "-B", "-f", str(home / "pom.xml"), "dependency:copy-dependencies"]
    result = subprocess.run([*command, f"-DoutputDirectory={libs}"], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        log = home / "maven.log"
        log.write_text(result.stdout + result.stderr)
        raise KafkaLocalError(f"fetching Kafka {version} with Maven failed (exit status {result.returncode}); see {log}")
    (home / MARKER).write_text(f"kafka {version}\n")


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def free_port_besides(taken: Collection[int]) -> int:
    """A free port (``free_port``) that is none of ``taken``: ports probed one after another may
    repeat, and two listeners of one broker given the same port would stop it from starting."""
    while (port := free_port()) in taken:
        pass
    return port


def port_is_free(port: int) -> bool:
    """Whether a server could listen on ``port`` of the loopback interface now.

    SO_REUSEADDR, as the broker's own sockets have it: connections of a broker that just
    stopped (TIME_WAIT) do not count, a program listening on the port does.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def listeners_for(security: str) -> tuple[Listener, ...]:
    """The one client listener of ``winback kafka start --security`` (plaintext, ssl, sasl_plaintext, sasl_ssl)."""
    protocol = security.upper()
    return (Listener(protocol, protocol, HOST),)


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding, as Kafka's Uuid."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def render_server_properties(
    port: int, controller_port: int, log_dir: Path, overrides: dict[str, str] | None = None
) -> str:
    """KRaft settings for one combined broker+controller, tuned for a single node and fast tests.

    ``overrides`` (a secured broker's listeners, users and authorizer) replace or follow these.

    Replication factors of 1 are the only ones a single node can satisfy; a zero initial
    rebalance delay and few internal-topic partitions make the first consumer group join
    in well under a second instead of ~3 s.
    """
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
    } | (overrides or {})
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@dataclass(frozen=True)
class KafkaStatus:
    """What ``winback kafka status`` prints."""

    running: bool
    bootstrap: str | None
    pid: int | None
    data_dir: Path
    log_file: Path
    protocol: str = "PLAINTEXT"

    def __str__(self) -> str:
        if not self.running:
            return f"kafka: stopped (data dir {self.data_dir})"
        secured = "" if self.protocol == "PLAINTEXT" else f"{self.protocol}, "
        return f"kafka: running at {self.bootstrap} ({secured}pid {self.pid}, data dir {self.data_dir}, log {self.log_file})"


class LocalKafka:
    """One local broker whose identity is its data directory.

    The pid and ports live in a state file inside ``data_dir``, so ``winback kafka stop``
    in another process can stop what ``winback kafka start`` launched, and a restart on
    the same ``data_dir`` comes back on the same port with the same records.

    ``listeners`` are the client listeners, the first on ``port`` (the others on ports of
    their own). Plaintext by default; any SSL or SASL listener makes a secured broker:
    users, certificates and the authorizer of ``streams.devtools.kafka_security``.
    ``config`` replaces settings of the local defaults (``render_server_properties``).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        cache_dir: Path | None = None,
        version: str = KAFKA_VERSION,
        heap: str = "512m",
        listeners: tuple[Listener, ...] | None = None,
        config: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.config = dict(config or {})  # broker settings over the local defaults (a benchmark's production-like ones)
        self.cache_dir = cache_dir
        self.version = version
        self.heap = heap
        self.secrets = BrokerSecrets(self.data_dir / "secrets")
        state = self._read_state()
        recorded_listeners = tuple(Listener(*listener) for listener in state.get("listeners", []))
        self.listeners = listeners or recorded_listeners or PLAINTEXT_LISTENERS
        if _is_broker_process(state.get("pid"), self.data_dir):
            port = None  # a running broker keeps the port it was started with; clients use that one
        self.port = port or state.get("port") or free_port()
        self.controller_port = state.get("controller_port") or free_port_besides({self.port})
        recorded = state.get("other_ports") or {}
        self.other_ports: dict[str, int] = {}
        for listener in self.listeners[1:]:
            self.other_ports[listener.name] = recorded.get(listener.name) or free_port_besides(self._ports())
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` clients connect to (the first listener's)."""
        return f"{HOST}:{self.port}"

    @property
    def secured(self) -> bool:
        """Whether any listener asks for TLS or SASL (and so the broker has users and an authorizer)."""
        return any(listener.protocol != "PLAINTEXT" for listener in self.listeners)

    def address(self, listener_name: str) -> str:
        """The ``host:port`` of the listener called ``listener_name``."""
        listener = next(listener for listener in self.listeners if listener.name == listener_name)
        return f"{listener.host}:{self._port_of(listener)}"

    def _port_of(self, listener: Listener) -> int:
        return self.port if listener == self.listeners[0] else self.other_ports[listener.name]

    @property
    def log_file(self) -> Path:
        """Broker log and JVM output, appended across restarts."""
        return self.data_dir / LOG_FILE

    def start(self, timeout: float = 60) -> str:
        """Start the broker (detached) and return its bootstrap address once it answers requests.

        Idempotent: a broker already running on this data dir is left alone. Storage is
        formatted on the first start only, so a restart keeps every record (and users): it
        must ask for the listeners the data dir was formatted with.
        """
        self._check_same_security()
        if self.is_running():
            return self.bootstrap
        self._claim_ports()
        libs = ensure_distribution(self.cache_dir, self.version)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        if not (self.data_dir / "logs" / "meta.properties").exists():
            self._format_storage(libs, config)
        log_start = self._log_size()
        self._launch(libs, config)
        try:
            self._wait_ready(timeout, log_start)
        except BaseException:  # also Ctrl-C or a test timeout: leave no half-started broker behind
            self.stop()
            raise
        return self.bootstrap

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a clean shutdown that flushes the logs), then SIGKILL after ``timeout`` seconds."""
        pid = self._running_pid()
        if pid is not None:
            detached.stop(pid, self.is_running, timeout)
        self._process = None
        self._write_state(pid=None)

    def is_running(self) -> bool:
        """Whether the broker process recorded for this data dir is alive (it may still be booting)."""
        return self._running_pid() is not None

    def status(self) -> KafkaStatus:
        """A printable snapshot: running or not, where, and where its log is."""
        pid = self._running_pid()
        return KafkaStatus(
            running=pid is not None,
            bootstrap=self.bootstrap if pid is not None else None,
            pid=pid,
            data_dir=self.data_dir,
            log_file=self.log_file,
            protocol=self.listeners[0].protocol,
        )

    def _claim_ports(self) -> None:
        """Fail at once when the client port is taken (the broker would fail only after booting);
        move the controller, which no client uses, to a free port when its recorded one is taken."""
        if not port_is_free(self.port):
            raise PortInUse(self.port)
        if not port_is_free(self.controller_port):
            self.controller_port = free_port_besides(self._ports())
        for name, port in self.other_ports.items():
            if not port_is_free(port):
                self.other_ports[name] = free_port_besides(self._ports())

    def _ports(self) -> set[int]:
        """Every port this broker has been given so far: clients', the controller's, the other listeners'."""
        return {self.port, self.controller_port, *self.other_ports.values()}

    def _check_same_security(self) -> None:
        """Refuse to start a data dir with other listeners than it was formatted for: its users would be missing."""
        recorded = [Listener(*listener) for listener in self._read_state().get("listeners", [])]
        formatted = (self.data_dir / "logs" / "meta.properties").exists()
        if formatted and tuple(recorded or PLAINTEXT_LISTENERS) != self.listeners:
            protocols = ", ".join(listener.protocol.lower() for listener in recorded or PLAINTEXT_LISTENERS)
            raise KafkaLocalError(
                f"{self.data_dir} holds a broker with {protocols} listeners; "
                "start it with that --security (or none) or choose another --data-dir"
            )

    def _write_config(self) -> Path:
        """(Re)write server.properties and log4j.properties so port changes apply on restart.

        A secured broker's file holds the PLAIN users' passwords, so only its owner may read it.
        """
        config = self.data_dir / "server.properties"
        logs = self.data_dir / "logs"
        if self.secured:
            write_private(config, render_server_properties(self.port, self.controller_port, logs, self._security() | self.config))
        else:
            config.write_text(render_server_properties(self.port, self.controller_port, logs, self.config))
        (self.data_dir / "log4j.properties").write_text(LOG4J_PROPERTIES)
        return config

    def _security(self) -> dict[str, str]:
        """The secured broker's settings, its passwords and certificates made on the first start."""
        try:
            self.secrets.create(tls=any(listener.uses_tls for listener in self.listeners))
        except SecurityMaterialError as error:
            raise KafkaLocalError(str(error)) from None
        bound = [(listener, self._port_of(listener)) for listener in self.listeners]
        return security_settings(bound, f"{HOST}:{self.controller_port}", self.secrets)

    def admin_options(self) -> dict[str, Any]:
        """aiokafka keyword arguments for the ``admin`` super user on the first listener (none when plaintext)."""
        if not self.secured:
            return {}
        return aiokafka_options(default_identity(self.listeners[0], "admin"), self.secrets)

    def client_env(self, user: str = "admin") -> dict[str, str]:
        """The WINBACK_* settings with which ``user`` reaches the first listener (a password file, not the password)."""
        return client_env(self.bootstrap, default_identity(self.listeners[0], user), self.secrets)

    def _java(self, libs: Path, *jvm_options: str) -> list[str]:
        """The JVM command line shared by the storage tool and the broker.

        Only the JVM's quick compiler (C1, ``-XX:TieredStopAtLevel=1``): the optimising one
        spends the first seconds of a short-lived broker's life compiling on the same cores.
        Measured on 2 cores: ready in 4-6 s instead of 7-10 s, and half the broker's CPU for
        200,000 records, with the same produce and consume rates.
        """
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if java is None:
            raise KafkaLocalError("java is not on PATH; the local broker needs Java 17 (openjdk-17-jre-headless)")
        log4j = (self.data_dir / "log4j.properties").as_uri()
        return [java, "-XX:TieredStopAtLevel=1", *jvm_options, f"-Dlog4j.configuration={log4j}", "-cp", str(libs / "*")]

    def _format_storage(self, libs: Path, config: Path) -> None:
        """Write the KRaft metadata (cluster id, node id) that a fresh log dir needs before first boot."""
        # `--cluster-id=ID`, not `-t ID`: a base64 id may start with "-" and would be read as an option.
        command = [
            *self._java(libs), "kafka.tools.StorageTool", "format", f"--cluster-id={new_cluster_id()}", "-c", str(config)
        ]
        if self.secured:
            command += scram_arguments(self.secrets)
        log_start = self._log_size()
        with open(self.log_file, "ab") as log:
            result = subprocess.run(command, check=False, stdout=log, stderr=subprocess.STDOUT)
        if result.returncode != 0:
            raise KafkaLocalError(f"formatting Kafka storage failed{self._cause_since(log_start)}; see {self.log_file}")

    def _launch(self, libs: Path, config: Path) -> None:
        """Spawn the JVM in its own session so it outlives the command that started it.

        Only the maximum heap is set: the JVM caps its initial heap at it, whereas a fixed
        ``-Xms`` would make a small ``heap`` (below that -Xms) refuse to start.
        """
        command = [*self._java(libs, f"-Xmx{self.heap}"), "kafka.Kafka", str(config)]
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._write_state(pid=self._process.pid)

    def _wait_ready(self, timeout: float, log_start: int) -> None:
        """Poll until the broker answers a metadata request; fail early if the JVM died.

        A TCP connect is not enough: the listener accepts connections before the broker
        has joined its own controller quorum, and clients then see errors. A secured broker
        is asked by its ``admin`` user.
        """
        client_options = self.admin_options()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.is_running():
                cause = self._cause_since(log_start)
                raise KafkaLocalError(f"the Kafka broker exited during startup{cause}; see {self.log_file}")
            if _port_open(self.port) and _answers_metadata(self.bootstrap, client_options):
                return
            time.sleep(0.2)
        raise KafkaLocalError(
            f"the Kafka broker did not answer at {self.bootstrap} within {timeout:.0f}s; see {self.log_file}"
        )

    def _log_size(self) -> int:
        """Where the next start's output will begin in the log."""
        return self.log_file.stat().st_size if self.log_file.exists() else 0

    def _cause_since(self, offset: int) -> str:
        """``": <cause>"`` of a failure the log shows after ``offset``, so it is in the one-line error.

        The cause is the first exception's message (the broker's stack traces), else the last
        line (the JVM's own errors, such as a heap too small), else nothing.
        """
        with open(self.log_file, "rb") as log:
            log.seek(offset)
            lines = [line.strip() for line in log.read().decode(errors="replace").splitlines() if line.strip()]
        causes = [line.split("Exception: ", 1)[1] for line in lines if "Exception: " in line]
        cause = (causes[0] if causes else lines[-1] if lines else "").rstrip(".")
        return f": {cause}" if cause else ""

    def _running_pid(self) -> int | None:
        """The recorded pid if that process is still this broker, else None.

        Our own child is asked directly (which also reaps it); a broker started by another
        process is checked through /proc so a recycled pid is never mistaken for it.
        """
        if self._process is not None:
            return self._process.pid if self._process.poll() is None else None
        pid = self._read_state().get("pid")
        return pid if _is_broker_process(pid, self.data_dir) else None

    def _read_state(self) -> dict[str, Any]:
        return detached.read_state(self.data_dir / STATE_FILE)

    def _write_state(self, pid: int | None) -> None:
        if not self.data_dir.exists():
            return
        listeners = [[listener.name, listener.protocol, listener.host] for listener in self.listeners]
        state = {
            "pid": pid, "port": self.port, "controller_port": self.controller_port,
            "other_ports": self.other_ports, "listeners": listeners,
        }
        (self.data_dir / STATE_FILE).write_text(json.dumps(state))


def _is_broker_process(pid: int | None, data_dir: Path) -> bool:
    """Whether ``pid`` is a live Kafka JVM using ``data_dir`` (zombies have an empty cmdline)."""
    if pid is None:
        return False
    if Path("/proc/self").exists():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return False
        return str(data_dir / "server.properties") in cmdline
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _port_open(port: int) -> bool:
    """A cheap, quiet pre-check so aiokafka does not log a connection error every poll."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((HOST, port)) == 0


def _answers_metadata(bootstrap: str, client_options: dict[str, Any]) -> bool:
    """Whether the broker serves a real metadata request (aiokafka's list_topics) to a client with ``client_options``.

    Runs on its own event loop in a worker thread, so it also works when called from
    async code (tests that stop and restart the broker inside a running loop).
    """

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000, **client_options)
        try:
            await admin.start()
            await admin.list_topics()
            return True
        except Exception:  # noqa: BLE001 - any failure just means "not ready yet"
            return False
        finally:
            await admin.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, probe()).result()
