"""The API double answers `kubectl auth can-i --as=USER` from the stored RBAC objects (kubesim/rbac.py), with the
real kubectl sending the impersonated review."""

import shutil
import subprocess

import pytest
from kubesim.testing import running

SA = "system:serviceaccount:kim:kim"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running(tmp_path_factory.mktemp("rbac") / "sim", "--nodes", "1") as sim:
        for ns in ("kim", "lee"):
            sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
        sim.request("POST", f"{RBAC}/namespaces/kim/roles", {"metadata": {"name": "student"}, "rules": [
            {"apiGroups": ["", "apps"], "resources": ["pods", "pods/log", "deployments"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["settings"], "verbs": ["*"]}]})
        sim.request("POST", f"{RBAC}/namespaces/kim/rolebindings", {
            "metadata": {"name": "student"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                         "name": "student"},
            "subjects": [{"kind": "ServiceAccount", "name": "kim", "namespace": "kim"}]})
        sim.request("POST", f"{RBAC}/clusterroles", {"metadata": {"name": "node-reader"}, "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]}]})
        sim.request("POST", f"{RBAC}/clusterrolebindings", {
            "metadata": {"name": "sa-nodes"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                          "name": "node-reader"},
            "subjects": [{"kind": "Group", "name": "system:serviceaccounts:kim"}]})
        yield sim


def can_i(sim, *args):
    kubectl = shutil.which("kubectl") or "/usr/bin/kubectl"
    res = subprocess.run([kubectl, f"--kubeconfig={sim.kubeconfig}", "auth", "can-i", *args], capture_output=True,
                         text=True, timeout=30, check=False)
    return res.stdout.strip(), res.returncode


@pytest.mark.parametrize("args, answer", [
    (["get", "pods", "-n", "kim"], "yes"),
    (["get", "pods/log", "-n", "kim"], "yes"),
    (["list", "deployments.apps", "-n", "kim"], "yes"),
    (["delete", "pods", "-n", "kim"], "no"),           # verb not in the rule
    (["get", "pods", "-n", "lee"], "no"),              # a RoleBinding grants only in its namespace
    (["get", "secrets", "-n", "kim"], "no"),           # resource not in the rule
    (["delete", "configmaps/settings", "-n", "kim"], "yes"),
    (["delete", "configmaps/other", "-n", "kim"], "no"),  # resourceNames
    (["list", "nodes"], "yes"),                        # the ServiceAccount's namespace group, cluster-wide
    (["create", "clusterrolebindings"], "no"),
])
def test_an_impersonated_service_account_gets_the_rbac_answer(sim, args, answer):
    assert can_i(sim, *args, f"--as={SA}") == (answer, 0 if answer == "yes" else 1)


def test_other_users_are_bound_by_nothing_and_the_caller_itself_may_do_everything(sim):
    assert can_i(sim, "get", "pods", "-n", "kim", "--as=system:serviceaccount:lee:lee") == ("no", 1)
    assert can_i(sim, "list", "nodes", "--as=jane") == ("no", 1)
    assert can_i(sim, "create", "clusterrolebindings") == ("yes", 0)
