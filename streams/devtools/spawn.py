"""Running ``winback worker`` as a child process (the demo, integration tests, benchmarks).

They all run the same command production runs, in a subprocess, so crashes, restarts and
kill -9 behave as they would in production.  Consumer-group timeouts are tuned so that a
group forms in seconds instead of Faust's default of half a minute or more.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pydantic import SecretStr

from streams.runtime.settings import Settings

SERVICES_STOPPED = "Gathering service tasks"  # what mode logs once every service of the worker has stopped
FAST_GROUP = {
    "WINBACK_SESSION_TIMEOUT": "6",
    "WINBACK_HEARTBEAT_INTERVAL": "1",
    "WINBACK_REBALANCE_TIMEOUT": "10",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_env(settings: Settings) -> dict[str, str]:
    """``settings`` as the WINBACK_* environment of a worker process (each worker gets its own
    data directory and web port, so those are left out).

    Secrets are passed as they are, not masked; a password read from WINBACK_SASL_PASSWORD_FILE
    is not: the worker reads the file itself, and setting both is refused.
    """
    excluded = {"data_dir", "web_port", "web_host", *(["sasl_password"] if settings.sasl_password_file else [])}
    fields = {name: getattr(settings, name) for name in Settings.model_fields if name not in excluded}
    return {
        f"WINBACK_{name.upper()}": value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        for name, value in fields.items()
        if value is not None
    }


class WorkerProcess:
    """One worker subprocess with its own log file, web port and data directory."""

    def __init__(self, env: dict[str, str], workdir: Path, name: str = "worker"):
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = {
            **os.environ,
            **FAST_GROUP,
            "WINBACK_WEB_PORT": str(free_port()),
            "WINBACK_DATA_DIR": str(workdir / f"{name}-data"),
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.log_offset = 0  # where this run's lines start in the log

    def start(self, ready_timeout: float = 60.0) -> "WorkerProcess":
        self.launch()
        self._wait_for_log("Ready", self.log_offset, ready_timeout)
        return self

    def launch(self) -> "WorkerProcess":
        """Start the process without waiting for it to be ready (a benchmark starts several
        workers together and times them from outside)."""
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def _wait_for_log(self, marker: str, offset: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker in self.log_path.read_text(errors="replace")[offset:]:
                return
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.tail()}")
            time.sleep(0.2)
        raise TimeoutError(f"worker not {marker!r} after {timeout}s:\n{self.tail()}")

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def wind_down(self, timeout: float = 10.0) -> None:
        """SIGTERM, and return once the worker is done with Kafka: its services have stopped, so
        it has committed, left its group and closed its clients.  The process exits a second or
        two later (the event loop's own wind-down); ``stop`` waits for that.  The demo stops the
        broker in the meantime."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            if SERVICES_STOPPED in self.log_path.read_text(errors="replace")[self.log_offset :]:
                return
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL, as a crash, an OOM kill or a lost node: no shutdown code runs, so nothing is
        flushed or committed and the group only notices when the session times out."""
        assert self.process is not None and self.alive(), "kill needs a running worker"
        self.process.kill()
        self.process.wait()

    def rss_bytes(self) -> int:
        """Resident memory of the running worker (Linux /proc), for soak tests."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for pid {self.process.pid}")

    def metric(self, name: str) -> float:
        """The sum of a metric's samples over all its labels, from the worker's /metrics page."""
        url = f"http://127.0.0.1:{self.env['WINBACK_WEB_PORT']}/metrics"
        page = urllib.request.urlopen(url, timeout=10).read().decode()
        return sum(float(value) for value in re.findall(rf"^{re.escape(name)}(?:{{.*}})? (\S+)$", page, re.M))

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
