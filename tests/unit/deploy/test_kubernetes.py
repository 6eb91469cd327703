"""The Kubernetes manifests: rendered by the real kustomize, valid, and consistent with the settings.

`kubectl kustomize` renders the base and the overlays, offline (tests/support/manifests.py).
Every rendered resource is validated against the Kubernetes JSON schemas that
kubernetes-validate bundles, except the Prometheus operator's ServiceMonitor and
PrometheusRule: those are custom resources it has no schema for, so their structure is
asserted here explicitly, and any other resource without a schema fails the test.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import kubernetes_validate
import pytest

from streams.runtime.observability import metrics
from streams.runtime.observability.endpoints import LIVENESS_PATH, METRICS_PATH, READINESS_PATH
from streams.cli import main
from streams.policy.loading import load_policy, parse_policy
from streams.runtime.settings import Settings
from tests.support.manifests import BASE, EXAMPLE_OVERLAY, ROOT, SASL_SSL_OVERLAY, render

KUSTOMIZATIONS = [BASE, EXAMPLE_OVERLAY]
KUBERNETES_VERSIONS = ["1.25", "1.37"]  # the oldest and newest kubernetes-validate bundles
OPERATOR_KINDS = {"ServiceMonitor", "PrometheusRule"}  # monitoring.coreos.com/v1, checked below
KNOWN_SETTINGS = {name for name, _, _ in Settings.documented()}
COMPOSE_JOB = "winback"  # deploy/prometheus/prometheus.yml's job_name: one set of rules fits both


@pytest.fixture(params=KUSTOMIZATIONS)
def resources(request: pytest.FixtureRequest) -> tuple[dict, ...]:
    return render(request.param)


def only(resources: tuple[dict, ...], kind: str, name: str | None = None) -> dict:
    [resource] = [r for r in resources if r["kind"] == kind and name in (None, r["metadata"]["name"])]
    return resource


def config_map(resources: tuple[dict, ...], reference: str) -> dict[str, str]:
    """The data of a ConfigMap by the (hash-suffixed) name a pod refers to it by."""
    return only(resources, "ConfigMap", reference)["data"]


def workers(resources: tuple[dict, ...]) -> tuple[dict, dict]:
    """The worker StatefulSet and its pod spec."""
    statefulset = only(resources, "StatefulSet", "winback-worker")
    return statefulset, statefulset["spec"]["template"]["spec"]


def container(pod: dict, name: str, field: str = "containers") -> dict:
    [found] = [c for c in pod[field] if c["name"] == name]
    return found


def worker_settings(resources: tuple[dict, ...], pod_container: dict) -> dict[str, str]:
    [source] = pod_container["envFrom"]
    return config_map(resources, source["configMapRef"]["name"])


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


def test_kustomize_renders_the_expected_resources(resources: tuple[dict, ...]):
    kinds = sorted(resource["kind"] for resource in resources if resource["kind"] != "Namespace")
    assert kinds == sorted(
        ["ConfigMap", "ConfigMap", "Service", "Service", "StatefulSet", "PodDisruptionBudget", "NetworkPolicy",
         *OPERATOR_KINDS]
    )


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_resources_match_the_kubernetes_schemas(resources: tuple[dict, ...], version: str):
    unvalidated = set()
    for resource in resources:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            unvalidated.add(resource["kind"])
    assert unvalidated == OPERATOR_KINDS  # custom resources, checked by the tests below


def test_the_service_monitor_scrapes_the_metrics_port_of_every_worker(resources: tuple[dict, ...]):
    monitor = only(resources, "ServiceMonitor")
    service = only(resources, "Service", "winback-metrics")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert selects(selector, service["metadata"]["labels"])
    assert not selects(selector, only(resources, "Service", "winback-workers")["metadata"]["labels"])  # once only
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == COMPOSE_JOB
    port_names = {port["name"] for port in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"
        assert re.fullmatch(r"\d+[smh]", endpoint["interval"])


def test_the_prometheus_rule_is_well_formed(resources: tuple[dict, ...]):
    rule = only(resources, "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    groups = rule["spec"]["groups"]
    assert len({group["name"] for group in groups}) == len(groups) > 0
    for group in groups:
        assert group["rules"], group["name"]
        for alert in group["rules"]:
            assert set(alert) == {"alert", "expr", "for", "labels", "annotations"}, alert
            assert re.fullmatch(r"[A-Z][A-Za-z]+", alert["alert"])
            assert re.fullmatch(r"\d+[smh]", alert["for"])
            assert alert["labels"]["severity"] in {"critical", "warning", "info"}
            assert {"summary", "description"} <= alert["annotations"].keys()


def test_the_alerts_watch_workers_and_dead_letters_with_metrics_the_workers_expose(resources: tuple[dict, ...]):
    groups = only(resources, "PrometheusRule")["spec"]["groups"]
    alerts = {alert["alert"]: alert["expr"] for group in groups for alert in group["rules"]}
    assert alerts["WinbackWorkerDown"].startswith("up == 0 and on (job, instance) ")
    assert "rate(winback_dead_letters_total" in alerts["WinbackDeadLettersSpiking"]
    used = {name for expr in alerts.values() for name in re.findall(r"\bwinback_\w+", expr)}
    assert used <= exposed_metrics()


def exposed_metrics() -> set[str]:
    """Every series name the worker's /metrics can carry (a counter `x` is exposed as `x_total`)."""
    return {sample for family in metrics.REGISTRY.collect() for sample in _series(family.name, family.type)}


def _series(name: str, kind: str) -> list[str]:
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(kind, [""])
    return [name + suffix for suffix in suffixes]


def test_workers_are_configured_by_real_settings(resources: tuple[dict, ...]):
    _, pod = workers(resources)
    environment = worker_settings(resources, container(pod, "worker"))
    assert environment.keys() <= KNOWN_SETTINGS
    settings = Settings(**{name.removeprefix("WINBACK_").lower(): value for name, value in environment.items()})
    assert (settings.web_host, settings.store) == ("0.0.0.0", "rocksdb")


def test_state_lives_on_the_claimed_volume_at_the_data_dir(resources: tuple[dict, ...]):
    statefulset, pod = workers(resources)
    worker = container(pod, "worker")
    mounts = {mount["name"]: mount["mountPath"] for mount in worker["volumeMounts"]}
    [claim] = statefulset["spec"]["volumeClaimTemplates"]
    assert mounts[claim["metadata"]["name"]] == worker_settings(resources, worker)["WINBACK_DATA_DIR"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_the_policy_is_mounted_from_its_config_map_where_the_settings_point(resources: tuple[dict, ...]):
    _, pod = workers(resources)
    worker = container(pod, "worker")
    policy = PurePosixPath(worker_settings(resources, worker)["WINBACK_POLICY"])
    [mount] = [mount for mount in worker["volumeMounts"] if mount["mountPath"] == str(policy.parent)]
    [volume] = [volume for volume in pod["volumes"] if volume["name"] == mount["name"]]
    text = config_map(resources, volume["configMap"]["name"])[policy.name]
    parse_policy(text, source=f"{volume['configMap']['name']}/{policy.name}")  # raises with every problem


def test_the_base_policy_is_the_bundled_example():
    example = load_policy(ROOT / "streams/resources/policy.example.yaml")
    assert load_policy(ROOT / "deploy/kubernetes/base/policy.yaml") == example


def test_probes_and_the_metrics_port_are_the_web_port(resources: tuple[dict, ...]):
    _, pod = workers(resources)
    worker = container(pod, "worker")
    [port] = worker["ports"]
    assert port == {"name": "metrics", "containerPort": int(worker_settings(resources, worker)["WINBACK_WEB_PORT"])}
    probes = {probe: worker[probe]["httpGet"] for probe in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes == {
        "startupProbe": {"path": LIVENESS_PATH, "port": "metrics"},
        "readinessProbe": {"path": READINESS_PATH, "port": "metrics"},  # tables recovered, not just the process up
        "livenessProbe": {"path": LIVENESS_PATH, "port": "metrics"},  # answers while tables recover: no restart loop
    }
    assert only(resources, "ServiceMonitor")["spec"]["endpoints"][0]["path"] == METRICS_PATH


def test_no_service_links_in_the_workers_environment(resources: tuple[dict, ...]):
    """Kubernetes would inject <SERVICE>_PORT=tcp://... variables for every Service of the namespace."""
    _, pod = workers(resources)
    assert pod["enableServiceLinks"] is False


def test_metrics_of_a_recovering_worker_are_still_scraped(resources: tuple[dict, ...]):
    assert only(resources, "Service", "winback-metrics")["spec"]["publishNotReadyAddresses"] is True


def test_no_more_workers_than_partitions(resources: tuple[dict, ...]):
    statefulset, pod = workers(resources)
    partitions = int(worker_settings(resources, container(pod, "worker"))["WINBACK_PARTITIONS"])
    assert 1 < statefulset["spec"]["replicas"] <= partitions


def test_topics_are_ensured_before_a_worker_starts_with_the_same_settings(resources: tuple[dict, ...]):
    _, pod = workers(resources)
    init = container(pod, "topics", "initContainers")
    assert init["args"] == ["topics", "ensure"]
    assert "ensure" in main.commands["topics"].commands
    assert (init["envFrom"], init["image"]) == (container(pod, "worker")["envFrom"], container(pod, "worker")["image"])


def test_every_container_has_requests_and_limits(resources: tuple[dict, ...]):
    _, pod = workers(resources)
    for each in pod["containers"] + pod["initContainers"]:
        for bound in ("requests", "limits"):
            assert each["resources"][bound].keys() == {"cpu", "memory", "ephemeral-storage"}, (each["name"], bound)


def test_services_and_the_disruption_budget_select_the_workers(resources: tuple[dict, ...]):
    statefulset, pod = workers(resources)
    labels = statefulset["spec"]["template"]["metadata"]["labels"]
    headless = only(resources, "Service", statefulset["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    for service in (headless, only(resources, "Service", "winback-metrics")):
        assert selects(service["spec"]["selector"], labels)
        assert service["spec"]["ports"] == [{"name": "metrics", "port": 6066, "targetPort": "metrics"}]
    budget = only(resources, "PodDisruptionBudget")
    assert selects(budget["spec"]["selector"]["matchLabels"], labels)
    assert budget["spec"]["maxUnavailable"] == 1


def test_the_example_overlay_sets_image_namespace_and_broker():
    resources = render("deploy/kubernetes/overlays/example")
    worker = container(workers(resources)[1], "worker")
    namespaces = {resource["metadata"].get("namespace") for resource in resources if resource["kind"] != "Namespace"}
    assert namespaces == {"winback"}
    assert worker["image"] == "registry.example.com/shop/winback-streams:0.1.0"
    assert worker_settings(resources, worker)["WINBACK_BROKER"].startswith("kafka-0.kafka.kafka.svc:9092,")




def secret_file_mounts(pod: dict, pod_container: dict) -> dict[str, tuple[str, str]]:
    """Mounted file path -> (Secret name, key) of a container's Secret volumes."""
    volumes = {volume["name"]: volume["secret"] for volume in pod["volumes"] if "secret" in volume}
    return {
        f"{mount['mountPath']}/{item['path']}": (volumes[mount["name"]]["secretName"], item["key"])
        for mount in pod_container["volumeMounts"]
        if mount["name"] in volumes
        for item in volumes[mount["name"]]["items"]
    }


def topics_job(resources: tuple[dict, ...]) -> tuple[dict, dict]:
    """The Job that ensures the topics, and its one container."""
    job = only(resources, "Job", "winback-topics")
    return job, container(job["spec"]["template"]["spec"], "topics")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_sasl_ssl_overlay_matches_the_kubernetes_schemas(version: str):
    resources = render(SASL_SSL_OVERLAY)
    kinds = sorted(resource["kind"] for resource in resources if resource["kind"] != "Namespace")
    assert kinds == sorted(["ConfigMap", "ConfigMap", "Service", "Service", "StatefulSet", "PodDisruptionBudget", "Job",
                            "NetworkPolicy", *OPERATOR_KINDS])
    for resource in resources:
        if resource["kind"] not in OPERATOR_KINDS:
            kubernetes_validate.validate(resource, version, strict=True)


def test_with_sasl_ssl_workers_read_their_password_and_ca_from_their_own_mounted_secret(tmp_path: Path):
    resources = render(SASL_SSL_OVERLAY)
    _, pod = workers(resources)
    worker = container(pod, "worker")
    environment = worker_settings(resources, worker)
    files = secret_file_mounts(pod, worker)

    assert not any("PASSWORD" in name and not name.endswith("_FILE") for name in environment)  # never a value
    assert files[environment["WINBACK_SASL_PASSWORD_FILE"]] == ("winback-kafka-worker", "password")
    assert files[environment["WINBACK_SSL_CAFILE"]] == ("winback-kafka-worker", "ca.crt")
    assert all(mount.get("readOnly") for mount in worker["volumeMounts"] if mount["mountPath"] == "/etc/winback-kafka")
    assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
    assert {volume["secret"]["defaultMode"] for volume in pod["volumes"] if "secret" in volume} == {0o440}
    # The settings are valid once the Secret's files are where they point (here: in tmp_path).
    local = {name: str(tmp_path / Path(value).name) if value in files else value for name, value in environment.items()}
    (tmp_path / "password").write_text("not-a-real-password\n")
    (tmp_path / "ca.crt").write_text("")
    settings = Settings(**{name.removeprefix("WINBACK_").lower(): value for name, value in local.items()})
    assert (settings.security_protocol, settings.sasl_mechanism, settings.sasl_username) == ("SASL_SSL", "SCRAM-SHA-512", "winback")


def test_with_sasl_ssl_topics_are_ensured_by_a_job_as_the_operator_not_by_the_workers():
    resources = render(SASL_SSL_OVERLAY)
    _, pod = workers(resources)
    worker = container(pod, "worker")
    job, topics = topics_job(resources)
    job_pod = job["spec"]["template"]["spec"]

    assert not pod.get("initContainers")  # the workers' identity may not create topics
    assert topics["args"] == ["topics", "ensure"]
    assert (topics["envFrom"], topics["image"]) == (worker["envFrom"], worker["image"])
    [username] = topics["env"]
    assert username == {"name": "WINBACK_SASL_USERNAME", "valueFrom": {"secretKeyRef": {"name": "winback-kafka-admin", "key": "username"}}}
    files = secret_file_mounts(job_pod, topics)
    environment = worker_settings(resources, worker)
    assert files[environment["WINBACK_SASL_PASSWORD_FILE"]] == ("winback-kafka-admin", "password")
    assert files[environment["WINBACK_SSL_CAFILE"]] == ("winback-kafka-admin", "ca.crt")
    assert job_pod["enableServiceLinks"] is False and job_pod["securityContext"]["runAsNonRoot"] is True
    assert topics["resources"]["requests"].keys() == topics["resources"]["limits"].keys() == {"cpu", "memory", "ephemeral-storage"}
    assert job["metadata"]["namespace"] == "winback"


def test_workers_write_only_to_their_volumes_and_carry_no_api_token(resources: tuple[dict, ...]):
    statefulset, pod = workers(resources)
    assert pod["automountServiceAccountToken"] is False
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["tmp"]["emptyDir"]["sizeLimit"]
    for each in pod["containers"] + pod["initContainers"]:
        assert each["securityContext"]["readOnlyRootFilesystem"] is True, each["name"]
        mounts = {mount["mountPath"]: mount["name"] for mount in each["volumeMounts"]}
        assert mounts["/tmp"] == "tmp", each["name"]
    worker = container(pod, "worker")
    data_dir = worker_settings(resources, worker)["WINBACK_DATA_DIR"]
    assert {mount["mountPath"]: mount["name"] for mount in worker["volumeMounts"]}[data_dir] == "state"


def test_the_network_policy_lets_in_only_prometheus_and_out_only_dns_kafka_and_the_registry(resources: tuple[dict, ...]):
    statefulset, pod = workers(resources)
    policy = only(resources, "NetworkPolicy", "winback")["spec"]
    assert selects(policy["podSelector"]["matchLabels"], statefulset["spec"]["template"]["metadata"]["labels"])
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    [scrape] = policy["ingress"]
    assert scrape["ports"] == [{"protocol": "TCP", "port": 6066}]
    assert [peer["podSelector"]["matchLabels"] for peer in scrape["from"]] == [{"app.kubernetes.io/name": "prometheus"}]
    dns, kafka = policy["egress"]
    assert {(port["protocol"], port["port"]) for port in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    broker_ports = {int(address.rsplit(":", 1)[1]) for address in worker_settings(resources, container(pod, "worker"))["WINBACK_BROKER"].split(",")}
    assert broker_ports <= {port["port"] for port in kafka["ports"]} <= broker_ports | {8081}


def test_the_sasl_ssl_overlay_lets_the_workers_out_to_its_brokers_port():
    [policy] = [resource["spec"] for resource in render(SASL_SSL_OVERLAY) if resource["kind"] == "NetworkPolicy"]
    assert {port["port"] for port in policy["egress"][1]["ports"]} == {9096, 8081}
    assert "to" not in policy["egress"][1]  # brokers outside the cluster: ports only
