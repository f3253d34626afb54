"""Pass and fail cases of the kubelab.core.lab_checks filter."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "collections/ansible_collections/kubelab/core/plugins/filter/lab_checks.py"
_spec = importlib.util.spec_from_file_location("kubelab_lab_checks", PLUGIN)
lc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lc)


def deployment(name="frontend", ready=3, ns="shop"):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/name": name}},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
        "status": {"readyReplicas": ready,
                   "conditions": [{"type": "Progressing", "status": "True"}, {"type": "Available", "status": "True"}]},
    }


def node(name, zone=None):
    labels = {"kubernetes.io/hostname": name}
    if zone:
        labels[lc.ZONE_LABEL] = zone
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def pod(name, node_name=None, phase="Running"):
    spec = {"containers": [{"name": "c"}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
            "spec": spec, "status": {"phase": phase}}


NODES = [node("w1", "zone-a"), node("w2", "zone-b"), node("w3", "zone-c"), node("cp", "zone-a")]


def check(*expect, cid="c1", **extra):
    return dict({"id": cid, "description": "test", "expect": list(expect)}, **extra)


def run_one(chk, resources, nodes=None, **kw):
    return lc.lab_checks([chk], {chk["id"]: resources}, nodes=nodes, **kw)[0]


# ---- comparison operators -------------------------------------------------------------------------

@pytest.mark.parametrize("op,value,ready,expected", [
    (">=", 3, 3, True), (">=", 3, 2, False),
    ("==", 3, 3, True), ("==", 3, 1, False),
    ("!=", 0, 3, True), ("!=", 3, 3, False),
    (">", 2, 3, True), (">", 3, 3, False),
    ("<", 4, 3, True), ("<", 3, 3, False),
    ("<=", 3, 3, True), ("<=", 2, 3, False),
])
def test_comparisons(op, value, ready, expected):
    res = run_one(check({"path": "status.readyReplicas", "op": op, "value": value}), [deployment(ready=ready)])
    assert res["passed"] is expected
    assert res["skipped"] is False
    if not expected:
        assert "status.readyReplicas" in res["detail"]


def test_string_equality_and_list_filter_path():
    chk = check({"path": "status.conditions[type=Available].status", "op": "==", "value": "True"})
    assert run_one(chk, [deployment()])["passed"] is True
    dep = deployment()
    dep["status"]["conditions"][1]["status"] = "False"
    res = run_one(chk, [dep])
    assert res["passed"] is False
    assert "'False' == 'True' is false" in res["detail"]


def test_number_and_numeric_string_are_not_equal():
    res = run_one(check({"path": "status.readyReplicas", "op": "==", "value": "3"}), [deployment()])
    assert res["passed"] is False


def test_ordering_on_non_numbers_fails_with_reason():
    res = run_one(check({"path": "metadata.name", "op": ">=", "value": 1}), [deployment()])
    assert res["passed"] is False
    assert "must be numbers" in res["detail"]


def test_quoted_key_with_dots_and_index():
    n = node("w1", "zone-a")
    chk = check({"path": 'metadata.labels["topology.kubernetes.io/zone"]', "op": "==", "value": "zone-a"})
    assert run_one(chk, [n])["passed"] is True
    assert run_one(chk, [node("w2", "zone-b")])["passed"] is False
    chk2 = check({"path": "spec.template.spec.containers[0].image", "op": "contains", "value": "nginx"})
    assert run_one(chk2, [deployment()])["passed"] is True
    chk3 = check({"path": "spec.template.spec.containers[1].image", "op": "exists"})
    res = run_one(chk3, [deployment()])
    assert res["passed"] is False and "missing" in res["detail"]


# ---- exists / absent / contains --------------------------------------------------------------------

def test_exists_and_absent():
    assert run_one(check({"path": "status.readyReplicas", "op": "exists"}), [deployment()])["passed"] is True
    dep = deployment()
    del dep["status"]["readyReplicas"]
    assert run_one(check({"path": "status.readyReplicas", "op": "exists"}), [dep])["passed"] is False
    assert run_one(check({"path": "status.readyReplicas", "op": "absent"}), [dep])["passed"] is True
    assert run_one(check({"path": "status.readyReplicas", "op": "absent"}), [deployment()])["passed"] is False


@pytest.mark.parametrize("path,value,expected", [
    ("metadata.labels", {"app.kubernetes.io/name": "frontend"}, True),
    ("metadata.labels", {"app.kubernetes.io/name": "backend"}, False),
    ("metadata.labels", "app.kubernetes.io/name", True),
    ("status.conditions", {"type": "Available", "status": "True"}, True),
    ("status.conditions", {"type": "Degraded"}, False),
    ("metadata.name", "front", True),
    ("metadata.name", "back", False),
    ("status.readyReplicas", 3, False),
])
def test_contains(path, value, expected):
    assert run_one(check({"path": path, "op": "contains", "value": value}), [deployment()])["passed"] is expected


# ---- several objects, match all / any ---------------------------------------------------------------

def test_match_all_reports_each_failing_object():
    res = run_one(check({"path": "status.readyReplicas", "op": ">=", "value": 3}),
                  [deployment("a", 3), deployment("b", 1)])
    assert res["passed"] is False
    assert "shop/b" in res["detail"] and "shop/a" not in res["detail"]


def test_match_any():
    chk = check({"path": "status.readyReplicas", "op": ">=", "value": 3, "match": "any"})
    assert run_one(chk, [deployment("a", 3), deployment("b", 1)])["passed"] is True
    assert run_one(chk, [deployment("a", 0), deployment("b", 1)])["passed"] is False


# ---- missing objects ---------------------------------------------------------------------------------

def test_missing_resource_fails():
    res = run_one(check({"path": "status.readyReplicas", "op": ">=", "value": 0}), [])
    assert res["passed"] is False
    assert "no matching object" in res["detail"]


def test_nothing_fetched_for_a_check_fails():
    res = lc.lab_checks([check({"path": "a", "op": "exists"})], {})
    assert res[0]["passed"] is False
    assert "nothing was fetched" in res[0]["detail"]


def test_k8s_info_result_and_aligned_list_are_accepted():
    chk = check({"path": "status.readyReplicas", "op": ">=", "value": 3})
    assert lc.lab_checks([chk], [{"resources": [deployment()]}])[0]["passed"] is True
    assert lc.lab_checks([chk], [{"resources": []}])[0]["passed"] is False
    assert lc.lab_checks([chk], {"c1": {"resources": [deployment(ready=0)]}})[0]["passed"] is False


# ---- count -------------------------------------------------------------------------------------------

def test_count():
    pods = [pod("p1", "w1"), pod("p2", "w2"), pod("p3", "w3", phase="Pending")]
    assert run_one(check({"op": "count", "value": 3}), pods)["passed"] is True
    assert run_one(check({"op": "count", "value": 4}), pods)["passed"] is False
    assert run_one(check({"op": "count", "value": 3, "cmp": ">="}), pods)["passed"] is True
    where = {"path": "status.phase", "op": "==", "value": "Running"}
    assert run_one(check({"op": "count", "value": 2, "where": where}), pods)["passed"] is True
    res = run_one(check({"op": "count", "value": 3, "cmp": ">=", "where": where}), pods)
    assert res["passed"] is False and "count" in res["detail"]


def test_count_zero_passes_on_empty():
    assert run_one(check({"op": "count", "value": 0}), [])["passed"] is True
    assert run_one(check({"op": "count", "value": 1, "cmp": ">="}), [])["passed"] is False


# ---- distinct_zones ----------------------------------------------------------------------------------

def test_distinct_zones_on_pods_uses_nodes():
    spread = [pod("p1", "w1"), pod("p2", "w2"), pod("p3", "w3")]
    chk = check({"op": "distinct_zones", "value": 3})
    res = run_one(chk, spread, nodes=NODES)
    assert res["passed"] is True
    assert "zone-a,zone-b,zone-c" in res["detail"]
    packed = [pod("p1", "w1"), pod("p2", "cp"), pod("p3", "w2")]
    res = run_one(chk, packed, nodes=NODES)
    assert res["passed"] is False
    assert "2 >= 3 is false" in res["detail"]


def test_distinct_zones_needs_the_nodes():
    res = run_one(check({"op": "distinct_zones", "value": 1}), [pod("p1", "w1")], nodes=[])
    assert res["passed"] is False
    assert "was not fetched" in res["detail"]


def test_distinct_zones_unscheduled_pod_and_unlabelled_node():
    res = run_one(check({"op": "distinct_zones", "value": 2}), [pod("p1", "w1"), pod("p2")], nodes=NODES)
    assert res["passed"] is False and "not scheduled" in res["detail"]
    res = run_one(check({"op": "distinct_zones", "value": 1}), [pod("p1", "bare")], nodes=[node("bare")])
    assert res["passed"] is False and "no topology.kubernetes.io/zone label" in res["detail"]


def test_distinct_zones_on_nodes_reads_their_labels():
    cps = [node("cp1", "zone-a"), node("cp2", "zone-b"), node("cp3", "zone-c")]
    assert run_one(check({"op": "distinct_zones", "value": 3}), cps)["passed"] is True
    assert run_one(check({"op": "distinct_zones", "value": 3}), cps[:1])["passed"] is False


# ---- needs_real_cluster -------------------------------------------------------------------------------

def test_skip_real_cluster_checks_only_when_asked():
    chk = check({"path": "status.phase", "op": "==", "value": "Bound"}, needs_real_cluster=True)
    pvc = {"kind": "PersistentVolumeClaim", "metadata": {"name": "x"}, "status": {"phase": "Pending"}}
    res = run_one(chk, [pvc], skip_real_cluster=True)
    assert res["skipped"] is True and res["passed"] is None
    res = run_one(chk, [pvc])
    assert res["skipped"] is False and res["passed"] is False


# ---- malformed checks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [
    check({"path": "a", "op": "~="}),
    check({"path": "", "op": "exists"}),
    check({"path": "a..b", "op": "exists"}),
    check({"path": "a.", "op": "exists"}),
    check({"path": "a[", "op": "exists"}),
    check({"path": "a", "op": "=="}),
    check({"op": "count"}),
    check({"op": "count", "value": 1, "cmp": "~"}),
    check({"path": "a", "op": "exists", "match": "some"}),
    {"id": "c1", "expect": []},
    {"expect": [{"path": "a", "op": "exists"}]},
])
def test_malformed_checks_raise(bad):
    with pytest.raises(lc.LabError):
        lc.lab_checks([bad], {"c1": []})


def test_duplicate_ids_and_misaligned_list_raise():
    chk = check({"path": "a", "op": "exists"})
    with pytest.raises(lc.LabError):
        lc.lab_checks([chk, chk], {"c1": []})
    with pytest.raises(lc.LabError):
        lc.lab_checks([chk], [[], []])


def test_filter_module_exposes_the_filter():
    from ansible.errors import AnsibleFilterError

    registered = lc.FilterModule().filters()["lab_checks"]
    assert registered.__wrapped__ is lc.lab_checks
    # A malformed check reaches Ansible as a one-line filter error, not a traceback.
    with pytest.raises(AnsibleFilterError, match="^check c1: expect must be a non-empty list$"):
        registered([{"id": "c1", "expect": []}], {"c1": []})


def test_results_keep_check_order():
    checks = [check({"path": "status.readyReplicas", "op": ">=", "value": 3}, cid=i) for i in ("x", "y", "z")]
    res = lc.lab_checks(checks, {"x": [deployment()], "y": [deployment(ready=0)], "z": [deployment()]})
    assert [(r["id"], r["passed"]) for r in res] == [("x", True), ("y", False), ("z", True)]


def test_length():
    slice_ = {"kind": "EndpointSlice", "metadata": {"name": "web-abc"}, "endpoints": [{"addresses": ["10.0.0.1"]}] * 3}
    assert run_one(check({"path": "endpoints", "op": "length", "cmp": ">=", "value": 3}), [slice_])["passed"] is True
    res = run_one(check({"path": "endpoints", "op": "length", "cmp": ">=", "value": 4}), [slice_])
    assert res["passed"] is False and "length of endpoints" in res["detail"]
    res = run_one(check({"path": "metadata.generation", "op": "length", "value": 1}), [{"metadata": {"generation": 2}}])
    assert res["passed"] is False and "has no length" in res["detail"]
    with pytest.raises(lc.LabError):
        lc.lab_checks([check({"path": "endpoints", "op": "length", "cmp": "~", "value": 1})], {"c1": []})


def test_registered_loop_result_is_accepted():
    ok = check({"path": "status.readyReplicas", "op": ">=", "value": 3}, cid="a")
    bad = check({"path": "status.readyReplicas", "op": ">=", "value": 3}, cid="b")
    registered = {"changed": False, "results": [
        {"item": ok, "resources": [deployment()], "api_found": True},
        {"item": bad, "resources": [deployment(ready=1)], "api_found": True},
    ]}
    res = lc.lab_checks([ok, bad], registered)
    assert [(r["id"], r["passed"]) for r in res] == [("a", True), ("b", False)]
    missing = lc.lab_checks([ok, bad], {"results": [registered["results"][0]]})
    assert missing[1]["passed"] is False and "nothing was fetched" in missing[1]["detail"]
    with pytest.raises(lc.LabError):
        lc.lab_checks([ok], {"results": [{"resources": []}]})
