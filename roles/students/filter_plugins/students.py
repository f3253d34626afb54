# -*- coding: utf-8 -*-
"""Filters of the students role: tenancy objects, access entries, kubeconfigs and the class overview.

Pure functions (no I/O), so tests/unit/test_students*.py call them directly and the role renders every
student's objects with one filter call instead of a template loop per student.
"""

from __future__ import annotations

import base64
import json
import re

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # pragma: no cover - the unit tests run with ansible-core installed
    AnsibleFilterError = ValueError

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
STUDENT_LABEL = "kubelab.dev/student"
MANAGED_LABEL = "app.kubernetes.io/managed-by"
NAME_LABEL = "kubernetes.io/metadata.name"

# A namespaced "edit"-like role: workloads, config, networking inside the namespace; never RBAC, quotas,
# limit ranges or namespace objects, so a student cannot widen their own rights or lift their limits.
DEFAULT_RULES = [
    {"apiGroups": [""], "resources": ["pods", "pods/log", "pods/exec", "pods/portforward", "pods/attach",
                                      "services", "endpoints", "configmaps", "secrets", "persistentvolumeclaims",
                                      "serviceaccounts", "events"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]},
    {"apiGroups": [""], "resources": ["resourcequotas", "limitranges"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale", "statefulsets", "statefulsets/scale",
                                          "daemonsets", "replicasets", "replicasets/scale"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"],
     "verbs": ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["get", "list", "watch"]},
]


def _fail(message):
    raise AnsibleFilterError(message)


def _name(student):
    return student.get("name") if isinstance(student, dict) else student


def student_namespaces(student, lab_namespaces):
    """The namespaces a student owns: the home namespace <student>, then <student>-<lab namespace> per lab one."""
    name = _name(student)
    return [name] + ["%s-%s" % (name, ns) for ns in lab_namespaces]


def students_check(students, lab_namespaces, reserved=()):
    """Fail with a clear message when the namespace-per-student names are unusable; returns {student: [ns]}."""
    owners, result = {}, {}
    for ns in lab_namespaces:
        if not isinstance(ns, str) or not DNS1123_LABEL.match(ns):
            _fail("students_lab_namespaces: %r is not a DNS-1123 label" % (ns,))
    for student in students:
        name = _name(student)
        if name in reserved or str(name).startswith("kube-"):
            _fail("kubelab_students: %r cannot be a namespace in namespace tenancy (it is reserved: %s, kube-*); "
                  "rename the student" % (name, ", ".join(sorted(reserved))))
        namespaces = student_namespaces(name, lab_namespaces)
        for ns in namespaces:
            if len(ns) > 63:
                _fail("students: namespace %r (student %r + lab namespace) is %d characters; Kubernetes allows 63. "
                      "Shorten the student name" % (ns, name, len(ns)))
            if ns in owners:
                _fail("students: namespace %r would belong to both %r and %r; rename one student"
                      % (ns, owners[ns], name))
            owners[ns] = name
        result[name] = namespaces
    return result


def _meta(name, student, namespace=None, labels=None):
    meta = {"name": name, "labels": {STUDENT_LABEL: student, MANAGED_LABEL: "kubelab"}}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"].update(labels)
    return meta


def students_tenancy_objects(students, lab_namespaces, settings):
    """Every object of namespace tenancy for these students, in apply order (namespaces first).

    settings: {service_account, role_name, rules, quota, limits, namespace_labels, allow_from_namespaces,
               reserved_namespaces}
    """
    owned = students_check(students, lab_namespaces, settings.get("reserved_namespaces", ()))
    role = settings.get("role_name", "kubelab-student")
    rules = settings.get("rules") or DEFAULT_RULES
    docs = []
    for student in students:
        name = _name(student)
        namespaces = owned[name]
        sa = settings.get("service_account") or name
        # The home namespace gets namespace_labels (Pod Security level); lab namespaces keep the labels the
        # lab's own Namespace manifest sets (the lab role applies those with its own field manager).
        for position, ns in enumerate(namespaces):
            docs.append({"apiVersion": "v1", "kind": "Namespace",
                         "metadata": _meta(ns, name, labels=settings.get("namespace_labels") if position == 0 else None)})
        # One ServiceAccount in the home namespace; its RoleBindings reach every namespace the student owns.
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(sa, name, namespaces[0]),
                     "automountServiceAccountToken": False})
        for ns in namespaces:
            docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                         "metadata": _meta(role, name, ns), "rules": rules})
            docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                         "metadata": _meta(role, name, ns),
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespaces[0]}]})
            if settings.get("quota"):
                docs.append({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": _meta(role, name, ns),
                             "spec": {"hard": settings["quota"]}})
            if settings.get("limits"):
                docs.append({"apiVersion": "v1", "kind": "LimitRange", "metadata": _meta(role, name, ns),
                             "spec": {"limits": [dict(settings["limits"], type="Container")]}})
            allowed = sorted(set(namespaces) | set(settings.get("allow_from_namespaces", [])))
            docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                         "metadata": _meta("kubelab-default-deny", name, ns),
                         "spec": {"podSelector": {}, "policyTypes": ["Ingress"],
                                  "ingress": [{"from": [{"namespaceSelector": {"matchExpressions": [
                                      {"key": NAME_LABEL, "operator": "In", "values": allowed}]}}]}]}})
    return docs


def students_access(cluster, settings):
    """One access entry per student of a planned cluster: where and as whom the student works (no secrets)."""
    server = "https://%s:%s" % (cluster["api_address"], cluster["api_port"])
    # The Docker host that runs the cluster (the class may be spread over several); empty when none does.
    host = cluster.get("docker_host", "") if cluster.get("provider", "kind") == "kind" else ""
    entries = []
    for student in cluster["students"]:
        if cluster["tenancy"] == "namespace":
            namespaces = student_namespaces(student, settings.get("lab_namespaces", []))
            sa = settings.get("service_account") or student
            entries.append({"student": student, "cluster": cluster["name"], "tenancy": "namespace",
                            "host": host, "server": server, "namespace": namespaces[0], "namespaces": namespaces,
                            "service_account": sa, "user": "system:serviceaccount:%s:%s" % (namespaces[0], sa),
                            "context": "%s@%s" % (student, cluster["name"])})
        else:
            entries.append({"student": student, "cluster": cluster["name"], "tenancy": "cluster",
                            "host": host, "server": server, "namespace": "default", "namespaces": [],
                            "service_account": "", "user": "cluster-admin",
                            "context": "%s@%s" % (student, cluster["name"])})
    return entries


def students_jwt_claims(token):
    """The (unverified) claims of a service account token: exp, and the bound service account's name/uid."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload.encode()).decode())
    except (AttributeError, IndexError, ValueError):
        return {}


def students_token_current(kubeconfig, service_account_uid, server, now, renew_before_seconds):
    """Whether an existing student kubeconfig can be kept: same server, token of this very service account
    (a re-created account gets a new uid), and not expiring within renew_before_seconds."""
    try:
        if kubeconfig["clusters"][0]["cluster"]["server"] != server:
            return False
        claims = students_jwt_claims(kubeconfig["users"][0]["user"]["token"])
    except (KeyError, IndexError, TypeError):
        return False
    bound = claims.get("kubernetes.io", {}).get("serviceaccount", {})
    return bound.get("uid") == service_account_uid and int(claims.get("exp", 0)) - int(now) > int(renew_before_seconds)


def students_kubeconfig(entry, admin, token=None):
    """A kubeconfig for one student from the cluster's admin kubeconfig (its server and CA): with the service
    account token (namespace tenancy) or with the admin user itself (cluster tenancy)."""
    cluster = dict(admin["clusters"][0]["cluster"])
    user = {"token": token} if token is not None else admin["users"][0]["user"]
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": entry["cluster"], "cluster": cluster}],
        "users": [{"name": "%s@%s" % (entry["student"], entry["cluster"]), "user": user}],
        "contexts": [{"name": entry["context"], "context": {"cluster": entry["cluster"], "namespace": entry["namespace"],
                                                            "user": "%s@%s" % (entry["student"], entry["cluster"])}}],
        "current-context": entry["context"],
    }


def students_lab_states(student, cluster, labs, reports):
    """[(lab, state)] for one student: 'passed', 'failed (2/5)', '..., 1 skipped' (a check that needs a real
    cluster, skipped on the test double) or 'not run'.

    reports: the parsed build/reports/<cluster>/*.json of the student's cluster, each {lab, student, checks}.
    A report without a student belongs to every student of its cluster (cluster tenancy).
    """
    states = []
    for lab in labs:
        mine = [r for r in reports if r.get("lab") == lab and r.get("student") in (None, "", student)
                and r.get("_cluster", cluster) == cluster]
        if not mine:
            states.append((lab, "not run"))
            continue
        checks = mine[-1].get("checks") or []
        ran = [c for c in checks if not c.get("skipped")]
        passed = sum(1 for c in ran if c.get("passed") is True)
        if not ran:
            state = "skipped (%d)" % len(checks) if checks else "no checks"
        else:
            state = "passed" if passed == len(ran) else "failed (%d/%d)" % (passed, len(ran))
            if len(ran) < len(checks):
                state += ", %d skipped" % (len(checks) - len(ran))
        states.append((lab, state))
    return states


def students_overview(entries, labs, reports):
    """The instructor's class overview (markdown): one row per student."""
    lines = ["# Class overview", "", "| student | cluster / namespace | host | API endpoint | context | labs |",
             "|---|---|---|---|---|---|"]
    for entry in sorted(entries, key=lambda e: e["student"]):
        where = entry["cluster"] if entry["tenancy"] == "cluster" else "%s / %s" % (entry["cluster"], entry["namespace"])
        states = students_lab_states(entry["student"], entry["cluster"], labs,
                                     [r for r in reports if r.get("_cluster") == entry["cluster"]])
        lab_text = ", ".join("%s: %s" % s for s in states) or "no labs today"
        lines.append("| %s | %s | %s | %s | %s | %s |" % (entry["student"], where, entry.get("host") or "-",
                                                        entry["server"], entry["context"], lab_text))
    return "\n".join(lines) + "\n"


class FilterModule:
    """Filters of the students role."""

    def filters(self):
        return {
            "students_check": students_check,
            "students_tenancy_objects": students_tenancy_objects,
            "students_access": students_access,
            "students_jwt_claims": students_jwt_claims,
            "students_token_current": students_token_current,
            "students_kubeconfig": students_kubeconfig,
            "students_overview": students_overview,
        }
