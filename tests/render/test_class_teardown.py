"""playbooks/teardown.yml: an unknown student stops it before any change; one student's removal in namespace
tenancy takes exactly their namespaces, sheet and overview row (on the Kubernetes API test double)."""

import json
import os
import shutil
import sys

import pytest

from kubesim.testing import running
from conftest import ROOT, run_playbook
from test_class_secrets import KUBECTL_DOUBLE, PLAYBOOK

BIN = os.path.dirname(sys.executable)
ROSTER = '{"kubelab_students": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}]}'


def test_unknown_student_fails_before_any_change_and_lists_the_roster(tmp_path):
    build = tmp_path / "build"
    marker = build / "students" / "alice" / "kubeconfig"
    marker.parent.mkdir(parents=True)
    marker.write_text("keep me")
    result = run_playbook("playbooks/teardown.yml", str(build), "-e", ROSTER, "-e", "student=zed")
    assert result.returncode != 0
    assert "student=zed is not in the roster. Known students: alice, bob, carol. Nothing was changed." in result.stdout
    assert "Teardown - clusters and students" not in result.stdout, "the teardown went past the class plan"
    assert marker.read_text() == "keep me"


def test_plan_mode_says_what_would_go_and_changes_nothing(tmp_path):
    build = tmp_path / "build"
    (build / "students" / "bob").mkdir(parents=True)
    result = run_playbook("playbooks/teardown.yml", str(build), "-e", ROSTER, "-e", "student=bob",
                          "-e", "kubelab_mode=plan")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Would remove student bob (cluster kubelab-bob) and their access sheets." in result.stdout
    assert (build / "students" / "bob").is_dir()


@pytest.fixture()
def sim(tmp_path):
    with running(tmp_path / "kubesim") as double:
        yield str(double.kubeconfig)


def test_one_student_in_namespace_tenancy_loses_exactly_their_namespaces_and_sheet(tmp_path, sim):
    from kubernetes import client, config

    build = tmp_path / "build"
    students = ["alice", "bob", "carol"]
    playbook = tmp_path / "students.yml"
    playbook.write_text(PLAYBOOK.format(root=ROOT, name="shared", tenancy="namespace", students=json.dumps(students),
                                        kubeconfig=sim, build=build))
    env = {"PATH": BIN + os.pathsep + os.environ["PATH"]}
    labs = '{"kubelab_addons": [], "kubelab_labs": [], "students_lab_namespaces": ["arch-lab"]}'
    made = run_playbook(str(playbook), str(build), "-e", "kubelab_mode=apply", "-e", labs,
                        "-e", "students_kubectl_binary=%s" % KUBECTL_DOUBLE, "-e", "students_verify_isolation=false",
                        env=env)
    assert made.returncode == 0, made.stdout[-3000:]
    # The teardown finds the shared cluster's kubeconfig where the class plan puts it.
    (build / "clusters" / "kubelab-shared").mkdir(parents=True)
    shutil.copy(sim, build / "clusters" / "kubelab-shared" / "kubeconfig")

    result = run_playbook("playbooks/teardown.yml", str(build), "-e", ROSTER, "-e", "kubelab_tenancy=namespace",
                          "-e", "student=bob", "-e", labs)
    assert result.returncode == 0, result.stdout[-4000:]

    config.load_kube_config(config_file=sim)
    names = {ns.metadata.name for ns in client.CoreV1Api().list_namespace().items}
    assert {"alice", "alice-arch-lab", "carol", "carol-arch-lab"} <= names
    assert not {"bob", "bob-arch-lab"} & names
    assert not (build / "students" / "bob").exists()
    overview = (build / "students" / "index.md").read_text()
    assert "| alice |" in overview and "| carol |" in overview and "| bob |" not in overview
    assert (build / "students" / "alice" / "kubeconfig").exists() and (build / "students" / "carol").is_dir()
    assert (build / "clusters" / "kubelab-shared" / "kubeconfig").exists(), "the shared cluster must stay"
