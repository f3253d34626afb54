# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the lab role: load a lab from labs/<id>/ and expand it into what one cluster gets.

Pure Python (plus reading the lab's own files in lab_load), unit-tested in tests/unit/test_lab_role_plan.py.

- lab_known(labs_dir): the ids of every labs/<id>/lab.yml, sorted.
- lab_load(labs_dir, lab_id): {lab: <lab.yml>, manifests: {file: [documents]}} in lab.yml order.
- lab_tenancy_problems(loaded, shared_namespaces): why a lab cannot run in namespace tenancy ([] if it can).
- lab_instances(loaded, tenancy, students, replacements, shared_namespaces): one instance per copy of the lab
  the cluster gets (cluster tenancy: one; namespace tenancy: one per student, namespaces prefixed
  "<student>-"), each with the rendered documents, workloads to wait for, checks, generated Secrets,
  the namespaces the lab owns (creates with a Namespace object) and what lab-reset undoes besides (reset).
- lab_images(labs_dir, lab_ids): the labs' image list (manifests, gitops/, lab.yml images), for make warm.
- lab_fetch_failures(results, fetched): mark non-skipped check results whose objects could not be read.
"""

from __future__ import annotations

import glob
import os
import re

import yaml

from ansible_collections.kubelab.core.plugins.module_utils.errors import LabError, filters
from ansible_collections.kubelab.core.plugins.module_utils.names import NAME_LABEL, STUDENT_LABEL

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# Kinds that are not namespaced (the ones labs or add-ons may plausibly carry). A shared cluster cannot hold
# one copy per student of these, so namespace tenancy refuses labs that have them (except Namespace).
CLUSTER_SCOPED_KINDS = frozenset((
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "IngressClass",
    "RuntimeClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService", "VolumeSnapshotClass",
    "VolumeSnapshotContent", "ClusterIssuer", "ClusterSecretStore",
))


def lab_known(labs_dir):
    """Sorted ids of the labs under labs_dir (directories holding a lab.yml)."""
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(str(labs_dir), "*", "lab.yml")))


def lab_load(labs_dir, lab_id):
    """Read labs/<lab_id>/lab.yml and its manifests (in lab.yml order)."""
    lab_dir = os.path.join(str(labs_dir), str(lab_id))
    path = os.path.join(lab_dir, "lab.yml")
    if not os.path.isfile(path):
        raise LabError("unknown lab %r; known labs: %s" % (lab_id, ", ".join(lab_known(labs_dir)) or "none"))
    with open(path, encoding="utf-8") as handle:
        lab = yaml.safe_load(handle)
    if not isinstance(lab, dict) or lab.get("id") != lab_id:
        raise LabError("%s: id must be %r (the directory name), found %r"
                       % (path, lab_id, lab.get("id") if isinstance(lab, dict) else lab))
    manifests = {}
    for name in lab.get("manifests") or []:
        mpath = os.path.join(lab_dir, "manifests", name)
        if not os.path.isfile(mpath):
            raise LabError("lab %s lists manifests/%s, which does not exist" % (lab_id, name))
        with open(mpath, encoding="utf-8") as handle:
            docs = [d for d in yaml.safe_load_all(handle) if d]
        for doc in docs:
            if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion") \
                    or not (doc.get("metadata") or {}).get("name"):
                raise LabError("lab %s manifests/%s: every document needs apiVersion, kind and metadata.name"
                               % (lab_id, name))
        manifests[name] = docs
    return {"lab": lab, "manifests": manifests}


def _documents(loaded):
    for name in loaded["lab"].get("manifests") or []:
        for doc in loaded["manifests"].get(name, []):
            yield name, doc


def _ident(doc):
    meta = doc.get("metadata") or {}
    return "%s %s%s" % (doc.get("kind"), (meta.get("namespace") + "/") if meta.get("namespace") else "", meta.get("name"))


def lab_owned_namespaces(loaded):
    """The namespaces a lab owns: those its manifests create with a Namespace object (labs/README.md)."""
    return [doc["metadata"]["name"] for _name, doc in _documents(loaded) if doc.get("kind") == "Namespace"]


def lab_tenancy_problems(loaded, shared_namespaces=()):
    """Why this lab cannot be copied per student into one shared cluster (empty list: it can)."""
    lab = loaded["lab"]
    owned = set(lab_owned_namespaces(loaded))
    problems = []
    shared = sorted(set(lab.get("namespaces") or []) & set(shared_namespaces or ()))
    if shared:
        problems.append("it uses the add-on namespace(s) %s, which every student shares" % ", ".join(shared))
    for name, doc in _documents(loaded):
        kind = doc.get("kind")
        meta = doc.get("metadata") or {}
        if kind == "Namespace":
            if meta.get("name") in set(shared_namespaces or ()):
                problems.append("%s creates the shared namespace %s" % (name, meta.get("name")))
            continue
        if kind in CLUSTER_SCOPED_KINDS:
            problems.append("%s holds the cluster-wide object %s" % (name, _ident(doc)))
        elif not meta.get("namespace"):
            problems.append("%s: %s has no metadata.namespace" % (name, _ident(doc)))
        elif meta["namespace"] not in owned:
            problems.append("%s: %s is in namespace %s, which the lab does not create" % (name, _ident(doc), meta["namespace"]))
    return problems


class _Rewriter:
    """Rewrites one lab copy: placeholders everywhere; in namespace tenancy, namespaces and host names."""

    def __init__(self, owned, prefix, replacements, hosts):
        self.owned = set(owned)
        self.prefix = prefix
        self.replacements = sorted((replacements or {}).items(), key=lambda kv: -len(kv[0]))
        patterns = []
        if prefix:
            # <service>.<namespace>.svc[.cluster.local] -> <service>.<prefix><namespace>.svc...
            patterns += [(re.compile(r"(?<=\.)%s(?=\.svc\b)" % re.escape(ns)), prefix + ns) for ns in sorted(owned)]
            # Ingress host names get the student in front: shop.kubelab.local -> kim.shop.kubelab.local
            patterns += [(re.compile(r"(?<![\w.-])%s(?![\w-])" % re.escape(h)), prefix.rstrip("-") + "." + h)
                         for h in sorted(hosts, key=len, reverse=True)]
        self.patterns = patterns

    def ns(self, value):
        return self.prefix + value if self.prefix and isinstance(value, str) and value in self.owned else value

    def text(self, value):
        for old, new in self.replacements:
            value = value.replace(old, new)
        for pattern, new in self.patterns:
            value = pattern.sub(new, value)
        return value

    def walk(self, node, key=None):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                if k == "namespace" and isinstance(v, str):
                    out[k] = self.ns(v)
                elif k == "namespaceSelector" and isinstance(v, dict) and self.prefix:
                    out[k] = self.selector(v)
                else:
                    out[k] = self.walk(v, k)
            return out
        if isinstance(node, list):
            return [self.walk(v, key) for v in node]
        if isinstance(node, str):
            return self.text(node)
        return node

    def selector(self, sel):
        # walk builds new dicts and lists, so the changes below leave the loaded lab as it was.
        sel = self.walk(sel, "selector")
        labels = sel.get("matchLabels") or {}
        if NAME_LABEL in labels:
            labels[NAME_LABEL] = self.ns(labels[NAME_LABEL])
        for expr in sel.get("matchExpressions") or []:
            if expr.get("key") == NAME_LABEL:
                expr["values"] = [self.ns(v) for v in expr.get("values") or []]
        if "matchNames" in sel:
            sel["matchNames"] = [self.ns(v) for v in sel["matchNames"]]
        return sel


def _ingress_hosts(loaded):
    hosts = set()
    for _name, doc in _documents(loaded):
        if doc.get("kind") == "Ingress":
            spec = doc.get("spec") or {}
            hosts.update(r.get("host") for r in spec.get("rules") or [] if r.get("host"))
            for tls in spec.get("tls") or []:
                hosts.update(h for h in tls.get("hosts") or [] if h)
    return hosts


def _names(students):
    return [s.get("name") if isinstance(s, dict) else s for s in students or []]


def lab_instances(loaded, tenancy="cluster", students=None, replacements=None, shared_namespaces=()):
    """The copies of a lab one cluster gets; see the module docstring."""
    lab = loaded["lab"]
    lab_id = lab["id"]
    names = _names(students)
    if tenancy not in ("cluster", "namespace"):
        raise LabError("kubelab_tenancy: %r must be cluster or namespace" % (tenancy,))
    if tenancy == "namespace":
        problems = lab_tenancy_problems(loaded, shared_namespaces)
        if problems:
            raise LabError("lab %s cannot run in namespace tenancy: %s. Run it with kubelab_tenancy=cluster."
                           % (lab_id, "; ".join(problems)))
        if not names:
            raise LabError("kubelab_students: namespace tenancy needs at least one student")
        # lab.yml tenancy.shared_namespaces: one instructor-owned copy for the class (student None), not one each.
        class_shared = set((lab.get("tenancy") or {}).get("shared_namespaces") or [])
        copies = ([(None, "")] if class_shared else []) + [(n, n + "-") for n in names]
        too_long = sorted("%s-%s" % (n, ns) for n in names for ns in lab_owned_namespaces(loaded)
                          if ns not in class_shared and len(n) + 1 + len(ns) > 63)
        if too_long:
            raise LabError("lab %s: the namespace names %s are longer than 63 characters; use shorter student names"
                           % (lab_id, ", ".join(too_long)))
    else:
        copies, class_shared = [(None, "")], set()
    owned = [ns for ns in lab_owned_namespaces(loaded) if ns not in class_shared]

    def in_copy(namespace, student):
        return not class_shared or (namespace in class_shared) == (student is None)
    hosts = _ingress_hosts(loaded)
    shared = set(shared_namespaces or ())
    instances = []
    for student, prefix in copies:
        rw = _Rewriter(owned, prefix, replacements, hosts)
        base = "lab/%s/%s" % (lab_id, student + "/" if student else "")
        artifacts, workloads, namespaces = [], [], []
        for name in lab.get("manifests") or []:
            docs = []
            for doc in loaded["manifests"].get(name, []):
                meta = doc.get("metadata") or {}
                if not in_copy(meta.get("name") if doc.get("kind") == "Namespace" else meta.get("namespace"), student):
                    continue
                new = rw.walk(doc)
                meta = new.setdefault("metadata", {})
                if new.get("kind") == "Namespace":
                    meta["name"] = rw.ns(meta.get("name"))
                    if student:
                        meta.setdefault("labels", {})[STUDENT_LABEL] = student
                    namespaces.append(new)
                # A workload scaled to 0 on purpose (a load generator students scale up) has nothing to wait for.
                if new.get("kind") in WORKLOAD_KINDS and (new.get("spec") or {}).get("replicas", 1) != 0:
                    workloads.append({"api_version": new["apiVersion"], "kind": new["kind"],
                                      "namespace": meta.get("namespace", "default"), "name": meta["name"]})
                docs.append(new)
            if docs:
                artifacts.append({"file": name, "path": base + name, "documents": docs})
        checks = []
        for check in lab.get("checks") or []:
            check = _copy(check)
            res = check["resource"]
            if not in_copy(res.get("name") if res.get("kind") == "Namespace" else res.get("namespace"), student):
                continue
            if res.get("namespace"):
                res["namespace"] = rw.ns(res["namespace"])
                if student:
                    # The students role adds its own objects (NetworkPolicies, quota, RBAC) to every namespace of
                    # a student, labelled with her name; the lab's objects never carry that label, so a check
                    # counts only what the lab made.
                    res["label_selectors"] = list(res.get("label_selectors") or []) + ["!" + STUDENT_LABEL]
            if res.get("kind") == "Namespace" and prefix:
                if res.get("name"):
                    res["name"] = rw.ns(res["name"])
                else:
                    res["label_selectors"] = list(res.get("label_selectors") or []) + ["%s=%s" % (STUDENT_LABEL, student)]
            checks.append(check)
        generated = [dict(g, namespace=rw.ns(g["namespace"])) for g in lab.get("generated_values") or []
                     if in_copy(g["namespace"], student)]
        reset = lab.get("reset") or {}
        instances.append({
            "lab": lab_id,
            "student": student,
            "students": [student] if student else names,
            "artifacts": artifacts,
            "workloads": workloads,
            "checks": checks,
            "generated": generated,
            # Namespace objects, applied before the generated Secrets; reset deletes these (never shared ones).
            "namespaces": namespaces,
            "owned_namespaces": [ns["metadata"]["name"] for ns in namespaces if ns["metadata"]["name"] not in shared],
            # What lab-reset undoes beyond the owned namespaces (lab.yml reset:), with this copy's namespaces.
            "reset": {"uncordon_nodes": list(reset.get("uncordon_nodes") or []),
                      "delete": [_reset_ref(rw, r) for r in reset.get("delete") or []],
                      "velero_backups": [_reset_ref(rw, r) for r in reset.get("velero_backups") or []]},
            "report": "%s.%s.json" % (lab_id, student) if student else "%s.json" % lab_id,
            "secrets_subdir": "%s/%s" % (lab_id, student) if student else lab_id,
        })
    return instances


def _copy(node):
    """A deep copy of plain data. Not copy.deepcopy: on Ansible's lazy containers (a filter's arguments) that
    copies their templar with every variable of the host, seconds per lab."""
    if isinstance(node, dict):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _reset_ref(rw, ref):
    ref = dict(ref)
    if ref.get("namespace"):
        ref["namespace"] = rw.ns(ref["namespace"])
    elif ref.get("kind") == "Namespace":
        ref["name"] = rw.ns(ref["name"])
    ref["label"] = "%s %s%s" % (ref["kind"], ref["namespace"] + "/" if ref.get("namespace") else "", ref["name"])
    return ref


def _container_images(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("initContainers", "containers", "ephemeralContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        yield container["image"]
            else:
                for image in _container_images(value):
                    yield image
    elif isinstance(node, list):
        for item in node:
            for image in _container_images(item):
                yield image


def lab_images(labs_dir, lab_ids):
    """The image list of the labs, sorted: every container image of their manifests and gitops/ trees plus the
    images lab.yml lists for its guide (`images:`). What `make warm` pulls into the registry caches."""
    images = set()
    for lab_id in lab_ids:
        loaded = lab_load(labs_dir, lab_id)
        images.update(loaded["lab"].get("images") or [])
        docs = [d for _name, d in _documents(loaded)]
        for path in sorted(glob.glob(os.path.join(labs_dir, lab_id, "gitops", "**", "*.yaml"), recursive=True)):
            with open(path, encoding="utf-8") as handle:
                docs.extend(d for d in yaml.safe_load_all(handle) if d)
        images.update(_container_images(docs))
    return sorted(images)


def lab_plan_artifacts(instances):
    """Every manifest file of the instances as kubelab.core.plan_artifact's artifacts items (path, documents)."""
    return [{"path": a["path"], "documents": a["documents"]} for instance in instances for a in instance["artifacts"]]


def lab_secret_objects(generated, values):
    """Group generated values into Secret objects; values: {"<namespace>/<secret>/<key>": {kind, value|crt|key}}."""
    secrets = {}
    for g in generated or []:
        ident = "%s/%s" % (g["namespace"], g["secret"])
        entry = values.get("%s/%s" % (ident, g["key"]))
        if entry is None:
            raise LabError("no generated value for %s key %s" % (ident, g["key"]))
        secret = secrets.setdefault(ident, {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": g["secret"], "namespace": g["namespace"],
                         "labels": {"app.kubernetes.io/managed-by": "kubelab"}},
            "type": "kubernetes.io/tls" if g["kind"] == "tls" else "Opaque",
            "data": {},
        })
        if g["kind"] == "tls":
            secret["data"]["tls.crt"] = entry["crt"]
            secret["data"]["tls.key"] = entry["key"]
        else:
            secret["data"][g["key"]] = entry["value"]
    return [secrets[k] for k in sorted(secrets)]


def lab_fetch_failures(results, fetched):
    """Mark evaluated results whose objects could not be read (kind not served, API error) as failed.

    fetched: {check id: k8s_info result}; a result with failed=true or a msg and no resources is a read error.
    """
    out = []
    for result in results:
        raw = (fetched or {}).get(result["id"])
        if not result.get("skipped") and isinstance(raw, dict) and "resources" not in raw and raw.get("msg"):
            result = dict(result, passed=False, detail="could not read the objects: %s" % raw["msg"])
        out.append(result)
    return out


def lab_table(results):
    """A short pass/fail table, one line per check."""
    width = max([len(r["id"]) for r in results] + [5])
    lines = []
    for r in results:
        state = "SKIP" if r.get("skipped") else ("PASS" if r.get("passed") else "FAIL")
        lines.append("%-4s  %-*s  %s" % (state, width, r["id"], r.get("detail", "")))
    return lines


class FilterModule:
    """Filters of the lab role."""

    def filters(self):
        return filters({
            "lab_known": lab_known,
            "lab_load": lab_load,
            "lab_tenancy_problems": lab_tenancy_problems,
            "lab_images": lab_images,
            "lab_instances": lab_instances,
            "lab_plan_artifacts": lab_plan_artifacts,
            "lab_secret_objects": lab_secret_objects,
            "lab_fetch_failures": lab_fetch_failures,
            "lab_table": lab_table,
        })
