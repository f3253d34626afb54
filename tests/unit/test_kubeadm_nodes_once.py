"""Issue 12: the kubeadm nodes are planned once, by preflight (roles/preflight/tasks/class.yml), and the
cluster_kubeadm entry points read them from the class plan (kubelab_cluster.nodes) instead of computing them again."""

import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_kubeadm_nodes_are_planned_once_by_preflight():
    callers = {}
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")) + glob.glob(
            os.path.join(ROOT, "playbooks", "**", "*.yml"), recursive=True):
        with open(path, encoding="utf-8") as handle:
            count = len(re.findall(r"kubelab\.core\.kubeadm_nodes\b", handle.read()))
        if count:
            callers[os.path.relpath(path, ROOT)] = count
    assert callers == {os.path.join("roles", "preflight", "tasks", "class.yml"): 1}
    for entry in ("render.yml", "delete.yml"):
        with open(os.path.join(ROOT, "roles", "cluster_kubeadm", "tasks", entry), encoding="utf-8") as handle:
            assert "kubelab_cluster.nodes" in handle.read(), entry
