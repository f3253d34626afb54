"""Provider existing: the preflight rules (pure), the kubeconfig reduced to a context, Helm release Secrets
decoded, and the add-on release table matching what the add-on roles really install."""

import base64
import gzip
import json
import os

import pytest
import yaml

from ansible_collections.kubelab.core.plugins.module_utils.existing_cluster import (
    api_endpoint,
    kubeconfig_context,
    latest_releases,
    problems,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULTS = yaml.safe_load(open(os.path.join(ROOT, "roles", "cluster_existing", "defaults", "main.yml")))
GOOD = {"version": "v1.34.2", "access": [{"verb": "create", "resource": "namespaces", "group": "", "allowed": True}],
        "nodes": [{"name": "n%d" % i, "zone": "eu-%s" % z, "ready": True} for i, z in enumerate("abc")],
        "default_storage_classes": ["standard"], "helm_releases": []}
SETTINGS = {"min_version": "1.33", "max_version": "1.35", "zones_needed": 3, "addons": ["cni", "ingress"],
            "addon_releases": DEFAULTS["cluster_existing_addon_releases"], "skip_addons": ["cni"],
            "kubeconfig": "/k", "context": "school"}


def release(name, namespace, chart):
    return {"name": name, "namespace": namespace, "chart": chart, "chart_version": "1.0.0", "status": "deployed",
            "revision": 1}


def test_a_good_cluster_has_no_problem():
    assert problems(GOOD, SETTINGS) == []


@pytest.mark.parametrize("change,fragment", [
    ({"version": "v1.29.4"}, "runs Kubernetes v1.29.4; kubelab supports 1.33 to 1.35"),
    ({"access": [{"verb": "create", "resource": "clusterroles", "group": "rbac.authorization.k8s.io", "allowed": False}]},
     "may not create clusterroles.rbac.authorization.k8s.io"),
    ({"nodes": [{"name": "n1", "zone": "eu-a"}, {"name": "n2", "zone": ""}]},
     "span 1 zone(s) (eu-a); the labs spread over 3. Label the nodes"),
    ({"default_storage_classes": []}, "no default StorageClass"),
    ({"helm_releases": [release("edge", "edge", "ingress-nginx")]}, "add-on ingress: the cluster already has Helm release edge/edge"),
    ({"helm_releases": [release("ingress-nginx", "ingress-nginx", "traefik")]}, "chart traefik"),
])
def test_each_problem_names_its_fix(change, fragment):
    found = problems(dict(GOOD, **change), SETTINGS)
    assert len(found) == 1 and fragment in found[0], found


def test_kubelabs_own_release_and_skipped_addons_are_no_conflict():
    facts = dict(GOOD, helm_releases=[release("ingress-nginx", "ingress-nginx", "ingress-nginx"),
                                      release("cilium", "kube-system", "cilium")])
    assert problems(facts, SETTINGS) == []
    assert problems(GOOD, dict(SETTINGS, addons=["csi"])) == []  # csi brings storage


def test_the_release_table_matches_the_addon_roles():
    for addon, releases in DEFAULTS["cluster_existing_addon_releases"].items():
        text = open(os.path.join(ROOT, "roles", addon, "defaults", "main.yml")).read()
        text += open(os.path.join(ROOT, "roles", addon, "tasks", "render.yml")).read()
        for entry in releases:
            for value in entry.values():
                assert value in text, "%s: %s not in roles/%s (defaults or render)" % (addon, value, addon)


def test_kubeconfig_reduced_to_one_context_and_its_endpoint():
    config = {"current-context": "a", "contexts": [{"name": "a", "context": {"cluster": "ca", "user": "ua"}},
                                                   {"name": "b", "context": {"cluster": "cb", "user": "ub"}}],
              "clusters": [{"name": "ca", "cluster": {"server": "https://10.0.0.1:6443"}},
                           {"name": "cb", "cluster": {"server": "https://api.school.example"}}],
              "users": [{"name": "ua", "user": {"token": "x"}}, {"name": "ub", "user": {"token": "y"}}]}
    reduced = kubeconfig_context(config, "b")
    assert reduced["current-context"] == "b" and [u["name"] for u in reduced["users"]] == ["ub"]
    assert api_endpoint(config) == ("10.0.0.1", 6443)
    assert api_endpoint(config, "b") == ("api.school.example", 443)
    with pytest.raises(ValueError, match="cluster_existing_context: 'c' is not a context"):
        kubeconfig_context(config, "c")


def test_latest_release_revision_is_decoded_from_helms_secret():
    def secret(revision, status, chart):
        payload = base64.b64encode(gzip.compress(json.dumps({"chart": {"metadata": {"name": chart, "version": "2"}}}).encode()))
        return {"metadata": {"namespace": "edge", "labels": {"name": "r", "version": str(revision), "status": status}},
                "data": {"release": base64.b64encode(payload).decode()}}
    (found,) = latest_releases([secret(1, "superseded", "old"), secret(2, "deployed", "ingress-nginx")])
    assert (found["chart"], found["revision"], found["status"]) == ("ingress-nginx", 2, "deployed")


def test_the_existing_provider_plans_one_shared_cluster_only():
    from ansible_collections.kubelab.core.plugins.module_utils.class_plan import PlanError, class_plan

    (cluster,) = class_plan([{"name": "kim"}, {"name": "lee"}], provider="existing", tenancy="namespace")
    assert (cluster["name"], cluster["students"]) == ("kubelab-shared", ["kim", "lee"])
    with pytest.raises(PlanError, match="kubelab_tenancy: 'cluster' with kubelab_provider existing"):
        class_plan([{"name": "kim"}], provider="existing", tenancy="cluster")
