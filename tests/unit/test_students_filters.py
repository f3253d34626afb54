"""The students role's filters: namespace naming, tenancy objects, token renewal, kubeconfigs, class overview."""

import base64
import json
import os

import pytest

from ansible_collections.kubelab.core.plugins.filter import students

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SETTINGS = {"role_name": "kubelab-student", "quota": {"pods": "30"}, "limits": {"default": {"cpu": "500m"}},
            "namespace_labels": {"pod-security.kubernetes.io/enforce": "baseline"},
            "allow_from_namespaces": ["ingress-nginx", "monitoring"], "reserved_namespaces": ["default", "monitoring"]}
STUDENTS = ["alice", "bob", "carol"]


def token(claims):
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")
    return "%s.%s.sig" % (part({"alg": "RS256"}), part(claims))


def objects(kind, docs):
    return [d for d in docs if d["kind"] == kind]


def test_lab_namespaces_are_prefixed_with_the_student():
    assert students.student_namespaces("alice", ["banking-core", "banking-audit"]) == [
        "alice", "alice-banking-core", "alice-banking-audit"]
    assert students.student_namespaces({"name": "bob"}, []) == ["bob"]


@pytest.mark.parametrize("roster,labs,message", [
    (["default"], [], "reserved"),
    (["kube-ops"], [], "reserved"),
    (["alice", "alice-banking-core"], ["banking-core"], "both 'alice' and 'alice-banking-core'"),
    (["a" * 50], ["banking-core-extra"], "63"),
    (["alice"], ["Bad_NS"], "DNS-1123"),
])
def test_unusable_namespace_names_fail_with_the_reason(roster, labs, message):
    with pytest.raises(Exception) as err:
        students.students_check(roster, labs, ["default", "monitoring"])
    assert message in str(err.value)


def test_three_students_get_distinct_namespaces_and_only_their_own_bindings():
    docs = students.students_tenancy_objects(STUDENTS, ["banking-core"], SETTINGS)
    namespaces = [d["metadata"]["name"] for d in objects("Namespace", docs)]
    assert sorted(namespaces) == sorted(["alice", "alice-banking-core", "bob", "bob-banking-core", "carol",
                                         "carol-banking-core"])
    assert not objects("ClusterRoleBinding", docs) and not objects("ClusterRole", docs)
    for binding in objects("RoleBinding", docs):
        owner = binding["metadata"]["labels"]["kubelab.dev/student"]
        assert binding["metadata"]["namespace"] in (owner, owner + "-banking-core")
        assert binding["roleRef"]["kind"] == "Role"
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": owner, "namespace": owner}]
    for kind in ("Role", "RoleBinding", "ResourceQuota", "LimitRange"):
        assert len(objects(kind, docs)) == 6, kind
    assert len(objects("NetworkPolicy", docs)) == 12  # default-deny and the tenant's allowances, per namespace
    assert len(objects("ServiceAccount", docs)) == 3


def test_a_lab_namespace_keeps_the_labs_level_or_gets_baseline_never_privileged():
    settings = dict(SETTINGS, lab_levels={"banking-core": "restricted", "arch-lab": ""})
    docs = students.students_tenancy_objects(["alice"], ["banking-core", "arch-lab"], settings)
    labels = {d["metadata"]["name"]: d["metadata"]["labels"] for d in objects("Namespace", docs)}
    assert labels["alice"]["pod-security.kubernetes.io/enforce"] == "baseline"
    assert "pod-security.kubernetes.io/enforce" not in labels["alice-banking-core"]  # the lab role applies restricted
    assert labels["alice-arch-lab"]["pod-security.kubernetes.io/enforce"] == "baseline"
    with pytest.raises(Exception, match="lab w2d3-banking: namespace banking-audit enforces Pod Security 'privileged'"):
        students.students_tenancy_objects(["alice"], ["banking-audit"], dict(
            SETTINGS, lab_levels={"banking-audit": "privileged"}, lab_owners={"banking-audit": "w2d3-banking"}))


def test_default_deny_both_ways_then_own_namespaces_and_platform_only():
    docs = students.students_tenancy_objects(STUDENTS, ["banking-core"], SETTINGS)
    for policy in objects("NetworkPolicy", docs):
        owner = policy["metadata"]["labels"]["kubelab.dev/student"]
        assert policy["spec"]["podSelector"] == {} and policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        if policy["metadata"]["name"] == "kubelab-default-deny":
            assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]
            continue
        peers = policy["spec"]["ingress"][0]["from"]
        assert peers[0]["namespaceSelector"]["matchExpressions"][0]["values"] == [owner, owner + "-banking-core"]
        assert [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in peers[1:]] == [
            "ingress-nginx", "monitoring"]
        assert policy["spec"]["egress"][0] == {"to": [peers[0]]}


def test_the_default_role_grants_no_rbac_and_no_quota_changes():
    for rule in students.DEFAULT_RULES:
        assert "rbac.authorization.k8s.io" not in rule["apiGroups"]
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
        if "resourcequotas" in rule["resources"]:
            assert rule["verbs"] == ["get", "list", "watch"]


def test_access_entries_name_one_context_per_student():
    cluster = {"name": "kubelab-shared", "tenancy": "namespace", "students": STUDENTS,
               "api_address": "192.0.2.10", "api_port": 20000}
    entries = students.students_access(cluster, {"lab_namespaces": ["arch-lab"]})
    assert [e["context"] for e in entries] == ["alice@kubelab-shared", "bob@kubelab-shared", "carol@kubelab-shared"]
    assert entries[1]["user"] == "system:serviceaccount:bob:bob"
    assert entries[1]["namespaces"] == ["bob", "bob-arch-lab"]
    assert {e["server"] for e in entries} == {"https://192.0.2.10:20000"}


ADMIN = {"clusters": [{"name": "kind-x", "cluster": {"server": "https://192.0.2.10:20000",
                                                     "certificate-authority-data": "Q0E="}}],
         "users": [{"name": "kind-x", "user": {"client-certificate-data": "Y2VydA==", "client-key-data": "a2V5"}}]}
ENTRY = {"student": "alice", "cluster": "kubelab-shared", "context": "alice@kubelab-shared", "namespace": "alice"}


def test_namespace_kubeconfig_carries_the_token_not_the_admin_key():
    config = students.students_kubeconfig(ENTRY, ADMIN, token="t0k")
    assert config["users"][0]["user"] == {"token": "t0k"}
    assert config["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="
    assert config["contexts"][0]["context"]["namespace"] == "alice"
    assert config["current-context"] == "alice@kubelab-shared"


def test_cluster_tenancy_kubeconfig_is_the_admin_user():
    config = students.students_kubeconfig(ENTRY, ADMIN)
    assert config["users"][0]["user"]["client-key-data"] == "a2V5"


@pytest.mark.parametrize("exp,uid,server,keep", [
    (10_000 + 3 * 86400, "uid-1", "https://192.0.2.10:20000", True),
    (10_000 + 3600, "uid-1", "https://192.0.2.10:20000", False),          # expires within the renew window
    (10_000 + 3 * 86400, "uid-old", "https://192.0.2.10:20000", False),   # the account was re-created
    (10_000 + 3 * 86400, "uid-1", "https://192.0.2.10:20010", False),     # the cluster moved
])
def test_a_token_is_kept_only_while_valid_for_the_same_account_and_server(exp, uid, server, keep):
    current = students.students_kubeconfig(ENTRY, ADMIN, token=token(
        {"exp": exp, "kubernetes.io": {"namespace": "alice", "serviceaccount": {"name": "alice", "uid": uid}}}))
    assert students.students_token_current(current, "uid-1", server, 10_000, 86400) is keep


def test_a_garbled_kubeconfig_or_token_is_renewed():
    assert students.students_token_current({}, "uid-1", "https://x", 0, 0) is False
    garbled = students.students_kubeconfig(ENTRY, ADMIN, token="not-a-jwt")
    assert students.students_token_current(garbled, "uid-1", "https://192.0.2.10:20000", 0, 0) is False


def test_overview_has_one_row_per_student_and_missing_reports_read_not_run():
    entries = [dict(ENTRY, student=s, tenancy="namespace", server="https://192.0.2.10:20000",
                    context="%s@kubelab-shared" % s, namespace=s) for s in ("bob", "alice")]
    reports = [{"lab": "w2d3-banking", "student": "alice", "_cluster": "kubelab-shared",
                "checks": [{"id": "a", "passed": True}, {"id": "b", "passed": False}]},
               {"lab": "w2d3-banking", "student": "carol", "_cluster": "kubelab-shared",
                "checks": [{"id": "a", "passed": True}]}]
    text = students.students_overview(entries, ["w2d3-banking"], reports)
    rows = [line for line in text.splitlines() if line.startswith("| ") and "@" in line]
    assert [r.split("|")[1].strip() for r in rows] == ["alice", "bob"]
    assert "w2d3-banking: failed (1/2)" in rows[0]
    assert "w2d3-banking: not run" in rows[1]
    assert "kubelab-shared / bob" in rows[1]


def test_a_cluster_report_without_student_counts_for_its_student():
    entry = dict(ENTRY, tenancy="cluster", cluster="kubelab-alice", server="https://127.0.0.1:20000")
    reports = [{"lab": "arch", "_cluster": "kubelab-alice", "checks": [{"id": "a", "passed": True}]},
               {"lab": "arch", "student": "bob", "_cluster": "kubelab-bob", "checks": [{"id": "a", "passed": False}]}]
    assert "arch: passed" in students.students_overview([entry], ["arch"], reports)


def test_skipped_checks_are_reported_apart_from_failures():
    entry = dict(ENTRY, tenancy="cluster", cluster="kubelab-alice", server="https://127.0.0.1:20000")
    reports = [{"lab": "arch", "_cluster": "kubelab-alice",
                "checks": [{"id": "a", "passed": True}, {"id": "b", "passed": False, "skipped": True}]},
               {"lab": "shop", "_cluster": "kubelab-alice", "checks": [{"id": "a", "passed": False, "skipped": True}]}]
    text = students.students_overview([entry], ["arch", "shop"], reports)
    assert "arch: passed, 1 skipped" in text
    assert "shop: skipped (1)" in text


def test_a_students_own_lab_report_wins_over_the_shared_parts_report():
    shared = {"lab": "w2d3-banking", "students": ["alice", "bob"], "checks": [{"id": "a", "passed": False}]}
    own = {"lab": "w2d3-banking", "student": "alice", "checks": [{"id": "b", "passed": True}]}
    for reports in ([shared, own], [own, shared]):
        assert students.students_lab_states("alice", "c", ["w2d3-banking"], reports) == [("w2d3-banking", "passed")]
    assert students.students_lab_states("bob", "c", ["w2d3-banking"], [shared, own]) == [("w2d3-banking", "failed (0/1)")]
