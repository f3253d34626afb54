"""Provider existing (inventories/existing) against the API double: day 3 plans in namespace tenancy, and
preflight refuses a cluster with fewer than three zones, missing permissions or a foreign Helm release of an
add-on's chart, each naming the fix, before anything is written."""

import json
import os
import subprocess

import pytest
import yaml
from kubesim.testing import helm_wrapper, running

from conftest import load_index, run_playbook

DAY3 = "playbooks/day3.yml"
EXISTING = "inventories/existing"
# Refusal runs stop in preflight; the day's labs and most add-ons do not matter to them.
SMALL_DAY = {"kubelab_addons": ["metrics_server", "ingress"], "kubelab_labs": []}


@pytest.fixture()
def sim(tmp_path):
    with running(tmp_path / "sim") as sim:
        yield sim


def plan(sim, build_dir, **extra):
    extra = dict({"kubelab_students": [{"name": "alice"}, {"name": "bob"}],
                  "cluster_existing_kubeconfig": str(sim.kubeconfig)}, **extra)
    return run_playbook(DAY3, build_dir, "-e", "kubelab_mode=plan", "-e", json.dumps(extra), inventory=EXISTING)


def refusal(result):
    assert result.returncode != 0
    return result.stdout


def test_day3_plans_in_namespace_tenancy_against_a_kubeconfig(sim, tmp_path):
    build = tmp_path / "build"
    result = plan(sim, str(build))
    assert result.returncode == 0, result.stdout[-4000:]
    assert os.listdir(build / "plan") == ["kubelab-shared"]
    index = load_index(str(build), "kubelab-shared")
    paths = {a["path"] for a in index["artifacts"]}
    assert "students/tenancy.yaml" in paths and "cluster_existing/cluster.yaml" in paths
    # The cluster brings its own network: no CNI is rendered, the other add-ons of day 3 are.
    assert not any(p.startswith("cni/") for p in paths)
    assert {"ingress", "prometheus", "vault"} <= {a["role"] for a in index["artifacts"]}
    source = yaml.safe_load((build / "plan" / "kubelab-shared" / "cluster_existing" / "cluster.yaml").read_text())
    assert source["server"] == sim.url.replace("http://", "https://")
    assert source["skipped_addons"] == ["cni"]
    access = yaml.safe_load((build / "plan" / "kubelab-shared" / "students" / "access.yaml").read_text())["students"]
    assert [a["server"] for a in access] == [source["server"]] * 2
    assert not (build / "class").exists(), "no placement file: nothing is placed on a Docker host"


def test_fewer_than_three_zones_are_refused_with_the_label_command(sim, tmp_path):
    merge = "application/merge-patch+json"
    for node in [n["metadata"]["name"] for n in sim.request("GET", "/api/v1/nodes")[1]["items"]]:
        status, _ = sim.request("PATCH", "/api/v1/nodes/" + node,
                                {"metadata": {"labels": {"topology.kubernetes.io/zone": "zone-a"}}}, merge)
        assert status == 200
    out = refusal(plan(sim, str(tmp_path / "build"), **SMALL_DAY))
    assert "span 1 zone(s) (zone-a)" in out
    assert "kubectl label node" in out and "topology.kubernetes.io/zone=zone-a" in out
    assert not (tmp_path / "build").exists()


def test_missing_permissions_are_refused_naming_them(sim, tmp_path):
    deny = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubesim-access-deny", "namespace": "kube-system"},
            "data": {"deny": "create clusterroles.rbac.authorization.k8s.io\ncreate apiservices.apiregistration.k8s.io"}}
    assert sim.request("POST", "/api/v1/namespaces/kube-system/configmaps", deny)[0] == 201
    out = refusal(plan(sim, str(tmp_path / "build"), **SMALL_DAY))
    assert "may not create clusterroles.rbac.authorization.k8s.io, create apiservices.apiregistration.k8s.io" in out
    assert "cluster-admin context" in out
    assert not (tmp_path / "build").exists()


def test_a_foreign_release_of_an_addons_chart_is_refused_and_can_be_skipped(sim, tmp_path):
    helm = helm_wrapper(tmp_path / "helm", tmp_path / "helm-state")
    subprocess.run([str(helm), "upgrade", "-i", "edge-ingress", "ingress-nginx/ingress-nginx", "--version", "4.11.3",
                    "-n", "edge", "--create-namespace"], check=True, capture_output=True,
                   env=dict(os.environ, KUBECONFIG=str(sim.kubeconfig)))
    out = refusal(plan(sim, str(tmp_path / "build"), **SMALL_DAY))
    assert "add-on ingress: the cluster already has Helm release edge/edge-ingress (chart ingress-nginx 4.11.3" in out
    assert "cluster_existing_skip_addons" in out
    assert not (tmp_path / "build").exists()
    # Skipping the add-on is the fix the message names: the plan then goes through without rendering it.
    result = plan(sim, str(tmp_path / "build"), cluster_existing_skip_addons=["cni", "ingress"], **SMALL_DAY)
    assert result.returncode == 0, result.stdout[-3000:]
    assert not any(a["role"] == "ingress" for a in load_index(str(tmp_path / "build"), "kubelab-shared")["artifacts"])
