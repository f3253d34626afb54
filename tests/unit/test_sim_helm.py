"""The Helm CLI test double (tests/sim/bin/helm) records releases the way kubernetes.core.helm reads them."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))

from kubesim.testing import HELM, running  # noqa: E402

CHART = ["upgrade", "-i", "--reset-values", "calico", "tigera-operator", "--repo=https://docs.tigera.io/calico/charts"]


@pytest.fixture
def helm(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("installation:\n  cni: {type: Calico}\n")

    def run(*args, kubeconfig=None, extra_env=None):
        env = {"KUBELAB_HELM_SIM_DIR": str(tmp_path / "state"), "PATH": os.environ.get("PATH", ""), **(extra_env or {})}
        if kubeconfig:
            env["KUBECONFIG"] = str(kubeconfig)
        return subprocess.run([sys.executable, str(HELM), *args], capture_output=True, text=True, env=env, check=False)

    run.values = values
    run.state = tmp_path / "state" / "releases.json"
    return run


def releases(helm):
    return json.loads(helm.state.read_text())


def test_version_matches_what_kubernetes_core_parses(helm):
    out = helm("version").stdout
    assert out.startswith('version.BuildInfo{Version:"v3.')


def test_refuses_a_chart_without_version(helm):
    result = helm(*CHART, f"--values={helm.values}", "-n", "tigera-operator")
    assert result.returncode != 0
    assert "no pinned --version" in result.stderr
    assert not helm.state.exists()
    assert helm("--repo=https://x", "show", "chart", "foo").returncode != 0


def test_refuses_a_values_file_that_is_not_yaml(helm, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    result = helm("--version=v3.30.3", *CHART, f"--values={bad}", "-n", "tigera-operator")
    assert result.returncode != 0 and "failed to parse" in result.stderr
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n")
    assert helm("--version=v3.30.3", *CHART, f"--values={scalar}").returncode != 0


def test_identical_upgrade_keeps_the_revision_and_a_change_bumps_it(helm, tmp_path):
    args = ("--version=v3.30.3", *CHART, f"--values={helm.values}", "--namespace", "tigera-operator")
    assert helm(*args).returncode == 0
    assert releases(helm)["tigera-operator/calico"]["revision"] == 1
    assert helm(*args).returncode == 0
    assert releases(helm)["tigera-operator/calico"]["revision"] == 1
    helm.values.write_text("installation:\n  cni: {type: Calico}\n  calicoNetwork: {bgp: Disabled}\n")
    assert helm(*args).returncode == 0
    assert releases(helm)["tigera-operator/calico"]["revision"] == 2
    assert helm("--version=v3.30.4", *args[1:]).returncode == 0
    assert releases(helm)["tigera-operator/calico"]["revision"] == 3


def test_list_get_values_show_chart_and_uninstall(helm):
    helm("--version=v3.30.3", *CHART, f"--values={helm.values}", "-n", "tigera-operator")
    listed = yaml.safe_load(helm("list", "--output=yaml", "--filter", "calico", "-n", "tigera-operator").stdout)
    assert listed == [{"name": "calico", "namespace": "tigera-operator", "revision": "1", "status": "deployed",
                       "chart": "tigera-operator-v3.30.3", "app_version": "", "updated": listed[0]["updated"]}]
    assert json.loads(helm("list", "-o", "json", "--filter", "nomatch", "-n", "tigera-operator").stdout) == []
    assert yaml.safe_load(helm("get", "values", "--output=yaml", "calico", "-n", "tigera-operator").stdout) == {
        "installation": {"cni": {"type": "Calico"}}}
    chart = yaml.safe_load(helm("--version=v3.30.3", "--repo=https://x", "show", "chart", "tigera-operator").stdout)
    assert chart["name"] == "tigera-operator" and chart["version"] == "v3.30.3"
    assert "diff" in helm("plugin", "list").stdout
    assert helm("diff", "upgrade", "calico", "tigera-operator", "--version=v3.30.3", f"--values={helm.values}",
                "-n", "tigera-operator").stdout == ""
    assert helm("uninstall", "calico", "-n", "tigera-operator").returncode == 0
    assert releases(helm) == {}


def test_install_into_a_missing_namespace_fails_unless_created(helm, tmp_path):
    with running(tmp_path / "sim") as sim:
        args = ("--version=1.0.0", "upgrade", "-i", "app", "repo/app", "-n", "brand-new")
        result = helm(*args, kubeconfig=sim.kubeconfig)
        assert result.returncode != 0 and 'namespaces "brand-new" not found' in result.stderr
        assert helm(*args, "--create-namespace", kubeconfig=sim.kubeconfig).returncode == 0
        assert sim.request("GET", "/api/v1/namespaces/brand-new")[0] == 200


def test_repositories_are_recorded_for_helm_repository(helm):
    assert helm("repo", "list", "--output=yaml").returncode != 0  # real helm: "no repositories to show"
    assert helm("repo", "add", "tigera", "https://docs.tigera.io/calico/charts").returncode == 0
    assert yaml.safe_load(helm("repo", "list", "--output=yaml").stdout) == [
        {"name": "tigera", "url": "https://docs.tigera.io/calico/charts"}]
    assert helm("repo", "add", "tigera", "https://elsewhere.example").returncode != 0
    assert helm("repo", "remove", "tigera").returncode == 0


def test_releases_are_stored_as_helm_secrets_readable_through_the_api(helm, tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "molecule" / "shared" / "cluster"))
    from kubelab_cluster_fixtures import read_helm_release

    with running(tmp_path / "sim") as sim:
        kube = sim.dynamic_client()
        args = ("--version=1.0.0", "upgrade", "-i", "app", "repo/app", "-n", "apps", "--create-namespace",
                f"--values={helm.values}")
        assert helm(*args, kubeconfig=sim.kubeconfig).returncode == 0
        release = read_helm_release(kube, "apps", "app")
        assert (release["version"], release["info"]["status"]) == (1, "deployed")
        assert release["chart"]["metadata"] == {"apiVersion": "v2", "name": "app", "version": "1.0.0"}
        assert release["config"] == {"installation": {"cni": {"type": "Calico"}}}
        assert helm("--version=1.1.0", *args[1:], kubeconfig=sim.kubeconfig).returncode == 0
        release = read_helm_release(kube, "apps", "app")
        assert (release["version"], release["chart"]["metadata"]["version"]) == (2, "1.1.0")
        secrets = sim.request("GET", "/api/v1/namespaces/apps/secrets?labelSelector=owner%3Dhelm")[1]["items"]
        assert sorted((i["metadata"]["name"], i["metadata"]["labels"]["status"], i["type"]) for i in secrets) == [
            ("sh.helm.release.v1.app.v1", "superseded", "helm.sh/release.v1"),
            ("sh.helm.release.v1.app.v2", "deployed", "helm.sh/release.v1")]
        assert helm("uninstall", "app", "-n", "apps", kubeconfig=sim.kubeconfig).returncode == 0
        assert read_helm_release(kube, "apps", "app") is None
        assert sim.request("GET", "/api/v1/namespaces/apps/secrets?labelSelector=owner%3Dhelm")[1]["items"] == []


def test_version_and_plugins_follow_the_environment_as_an_installed_helm(tmp_path):
    """What the toolchain role's verify reads when the e2e test installs the double as the pinned helm."""
    plugin = tmp_path / "plugins" / "helm-diff"
    plugin.mkdir(parents=True)
    (plugin / "plugin.yaml").write_text('name: "diff"\nversion: "3.15.10"\nusage: "Preview helm upgrade changes"\n')
    env = {"PATH": os.environ.get("PATH", ""), "KUBELAB_HELM_SIM_VERSION": "v3.22.0", "HELM_PLUGINS": str(tmp_path / "plugins")}
    run = [sys.executable, str(HELM)]
    assert 'Version:"v3.22.0"' in subprocess.run([*run, "version", "--short"], capture_output=True, text=True, env=env).stdout
    lines = subprocess.run([*run, "plugin", "list"], capture_output=True, text=True, env=env).stdout.splitlines()
    assert lines[1:] == ["diff\t3.15.10\tPreview helm upgrade changes"]


def test_chart_stand_ins_are_created_once_with_their_status(helm, tmp_path):
    """KUBELAB_HELM_SIM_CHART_OBJECTS: what a test says the chart would make appears in the release namespace."""
    stand_ins = tmp_path / "stand-ins"
    stand_ins.mkdir()
    (stand_ins / "tigera-operator.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: op-0, namespace: ${NAMESPACE}}\n"
        "spec: {containers: [{name: op, image: quay.io/tigera/operator:v1}]}\nstatus: {phase: Succeeded}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: op-state, namespace: ${NAMESPACE}}\ndata: {a: b}\n")
    with running(tmp_path / "sim") as sim:
        for _ in range(2):
            res = helm(*CHART, "--version=v3.30.3", f"--values={helm.values}", "-n", "tigera-operator", "--create-namespace",
                       kubeconfig=sim.kubeconfig, extra_env={"KUBELAB_HELM_SIM_CHART_OBJECTS": str(stand_ins)})
            assert res.returncode == 0, res.stderr
        status, pod = sim.request("GET", "/api/v1/namespaces/tigera-operator/pods/op-0")
        assert status == 200 and pod["status"]["phase"] == "Succeeded"
        assert sim.request("GET", "/api/v1/namespaces/tigera-operator/configmaps/op-state")[1]["data"] == {"a": "b"}


@pytest.mark.parametrize("cni_type", ["Calico", ""])
def test_chart_stand_ins_take_the_release_values(helm, tmp_path, cni_type):
    """${VALUES:path} is the release's value there; a document with kubelab-stand-in-if exists only when that value is
    not empty (a chart's `{{- if .Values.x }}`), and one naming a value the release does not set is not made."""
    stand_ins = tmp_path / "stand-ins"
    stand_ins.mkdir()
    (stand_ins / "tigera-operator.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: always, namespace: ${NAMESPACE}}\n"
        "data: {cni: '${VALUES:installation.cni.type}', first: '${VALUES:installation.ipPools.0.cidr}'}\n---\n"
        "kubelab-stand-in-if: installation.cni.type\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: if-cni-type, namespace: ${NAMESPACE}}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unset-value, namespace: ${NAMESPACE}}\n"
        "data: {a: '${VALUES:installation.registry}'}\n")
    helm.values.write_text(yaml.safe_dump({"installation": {"cni": {"type": cni_type},
                                                            "ipPools": [{"cidr": "10.244.0.0/16"}]}}))
    with running(tmp_path / "sim") as sim:
        res = helm(*CHART, "--version=v3.30.3", f"--values={helm.values}", "-n", "tigera-operator", "--create-namespace",
                   kubeconfig=sim.kubeconfig, extra_env={"KUBELAB_HELM_SIM_CHART_OBJECTS": str(stand_ins)})
        assert res.returncode == 0, res.stderr
        made = {cm["metadata"]["name"]: cm.get("data") for cm in
                sim.request("GET", "/api/v1/namespaces/tigera-operator/configmaps")[1]["items"]}
        assert made.pop("always") == {"cni": cni_type, "first": "10.244.0.0/16"}
        assert sorted(made) == (["if-cni-type"] if cni_type else [])
