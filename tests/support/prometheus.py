"""A real Prometheus server (Debian's package) on loopback, scraping one worker every second
with the project's alert rules, and its HTTP API's answers."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from streams.devtools.spawn import free_port
from tests.support.tools import installed

ROOT = Path(__file__).parents[2]
RULES = ROOT / "deploy/prometheus/rules/winback.yml"
JOB = "shop-workers"  # not the bundled configs' "winback": the alert rules work under any job name


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read()


class Prometheus:
    """A Prometheus server on loopback scraping one worker (``target``) every second, as job ``JOB``."""

    def __init__(self, workdir: Path, target: str):
        workdir.mkdir()
        self.port = free_port()
        self.log_path = workdir / "prometheus.log"
        config = workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": JOB, "static_configs": [{"targets": [target]}]}],
        }))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([
                installed("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ], stdout=log, stderr=subprocess.STDOUT)

    def series(self, promql: str) -> list[dict]:
        """An instant query's result series (``metric`` labels and ``value``); empty while not listening yet."""
        try:
            body = json.loads(get(f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
        except OSError:
            return []
        return body["data"]["result"]

    def query(self, promql: str) -> dict[str, float]:
        """An instant query's result: the value by the series' one remaining label (or "" for none)."""
        return {next(iter(series["metric"].values()), ""): float(series["value"][1]) for series in self.series(promql)}

    def label_values(self, label: str, selector: str) -> list[str]:
        """What Grafana's ``label_values(selector, label)`` lists."""
        query = urllib.parse.urlencode({"match[]": selector})
        return json.loads(get(f"http://127.0.0.1:{self.port}/api/v1/label/{label}/values?{query}"))["data"]

    def alert_rules(self) -> dict[str, str]:
        body = json.loads(get(f"http://127.0.0.1:{self.port}/api/v1/rules?type=alert"))
        return {rule["name"]: rule["health"] for group in body["data"]["groups"] for rule in group["rules"]}

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)

    def tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
