"""docker-compose.yml, the Dockerfile and the Prometheus/Grafana files must speak the worker's language.

There is no Docker engine on the project's machines, so these tests read the files: every
WINBACK_* variable is a real setting with a valid value, and the ports, volumes, broker
address, scrape targets and provisioning paths agree with each other and with the settings.
"""

import json
import shlex
from pathlib import Path

import click
import pytest
import yaml

from streams.cli import main
from streams.devtools.kafka_local import KAFKA_VERSION
from streams.runtime.observability.endpoints import LIVENESS_PATH
from streams.runtime.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).parents[3]
KNOWN = {name for name, _, _ in Settings.documented()}
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
WINBACK = {name: service for name, service in SERVICES.items() if service.get("build")}
WORKERS = {name: service for name, service in WINBACK.items() if service["command"] == ["worker"]}


def settings_of(environment: dict[str, str]) -> Settings:
    """The settings a container with this environment runs with (validated like the worker does)."""
    return Settings(**{name.removeprefix(ENV_PREFIX).lower(): value for name, value in environment.items()})


def dockerfile_env() -> dict[str, str]:
    """The ENV instructions of the Dockerfile (continuation lines joined)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    pairs = [word for line in text.splitlines() if line.startswith("ENV ") for word in shlex.split(line[4:])]
    return dict(pair.split("=", 1) for pair in pairs)


def mounts(service: dict) -> dict[str, str]:
    """Container path -> host path (or volume name) of a service's volumes."""
    return {target: source for source, target, *_ in (volume.split(":") for volume in service.get("volumes", []))}


def test_the_app_services_are_the_workers_topics_and_traffic():
    assert set(WINBACK) == {"topics", "worker-1", "worker-2", "traffic"}
    assert set(WORKERS) == {"worker-1", "worker-2"}


@pytest.mark.parametrize("source", [*WINBACK, "Dockerfile"])
def test_every_winback_variable_is_a_setting_with_a_valid_value(source: str):
    environment = dockerfile_env() if source == "Dockerfile" else WINBACK[source]["environment"]
    used = {name: value for name, value in environment.items() if name.startswith(ENV_PREFIX)}
    assert used.keys() <= KNOWN, f"unknown settings in {source}: {sorted(used.keys() - KNOWN)}"
    settings_of(used)  # raises on an invalid value


def test_the_image_defaults_agree_with_compose():
    image = {name: value for name, value in dockerfile_env().items() if name.startswith(ENV_PREFIX)}
    for service in WINBACK.values():
        assert {name: service["environment"].get(name, value) for name, value in image.items()} == image


def test_containers_serve_metrics_on_every_interface_and_keep_state_in_rocksdb():
    for service in WINBACK.values():
        settings = settings_of(service["environment"])
        assert (settings.web_host, settings.store) == ("0.0.0.0", "rocksdb")


def test_workers_publish_the_web_port_on_the_host_s_loopback_and_keep_state_on_a_volume():
    for name, service in WORKERS.items():
        settings = settings_of(service["environment"])
        assert [port.split(":")[2] for port in service["ports"]] == [str(settings.web_port)], name
        assert mounts(service)[str(settings.data_dir)] == f"{name}-state"
        assert f"{name}-state" in COMPOSE["volumes"]
    assert "mkdir -p /var/lib/winback" in (ROOT / "Dockerfile").read_text()


def test_every_published_port_is_bound_to_the_host_s_loopback():
    published = {name: service["ports"] for name, service in SERVICES.items() if "ports" in service}
    assert {"worker-1", "worker-2", "prometheus", "grafana"} <= published.keys()
    for name, ports in published.items():
        assert all(port.startswith("127.0.0.1:") for port in ports), name


def test_the_image_health_check_asks_the_liveness_endpoint():
    [check] = [line for line in (ROOT / "Dockerfile").read_text().splitlines() if "urlopen(" in line]
    assert f"%s{LIVENESS_PATH}'" in check


def test_winback_containers_write_only_to_their_volume_and_tmp():
    for name in ("topics", "worker-1", "worker-2", "traffic"):
        service = SERVICES[name]
        assert service["read_only"] is True and service["tmpfs"] == ["/tmp:size=64m"], name


def test_prometheus_scrapes_every_worker_on_its_web_port():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    targets = {target for static in job["static_configs"] for target in static["targets"]}
    expected = {f"{name}:{settings_of(service['environment']).web_port}" for name, service in WORKERS.items()}
    assert (job["metrics_path"], targets) == ("/metrics", expected)


def test_prometheus_loads_the_project_rules_from_its_mounted_directory():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert config["rule_files"] == ["rules/*.yml"]  # relative to /etc/prometheus/prometheus.yml
    assert mounts(SERVICES["prometheus"]) == {"/etc/prometheus": "./deploy/prometheus"}
    assert "127.0.0.1:9090:9090" in SERVICES["prometheus"]["ports"]


def test_the_rules_pattern_finds_the_project_rules():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    [pattern] = config["rule_files"]
    assert sorted((ROOT / "deploy/prometheus").glob(pattern)) == [ROOT / "deploy/prometheus/rules/winback.yml"]


def test_the_provisioned_dashboard_defaults_to_the_provisioned_datasource():
    provisioning = ROOT / "deploy/grafana/provisioning"
    [datasource] = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    [dashboard] = [json.loads(path.read_text()) for path in (ROOT / "deploy/grafana/dashboards").glob("*.json")]
    variable = next(v for v in dashboard["templating"]["list"] if v["type"] == "datasource")
    assert (variable["query"], variable["current"]["value"]) == (datasource["type"], datasource["uid"])


def test_grafana_is_provisioned_with_prometheus_and_the_dashboards_directory():
    provisioning = ROOT / "deploy/grafana/provisioning"
    [datasource] = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    [provider] = yaml.safe_load((provisioning / "dashboards/winback.yml").read_text())["providers"]
    assert (datasource["type"], datasource["url"]) == ("prometheus", "http://prometheus:9090")
    assert mounts(SERVICES["grafana"]) == {
        "/etc/grafana/provisioning": "./deploy/grafana/provisioning",
        provider["options"]["path"]: "./deploy/grafana/dashboards",
    }


def test_the_broker_is_the_kafka_service_the_tests_run():
    kafka = SERVICES["kafka"]
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].removeprefix("PLAINTEXT://")
    for service in WINBACK.values():
        assert settings_of(service["environment"]).bootstrap_servers == [advertised]


def test_workers_start_after_the_topics_exist():
    assert SERVICES["topics"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    for name in [*WORKERS, "traffic"]:
        assert SERVICES[name]["depends_on"] == {"topics": {"condition": "service_completed_successfully"}}


@pytest.mark.parametrize("name", sorted(WINBACK))
def test_commands_are_valid_winback_command_lines(name: str):
    """Resolve the subcommands and parse the options the way `winback` would, without running them."""
    command: click.Command = main
    words = list(SERVICES[name]["command"])
    while isinstance(command, click.Group):
        command = command.commands[words.pop(0)]
    command.make_context(name, words)


SECURED = yaml.safe_load((ROOT / "deploy/compose/secured.yml").read_text())  # workers against a secured external cluster
SECRET_DIRECTORY = "/run/secrets/"  # where compose mounts a service's secrets


@pytest.mark.parametrize("name", sorted(SECURED["services"]))
def test_the_secured_example_reads_every_credential_from_a_secret_its_service_mounts(name: str, tmp_path: Path):
    service = SECURED["services"][name]
    environment = service["environment"]
    files = {variable: path for variable, path in environment.items() if path.startswith(SECRET_DIRECTORY)}
    assert environment.keys() <= KNOWN
    assert "WINBACK_SASL_PASSWORD" not in environment  # a password is never a variable's value
    assert {path.removeprefix(SECRET_DIRECTORY) for path in files.values()} == set(service["secrets"])
    assert files.keys() == {"WINBACK_SASL_PASSWORD_FILE", "WINBACK_SSL_CAFILE"}
    for path in files.values():  # valid settings once the secrets are there (here: files in tmp_path)
        (tmp_path / Path(path).name).write_text("not-a-real-password\n")
    local = {variable: str(tmp_path / Path(value).name) if variable in files else value for variable, value in environment.items()}
    assert settings_of(local).security_protocol == "SASL_SSL"


def test_the_secured_example_s_operator_and_workers_log_in_as_different_users():
    services = SECURED["services"]
    operator = services["topics"]
    assert operator["command"] == ["topics", "ensure"] and "kafka-admin-password" in operator["secrets"]
    for name in ("worker-1", "worker-2"):
        worker = services[name]
        assert worker["depends_on"] == {"topics": {"condition": "service_completed_successfully"}}
        assert "kafka-admin-password" not in worker["secrets"]
        assert worker["environment"]["WINBACK_SASL_USERNAME"] != operator["environment"]["WINBACK_SASL_USERNAME"]
        assert all(port.startswith("127.0.0.1:") for port in worker["ports"])
        main.commands[worker["command"][0]].make_context(name, worker["command"][1:])


def test_the_secured_example_s_secret_files_are_never_committed():
    sources = {Path(secret["file"]).parent for secret in SECURED["secrets"].values()}
    assert sources == {Path("secrets")}  # relative to deploy/compose
    assert "deploy/compose/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert (ROOT / "deploy/compose" / SECURED["x-winback"]["build"]).resolve() == ROOT  # the project's Dockerfile
