"""lab-reset undoes what a guide's steps leave outside the lab (lab.yml `reset:`), against the API double.

A small lab declares the nodes its guide drains (zone-a worker) and objects its guide creates outside its own
namespace; the reset uncordons only those nodes, deletes only those objects, re-applies the lab and says what it
did, and a second reset finds nothing to undo. (Velero DeleteBackupRequests need Velero's controller: kind only.)
"""

import contextlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from kubesim.testing import running

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
ZONE = "topology.kubernetes.io/zone"
LAB = {
    "id": "w9d9-reset", "title": "reset test", "course": {"week": 9, "day": 1, "session": 1}, "day": 1, "addons": [],
    "namespaces": ["reset-shop"], "manifests": ["00-all.yaml"], "outcomes": ["back at its start"], "guide": "guide.ko.md",
    "checks": [{"id": "cm", "description": "config", "needs_real_cluster": False,
                "resource": {"api_version": "v1", "kind": "ConfigMap", "namespace": "reset-shop", "name": "shop"},
                "expect": [{"op": "count", "value": 1}]}],
    "reset": {"uncordon_nodes": ["%s=zone-a,!node-role.kubernetes.io/control-plane" % ZONE],
              "delete": [{"api_version": "v1", "kind": "ConfigMap", "namespace": "default", "name": "made-by-guide"},
                         {"api_version": "v1", "kind": "Namespace", "name": "made-by-addon"}]},
}
MANIFESTS = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "reset-shop"}},
             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop", "namespace": "reset-shop"},
              "data": {"a": "b"}},
             {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shop", "namespace": "reset-shop"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "shop"}},
                       "template": {"metadata": {"labels": {"app": "shop"}},
                                    "spec": {"containers": [{"name": "shop", "image": "nginx:1.27"}]}}}}]
PLAYBOOK = """- name: Reset one lab on the API double
  hosts: localhost
  gather_facts: false
  vars_files:
    - {root}/playbooks/group_vars/all/main.yml
    - {tmp}/vars.yml
  environment:
    K8S_AUTH_KUBECONFIG: "{{{{ kubelab_kubeconfig }}}}"
    KUBECONFIG: "{{{{ kubelab_kubeconfig }}}}"
  tasks:
    - name: Reset the lab
      ansible.builtin.include_role:
        name: lab
        tasks_from: reset
"""
# After the project's group_vars (vars files override play vars).
VARS = """kubelab_kubeconfig: {state}/kubeconfig
kubelab_plan_dir: {tmp}/plan
kubelab_build_dir: {tmp}/build
kubelab_cluster: {{name: kubelab-reset, tenancy: cluster, students: [kim]}}
kubelab_labs: [w9d9-reset]
kubelab_addons: []
lab_labs_dir: {tmp}/labs
lab_check_addons: false
lab_reset_student: ""
lab_wait_timeout: 20
"""


@contextlib.contextmanager
def lab_on_sim(tmp_path, *sim_args):
    lab_dir = tmp_path / "labs" / LAB["id"]
    (lab_dir / "manifests").mkdir(parents=True)
    (lab_dir / "lab.yml").write_text(yaml.safe_dump(LAB))
    (lab_dir / "manifests" / "00-all.yaml").write_text(yaml.safe_dump_all(MANIFESTS))
    state = tmp_path / "sim"
    with running(state, *sim_args) as handle:
        (tmp_path / "play.yml").write_text(PLAYBOOK.format(tmp=tmp_path, root=ROOT))
        (tmp_path / "vars.yml").write_text(VARS.format(state=state, tmp=tmp_path))
        yield handle


@pytest.fixture()
def sim(tmp_path):
    with lab_on_sim(tmp_path) as handle:
        yield handle


def reset(tmp_path, *args, rc=0):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", KUBELAB_PROJECT_DIR=ROOT,
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(tmp_path / "play.yml"), *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == rc, result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout


def said(stdout, prefix):
    """The line of the reset's summary that starts with prefix."""
    for line in stdout.splitlines():
        line = line.strip().strip('",')
        if line.startswith(prefix):
            return line[len(prefix):].strip()
    raise AssertionError("the reset did not say %r:\n%s" % (prefix, stdout[-3000:]))


def test_reset_uncordons_the_drained_zone_deletes_guide_objects_and_says_so(tmp_path, sim):
    kube = sim.dynamic_client()
    nodes = kube.resources.get(api_version="v1", kind="Node")
    workers = {n.metadata.labels[ZONE]: n.metadata.name for n in nodes.get().items
               if "node-role.kubernetes.io/control-plane" not in (n.metadata.labels or {})}
    for zone in ("zone-a", "zone-b"):   # the guide drains zone-a; zone-b was cordoned by someone else
        nodes.patch(name=workers[zone], body={"spec": {"unschedulable": True}},
                    content_type="application/merge-patch+json")
    kube.resources.get(api_version="v1", kind="ConfigMap").create(
        namespace="default", body={"metadata": {"name": "made-by-guide"}, "data": {}})
    kube.resources.get(api_version="v1", kind="Namespace").create(body={"metadata": {"name": "made-by-addon"}})
    kube.resources.get(api_version="v1", kind="ConfigMap").create(
        namespace="default", body={"metadata": {"name": "not-the-guides"}, "data": {}})

    first = reset(tmp_path)
    assert not nodes.get(name=workers["zone-a"]).spec.unschedulable
    assert nodes.get(name=workers["zone-b"]).spec.unschedulable, "a node the lab does not cordon was uncordoned"
    cms = {c.metadata.name for c in kube.resources.get(api_version="v1", kind="ConfigMap").get(namespace="default").items}
    assert "made-by-guide" not in cms and "not-the-guides" in cms
    names = {n.metadata.name for n in kube.resources.get(api_version="v1", kind="Namespace").get().items}
    assert "made-by-addon" not in names and "reset-shop" in names, "the lab is applied again"
    assert said(first, "Uncordoned nodes:") == workers["zone-a"]
    assert said(first, "Objects deleted:") == "ConfigMap default/made-by-guide, Namespace made-by-addon"
    assert said(first, "Namespaces deleted and applied again:") == "reset-shop"

    second = reset(tmp_path)
    assert said(second, "Uncordoned nodes:") == "none"
    assert said(second, "Objects deleted:") == "none"
    assert json.dumps(nodes.get(name=workers["zone-b"]).spec.unschedulable) == "true"


# A reset that cannot finish stops in its own rescue with what to inspect: an object the guide made, or the lab's
# namespace, whose deletion never ends (a finalizer nobody removes), or the lab's workload never ready again.
@pytest.mark.parametrize("stall, task, words", [
    ("Namespace//made-by-addon", "Stop with what to inspect when a reset step failed",
     ["failed at \\\"Delete the other objects", "deletebackuprequests", "finalizer"]),
    ("Namespace//reset-shop", "Stop with what to inspect when a namespace stays",
     ["was not deleted within 2 s (reset-shop)", "kubectl get namespace NAME -o yaml"]),
    ("Deployment/reset-shop/shop", "Stop with what to inspect when a workload is not ready",
     ["not ready within 2 s: Deployment reset-shop/shop", "describe deployment shop"]),
])
def test_a_reset_that_cannot_finish_says_what_to_inspect(tmp_path, stall, task, words):
    with lab_on_sim(tmp_path, "--stall", stall) as handle:
        for namespace in ("made-by-addon", "reset-shop"):  # what the guide's steps and the day left
            assert handle.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})[0] == 201
        out = reset(tmp_path, "-e", "lab_wait_timeout=2", rc=2)
    failed = out[out.index("TASK [lab : %s]" % task):]
    assert "fatal: [localhost]: FAILED!" in failed.split("TASK [", 2)[1], failed[:3000]
    assert all(word in failed for word in words), failed[:3000]
