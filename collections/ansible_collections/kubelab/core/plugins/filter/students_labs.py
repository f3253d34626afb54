# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""What namespace tenancy needs to know about the day's labs (lab.yml and manifests, as kubelab.core.lab_load reads them).

- students_lab_facts(labs_dir, lab_ids, tenancy, loaded): the namespaces each student gets a copy of (with the Pod
  Security level the lab's Namespace object enforces), the lab namespaces shared by the class (lab.yml
  `tenancy.shared_namespaces`: one instructor-owned copy), the egress the labs declare (`tenancy.egress`), and
  the CPU and memory the labs request per student and per cluster (for the capacity check).
- students_quantity(value, unit): a Kubernetes quantity as millicores ("m") or MiB ("Mi").

Preflight calls these (through the students role's tasks/check.yml) before anything changes; the role's
render step calls them again for the objects. Both pass `loaded`, the labs preflight loaded once for the run
(the lab role's lab_loaded, kubelab.core.lab_load); a lab not in it (a play without preflight, -e lab=<id>) is
loaded through the same lab_load, so lab.yml is read one way only.
"""

from __future__ import annotations

import re

from ansible_collections.kubelab.core.plugins.filter.lab_plan import lab_load
from ansible_collections.kubelab.core.plugins.module_utils.errors import LabError, filters

ENFORCE = "pod-security.kubernetes.io/enforce"
VAULT_INJECT = "vault.hashicorp.com/agent-inject"
# The Vault agent injector's own defaults when a pod does not set vault.hashicorp.com/agent-requests-*.
VAULT_AGENT_DEFAULTS = {"cpu": "250m", "memory": "64Mi"}
_SUFFIX = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9,
           "T": 10 ** 12, "m": 10 ** -3, "": 1}
_QUANTITY = re.compile(r"^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$")


def students_quantity(value, unit):
    """'250m' -> 250 (unit 'm'); '1' -> 1000; '64Mi' -> 64 (unit 'Mi'); '1G' -> 953.67 (unit 'Mi')."""
    match = _QUANTITY.match(str(value).strip())
    if not match:
        raise LabError("not a Kubernetes quantity: %r (a lab's resource requests, e.g. 250m or 64Mi)" % (value,))
    amount = float(match.group(1)) * _SUFFIX[match.group(2) or ""]
    return amount * 1000 if unit == "m" else amount / 2 ** 20


def _container_requests(containers):
    return [(students_quantity((c.get("resources") or {}).get("requests", {}).get("cpu", 0), "m"),
             students_quantity((c.get("resources") or {}).get("requests", {}).get("memory", 0), "Mi"))
            for c in containers or []]


def pod_requests(pod_meta, spec):
    """(millicores, MiB) a pod asks the scheduler for: its containers' sum, or its largest init container if
    that is more; plus the Vault agent sidecar the injector adds to an annotated pod."""
    cpu = sum(c for c, _ in _container_requests(spec.get("containers")))
    mem = sum(m for _, m in _container_requests(spec.get("containers")))
    annotations = (pod_meta or {}).get("annotations") or {}
    if str(annotations.get(VAULT_INJECT, "")).lower() == "true":
        cpu += students_quantity(annotations.get("vault.hashicorp.com/agent-requests-cpu", VAULT_AGENT_DEFAULTS["cpu"]), "m")
        mem += students_quantity(annotations.get("vault.hashicorp.com/agent-requests-mem", VAULT_AGENT_DEFAULTS["memory"]), "Mi")
    inits = _container_requests(spec.get("initContainers"))
    return max([cpu] + [c for c, _ in inits]), max([mem] + [m for _, m in inits])


def _workload_requests(doc):
    """(millicores, MiB, per_node) of one manifest document; (0, 0, False) for what runs no pod."""
    kind, spec = doc.get("kind"), doc.get("spec") or {}
    if kind == "Pod":
        return pod_requests(doc.get("metadata"), spec) + (False,)
    if kind == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
        kind = "Job"
    template = spec.get("template") or {}
    if kind not in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job"):
        return 0, 0, False
    cpu, mem = pod_requests(template.get("metadata"), template.get("spec") or {})
    copies = 1 if kind == "DaemonSet" else int(spec.get("parallelism" if kind == "Job" else "replicas", 1))
    return cpu * copies, mem * copies, kind == "DaemonSet"


def _lab_documents(labs_dir, lab_id, loaded):
    """lab.yml and its manifest documents in lab.yml order, from the loaded labs or else through lab_load."""
    entry = (loaded or {}).get(lab_id) or lab_load(labs_dir, lab_id)
    lab = entry["lab"]
    return lab, [doc for name in lab.get("manifests") or [] for doc in entry["manifests"].get(name, [])]


def students_lab_facts(labs_dir, lab_ids, tenancy="namespace", loaded=None):
    """See the module docstring. requests: {student|cluster: {cpu_m, memory_mib, node_cpu_m, node_memory_mib}};
    the node_ figures are DaemonSets' (one pod per node). In cluster tenancy everything is the student's.
    loaded: {lab id: kubelab.core.lab_load result} (the lab role's lab_loaded); labs_dir is read only for a lab
    it does not hold."""
    facts = {"namespaces": [], "levels": {}, "owners": {}, "shared": [], "egress": [],
             "requests": {scope: {"cpu_m": 0, "memory_mib": 0, "node_cpu_m": 0, "node_memory_mib": 0}
                          for scope in ("student", "cluster")}}
    for lab_id in lab_ids or []:
        lab, docs = _lab_documents(labs_dir, lab_id, loaded)
        shared = set((lab.get("tenancy") or {}).get("shared_namespaces") or [])
        facts["egress"] += (lab.get("tenancy") or {}).get("egress") or []
        for doc in docs:
            meta = doc.get("metadata") or {}
            if doc.get("kind") == "Namespace":
                name = meta.get("name")
                facts["owners"][name] = lab_id
                if name in shared:
                    facts["shared"].append(name)
                else:
                    facts["namespaces"].append(name)
                    facts["levels"][name] = (meta.get("labels") or {}).get(ENFORCE, "")
                continue
            cpu, mem, per_node = _workload_requests(doc)
            scope = "cluster" if tenancy == "namespace" and meta.get("namespace") in shared else "student"
            prefix = "node_" if per_node else ""
            facts["requests"][scope][prefix + "cpu_m"] += cpu
            facts["requests"][scope][prefix + "memory_mib"] += mem
    for scope in facts["requests"].values():
        for key in scope:
            scope[key] = int(round(scope[key]))
    return facts


class FilterModule:
    """Lab facts of the students role."""

    def filters(self):
        return filters({"students_lab_facts": students_lab_facts})
