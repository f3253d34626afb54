"""Apply mode of the add-on roles against the Kubernetes API and Helm test doubles (tests/sim).

cni: the Ready-node wait passes on Ready nodes, and when a node stays NotReady it stops with a message that says
what to inspect (Cilium, whose wait is only on nodes: Calico's extra wait needs the Tigera operator's TigeraStatus,
which only a real cluster has). prometheus: the Grafana password is generated once, kept, 0600, and never printed
in a verbose run.
"""

import base64
import json
import os
import subprocess
import sys

import pytest
from kubernetes import client, config, dynamic

from kubesim.testing import helm_wrapper, running

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PLAYBOOK = """- name: One planned cluster on the test doubles
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Add the cluster as preflight would
      ansible.builtin.add_host:
        name: kubelab-waits
        groups: [kubelab_clusters]
        ansible_connection: local
        ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
        kubelab_cluster: {{name: kubelab-waits, pod_subnet: 10.244.0.0/16, plan_dir: {state}/plan,
                          kubeconfig: {state}/kubeconfig}}
      changed_when: false
- name: The cni role in apply mode
  hosts: kubelab_clusters
  gather_facts: false
  vars_files:
    - {root}/playbooks/group_vars/all/main.yml
    - {root}/playbooks/group_vars/all/versions.yml
  environment:
    K8S_AUTH_KUBECONFIG: "{{{{ kubelab_kubeconfig }}}}"
    KUBECONFIG: "{{{{ kubelab_kubeconfig }}}}"
  tasks:
    - name: Run the role under test
      ansible.builtin.include_role:
        name: "{{{{ role_under_test }}}}"
"""


@pytest.fixture()
def sim(tmp_path):
    state = tmp_path / "sim"
    with running(state):
        helm_wrapper(state / "helm", state / "helm-state")
        (tmp_path / "play.yml").write_text(PLAYBOOK.format(state=state, root=ROOT))
        yield state


def run(tmp_path, state, *extra, role="cni"):
    cmd = [os.path.join(BIN, "ansible-playbook"), str(tmp_path / "play.yml"), "-e", "kubelab_mode=apply",
           "-e", "kubelab_helm_binary=%s/helm" % state, "-e", "role_under_test=%s" % role,
           "-e", json.dumps({"cni_plugin": "cilium", "cni_verify_network_policy": False}), *extra]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_ROLES_PATH=os.path.join(ROOT, "roles"), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"))
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_ready_nodes_pass_the_wait_and_verify(tmp_path, sim):
    result = run(tmp_path, sim)
    assert result.returncode == 0, result.stdout[-3000:]
    # The wait says what it waits for and for how long (cni_nodes_ready_timeout, 600 s by default).
    assert "Wait for every node to report Ready, up to 600 s" in result.stdout
    assert "Check that every node is Ready" in result.stdout
    releases = json.loads((sim / "helm-state" / "releases.json").read_text())
    assert [(r["name"], r["chart"], r["namespace"]) for r in releases.values()] == [("cilium", "cilium", "kube-system")]


def test_a_node_that_stays_not_ready_stops_with_what_to_inspect(tmp_path, sim):
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(sim / "kubeconfig"), client_configuration=cfg, persist_config=False)
    nodes = dynamic.DynamicClient(client.ApiClient(configuration=cfg)).resources.get(api_version="v1", kind="Node")
    name = nodes.get().items[-1].metadata.name
    nodes.status.patch(name=name, content_type="application/merge-patch+json", body={"status": {
        "conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                        "message": "container runtime network not ready: NetworkReady=false"}]}})
    assert [c["status"] for c in nodes.get(name=name).status.conditions] == ["False"]
    result = run(tmp_path, sim, "-e", "cni_nodes_ready_timeout=20")
    assert result.returncode != 0
    # Each retry line names what is awaited and the limit; the failure, the limit and what to inspect.
    assert "FAILED - RETRYING: [kubelab-waits]: Wait for every node to report Ready, up to 20 s" in result.stdout
    assert "did not make every node Ready within 20 s" in result.stdout
    assert "kubectl -n kube-system get pods -l k8s-app=cilium -o wide" in result.stdout
    assert "Check that every node is Ready" not in result.stdout, "verify must not run after a failed wait"


def test_grafana_password_is_generated_once_private_and_never_printed(tmp_path, sim):
    build = tmp_path / "build"
    extra = ("-e", "kubelab_build_dir=%s" % build, "-e", json.dumps({"prometheus_wait": False, "kubelab_addons": ["prometheus"]}),
             "-vvv")
    first = run(tmp_path, sim, *extra, role="prometheus")
    assert first.returncode == 0, first.stdout[-3000:]
    password_file = build / "secrets" / "kubelab-waits" / "grafana-admin-password"
    password = password_file.read_text()
    assert len(password) == 24 and password.isalnum()
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"
    assert oct(password_file.parent.stat().st_mode & 0o777) == "0o700"
    second = run(tmp_path, sim, *extra, role="prometheus")
    assert second.returncode == 0, second.stdout[-3000:]
    assert password_file.read_text() == password, "a re-run keeps the password"
    recap = [line for line in second.stdout.splitlines() if line.startswith("kubelab-waits")]
    assert recap and "changed=0" in recap[0], recap
    encoded = base64.b64encode(password.encode()).decode()
    for result in (first, second):
        log = result.stdout + result.stderr
        assert password not in log, "the Grafana password reached a -vvv log"
        assert encoded not in log, "the Grafana password reached a -vvv log base64-encoded (slurp, Secret data)"
        assert "the output has been hidden due to the fact that 'no_log: true' was specified" in result.stdout
