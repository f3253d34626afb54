"""pytest fixtures shared by the testinfra verifiers of `cluster` Molecule scenarios.

Tests assert outcomes through the Kubernetes API (python client, the scenario's kubeconfig), so one test file
passes on KUBELAB_TARGET=sim and on kind. A test that needs a real cluster (pods running real containers,
PVC Bound, NetworkPolicy enforced) is marked `@pytest.mark.kind_only` and skipped on sim.

A scenario's tests/conftest.py star-imports the fixtures and hooks listed in __all__ (pytest finds fixtures only
by name in a conftest); molecule.yml puts this directory on PYTHONPATH. Helpers such as plan_values are imported
by name where a test needs them.
"""

import base64
import gzip
import json
import os
import subprocess

import pytest
import yaml

TARGET = os.environ.get("KUBELAB_TARGET", "sim") or "sim"
PROJECT = os.environ.get("KUBELAB_PROJECT_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", ".."))
STATE = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "cluster")

__all__ = [
    # pytest hooks: the kind_only marker
    "pytest_configure", "pytest_collection_modifyitems",
    # fixtures
    "kubeconfig", "kube", "plan_dir", "target", "helm_release", "helm", "project_vars", "plan_index",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "kind_only: needs a real cluster; skipped on KUBELAB_TARGET=sim")


def pytest_collection_modifyitems(config, items):
    if TARGET == "kind":
        return
    skip = pytest.mark.skip(reason=f"needs a real cluster (KUBELAB_TARGET={TARGET})")
    for item in items:
        if "kind_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def kubeconfig():
    path = os.environ.get("KUBECONFIG", "")
    if not path or not os.path.exists(path):
        pytest.fail(f"KUBECONFIG ({path!r}) does not point at the scenario's kubeconfig; see molecule.yml verifier env")
    return path


@pytest.fixture(scope="session")
def kube(kubeconfig):
    """A kubernetes DynamicClient on the scenario's cluster."""
    from kubernetes import client, config, dynamic

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
    return dynamic.DynamicClient(client.ApiClient(configuration=cfg))


@pytest.fixture(scope="session")
def plan_dir():
    """The scenario's plan directory (what the role rendered)."""
    path = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "cluster", "plan")
    if not os.path.isdir(path):
        pytest.fail(f"plan directory {path} is missing")
    return path


@pytest.fixture(scope="session")
def target():
    return TARGET


def read_helm_release(kube, namespace, name):
    """The deployed revision of a Helm release as Helm 3 stores it (Secret sh.helm.release.v1.<name>.v<n>),
    decoded: {"name", "namespace", "version" (revision), "info": {"status"}, "chart": {"metadata": {"name",
    "version"}}, "config" (user values)}; None when no revision is deployed. Works on a real cluster and on
    the API double (the Helm double writes the same Secrets)."""
    secrets = kube.resources.get(api_version="v1", kind="Secret").get(
        namespace=namespace, label_selector=f"owner=helm,name={name},status=deployed").to_dict()["items"]
    if not secrets:
        return None
    latest = max(secrets, key=lambda s: int(s["metadata"]["labels"]["version"]))
    encoded = base64.b64decode(latest["data"]["release"])
    return json.loads(gzip.decompress(base64.b64decode(encoded)))


@pytest.fixture(scope="session")
def helm_release(kube):
    """helm_release(namespace, name) -> the decoded deployed release (see read_helm_release) or None."""
    return lambda namespace, name: read_helm_release(kube, namespace, name)


@pytest.fixture(scope="session")
def helm(kubeconfig):
    """Run Helm (sim: the scenario's Helm double; kind: the project's pinned helm) and parse its JSON output."""
    binary = os.path.join(STATE, "bin", "helm") if TARGET == "sim" else os.path.join(PROJECT, "build", "bin", "helm")

    def run(*args):
        result = subprocess.run([binary, *args, "-o", "json"], capture_output=True, text=True, check=False,
                                env=dict(os.environ, KUBECONFIG=kubeconfig))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run


@pytest.fixture(scope="session")
def project_vars():
    """The project-wide defaults the converge planned its cluster from."""
    with open(os.path.join(PROJECT, "playbooks", "group_vars", "all", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def plan_index(plan_dir):
    with open(os.path.join(plan_dir, "index.json"), encoding="utf-8") as handle:
        return json.load(handle)


def plan_values(plan_dir, path):
    """A rendered YAML artifact of the scenario's plan, parsed."""
    with open(os.path.join(plan_dir, path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)
