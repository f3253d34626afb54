"""Namespace tenancy holds, judged on what plan mode renders for a 3-student class on day 3 and day 4.

- RBAC: the rendered Roles, RoleBindings (and any ClusterRole/Binding) are evaluated with the rule matching of
  kubernetes pkg/apis/rbac/v1/evaluation_helpers.go (verbs, apiGroups, resources with subresources and `*/sub`,
  resourceNames, `*`) and the subject matching of plugin/pkg/auth/authorizer/rbac/rbac.go (a ServiceAccount
  subject without a namespace means the binding's), against a can-i matrix.
- Admission: the ValidatingAdmissionPolicy's CEL expressions are evaluated with cel-python against sample
  objects and against every pod the labs render into student namespaces.
- Pod Security, NetworkPolicies, and the budgets (quota, limit range) against the labs' own workloads.

Day 4 runs w2d4-microservices only: w2d4-gitops-backup is refused in namespace tenancy (its objects live in the
argocd and velero namespaces), which tests/unit/test_lab_role_plan.py covers.
"""

import functools
import os

import celpy
import celpy.adapter
import pytest
import yaml

from ansible_collections.kubelab.core.plugins.filter import students_labs
from conftest import ROOT, run_playbook

quantity = students_labs.students_quantity

STUDENTS = '{"kubelab_students": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}]}'
DAYS = {3: (), 4: ("-e", '{"kubelab_labs": ["w2d4-microservices"]}')}
ENFORCE = "pod-security.kubernetes.io/enforce"
STUDENT_LABEL = "kubelab.dev/student"
ADMIN = "kubernetes-admin"


@functools.lru_cache(maxsize=None)
def load_plan(build_dir):
    """{path relative to the cluster's plan dir: [documents]} of the shared cluster."""
    base = os.path.join(build_dir, "plan", "kubelab-shared")
    plan = {}
    for folder, _, files in os.walk(base):
        for name in files:
            if name.endswith(".yaml"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as handle:
                    plan[os.path.relpath(path, base)] = [d for d in yaml.safe_load_all(handle) if d]
    return plan


@pytest.fixture(scope="module", params=sorted(DAYS), ids=lambda d: "day%d" % d)
def plan(request, plan_day, tmp_path_factory):
    build_dir = plan_day(tmp_path_factory, request.param, "-e", "kubelab_tenancy=namespace", "-e", STUDENTS,
                         *DAYS[request.param])
    docs = load_plan(build_dir)
    return {"day": request.param, "tenancy": docs["students/tenancy.yaml"],
            "labs": [d for path, found in docs.items() if path.startswith("lab/") for d in found]}


def of_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def student_namespaces(plan, student=None):
    return [d["metadata"]["name"] for d in of_kind(plan["tenancy"], "Namespace")
            if student in (None, d["metadata"]["labels"].get(STUDENT_LABEL))]


# --- RBAC, as the API server's authorizer evaluates it --------------------------------------------------------

def rule_allows(rule, verb, group, resource, subresource, name):
    combined = resource + ("/" + subresource if subresource else "")
    resources = rule.get("resources") or []
    return ((verb in rule["verbs"] or "*" in rule["verbs"])
            and (group in rule.get("apiGroups", []) or "*" in rule.get("apiGroups", []))
            and any(r in ("*", combined) or (subresource and r == "*/" + subresource) for r in resources)
            and (not rule.get("resourceNames") or name in rule["resourceNames"]))


def applies_to(subject, binding_ns, user, groups):
    if subject["kind"] == "ServiceAccount":
        return user == "system:serviceaccount:%s:%s" % (subject.get("namespace") or binding_ns, subject["name"])
    if subject["kind"] == "User":
        return subject["name"] == user
    return subject["kind"] == "Group" and subject["name"] in groups


def can_i(docs, student, verb, resource, namespace=None, name=""):
    """What `kubectl auth can-i VERB RESOURCE -n NAMESPACE --as=<student's ServiceAccount>` would answer, from the
    rendered objects only. resource: "pods", "pods/exec", "endpointslices.discovery.k8s.io"."""
    resource, _, subresource = resource.partition("/")
    resource, _, group = resource.partition(".")
    user = "system:serviceaccount:%s:%s" % (student, student)
    groups = {"system:serviceaccounts", "system:serviceaccounts:" + student, "system:authenticated"}
    roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d
             for d in docs if d["kind"] in ("Role", "ClusterRole")}
    for binding in docs:
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        binding_ns = binding["metadata"].get("namespace")
        if binding["kind"] == "RoleBinding" and binding_ns != namespace:
            continue
        if not any(applies_to(s, binding_ns, user, groups) for s in binding.get("subjects") or []):
            continue
        ref = binding["roleRef"]
        role = roles.get((ref["kind"], binding_ns if ref["kind"] == "Role" else None, ref["name"]))
        if role and any(rule_allows(r, verb, group, resource, subresource, name) for r in role.get("rules") or []):
            return True
    return False


def test_the_rbac_evaluator_honours_wildcards_subresources_and_resource_names():
    def docs(rules):
        return [{"kind": "Role", "metadata": {"namespace": "alice", "name": "r"}, "rules": rules},
                {"kind": "RoleBinding", "metadata": {"namespace": "alice", "name": "r"},
                 "roleRef": {"kind": "Role", "name": "r"}, "subjects": [{"kind": "ServiceAccount", "name": "alice"}]}]
    star = docs([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    assert can_i(star, "alice", "create", "pods/exec", "alice") and not can_i(star, "alice", "get", "pods", "bob")
    assert not can_i(star, "bob", "get", "pods", "alice")
    sub = docs([{"apiGroups": [""], "resources": ["*/exec", "pods"], "verbs": ["create"]}])
    assert can_i(sub, "alice", "create", "pods/exec", "alice") and not can_i(sub, "alice", "create", "pods/log", "alice")
    named = docs([{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"],
                   "resourceNames": ["alice"]}])
    assert can_i(named, "alice", "create", "serviceaccounts/token", "alice", name="alice")
    assert not can_i(named, "alice", "create", "serviceaccounts/token", "alice", name="other")
    assert not can_i(named, "alice", "create", "serviceaccounts", "alice")
    assert not can_i(docs([{"apiGroups": ["apps"], "resources": ["pods"], "verbs": ["get"]}]), "alice", "get", "pods", "alice")


# (verb, resource, namespace with {me}/{other} for alice/bob, expected). Escape paths of issue 13 are marked.
MATRIX = [
    ("get", "pods", "{me}", True),
    ("create", "deployments.apps", "{me}", True),
    ("create", "pods/exec", "{me}", True),
    ("get", "pods/log", "{me}", True),
    ("create", "services", "{me}", True),
    ("create", "secrets", "{me}", True),
    ("create", "ingresses.networking.k8s.io", "{me}", True),
    ("create", "networkpolicies.networking.k8s.io", "{me}", True),
    ("get", "endpoints", "{me}", True),
    ("list", "endpointslices.discovery.k8s.io", "{me}", True),
    ("get", "resourcequotas", "{me}", True),
    ("create", "endpoints", "{me}", False),                           # escape: CVE-2021-25740 route to any pod
    ("update", "endpoints", "{me}", False),                           # escape
    ("patch", "endpoints", "{me}", False),                            # escape
    ("create", "endpointslices.discovery.k8s.io", "{me}", False),
    ("create", "serviceaccounts/token", "{me}", False),
    ("create", "serviceaccounts/token", "{other}", False),
    ("create", "pods/ephemeralcontainers", "{me}", False),
    ("update", "resourcequotas", "{me}", False),
    ("delete", "limitranges", "{me}", False),
    ("create", "roles.rbac.authorization.k8s.io", "{me}", False),
    ("create", "rolebindings.rbac.authorization.k8s.io", "{me}", False),
    ("escalate", "roles.rbac.authorization.k8s.io", "{me}", False),
    ("bind", "clusterroles.rbac.authorization.k8s.io", "{me}", False),
    ("impersonate", "serviceaccounts", "{me}", False),
    ("get", "pods", "{other}", False),
    ("list", "secrets", "{other}", False),
    ("create", "pods/exec", "{other}", False),
    ("get", "pods", "kube-system", False),
    ("list", "secrets", "vault", False),
    ("create", "pods/portforward", "monitoring", False),
    ("get", "secrets", "ingress-nginx", False),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", None, False),
    ("create", "namespaces", None, False),
    ("patch", "namespaces", None, False),
    ("impersonate", "users", None, False),
    ("update", "nodes", None, False),
    ("delete", "validatingadmissionpolicybindings.admissionregistration.k8s.io", None, False),
]
# Day 3: the banking lab's privileged audit namespace (issue 13: a student could exec into the root collector
# or start a privileged pod there). Day 4: the microservices lab's namespace.
DAY_MATRIX = {
    3: [("create", "pods", "{me}-banking-audit", False),               # escape: privileged namespace per student
        ("create", "pods/exec", "{me}-banking-audit", False),          # escape
        ("create", "pods/exec", "banking-audit", False),
        ("get", "pods/log", "banking-audit", False),
        ("create", "pods/exec", "{me}-banking-core", True),
        ("create", "endpoints", "{me}-ecommerce-backend", False),     # escape
        ("create", "pods", "{other}-ecommerce-data", False)],
    4: [("create", "pods/exec", "{me}-microservices-demo", True),
        ("create", "endpoints", "{me}-microservices-demo", False),    # escape
        ("get", "configmaps", "{other}-microservices-demo", False),
        ("create", "pods", "argocd", False),
        ("list", "secrets", "velero", False)],
}


def matrix_cases():
    for day in sorted(DAYS):
        for verb, resource, namespace, expected in MATRIX + DAY_MATRIX[day]:
            yield pytest.param(day, verb, resource, namespace, expected,
                               id="%s-%s-%s" % (verb, resource, namespace or "cluster"))


def test_the_matrix_has_at_least_thirty_cases_per_day():
    assert all(len(MATRIX + extra) >= 30 for extra in DAY_MATRIX.values())


@pytest.mark.parametrize("plan,verb,resource,namespace,expected", list(matrix_cases()), indirect=["plan"])
def test_can_i_matrix(plan, verb, resource, namespace, expected):
    for me, other in (("alice", "bob"), ("carol", "alice")):
        ns = namespace.format(me=me, other=other) if namespace else None
        assert can_i(plan["tenancy"], me, verb, resource, ns) is expected, (me, verb, resource, ns)


def test_no_cluster_wide_rights_and_every_binding_names_only_its_own_student(plan):
    assert not of_kind(plan["tenancy"], "ClusterRole") and not of_kind(plan["tenancy"], "ClusterRoleBinding")
    for binding in of_kind(plan["tenancy"], "RoleBinding"):
        owner = binding["metadata"]["labels"][STUDENT_LABEL]
        assert binding["metadata"]["namespace"] in student_namespaces(plan, owner)
        assert binding["subjects"] == [{"kind": "ServiceAccount", "name": owner, "namespace": owner}]


# --- Pod Security -------------------------------------------------------------------------------------------

def effective_levels(plan):
    """Each student namespace's enforce level: the students role's labels merged with the lab's Namespace labels
    (both are applied, by different field managers); an unlabelled namespace is privileged."""
    labels = {}
    for doc in of_kind(plan["tenancy"], "Namespace") + of_kind(plan["labs"], "Namespace"):
        labels.setdefault(doc["metadata"]["name"], {}).update(doc["metadata"].get("labels") or {})
    return {ns: labels[ns].get(ENFORCE, "privileged") for ns in labels if STUDENT_LABEL in labels[ns]}


def test_no_student_namespace_is_above_baseline_and_restricted_labs_stay_restricted(plan):
    levels = effective_levels(plan)
    assert set(levels) == set(student_namespaces(plan))
    assert set(levels.values()) <= {"baseline", "restricted"}, levels
    for student in ("alice", "bob", "carol"):
        if plan["day"] == 3:
            assert levels[student + "-banking-core"] == levels[student + "-ecommerce-data"] == "restricted"
        else:
            assert levels[student + "-microservices-demo"] == "restricted"


@pytest.mark.parametrize("plan", [3], indirect=True)
def test_the_banking_audit_collector_runs_once_in_an_instructor_namespace(plan):
    collectors = [d for d in plan["labs"] if d["kind"] == "DaemonSet"]
    assert [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in collectors] == [
        ("banking-audit", "audit-log-collector")]
    audit_ns = [d for d in of_kind(plan["labs"], "Namespace") if d["metadata"]["name"].endswith("banking-audit")]
    assert [d["metadata"]["name"] for d in audit_ns] == ["banking-audit"]
    assert STUDENT_LABEL not in audit_ns[0]["metadata"]["labels"]
    # It reads every student's copy of banking-core: /var/log/pods/<namespace>_<pod>_<uid>/.
    assert "/host/var/log/pods/*banking-core_*/" in collectors[0]["spec"]["template"]["spec"]["containers"][0]["args"][0]


# --- Admission: the ValidatingAdmissionPolicy, evaluated ------------------------------------------------------

def policy_and_binding(plan):
    policies = of_kind(plan["tenancy"], "ValidatingAdmissionPolicy")
    bindings = of_kind(plan["tenancy"], "ValidatingAdmissionPolicyBinding")
    assert len(policies) == 1 and len(bindings) == 1
    return policies[0], bindings[0]


def test_the_policy_is_bound_with_deny_to_every_student_namespace_and_no_other(plan):
    policy, binding = policy_and_binding(plan)
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert policy["spec"]["failurePolicy"] == "Fail"
    selector = {"matchExpressions": [{"key": STUDENT_LABEL, "operator": "Exists"}]}
    assert policy["spec"]["matchConstraints"]["namespaceSelector"] == selector
    assert binding["spec"]["matchResources"]["namespaceSelector"] == selector
    labelled = {d["metadata"]["name"] for d in of_kind(plan["tenancy"] + plan["labs"], "Namespace")
                if STUDENT_LABEL in d["metadata"].get("labels", {})}
    assert labelled == set(student_namespaces(plan))


@functools.lru_cache(maxsize=None)
def program(expression):
    env = celpy.Environment()
    return env.program(env.compile(expression))


def admitted(policy, obj, user="system:serviceaccount:alice:alice", operation="CREATE", old=None):
    """Whether the policy admits this request: every validation's CEL expression must be true (cel-python)."""
    kind = (obj or old)["kind"]
    plural = {"Pod": "pods", "Service": "services", "Secret": "secrets", "NetworkPolicy": "networkpolicies"}[kind]
    rules = policy["spec"]["matchConstraints"]["resourceRules"]
    if not any(plural in r["resources"] and operation in r["operations"] for r in rules):
        return True
    request = {"operation": operation, "name": (obj or old)["metadata"]["name"], "namespace": "alice",
               "resource": {"group": "", "version": "v1", "resource": plural}, "userInfo": {"username": user}}
    activation = {"request": celpy.adapter.json_to_cel(request), "object": celpy.adapter.json_to_cel(obj),
                  "oldObject": celpy.adapter.json_to_cel(old)}
    results = [program(v["expression"]).evaluate(activation) for v in policy["spec"]["validations"]]
    assert all(isinstance(r, celpy.celtypes.BoolType) for r in results), results  # an error is not an answer
    return all(bool(r) for r in results)


def pod(spec_extra=None, container_extra=None):
    container = dict({"name": "c", "image": "busybox:1.36.1"}, **(container_extra or {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": dict({"containers": [container]}, **(spec_extra or {}))}


REFUSED = [
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "forever", "annotations": {
        "kubernetes.io/service-account.name": "alice"}}, "type": "kubernetes.io/service-account-token"},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"}, "spec": {"type": "NodePort"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "to-bob"},
     "spec": {"type": "ExternalName", "externalName": "payment-processor.bob-banking-core.svc.cluster.local"}},
    pod({"hostNetwork": True}), pod({"hostPID": True}), pod({"hostIPC": True}),
    pod({"volumes": [{"name": "node", "hostPath": {"path": "/etc/kubernetes"}}]}),
    pod(container_extra={"securityContext": {"privileged": True}}),
    pod({"initContainers": [{"name": "i", "image": "busybox:1.36.1", "securityContext": {"privileged": True}}]}),
    pod({"ephemeralContainers": [{"name": "e", "image": "busybox:1.36.1", "securityContext": {"privileged": True}}]}),
]
ADMITTED = [
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "type": "Opaque"},
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"type": "ClusterIP"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "default-type"}, "spec": {}},
    pod(), pod({"volumes": [{"name": "tmp", "emptyDir": {}}], "hostNetwork": False},
               {"securityContext": {"privileged": False}}),
]


@pytest.mark.parametrize("obj", REFUSED, ids=lambda o: "%s-%s" % (o["kind"], o["metadata"]["name"] if o["kind"] != "Pod"
                                                                   else sorted(o["spec"])[-1]))
def test_the_policy_refuses_what_leaves_the_namespace(plan, obj):
    policy, _ = policy_and_binding(plan)
    assert not admitted(policy, obj)
    assert not admitted(policy, obj, user=ADMIN), "the lab role (cluster admin) is held to it too"


@pytest.mark.parametrize("obj", ADMITTED, ids=lambda o: "%s-%s" % (o["kind"], o["metadata"]["name"]))
def test_the_policy_admits_ordinary_objects(plan, obj):
    policy, _ = policy_and_binding(plan)
    assert admitted(policy, obj)


def test_students_cannot_change_or_delete_the_kubelab_network_policies(plan):
    policy, _ = policy_and_binding(plan)
    ours = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "kubelab-default-deny"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}
    theirs = dict(ours, metadata={"name": "allow-web"})
    assert not admitted(policy, None, operation="DELETE", old=ours)
    assert not admitted(policy, dict(ours, spec={"podSelector": {}}), operation="UPDATE", old=ours)
    assert admitted(policy, None, operation="DELETE", old=ours, user=ADMIN)
    assert admitted(policy, theirs) and admitted(policy, None, operation="DELETE", old=theirs)


def pod_of(doc):
    """The pod a workload would create (Pod, Deployment, StatefulSet, Job, CronJob); None for anything else."""
    if doc["kind"] == "Pod":
        return doc
    spec = doc.get("spec") or {}
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    if "template" not in spec:
        return None
    return {"apiVersion": "v1", "kind": "Pod", "metadata": dict(spec["template"].get("metadata") or {}, name="x"),
            "spec": spec["template"]["spec"]}


def test_every_pod_the_labs_put_in_student_namespaces_is_admitted(plan):
    policy, _ = policy_and_binding(plan)
    mine = set(student_namespaces(plan))
    pods = [pod_of(d) for d in plan["labs"] if d["metadata"].get("namespace") in mine]
    pods = [p for p in pods if p]
    assert len(pods) >= 3
    for found in pods:
        assert admitted(policy, found, user=ADMIN), found["metadata"]
    services = [d for d in plan["labs"] if d["kind"] == "Service" and d["metadata"].get("namespace") in mine]
    assert services and all(admitted(policy, s, user=ADMIN) for s in services)


# --- Network ------------------------------------------------------------------------------------------------

def policies_in(plan, namespace):
    return [d for d in of_kind(plan["tenancy"], "NetworkPolicy") if d["metadata"]["namespace"] == namespace]


def peer_namespaces(peers):
    names = set()
    for peer in peers:
        selector = peer.get("namespaceSelector") or {}
        names.update((selector.get("matchLabels") or {}).values())
        for expr in selector.get("matchExpressions") or []:
            names.update(expr.get("values") or [expr["key"] + ":" + expr["operator"]])
    return names


def test_every_student_namespace_denies_both_ways_and_opens_only_to_its_owner(plan):
    for student in ("alice", "bob", "carol"):
        own = set(student_namespaces(plan, student))
        for ns in own:
            found = {p["metadata"]["name"]: p["spec"] for p in policies_in(plan, ns)}
            assert found["kubelab-default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
            tenant = found["kubelab-tenant"]
            sources = peer_namespaces(p for rule in tenant["ingress"] for p in rule["from"])
            assert sources == own | {"ingress-nginx", "monitoring"}, ns
            targets = peer_namespaces(p for rule in tenant["egress"] for p in rule["to"])
            expected = own | {"kube-system"} | ({"vault", "ingress-nginx"} if plan["day"] == 3 else set())
            assert targets == expected, ns
            dns = [r for r in tenant["egress"] if peer_namespaces(r["to"]) == {"kube-system"}]
            assert dns[0]["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
            assert sorted((p["protocol"], p["port"]) for p in dns[0]["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_every_addon_namespace_admits_students_only_to_what_labs_need(plan):
    expected = {"csi-hostpath", "ingress-nginx", "monitoring", "vault"} | (
        {"argocd", "velero"} if plan["day"] == 4 else set())
    found = {}
    for doc in of_kind(plan["tenancy"], "NetworkPolicy"):
        if STUDENT_LABEL not in doc["metadata"]["labels"]:
            found.setdefault(doc["metadata"]["namespace"], {})[doc["metadata"]["name"]] = doc["spec"]
    assert set(found) == expected
    for ns, policies in found.items():
        guard = policies["kubelab-tenants"]
        assert guard["policyTypes"] == ["Ingress"] and len(guard["ingress"]) == 1
        assert guard["ingress"][0]["from"] == [
            {"namespaceSelector": {"matchExpressions": [{"key": STUDENT_LABEL, "operator": "DoesNotExist"}]}},
            {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.244.0.0/16"]}}]
        open_to_all = sorted((p["podSelector"]["matchLabels"], [port["port"] for port in p["ingress"][0]["ports"]])
                             for name, p in policies.items() if name != "kubelab-tenants")
        assert all("from" not in p["ingress"][0] for name, p in policies.items() if name != "kubelab-tenants")
        assert open_to_all == {
            "vault": [({"app.kubernetes.io/name": "vault"}, [8200])],
            "ingress-nginx": [({"app.kubernetes.io/component": "controller"}, [80, 443, 8443])]}.get(ns, [])
    # Prometheus, Alertmanager, Grafana's pod and kube-state-metrics are guarded; the operator's webhook and the
    # custom metrics adapter (called by the API server) are not selected.
    assert found["monitoring"]["kubelab-tenants"]["podSelector"] == {"matchExpressions": [{
        "key": "app.kubernetes.io/name", "operator": "In",
        "values": ["prometheus", "alertmanager", "grafana", "kube-state-metrics"]}]}
    assert found["vault"]["kubelab-tenants"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "vault"}}


# --- Budgets --------------------------------------------------------------------------------------------------

def test_each_lab_namespace_fits_its_quota_and_limit_range(plan):
    quota = of_kind(plan["tenancy"], "ResourceQuota")[0]["spec"]["hard"]
    limits = of_kind(plan["tenancy"], "LimitRange")[0]["spec"]["limits"][0]
    for key in ("requests.cpu", "limits.memory", "requests.storage", "requests.ephemeral-storage", "count/pods",
                "count/services", "count/secrets", "count/configmaps", "count/persistentvolumeclaims"):
        assert key in quota
    assert {"cpu", "memory"} <= set(limits["maxLimitRequestRatio"]) and "ephemeral-storage" in limits["default"]
    usage = {}
    hpa_max = {(d["metadata"]["namespace"], d["spec"]["scaleTargetRef"]["name"]): d["spec"]["maxReplicas"]
               for d in of_kind(plan["labs"], "HorizontalPodAutoscaler")}
    for doc in plan["labs"]:
        ns = doc["metadata"].get("namespace")
        found = pod_of(doc)
        if ns not in effective_levels(plan) or not found:
            continue
        copies = hpa_max.get((ns, doc["metadata"]["name"]), (doc.get("spec") or {}).get("replicas", 1))
        used = usage.setdefault(ns, {"cpu": 0, "memory": 0, "pods": 0})
        used["pods"] += copies
        for container in found["spec"]["containers"] + found["spec"].get("initContainers", []):
            res = container.get("resources") or {}
            request = dict(limits["defaultRequest"], **(res.get("requests") or {}))
            limit = dict(limits["default"], **(res.get("limits") or {}))
            for resource, unit in (("cpu", "m"), ("memory", "Mi")):
                assert quantity(limit[resource], unit) <= quantity(limits["max"][resource], unit), container["name"]
                ratio = quantity(limit[resource], unit) / quantity(request[resource], unit)
                assert ratio <= float(limits["maxLimitRequestRatio"][resource]), (ns, container["name"], resource)
                if container in found["spec"]["containers"]:
                    used[resource] += copies * quantity(request[resource], unit)
    assert usage
    for ns, used in usage.items():
        assert used["cpu"] <= quantity(quota["requests.cpu"], "m"), (ns, used)
        assert used["memory"] <= quantity(quota["requests.memory"], "Mi"), (ns, used)
        assert used["pods"] <= int(quota["count/pods"]), (ns, used)


def test_a_class_whose_lab_requests_do_not_fit_is_refused_in_plan_mode(tmp_path):
    """60 students of day 3 on a 2-CPU host: the lab workloads alone need more than the host (issue 13)."""
    build_dir = tmp_path / "build"
    roster = '{"kubelab_students": [%s]}' % ", ".join('{"name": "s%02d"}' % i for i in range(60))
    result = run_playbook("playbooks/day3.yml", str(build_dir), "-e", "kubelab_mode=plan",
                          "-e", "kubelab_tenancy=namespace", "-e", roster,
                          "-e", '{"kubelab_host_capacity": {"cpu": 2, "memory_mib": 65536}}')
    assert result.returncode != 0
    assert "The class does not fit the Docker hosts" in result.stdout, result.stdout[-3000:]


# --- Preflight: namespace names, before anything is written ---------------------------------------------------

@pytest.mark.parametrize("roster,message", [
    ('[{"name": "vault"}]', "'vault' cannot be a namespace in namespace tenancy"),
    ('[{"name": "kube-x"}]', "'kube-x' cannot be a namespace in namespace tenancy"),
    ('[{"name": "banking-audit"}]', "'banking-audit' cannot be a namespace in namespace tenancy"),
    ('[{"name": "alice"}, {"name": "alice-banking-core"}]',
     "namespace 'alice-banking-core' would belong to both 'alice' and 'alice-banking-core'; rename one student"),
    ('[{"name": "%s"}]' % ("s" * 45), "namespace '%s-ecommerce-frontend' (student '%s' + lab namespace) is 64 "
                                     "characters; Kubernetes allows 63. Shorten the student name" % ("s" * 45, "s" * 45)),
])
def test_unusable_student_names_fail_in_preflight_and_leave_build_untouched(tmp_path, roster, message):
    build_dir = tmp_path / "build"
    result = run_playbook("playbooks/day3.yml", str(build_dir), "-e", "kubelab_mode=plan",
                          "-e", "kubelab_tenancy=namespace", "-e", '{"kubelab_students": %s}' % roster)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert not build_dir.exists(), "preflight failed, yet something was written under build/"
