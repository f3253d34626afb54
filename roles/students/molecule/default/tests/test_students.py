"""students (namespace tenancy, 3 students): outcomes read back through the Kubernetes API and the access sheets.

The same file runs on KUBELAB_TARGET=sim and kind; what only a real API server can answer (authorization) is
marked kind_only.
"""

import base64
import json
import os
import stat
import subprocess

import pytest
import yaml

from ansible_collections.kubelab.core.plugins.filter.students_labs import students_lab_facts

CLUSTER = "kubelab-molecule-students"
STUDENTS = ["alice", "bob", "carol"]
PROJECT = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ""), "..", "..")
# The converge runs labs w2d3-banking and w2d1-architecture: each student gets a copy of the namespaces they
# create, except banking-audit, which the banking lab shares (one instructor-owned copy).
LAB_NAMESPACES = students_lab_facts(os.path.join(PROJECT, "labs"), ["w2d3-banking", "w2d1-architecture"])["namespaces"]
ADDON_NAMESPACES = ["ingress-nginx", "monitoring", "argocd"]
BUILD = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "cluster", "build")
SHEETS = os.path.join(BUILD, "students")


def owned(student):
    return [student] + ["%s-%s" % (student, ns) for ns in LAB_NAMESPACES]


def _items(kube, api_version, kind, **kwargs):
    return kube.resources.get(api_version=api_version, kind=kind).get(**kwargs).to_dict()["items"]


def _claims(token):
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_plan_holds_three_students_objects(plan_dir):
    docs = [d for d in yaml.safe_load_all(open(os.path.join(plan_dir, "students", "tenancy.yaml"))) if d]
    namespaces = sorted(d["metadata"]["name"] for d in docs if d["kind"] == "Namespace")
    assert namespaces == sorted(ns for s in STUDENTS for ns in owned(s))
    access = yaml.safe_load(open(os.path.join(plan_dir, "students", "access.yaml")))["students"]
    assert [a["context"] for a in access] == ["%s@%s" % (s, CLUSTER) for s in STUDENTS]
    index = json.load(open(os.path.join(plan_dir, "index.json")))
    assert {a["path"] for a in index["artifacts"]} == {"students/access.yaml", "students/tenancy.yaml"}


def test_every_student_namespace_exists_and_is_labelled(kube):
    for student in STUDENTS:
        found = _items(kube, "v1", "Namespace", label_selector="kubelab.dev/student=%s" % student)
        assert sorted(n["metadata"]["name"] for n in found) == sorted(owned(student))
        home = next(n for n in found if n["metadata"]["name"] == student)
        assert home["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_rolebindings_bind_only_the_owner_service_account(kube):
    for student in STUDENTS:
        for ns in owned(student):
            bindings = _items(kube, "rbac.authorization.k8s.io/v1", "RoleBinding", namespace=ns)
            assert bindings, "no RoleBinding in %s" % ns
            for binding in bindings:
                assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                              "name": "kubelab-student"}
                assert binding["subjects"] == [{"kind": "ServiceAccount", "name": student, "namespace": student}], ns


def test_student_role_cannot_touch_rbac_quotas_or_namespaces(kube):
    for ns in owned("alice"):
        role = kube.resources.get(api_version="rbac.authorization.k8s.io/v1", kind="Role").get(
            name="kubelab-student", namespace=ns).to_dict()
        for rule in role["rules"]:
            assert "rbac.authorization.k8s.io" not in rule["apiGroups"]
            assert "*" not in rule["resources"] and "*" not in rule["verbs"]
            if {"resourcequotas", "limitranges"} & set(rule["resources"]):
                assert set(rule["verbs"]) <= {"get", "list", "watch"}
            assert "namespaces" not in rule["resources"]


def test_no_cluster_role_binding_names_a_student(kube):
    for binding in _items(kube, "rbac.authorization.k8s.io/v1", "ClusterRoleBinding"):
        for subject in binding.get("subjects") or []:
            assert subject.get("namespace") not in [ns for s in STUDENTS for ns in owned(s)], binding["metadata"]["name"]


def test_quota_limits_and_default_deny_in_every_student_namespace(kube):
    assert LAB_NAMESPACES == ["banking-core", "arch-lab"]
    for student in STUDENTS:
        others = [ns for s in STUDENTS if s != student for ns in owned(s)]
        for ns in owned(student):
            quota = _items(kube, "v1", "ResourceQuota", namespace=ns)
            assert [q["spec"]["hard"]["count/pods"] for q in quota] == ["30"]
            assert {"requests.storage", "requests.ephemeral-storage", "count/secrets"} <= set(quota[0]["spec"]["hard"])
            limits = _items(kube, "v1", "LimitRange", namespace=ns)
            assert limits[0]["spec"]["limits"][0]["type"] == "Container"
            assert "ephemeral-storage" in limits[0]["spec"]["limits"][0]["default"]
            policies = {p["metadata"]["name"]: p["spec"] for p in _items(kube, "networking.k8s.io/v1", "NetworkPolicy",
                                                                             namespace=ns)}
            assert policies["kubelab-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
            spec = policies["kubelab-tenant"]
            allowed = spec["ingress"][0]["from"][0]["namespaceSelector"]["matchExpressions"][0]["values"]
            assert set(allowed) == set(owned(student))
            assert [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    for p in spec["ingress"][0]["from"][1:]] == ["ingress-nginx", "monitoring"]
            assert not set(others) & set(allowed), "%s lets another student's namespace in" % ns


def test_admission_policy_is_bound_to_student_namespaces_and_addons_have_policies(kube):
    policy = kube.resources.get(api_version="admissionregistration.k8s.io/v1", kind="ValidatingAdmissionPolicy").get(
        name="kubelab-student-guardrails").to_dict()
    binding = kube.resources.get(api_version="admissionregistration.k8s.io/v1",
                                 kind="ValidatingAdmissionPolicyBinding").get(name="kubelab-student-guardrails").to_dict()
    assert binding["spec"]["validationActions"] == ["Deny"] and binding["spec"]["policyName"] == "kubelab-student-guardrails"
    assert len(policy["spec"]["validations"]) >= 7
    for ns in ADDON_NAMESPACES:
        names = [p["metadata"]["name"] for p in _items(kube, "networking.k8s.io/v1", "NetworkPolicy", namespace=ns)]
        assert "kubelab-tenants" in names, ns


def test_kubeconfigs_are_private_and_bound_to_their_own_account(kube):
    for student in STUDENTS:
        path = os.path.join(SHEETS, student, "kubeconfig")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        config = yaml.safe_load(open(path))
        assert config["current-context"] == "%s@%s" % (student, CLUSTER)
        assert config["contexts"][0]["context"]["namespace"] == student
        account = kube.resources.get(api_version="v1", kind="ServiceAccount").get(
            name=student, namespace=student).to_dict()
        claims = _claims(config["users"][0]["user"]["token"])
        assert claims["kubernetes.io"]["serviceaccount"] == {"name": student, "uid": account["metadata"]["uid"]}
        assert "client-key-data" not in json.dumps(config), "a student kubeconfig must not carry the admin key"


def test_access_sheets_list_endpoints_and_keep_credentials_private():
    for student in STUDENTS:
        endpoints = open(os.path.join(SHEETS, student, "endpoints.md")).read()
        # Grafana through the ingress at the prometheus role's host, on the cluster's HTTP port; Argo CD has no
        # ingress, and a namespace student may not port-forward into argocd: the sheet says it is the instructor's.
        assert "| Grafana | http://grafana.%s.127.0.0.1.nip.io:20001/ (" % CLUSTER in endpoints
        assert "| Argo CD | shared, run by your instructor" in endpoints and "port-forward" not in endpoints
        assert "Vault" not in endpoints, "vault is not enabled in this scenario"
        assert "`%s-banking-core`" % student in endpoints
        credentials = os.path.join(SHEETS, student, "credentials")
        assert stat.S_IMODE(os.stat(credentials).st_mode) == 0o600
        # namespace tenancy shares the add-on UIs, so admin passwords are left out unless configured.
        assert "fixture-grafana-password" not in open(credentials).read()


def test_class_overview_has_a_row_per_student_with_lab_states():
    rows = [line for line in open(os.path.join(SHEETS, "index.md")) if line.startswith("| ") and "@" in line]
    assert [r.split("|")[1].strip() for r in rows] == STUDENTS
    alice, bob = rows[0], rows[1]
    assert "%s / alice" % CLUSTER in alice
    assert "w2d3-banking: passed" in alice and "w2d1-architecture: failed (1/2)" in alice
    assert "w2d3-banking: not run" in bob and "w2d1-architecture: not run" in bob


@pytest.mark.kind_only
def test_a_student_cannot_read_another_students_pods(kubeconfig):
    def can_i(student, namespace):
        return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "auth", "can-i", "get", "pods", "-n", namespace,
                               "--as=system:serviceaccount:%s:%s" % (student, student)],
                              capture_output=True, text=True, check=False).stdout.strip()
    assert can_i("alice", "alice") == "yes"
    assert can_i("alice", "bob") == "no"
    assert can_i("alice", "bob-banking-core") == "no"


@pytest.mark.kind_only
def test_can_i_list_shows_exactly_the_documented_writes(kubeconfig):
    """`kubectl auth can-i --list` as a student: what she may write in her namespace is the documented set
    (roles/students README, docs/tenancy.md), no more; endpoints stay read-only."""
    out = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, "auth", "can-i", "--list", "-n", "alice-banking-core",
                          "--as=system:serviceaccount:alice:alice"], capture_output=True, text=True, check=True).stdout
    writes = set()
    for line in out.splitlines()[1:]:  # Resources  Non-Resource URLs  Resource Names  Verbs ([get list ...])
        if line[:1].strip() and "[" in line and {"create", "*"} & set(line[line.rindex("[") + 1:-1].split()):
            writes.add(line.split()[0])
    assert writes == {
        "pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "serviceaccounts", "pods/exec",
        "pods/attach", "pods/portforward", "deployments.apps", "deployments.apps/scale", "statefulsets.apps",
        "statefulsets.apps/scale", "daemonsets.apps", "replicasets.apps", "replicasets.apps/scale", "jobs.batch",
        "cronjobs.batch", "horizontalpodautoscalers.autoscaling", "poddisruptionbudgets.policy",
        "ingresses.networking.k8s.io", "networkpolicies.networking.k8s.io",
        # granted to every authenticated user by the API server's default ClusterRoles
        "selfsubjectreviews.authentication.k8s.io", "selfsubjectaccessreviews.authorization.k8s.io",
        "selfsubjectrulesreviews.authorization.k8s.io"}, out
