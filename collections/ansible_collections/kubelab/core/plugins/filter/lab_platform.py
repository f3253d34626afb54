# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What the day's labs need from the platform add-ons, expanded for the class (lab.yml `platform:`).

Preflight computes this once (roles/preflight/tasks/addons.yml) from the labs it loaded and hands it to every
cluster as kubelab_lab_platform; the vault and argocd roles read it, so no lab name, namespace or path lives in
an add-on role. Unit-tested in tests/unit/test_lab_platform.py.
"""

from __future__ import annotations

import os

DOCUMENTATION = r"""
name: lab_platform
short_description: Collect and expand what kubelab labs need from the platform add-ons
description:
  - "Takes the loaded labs (C({lab_id: {lab, manifests}})) and returns
    C({vault: {policies, kubernetes_roles, kv_secrets}, argocd: {git_repos}})."
  - In namespace tenancy, a lab namespace bound by a Vault Kubernetes auth role becomes every student's copy
    C(<student>-<namespace>) (one role for the class), except the lab's C(tenancy.shared_namespaces).
positional: tenancy, students, labs_dir
options:
  _input: {description: The loaded labs by id, type: dict, required: true}
  tenancy: {description: cluster or namespace, type: str, required: true}
  students: {description: Student names (or roster entries with a name), type: list, required: true}
  labs_dir: {description: The labs directory (Git repository folders are relative to a lab's own folder), type: path}
"""

RETURN = r"""
_value: {description: The platform needs of the labs, type: dict}
"""

from ansible_collections.kubelab.core.plugins.module_utils.errors import LabError, filters


def _student_names(students):
    return [s.get("name") if isinstance(s, dict) else s for s in students or []]


def _add(into, item, key, lab_id, owners):
    """Append item unless an equal one is there; two labs declaring the same name differently is an error."""
    name = item[key]
    for existing in into:
        if existing[key] == name:
            if existing != item:
                raise LabError(
                    "labs %s and %s both declare %s %r differently in lab.yml platform:; give one of them another name"
                    % (owners[id(into), name], lab_id, key, name))
            return
    owners[id(into), name] = lab_id
    into.append(item)


def lab_platform(loaded, tenancy="cluster", students=None, labs_dir=""):
    """See DOCUMENTATION."""
    names = _student_names(students)
    if tenancy not in ("cluster", "namespace"):
        raise LabError("kubelab_tenancy: %r must be cluster or namespace" % (tenancy,))
    vault = {"policies": [], "kubernetes_roles": [], "kv_secrets": []}
    repos, owners = [], {}
    for lab_id, entry in (loaded or {}).items():
        lab = entry["lab"]
        platform = lab.get("platform") or {}
        class_shared = set((lab.get("tenancy") or {}).get("shared_namespaces") or [])
        lab_namespaces = set(lab.get("namespaces") or [])

        def copies(namespace, lab_id=lab_id, lab_namespaces=lab_namespaces, class_shared=class_shared):
            if namespace not in lab_namespaces:
                raise LabError(
                    "lab %s: platform.vault.kubernetes_roles binds namespace %r, which lab.yml namespaces does not "
                    "list; add it there or bind one of %s" % (lab_id, namespace, sorted(lab_namespaces)))
            if tenancy == "cluster" or namespace in class_shared:
                return [namespace]
            return ["%s-%s" % (student, namespace) for student in names]

        spec = platform.get("vault") or {}
        for policy in spec.get("policies") or []:
            _add(vault["policies"], dict(policy), "name", lab_id, owners)
        for role in spec.get("kubernetes_roles") or []:
            bound = [ns for namespace in role["bound_service_account_namespaces"] for ns in copies(namespace)]
            _add(vault["kubernetes_roles"], dict(role, bound_service_account_namespaces=bound), "name", lab_id, owners)
        for secret in spec.get("kv_secrets") or []:
            _add(vault["kv_secrets"], dict(secret), "path", lab_id, owners)
        for repo in (platform.get("argocd") or {}).get("git_repos") or []:
            src = os.path.join(str(labs_dir), lab_id, repo["dir"])
            _add(repos, {"name": repo["name"], "src": src, "branch": repo.get("branch", "main")}, "name", lab_id, owners)
    return {"vault": vault, "argocd": {"git_repos": repos}}


class FilterModule:
    """The labs' platform needs."""

    def filters(self):
        return filters({"lab_platform": lab_platform})
