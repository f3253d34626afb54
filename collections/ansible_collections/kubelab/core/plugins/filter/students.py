# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the students role: tenancy objects, access entries, kubeconfigs and the class overview.

Pure functions (no I/O), so tests/unit/test_students*.py call them directly and the role renders every
student's objects with one filter call instead of a template loop per student.
"""

from __future__ import annotations

import base64
import json

from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError, filters
from ansible_collections.kubelab.core.plugins.module_utils.names import DNS1123_LABEL, NAME_LABEL, STUDENT_LABEL

MANAGED_LABEL = "app.kubernetes.io/managed-by"
ENFORCE = "pod-security.kubernetes.io/enforce"

# A namespaced "edit"-like role: workloads, config, networking inside the namespace; never RBAC, quotas,
# limit ranges or namespace objects, so a student cannot widen their own rights or lift their limits. Endpoints
# and EndpointSlices are read-only: writing them points a Service (and so ingress-nginx) at any pod IP of the
# cluster (CVE-2021-25740; upstream removed that verb from edit/admin). No serviceaccounts/token (TokenRequest).
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
READ = ["get", "list", "watch"]
DEFAULT_RULES = [
    {"apiGroups": [""], "resources": ["pods", "services", "configmaps", "secrets", "persistentvolumeclaims",
                                      "serviceaccounts"], "verbs": WRITE},
    {"apiGroups": [""], "resources": ["pods/log", "pods/status", "services/status", "endpoints", "events",
                                      "resourcequotas", "limitranges"], "verbs": READ},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": READ},
    {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale", "statefulsets", "statefulsets/scale",
                                          "daemonsets", "replicasets", "replicasets/scale"], "verbs": WRITE},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": WRITE},
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": WRITE},
    {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": WRITE},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses", "networkpolicies"], "verbs": WRITE},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": READ},
]
# Into running pods only where Pod Security keeps them unprivileged (a privileged pod is the node's root).
EXEC_RULE = {"apiGroups": [""], "resources": ["pods/exec", "pods/attach", "pods/portforward"], "verbs": ["get", "create"]}
EXEC_LEVELS = ("restricted", "baseline")
POLICY_NAME = "kubelab-student-guardrails"
CORE_DNS = {"namespaceSelector": {"matchLabels": {NAME_LABEL: "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
STUDENT_NAMESPACES = {"matchExpressions": [{"key": STUDENT_LABEL, "operator": "Exists"}]}
NOT_STUDENT_NAMESPACES = {"matchExpressions": [{"key": STUDENT_LABEL, "operator": "DoesNotExist"}]}


def _fail(message):
    raise InputError(message)


def _name(student):
    return student.get("name") if isinstance(student, dict) else student


def student_namespaces(student, lab_namespaces):
    """The namespaces a student owns: the home namespace <student>, then <student>-<lab namespace> per lab one."""
    name = _name(student)
    return [name] + ["%s-%s" % (name, ns) for ns in lab_namespaces]


def students_check(students, lab_namespaces, reserved=(), shared=(), levels=None, owners=None):
    """Fail with a clear message when the namespace-per-student names are unusable; returns {student: [ns]}.

    shared: lab namespaces the class shares (one unprefixed copy); levels/owners: {lab namespace: Pod Security
    enforce level / lab id}. A student copy may not enforce privileged: privileged pods own their node.
    """
    owners_of_lab = owners or {}
    for ns in lab_namespaces:
        if not isinstance(ns, str) or not DNS1123_LABEL.match(ns):
            _fail("students_lab_namespaces: %r is not a DNS-1123 label" % (ns,))
        if (levels or {}).get(ns) not in (None, "",) + EXEC_LEVELS:
            _fail("lab %s: namespace %s enforces Pod Security %r, and in namespace tenancy every student gets a copy "
                  "of it. Declare it in the lab's tenancy.shared_namespaces (one instructor-owned copy) or run the lab "
                  "with kubelab_tenancy=cluster" % (owners_of_lab.get(ns, "?"), ns, levels[ns]))
    taken = set(reserved) | set(shared)
    owners, result = {}, {}
    for student in students:
        name = _name(student)
        if not DNS1123_LABEL.match(str(name)):
            continue  # the class plan refuses invalid names with its own message
        if name in taken or str(name).startswith("kube-"):
            _fail("kubelab_students: %r cannot be a namespace in namespace tenancy (it is reserved for the cluster, "
                  "an add-on or a shared lab namespace: %s, kube-*); rename the student" % (name, ", ".join(sorted(taken))))
        namespaces = student_namespaces(name, lab_namespaces)
        for ns in namespaces:
            if len(ns) > 63:
                _fail("kubelab_students: namespace %r (student %r + lab namespace) is %d characters; Kubernetes allows "
                      "63. Shorten the student name" % (ns, name, len(ns)))
            if ns in owners:
                _fail("kubelab_students: namespace %r would belong to both %r and %r; rename one student"
                      % (ns, owners[ns], name))
            owners[ns] = name
        result[name] = namespaces
    return result


def _meta(name, student, namespace=None, labels=None):
    meta = {"name": name, "labels": {STUDENT_LABEL: student, MANAGED_LABEL: "kubelab"}}
    if student is None:
        del meta["labels"][STUDENT_LABEL]
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"].update(labels)
    return meta


def _privileged(field):
    return ("!has(object.spec.%s) || object.spec.%s.all(c, !has(c.securityContext) || "
            "!has(c.securityContext.privileged) || !c.securityContext.privileged)" % (field, field))


# (resource, CEL condition that must hold, message). Pod Security baseline refuses the pod ones too; this holds
# even where a lab's namespace level would allow them, and covers what Pod Security does not (Secrets, Services).
GUARDRAILS = [
    ("secrets", "!has(object.type) || object.type != 'kubernetes.io/service-account-token'",
     "service-account-token Secrets never expire; use a bound token (kubectl create token)"),
    ("services", "!has(object.spec.type) || !(object.spec.type in ['NodePort', 'LoadBalancer', 'ExternalName'])",
     "NodePort, LoadBalancer and ExternalName Services reach outside the student's namespaces; use ClusterIP "
     "and an Ingress"),
    ("pods", "!((has(object.spec.hostNetwork) && object.spec.hostNetwork) || (has(object.spec.hostPID) && "
             "object.spec.hostPID) || (has(object.spec.hostIPC) && object.spec.hostIPC))",
     "pods may not share the node's network, PID or IPC namespace"),
    ("pods", "!has(object.spec.volumes) || object.spec.volumes.all(v, !has(v.hostPath))",
     "hostPath volumes are not allowed"),
    ("pods", _privileged("containers"), "privileged containers are not allowed"),
    ("pods", _privileged("initContainers"), "privileged init containers are not allowed"),
    ("pods", _privileged("ephemeralContainers"), "privileged ephemeral containers are not allowed"),
    # A student owns NetworkPolicies in her namespaces, but not kubelab's default-deny and allowances.
    ("networkpolicies", "!request.userInfo.username.startsWith('system:serviceaccount:') || "
                        "!request.name.startsWith('kubelab-')",
     "the kubelab-* NetworkPolicies are the instructor's; add your own policies next to them"),
]


def students_admission_objects():
    """The ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, CEL) and its binding that refuse, in every
    namespace labelled kubelab.dev/student, what would let a student leave her namespaces (GUARDRAILS)."""
    validations = [{"expression": "request.resource.resource != '%s' || (%s)" % (resource, condition),
                    "message": "kubelab student namespaces: " + message, "reason": "Forbidden"}
                   for resource, condition, message in GUARDRAILS]
    return [
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
         "metadata": _meta(POLICY_NAME, None),
         "spec": {"failurePolicy": "Fail",
                  "matchConstraints": {
                      "namespaceSelector": STUDENT_NAMESPACES,
                      "resourceRules": [
                          {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE", "UPDATE"],
                           "resources": ["pods", "pods/ephemeralcontainers", "services", "secrets"]},
                          {"apiGroups": ["networking.k8s.io"], "apiVersions": ["v1"],
                           "operations": ["CREATE", "UPDATE", "DELETE"], "resources": ["networkpolicies"]}]},
                  "validations": validations}},
        {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
         "metadata": _meta(POLICY_NAME, None),
         "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"],
                  "matchResources": {"namespaceSelector": STUDENT_NAMESPACES}}},
    ]


def _ports(ports):
    return [p if isinstance(p, dict) else {"protocol": "TCP", "port": p} for p in ports or []]


def _peer(namespace, pods=None):
    peer = {"namespaceSelector": {"matchLabels": {NAME_LABEL: namespace}}}
    if pods:
        peer["podSelector"] = {"matchLabels": pods}
    return peer


def _student_policies(name, ns, namespaces, settings):
    """Default-deny both ways, then: in from her own namespaces and the allowed ones (ingress controller,
    monitoring); out to DNS, her own namespaces and what the labs declare (tenancy.egress)."""
    own = {"namespaceSelector": {"matchExpressions": [{"key": NAME_LABEL, "operator": "In", "values": namespaces}]}}
    allowed = sorted(set(settings.get("allow_from_namespaces", [])) - set(namespaces))
    egress = [{"to": [own]}, {"to": [CORE_DNS], "ports": _ports([{"protocol": "UDP", "port": 53}, 53])}]
    egress += [dict({"to": [_peer(e["namespace"], e.get("pods"))]}, **({"ports": _ports(e["ports"])} if e.get("ports") else {}))
               for e in settings.get("egress", [])]
    return [
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("kubelab-default-deny", name, ns),
         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta("kubelab-tenant", name, ns),
         "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                  "ingress": [{"from": [own] + [_peer(a) for a in allowed]}], "egress": egress}},
    ]


def students_addon_policies(addons, pod_subnet):
    """NetworkPolicies in each add-on namespace (addons: [{namespace, pods, reachable}]). `kubelab-tenants`
    selects the pods students must not reach (`pods`, a label selector; empty: all) and admits every namespace
    that is not a student's and the nodes (outside the pod network). Pods serving the API server (webhooks, the
    custom metrics API) must stay out of `pods`: with Calico VXLAN, node-to-remote-pod traffic leaves from the
    node's tunnel address, which is inside the pod network. `kubelab-reachable-N` opens what `reachable` lists
    ({pods: labels, ports}) to every source, students and the API server's pod proxy included (Vault's API)."""
    docs = []
    for addon in addons:
        ns = addon["namespace"]
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": _meta("kubelab-tenants", None, ns),
                     "spec": {"podSelector": addon.get("pods") or {}, "policyTypes": ["Ingress"],
                              "ingress": [{"from": [{"namespaceSelector": NOT_STUDENT_NAMESPACES},
                                                    {"ipBlock": {"cidr": "0.0.0.0/0", "except": [pod_subnet]}}]}]}})
        docs += [{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": _meta("kubelab-reachable-%d" % index, None, ns),
                  "spec": {"podSelector": {"matchLabels": r["pods"]}, "policyTypes": ["Ingress"],
                           "ingress": [{"ports": _ports(r["ports"])}]}}
                 for index, r in enumerate(addon.get("reachable") or [])]
    return docs


def students_tenancy_objects(students, lab_namespaces, settings):
    """Every object of namespace tenancy for these students, in apply order (namespaces first).

    settings: {service_account, role_name, rules, quota, limits, namespace_labels, allow_from_namespaces,
               reserved_namespaces, shared_namespaces, lab_levels, lab_owners, egress, addons, pod_subnet}
    """
    levels = settings.get("lab_levels") or {}
    owned = students_check(students, lab_namespaces, settings.get("reserved_namespaces", ()),
                           settings.get("shared_namespaces", ()), levels, settings.get("lab_owners"))
    role = settings.get("role_name", "kubelab-student")
    rules = settings.get("rules") or DEFAULT_RULES
    home_labels = settings.get("namespace_labels") or {}
    if home_labels.get(ENFORCE) not in EXEC_LEVELS:
        _fail("students_namespace_labels: %s must be baseline or restricted (found %r): an unlabelled or privileged "
              "namespace admits privileged pods, which own their node" % (ENFORCE, home_labels.get(ENFORCE)))
    docs = students_admission_objects()
    for student in students:
        name = _name(student)
        namespaces = owned[name]
        sa = settings.get("service_account") or name
        # The home namespace gets namespace_labels (Pod Security level); a lab namespace keeps the level of the
        # lab's own Namespace manifest (the lab role applies it), or gets baseline when the lab sets none (an
        # unlabelled namespace would be privileged).
        # The level of each namespace: the home one's, then each lab namespace's (baseline where the lab sets none).
        ns_levels = [home_labels.get(ENFORCE)] + [levels.get(ns) or "baseline" for ns in lab_namespaces]
        for position, ns in enumerate(namespaces):
            labels = home_labels if position == 0 else ({} if levels.get(lab_namespaces[position - 1]) else {ENFORCE: "baseline"})
            docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns, name, labels=labels or None)})
        # One ServiceAccount in the home namespace; its RoleBindings reach every namespace the student owns.
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(sa, name, namespaces[0]),
                     "automountServiceAccountToken": False})
        for ns, level in zip(namespaces, ns_levels):
            docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": _meta(role, name, ns),
                         "rules": rules + ([EXEC_RULE] if level in EXEC_LEVELS and not settings.get("rules") else [])})
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
            docs += _student_policies(name, ns, namespaces, settings)
    return docs + students_addon_policies(settings.get("addons") or [], settings.get("pod_subnet", "10.244.0.0/16"))


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
    A report without a student belongs to every student of its cluster (cluster tenancy); in namespace tenancy
    the student's own report wins over the one of the lab's shared, instructor-owned part.
    """
    states = []
    for lab in labs:
        ours = [r for r in reports if r.get("lab") == lab and r.get("_cluster", cluster) == cluster]
        mine = [r for r in ours if r.get("student") == student] or [r for r in ours if r.get("student") in (None, "")]
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
        return filters({
            "students_check": students_check,
            "students_tenancy_objects": students_tenancy_objects,
            "students_access": students_access,
            "students_token_current": students_token_current,
            "students_kubeconfig": students_kubeconfig,
            "students_overview": students_overview,
        })
