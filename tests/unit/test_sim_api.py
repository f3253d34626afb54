"""The Kubernetes API test double (tests/sim/kubesim) behaves like the API where kubelab's roles depend on it."""

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))

from kubesim.testing import running  # noqa: E402

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList"},
        "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1", "namespace": "default"},
          "spec": {"size": 1}}
APPLY = "application/apply-patch+yaml"


def deployment(name="web", replicas=2, image="nginx:1.27", labels=None):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": name}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": image}]}}},
    }


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running(tmp_path_factory.mktemp("kubesim")) as sim:
        yield sim


def ssa(sim, path, body, manager="kubelab"):
    return sim.request("PATCH", f"{path}?fieldManager={manager}&force=true", body, APPLY)


# ---------------------------------------------------------------------------------------------- discovery
def test_core_discovery_has_group_version_v1(sim):
    status, body = sim.request("GET", "/api/v1")
    assert status == 200
    assert body["kind"] == "APIResourceList" and body["groupVersion"] == "v1"
    names = {r["name"]: r for r in body["resources"]}
    assert names["namespaces"]["namespaced"] is False and names["configmaps"]["namespaced"] is True
    assert sim.request("GET", "/api")[1]["versions"] == ["v1"]


def test_group_discovery_lists_apps_and_its_resources(sim):
    groups = {g["name"]: g for g in sim.request("GET", "/apis")[1]["groups"]}
    assert groups["apps"]["preferredVersion"]["groupVersion"] == "apps/v1"
    body = sim.request("GET", "/apis/apps/v1")[1]
    kinds = {r["name"]: r["kind"] for r in body["resources"]}
    assert kinds["deployments"] == "Deployment" and kinds["deployments/status"] == "Deployment"
    assert sim.request("GET", "/apis/nosuch.example.com/v1")[0] == 404


def test_version_and_openapi_documents(sim):
    assert sim.request("GET", "/version")[1]["gitVersion"].startswith("v1.")
    assert sim.request("GET", "/openapi/v2")[1]["swagger"] == "2.0"
    status, raw = sim.request("GET", "/openapi/v2", accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert status == 200 and raw.startswith(b"\x0a\x032.0")


# ---------------------------------------------------------------------------------------------- namespaces
def test_create_in_missing_namespace_is_404_with_status_body(sim):
    status, body = sim.request("POST", "/api/v1/namespaces/nope/configmaps",
                               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert status == 404
    assert body["kind"] == "Status" and body["reason"] == "NotFound"
    assert body["message"] == 'namespaces "nope" not found'
    status, _ = ssa(sim, "/api/v1/namespaces/nope/configmaps/c", {"apiVersion": "v1", "kind": "ConfigMap",
                                                                  "metadata": {"name": "c"}})
    assert status == 404


def test_deleting_a_namespace_deletes_its_objects(sim):
    assert ssa(sim, "/api/v1/namespaces/gone", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})[0] == 201
    assert sim.request("GET", "/api/v1/namespaces/gone")[1]["status"]["phase"] == "Active"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    assert ssa(sim, "/api/v1/namespaces/gone/configmaps/c", cm)[0] == 201
    assert sim.request("DELETE", "/api/v1/namespaces/gone")[0] == 200
    assert sim.request("GET", "/api/v1/namespaces/gone/configmaps/c")[0] == 404


# ---------------------------------------------------------------------------------------------- CRDs
def test_custom_resource_fails_before_its_crd_and_works_after(sim):
    from kubernetes.dynamic.exceptions import ResourceNotFoundError

    client = sim.dynamic_client()
    assert ssa(sim, "/apis/example.com/v1/namespaces/default/widgets/w1", WIDGET)[0] == 404
    with pytest.raises(ResourceNotFoundError):
        client.resources.get(api_version="example.com/v1", kind="Widget")

    status, crd = ssa(sim, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com", CRD)
    assert status == 201
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]}["Established"] == "True"
    body = sim.request("GET", "/apis/example.com/v1")[1]
    assert {r["name"]: r["kind"] for r in body["resources"]} == {"widgets": "Widget", "widgets/status": "Widget"}

    client.resources.invalidate_cache()
    widgets = client.resources.get(api_version="example.com/v1", kind="Widget")
    created = widgets.server_side_apply(body=WIDGET, field_manager="kubelab", force_conflicts=True).to_dict()
    assert created["kind"] == "Widget" and created["spec"] == {"size": 1}

    assert sim.request("DELETE", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com")[0] == 200
    assert sim.request("GET", "/apis/example.com/v1/namespaces/default/widgets/w1")[0] == 404
    assert sim.request("GET", "/apis/example.com/v1")[0] == 404


def test_custom_resources_are_checked_against_the_crd_schema(sim):
    import yaml

    crds = Path(__file__).resolve().parents[2] / "roles" / "csi" / "files" / "snapshot-crds.yaml"
    for crd in filter(None, yaml.safe_load_all(crds.read_text())):
        assert ssa(sim, f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd['metadata']['name']}", crd)[0] == 201
    path = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses/vsc"
    vsc = {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass", "metadata": {"name": "vsc"},
           "driver": "hostpath.csi.k8s.io"}
    status, body = ssa(sim, path, vsc)
    assert status == 422 and "deletionPolicy" in body["message"]
    status, body = ssa(sim, path, {**vsc, "deletionPolicy": "Sometimes"})
    assert status == 422 and "Sometimes" in body["message"]
    assert ssa(sim, path, {**vsc, "deletionPolicy": "Delete"})[0] == 201


# ---------------------------------------------------------------------------------------------- versions
def test_reapply_does_not_bump_resource_version_or_generation(sim):
    path = "/apis/apps/v1/namespaces/default/deployments/same"
    first = ssa(sim, path, deployment("same"))[1]
    again = ssa(sim, path, deployment("same"))[1]
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again == first


def test_spec_change_bumps_generation_label_change_only_resource_version(sim):
    path = "/apis/apps/v1/namespaces/default/deployments/gen"
    first = ssa(sim, path, deployment("gen"))[1]
    relabelled = ssa(sim, path, deployment("gen", labels={"app": "gen", "tier": "web"}))[1]
    assert int(relabelled["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert relabelled["metadata"]["generation"] == first["metadata"]["generation"] == 1
    scaled = ssa(sim, path, deployment("gen", replicas=3, labels={"app": "gen", "tier": "web"}))[1]
    assert scaled["metadata"]["generation"] == 2
    assert scaled["status"]["observedGeneration"] == 2 and scaled["status"]["readyReplicas"] == 3


def test_server_side_apply_drops_fields_the_manager_no_longer_sends(sim):
    path = "/api/v1/namespaces/default/configmaps/pruned"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "pruned"}, "data": {"a": "1", "b": "2"}}
    ssa(sim, path, cm)
    sim.request("PATCH", path, {"metadata": {"labels": {"other": "x"}}}, "application/merge-patch+json")
    smaller = copy.deepcopy(cm)
    del smaller["data"]["b"]
    result = ssa(sim, path, smaller)[1]
    assert result["data"] == {"a": "1"}
    assert result["metadata"]["labels"] == {"other": "x"}  # another writer's field stays


def test_apply_without_field_manager_is_rejected(sim):
    status, body = sim.request("PATCH", "/api/v1/namespaces/default/configmaps/x",
                               {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}, APPLY)
    assert status == 400 and "fieldManager" in body["message"]


def test_dry_run_is_not_stored(sim):
    status, _ = sim.request("POST", "/api/v1/namespaces/default/configmaps?dryRun=All",
                            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "dry"}})
    assert status == 201
    assert sim.request("GET", "/api/v1/namespaces/default/configmaps/dry")[0] == 404


def test_create_twice_conflicts_and_merge_and_json_patches_apply(sim):
    base = "/api/v1/namespaces/default/configmaps"
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"a": "1"}}
    assert sim.request("POST", base, cm)[0] == 201
    status, body = sim.request("POST", base, cm)
    assert status == 409 and body["reason"] == "AlreadyExists"
    merged = sim.request("PATCH", f"{base}/p", {"data": {"a": None, "b": "2"}}, "application/merge-patch+json")[1]
    assert merged["data"] == {"b": "2"}
    patched = sim.request("PATCH", f"{base}/p", [{"op": "add", "path": "/data/c", "value": "3"}],
                          "application/json-patch+json")[1]
    assert patched["data"] == {"b": "2", "c": "3"}


def test_strategic_merge_patch_merges_containers_by_name(sim):
    path = "/apis/apps/v1/namespaces/default/deployments/smp"
    two = deployment("smp")
    two["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1.37.0"})
    ssa(sim, path, two)
    smp = "application/strategic-merge-patch+json"
    patched = sim.request("PATCH", path, {"spec": {"template": {"spec": {"containers": [
        {"name": "smp", "image": "nginx:1.28", "env": [{"name": "A", "value": "1"}]}]}}}}, smp)[1]
    containers = {c["name"]: c for c in patched["spec"]["template"]["spec"]["containers"]}
    assert sorted(containers) == ["sidecar", "smp"]
    assert containers["smp"]["image"] == "nginx:1.28" and containers["smp"]["env"] == [{"name": "A", "value": "1"}]
    deleted = sim.request("PATCH", path, {"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "$patch": "delete"}]}}}}, smp)[1]
    assert [c["name"] for c in deleted["spec"]["template"]["spec"]["containers"]] == ["smp"]

    gadgets = copy.deepcopy(CRD)
    gadgets["metadata"]["name"] = "gadgets.example.com"
    gadgets["spec"]["names"] = {"kind": "Gadget", "plural": "gadgets", "singular": "gadget", "listKind": "GadgetList"}
    assert ssa(sim, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.example.com", gadgets)[0] == 201
    gadget_path = "/apis/example.com/v1/namespaces/default/gadgets/g1"
    assert ssa(sim, gadget_path, {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g1"}})[0] == 201
    label = {"metadata": {"labels": {"a": "b"}}}
    assert sim.request("PATCH", gadget_path, label, smp)[0] == 415  # custom resources take no strategic merge patch
    assert sim.request("PATCH", gadget_path, label, "application/merge-patch+json")[0] == 200


def test_immutable_storage_class_provisioner_is_rejected(sim):
    path = "/apis/storage.k8s.io/v1/storageclasses/standard"
    current = sim.request("GET", path)[1]
    assert current["provisioner"] == "rancher.io/local-path"  # kind's own default class, as on a fresh kind cluster
    changed = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "standard"},
               "provisioner": "hostpath.csi.k8s.io"}
    status, body = ssa(sim, path, changed)
    assert status == 422 and body["reason"] == "Invalid" and "immutable" in body["message"]


# ---------------------------------------------------------------------------------------------- lists
def test_lists_carry_kind_and_api_version_and_honour_label_selectors(sim):
    for name, tier in (("sel-a", "web"), ("sel-b", "db"), ("sel-c", None)):
        labels = {"app": name, **({"tier": tier} if tier else {})}
        ssa(sim, f"/apis/apps/v1/namespaces/default/deployments/{name}", deployment(name, labels=labels))

    def names(selector):
        body = sim.request("GET", f"/apis/apps/v1/namespaces/default/deployments?labelSelector={selector}")[1]
        assert body["kind"] == "DeploymentList" and body["apiVersion"] == "apps/v1"
        return sorted(i["metadata"]["name"] for i in body["items"] if i["metadata"]["name"].startswith("sel-"))

    assert names("tier%3Dweb") == ["sel-a"]
    assert names("tier!%3Dweb") == ["sel-b", "sel-c"]
    assert names("tier%20in%20(web,db)") == ["sel-a", "sel-b"]
    assert names("tier%20notin%20(web)") == ["sel-b", "sel-c"]
    assert names("tier") == ["sel-a", "sel-b"]
    assert names("!tier") == ["sel-c"]
    all_ns = sim.request("GET", "/apis/apps/v1/deployments?labelSelector=tier%3Ddb")[1]
    assert [i["metadata"]["namespace"] for i in all_ns["items"]] == ["default"]


# ---------------------------------------------------------------------------------------------- readiness
def test_workloads_report_ready_for_kubernetes_core_waits(sim):
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
           "spec": {"serviceName": "db", "replicas": 2, "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "x:1"}]}}}}
    body = ssa(sim, "/apis/apps/v1/namespaces/default/statefulsets/db", sts)[1]
    assert body["spec"]["updateStrategy"]["type"] == "RollingUpdate"
    assert body["status"]["readyReplicas"] == 2 and body["status"]["currentRevision"] == body["status"]["updateRevision"]
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": "agent"}},
                   "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a", "image": "x:1"}]}}}}
    body = ssa(sim, "/apis/apps/v1/namespaces/default/daemonsets/agent", ds)[1]
    nodes = sim.request("GET", "/api/v1/nodes")[1]["items"]
    assert body["status"]["desiredNumberScheduled"] == body["status"]["numberReady"] == len(nodes) == 4
    assert sorted({n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes}) == ["zone-a", "zone-b", "zone-c"]

    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import (
        daemonset_ready, deployment_ready, statefulset_ready)

    client = sim.dynamic_client()
    ssa(sim, "/apis/apps/v1/namespaces/default/deployments/ready", deployment("ready"))
    get = lambda kind, name: client.resources.get(api_version="apps/v1", kind=kind).get(name=name, namespace="default")  # noqa: E731
    assert deployment_ready(get("Deployment", "ready"))
    assert statefulset_ready(get("StatefulSet", "db"))
    assert daemonset_ready(get("DaemonSet", "agent"))


def test_status_sent_to_the_main_endpoint_is_ignored(sim):
    body = deployment("nostatus")
    body["status"] = {"readyReplicas": 0}
    result = ssa(sim, "/apis/apps/v1/namespaces/default/deployments/nostatus", body)[1]
    assert result["status"]["readyReplicas"] == 2


def test_watch_streams_existing_objects_then_changes(sim):
    client = sim.dynamic_client()
    ssa(sim, "/api/v1/namespaces/default/configmaps/watched", {"apiVersion": "v1", "kind": "ConfigMap",
                                                               "metadata": {"name": "watched", "labels": {"w": "1"}}})
    configmaps = client.resources.get(api_version="v1", kind="ConfigMap")
    events = []
    for event in client.watch(configmaps, namespace="default", label_selector="w=1", timeout=2):
        obj = event["raw_object"]
        events.append((event["type"], obj["metadata"]["name"], obj.get("data") or {}))
        if len(events) == 1:
            ssa(sim, "/api/v1/namespaces/default/configmaps/watched", {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "watched", "labels": {"w": "1"}},
                "data": {"k": "v"}})
        if len(events) == 2:
            break
    assert events == [("ADDED", "watched", {}), ("MODIFIED", "watched", {"k": "v"})]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_applies_reads_back_and_reapplies_unchanged(sim, tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: kubectl-ns}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: kubectl-ns}\ndata: {a: '1'}\n")
    env = {"KUBECONFIG": str(sim.kubeconfig), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    kubectl = ["kubectl", "apply", "--server-side", "-f", str(manifest)]
    first = subprocess.run(kubectl, capture_output=True, text=True, env=env, check=False)
    assert first.returncode == 0, first.stderr
    got = subprocess.run(["kubectl", "-n", "kubectl-ns", "get", "configmap", "c", "-o", "jsonpath={.data.a}"],
                         capture_output=True, text=True, env=env, check=False)
    assert got.stdout == "1", got.stderr
    rv = sim.request("GET", "/api/v1/namespaces/kubectl-ns/configmaps/c")[1]["metadata"]["resourceVersion"]
    assert subprocess.run(kubectl, capture_output=True, text=True, env=env, check=False).returncode == 0
    assert sim.request("GET", "/api/v1/namespaces/kubectl-ns/configmaps/c")[1]["metadata"]["resourceVersion"] == rv


# ------------------------------------------------------------------------------------------ access review

def access(sim, verb, resource, group=""):
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "group": group}}}
    return sim.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)


def test_access_review_allows_unless_the_deny_configmap_lists_it(sim):
    status, body = access(sim, "create", "clusterroles", "rbac.authorization.k8s.io")
    assert (status, body["status"]["allowed"]) == (201, True)
    deny = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubesim-access-deny", "namespace": "kube-system"},
            "data": {"deny": "create clusterroles.rbac.authorization.k8s.io\ncreate namespaces\n"}}
    assert sim.request("POST", "/api/v1/namespaces/kube-system/configmaps", deny)[0] == 201
    try:
        assert access(sim, "create", "clusterroles", "rbac.authorization.k8s.io")[1]["status"]["allowed"] is False
        assert access(sim, "create", "namespaces")[1]["status"]["allowed"] is False
        assert access(sim, "list", "namespaces")[1]["status"]["allowed"] is True
        assert access(sim, "create", "clusterroles", "example.com")[1]["status"]["allowed"] is True
        # Nothing is stored.
        assert sim.request("GET", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews")[1]["items"] == []
    finally:
        sim.request("DELETE", "/api/v1/namespaces/kube-system/configmaps/kubesim-access-deny")
