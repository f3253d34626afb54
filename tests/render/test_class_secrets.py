"""Students' kubeconfigs and credentials are 0600 and never printed, even in a -v run (API test double).

Runs the students role in apply mode against the Kubernetes API test double (tests/sim), in both tenancies.
The sim has no TokenRequest endpoint, so the students scenario's kubectl double mints the bound tokens.
"""

import base64
import json
import os
import stat
import sys

import pytest
import yaml

from kubesim.testing import running
from conftest import ROOT, run_playbook

BIN = os.path.dirname(sys.executable)
KUBECTL_DOUBLE = os.path.join(ROOT, "roles", "students", "molecule", "default", "doubles", "kubectl-token-double")
PASSWORD = "fixture-grafana-pw-91ac"
PLAYBOOK = """- name: A planned cluster on the API test double
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Add the cluster as preflight would
      ansible.builtin.add_host:
        name: kubelab-{name}
        groups: [kubelab_clusters]
        ansible_connection: local
        ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
        kubelab_cluster:
          name: kubelab-{name}
          plan_dir: {build}/plan/kubelab-{name}
          kubeconfig: {kubeconfig}
          tenancy: {tenancy}
          students: {students}
          api_address: 127.0.0.1
          api_port: 20000
          http_port: 20001
          https_port: 20002
      changed_when: false
- name: Students
  hosts: kubelab_clusters
  gather_facts: false
  vars_files:
    - {root}/playbooks/group_vars/all/main.yml
    - {root}/playbooks/group_vars/all/versions.yml
  tasks:
    - name: Students
      ansible.builtin.include_role:
        name: students
"""


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running(tmp_path_factory.mktemp("kubesim")) as double:
        yield str(double.kubeconfig)


def _addon_namespace(kubeconfig, name):
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    config.load_kube_config(config_file=kubeconfig)
    try:
        client.CoreV1Api().create_namespace({"metadata": {"name": name}})
    except ApiException as exc:
        if exc.status != 409:  # the module's double is shared by both tenancies
            raise


def run_students(tmp_path, sim, tenancy, name, students, password, addons, addon_namespaces, labs=(), *extra):
    """Run the students role in apply mode on the API double for one planned cluster, with an add-on password
    in build/secrets/<cluster>/ and the add-on namespaces the add-on roles (which run first) would have made.
    Returns (build dir, CompletedProcess)."""
    build = tmp_path / "build"
    secrets = build / "secrets" / ("kubelab-%s" % name)
    secrets.mkdir(parents=True)
    (secrets / "grafana-admin-password").write_text(password + "\n")
    playbook = tmp_path / "students.yml"
    playbook.write_text(PLAYBOOK.format(root=ROOT, name=name, tenancy=tenancy, students=json.dumps(students),
                                        kubeconfig=sim, build=build))
    for namespace in addon_namespaces:
        _addon_namespace(sim, namespace)
    args = (*extra, "-e", "kubelab_mode=apply",
            "-e", json.dumps({"kubelab_addons": list(addons), "kubelab_labs": list(labs)}),
            "-e", "students_kubectl_binary=%s" % KUBECTL_DOUBLE, "-e", "students_verify_isolation=false")
    return build, run_playbook(str(playbook), str(build), *args, env={"PATH": BIN + os.pathsep + os.environ["PATH"]})


@pytest.mark.parametrize("tenancy,name,students", [
    ("namespace", "shared", ["alice", "bob", "carol"]),
    ("cluster", "dave", ["dave"]),
])
def test_kubeconfigs_and_credentials_are_private_and_never_logged(tmp_path, sim, tenancy, name, students):
    build, result = run_students(tmp_path, sim, tenancy, name, students, PASSWORD, ["prometheus"], ["monitoring"],
                                 (), "-v")
    secrets = build / "secrets" / ("kubelab-%s" % name)
    assert result.returncode == 0, result.stdout[-4000:]
    log = result.stdout + result.stderr
    with open(sim, encoding="utf-8") as handle:
        admin_token = yaml.safe_load(handle)["users"][0]["user"]["token"]
    assert admin_token not in log, "the admin credential reached the log"
    assert PASSWORD not in log, "an add-on password reached the log"
    # slurp returns files base64-encoded: a task without no_log would print them in that form.
    for path in (sim, secrets / "grafana-admin-password"):
        with open(path, "rb") as handle:
            assert base64.b64encode(handle.read()).decode() not in log, "%s reached the log (base64)" % path
    for student in students:
        sheet = build / "students" / student
        # Every per-student file is private, the endpoints sheet included (README: per-student files are 0600).
        for private in ("kubeconfig", "credentials", "endpoints.md"):
            assert stat.S_IMODE(os.stat(sheet / private).st_mode) == 0o600, private
        assert stat.S_IMODE(os.stat(sheet).st_mode) == 0o700
        user = yaml.safe_load((sheet / "kubeconfig").read_text())["users"][0]["user"]
        secret = user["token"]
        encoded = base64.b64encode((sheet / "kubeconfig").read_bytes()).decode()
        assert encoded not in log, "%s's kubeconfig reached the log (base64)" % student
        assert secret and secret not in log, "%s's token reached the log" % student
        if tenancy == "namespace":
            assert secret != admin_token
            assert PASSWORD not in (sheet / "credentials").read_text()
        else:
            assert secret == admin_token
            assert PASSWORD in (sheet / "credentials").read_text()
    assert (build / "students" / "index.md").read_text().count("@kubelab-%s" % name) == len(students)
