"""What the labs need from the platform (lab.yml platform:, kubelab.core.lab_platform) and the one list of add-on
namespaces (kubelab_addon_namespaces)."""

import os
import re
import subprocess

import pytest
import yaml

from ansible_collections.kubelab.core.plugins.filter import lab_plan
from ansible_collections.kubelab.core.plugins.filter.lab_platform import lab_platform
from ansible_collections.kubelab.core.plugins.module_utils.errors import LabError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABS_DIR = os.path.join(ROOT, "labs")
ADDON_ROLES = ("cni", "csi", "metrics_server", "ingress", "prometheus", "argocd", "vault", "velero")


def load(*lab_ids):
    return {lab_id: lab_plan.lab_load(LABS_DIR, lab_id) for lab_id in lab_ids}


def test_banking_role_binds_every_students_namespace_in_namespace_tenancy():
    platform = lab_platform(load("w2d3-banking"), "namespace", [{"name": "alice"}, {"name": "bob"}], LABS_DIR)
    roles = platform["vault"]["kubernetes_roles"]
    assert [r["name"] for r in roles] == ["payment-processor"]
    assert roles[0]["bound_service_account_namespaces"] == ["alice-banking-core", "bob-banking-core"]
    assert roles[0]["bound_service_account_names"] == ["payment-processor-sa"]


def test_banking_role_binds_the_lab_namespace_in_cluster_tenancy():
    platform = lab_platform(load("w2d3-banking"), "cluster", ["alice", "bob"], LABS_DIR)
    assert platform["vault"]["kubernetes_roles"][0]["bound_service_account_namespaces"] == ["banking-core"]
    assert platform["argocd"]["git_repos"] == []


def test_a_class_shared_namespace_stays_one():
    labs = load("w2d3-banking")
    labs["w2d3-banking"]["lab"]["platform"]["vault"]["kubernetes_roles"][0]["bound_service_account_namespaces"] = \
        ["banking-core", "banking-audit"]
    roles = lab_platform(labs, "namespace", ["alice", "bob"], LABS_DIR)["vault"]["kubernetes_roles"]
    assert roles[0]["bound_service_account_namespaces"] == ["alice-banking-core", "bob-banking-core", "banking-audit"]


def test_the_banking_lab_pods_match_its_declared_vault_role_policy_and_secret():
    """The Vault agent annotations of payment-processor name the role, service account, namespace and secret path
    the lab declares, so what the vault add-on configures is what the pods ask for."""
    loaded = load("w2d3-banking")
    deploy = next(d for docs in loaded["w2d3-banking"]["manifests"].values() for d in docs if d["kind"] == "Deployment")
    annotations = deploy["spec"]["template"]["metadata"]["annotations"]
    vault = lab_platform(loaded, "cluster", [], LABS_DIR)["vault"]
    role = next(r for r in vault["kubernetes_roles"] if r["name"] == annotations["vault.hashicorp.com/role"])
    assert role["bound_service_account_names"] == [deploy["spec"]["template"]["spec"]["serviceAccountName"]]
    assert role["bound_service_account_namespaces"] == [deploy["metadata"]["namespace"]]
    secret_path = annotations["vault.hashicorp.com/agent-inject-secret-payment-config"]
    policies = {p["name"]: p["rules"] for p in vault["policies"]}
    assert any(f'path "{secret_path}"' in policies[name] and '"read"' in policies[name] for name in role["policies"])
    with open(os.path.join(ROOT, "roles/vault/defaults/main.yml"), encoding="utf-8") as handle:
        mount = yaml.safe_load(handle)["vault_kv_mount"]
    assert any(secret_path == f"{mount}/data/{s['path']}" for s in vault["kv_secrets"])


def test_gitops_lab_declares_its_repository_folder():
    repos = lab_platform(load("w2d4-gitops-backup"), "cluster", [], LABS_DIR)["argocd"]["git_repos"]
    assert repos == [{"name": "platform-manifests", "src": os.path.join(LABS_DIR, "w2d4-gitops-backup", "gitops"),
                      "branch": "main"}]
    assert os.path.isdir(repos[0]["src"])


def test_a_bound_namespace_outside_the_lab_is_refused():
    labs = load("w2d3-banking")
    labs["w2d3-banking"]["lab"]["platform"]["vault"]["kubernetes_roles"][0]["bound_service_account_namespaces"] = ["shop"]
    with pytest.raises(LabError, match="binds namespace 'shop', which lab.yml namespaces does not list"):
        lab_platform(labs, "cluster", [], LABS_DIR)


def test_two_labs_declaring_one_name_differently_are_refused():
    labs = load("w2d3-banking")
    other = {"lab": dict(labs["w2d3-banking"]["lab"], id="w9d9-other"), "manifests": {}}
    other["lab"]["platform"] = {"vault": {"policies": [{"name": "payment-processor", "rules": "path \"x\" {}"}]}}
    labs["w9d9-other"] = other
    with pytest.raises(LabError, match="labs w2d3-banking and w9d9-other both declare name 'payment-processor'"):
        lab_platform(labs, "cluster", [], LABS_DIR)


def test_no_lab_id_namespace_or_path_in_the_add_on_roles():
    """issue 12: course content lives in labs/, never in an add-on role's defaults, vars or tasks."""
    words = set()
    for lab_id in lab_plan.lab_known(LABS_DIR):
        lab = lab_plan.lab_load(LABS_DIR, lab_id)["lab"]
        words.update([lab_id] + lab_plan.lab_owned_namespaces(lab_plan.lab_load(LABS_DIR, lab_id))
                     + [r["name"] for r in (lab.get("platform") or {}).get("vault", {}).get("kubernetes_roles", [])])
    pattern = re.compile("|".join(re.escape(w) for w in sorted(words)))
    found = subprocess.run(["grep", "-rnE", pattern.pattern] + [
        os.path.join(ROOT, "roles", role, part) for role in ADDON_ROLES for part in ("defaults", "vars", "tasks")
        if os.path.isdir(os.path.join(ROOT, "roles", role, part))], capture_output=True, text=True, check=False)
    assert found.stdout == ""


def test_each_add_on_namespace_is_in_the_one_list():
    with open(os.path.join(ROOT, "playbooks/group_vars/all/main.yml"), encoding="utf-8") as handle:
        listed = yaml.safe_load(handle)["kubelab_addon_namespaces"]
    assert sorted(listed) == sorted(ADDON_ROLES)
    for role in ADDON_ROLES:
        with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
            defaults = yaml.safe_load(handle)
        namespace = defaults.get("%s_namespace" % role)
        if namespace is not None:
            assert namespace in listed[role], role
