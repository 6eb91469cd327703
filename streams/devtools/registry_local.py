"""A local schema registry for the demo and the integration tests: Apicurio Registry, whose
Confluent-compatible API (``/apis/ccompat/v7``) the Confluent clients use as they are.

No registry speaking the Confluent API is served ready to run from the package registries this
project reaches: Karapace is not on PyPI, Confluent's own registry is not on Maven Central, and
Apicurio 2.6 and 3.x lack modules or their parent POM there.  Apicurio 2.4.2 is served, so it is
assembled once from Maven Central, like the broker (``streams.devtools.kafka_local``), into a
git-ignored cache: a small Maven project (``registry_build/``) that makes a Quarkus runner jar of
the ``apicurio-registry-app`` artifact, with two stand-ins for pieces Central lacks (the everit
JSON Schema library under its Central name, and an empty config-index deployment jar whose one
bean ``BuildTimeBeans.java`` provides).  Storage is in memory: a restart starts empty.

Its JSON Schema compatibility check knows drafts 4 to 7, not the 2020-12 of ``schemas/``, and no
newer Apicurio does better from Central (README, "Schema registry", says what each version lacked).

Production never uses this module: point ``WINBACK_SCHEMA_REGISTRY_URL`` at a real registry.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from streams.devtools import detached
from streams.devtools.kafka_local import HOST, free_port, port_is_free

APICURIO_VERSION = "2.4.2.Final"
CACHE_ENV = "WINBACK_REGISTRY_HOME"
API_PATH = "/apis/ccompat/v7"
MARKER = ".complete"
STATE_FILE = "registry-state.json"
LOG_FILE = "registry.log"
BUILD_FILES = Path(__file__).parent / "registry_build"
RUNNER = f"registry-local-{APICURIO_VERSION}-runner.jar"


class RegistryLocalError(RuntimeError):
    """The local registry could not be built, started or stopped; the message is one line."""


def default_cache_dir() -> Path:
    """Where the assembled registry is cached: ``$WINBACK_REGISTRY_HOME``, else the per-user cache
    directory.  Not the checkout (as the broker's jars are): building it takes minutes, and a new
    clone on the same machine (CI's) should find it built."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env).expanduser()
    return Path.home() / ".cache" / "winback-streams" / "registry"


def ensure_registry(cache_dir: Path | None = None) -> Path:
    """Return the runnable registry's jar, building it with Maven on first use only.

    A marker written after a successful build makes later calls free; a file lock keeps a test
    run and ``winback registry start`` from building into the same directory at once.
    """
    home = (cache_dir or default_cache_dir()) / APICURIO_VERSION
    if (home / MARKER).exists():
        return home / "app" / RUNNER
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / MARKER).exists():
            _build_with_maven(home)
    return home / "app" / RUNNER


def _build_with_maven(home: Path) -> None:
    """Install the config-index stand-in, build the runner jar, keep it with its libraries in ``app``."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RegistryLocalError("Maven (mvn) is not on PATH; it is needed once to build the registry (apt-get install maven)")
    build = home / "build"
    shutil.rmtree(build, ignore_errors=True)
    sources = build / "src" / "main"
    (sources / "java" / "local" / "winback" / "registry").mkdir(parents=True)
    (sources / "resources" / "META-INF").mkdir(parents=True)
    shutil.copy(BUILD_FILES / "pom.xml", build / "pom.xml")
    shutil.copy(BUILD_FILES / "BuildTimeBeans.java", sources / "java" / "local" / "winback" / "registry")
    shutil.copy(BUILD_FILES / "microprofile-config.properties", sources / "resources" / "META-INF")
    stand_in = build / "config-index-deployment.jar"
    with zipfile.ZipFile(stand_in, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
    _maven(home, mvn, "install:install-file", f"-Dfile={stand_in}", f"-DpomFile={BUILD_FILES / 'config-index-deployment.pom'}")
    _maven(home, mvn, "-f", str(build / "pom.xml"), "package", "-DskipTests")
    app = home / "app"
    shutil.rmtree(app, ignore_errors=True)
    app.mkdir()
    shutil.copy(build / "target" / RUNNER, app / RUNNER)
    shutil.copytree(build / "target" / "lib", app / "lib")
    shutil.rmtree(build)
    (home / MARKER).write_text(f"apicurio-registry {APICURIO_VERSION}\n")


def _maven(home: Path, mvn: str, *arguments: str) -> None:
    result = subprocess.run([mvn, "-q", "-B", *arguments], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        log = home / "maven.log"
        log.write_text(result.stdout + result.stderr)
        raise RegistryLocalError(f"building the schema registry with Maven failed (exit status {result.returncode}); see {log}")


class LocalRegistry:
    """One local registry whose identity is its data directory (pid, port and log live there),
    so ``winback registry stop`` in another process stops what ``start`` launched."""

    def __init__(self, data_dir: Path, port: int | None = None, cache_dir: Path | None = None, heap: str = "256m"):
        self.data_dir = Path(data_dir).resolve()
        self.cache_dir = cache_dir
        self.heap = heap
        state = self._read_state()
        self.port = port or state.get("port") or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """What WINBACK_SCHEMA_REGISTRY_URL is set to: the Confluent-compatible API's base URL."""
        return f"http://{HOST}:{self.port}{API_PATH}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / LOG_FILE

    def start(self, timeout: float = 120) -> str:
        """Start the registry (detached) and return its URL once it answers; idempotent."""
        if self._running_pid() is not None:
            return self.url
        if not port_is_free(self.port):
            raise RegistryLocalError(f"port {self.port} is in use (by another program)")
        runner = ensure_registry(self.cache_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            self._process = subprocess.Popen(
                [
                    "java", f"-Xmx{self.heap}", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    f"-Dquarkus.http.host={HOST}", f"-Dquarkus.http.port={self.port}",
                    # a small pool: the in-memory database has one user, the tests
                    "-Dquarkus.datasource.jdbc.min-size=1", "-Dquarkus.datasource.jdbc.initial-size=1",
                    f"-Dwinback.registry.data-dir={self.data_dir}",
                    "-jar", str(runner),
                ],
                cwd=self.data_dir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self._write_state(self._process.pid)
        try:
            self._wait_ready(timeout)
        except BaseException:  # also Ctrl-C or a test timeout: leave no half-started registry behind
            self.stop()
            raise
        return self.url

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        pid = self._running_pid()
        if pid is not None:
            detached.stop(pid, self.is_running, timeout)
        self._process = None
        self._write_state(None)

    def is_running(self) -> bool:
        return self._running_pid() is not None

    def _wait_ready(self, timeout: float) -> None:
        """Until the API answers a real request (listing subjects), or the process died."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RegistryLocalError(f"the schema registry exited with status {self._process.returncode}; see {self.log_file}")
            try:
                with urllib.request.urlopen(f"{self.url}/subjects", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.25)
        raise RegistryLocalError(f"the schema registry did not answer within {timeout:g}s; see {self.log_file}")

    def _running_pid(self) -> int | None:
        """The recorded pid if that process is still this registry (our own child is asked directly)."""
        if self._process is not None:
            return self._process.pid if self._process.poll() is None else None
        pid = self._read_state().get("pid")
        return pid if _is_registry_process(pid, self.data_dir) else None

    def _read_state(self) -> dict[str, Any]:
        return detached.read_state(self.data_dir / STATE_FILE)

    def _write_state(self, pid: int | None) -> None:
        if self.data_dir.exists():
            (self.data_dir / STATE_FILE).write_text(json.dumps({"pid": pid, "port": self.port}))


def _is_registry_process(pid: int | None, data_dir: Path) -> bool:
    """Whether ``pid`` is a live registry JVM started for ``data_dir`` (its command line says so)."""
    if pid is None:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return False
    return f"-Dwinback.registry.data-dir={data_dir}" in cmdline
