"""Molecule runs `destroy` first. With KUBELAB_TARGET=kind on a fresh clone (no build/bin/kind yet, no Docker
needed) it must succeed and still remove the scenario's kubeconfig dir (issue 11 item 3)."""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def destroy_on_fresh_clone(tmp_path, command, env=None):
    """Run `command` (a molecule destroy) in roles/csi of a fresh copy of the working tree with
    KUBELAB_TARGET=kind; return (CompletedProcess, clone, ephemeral dir). The ephemeral dir starts with a
    kubeconfig left by an earlier run."""
    clone = tmp_path / "clone"
    # A fresh clone of the working tree: no build/ (so no kind binary), no venv, no git metadata.
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".git", ".venv", "build", "__pycache__", ".*cache"))
    # Molecule names its ephemeral dir after the role folder: give this run its own, so a csi scenario
    # running at the same time on this machine keeps its state.
    ephemeral = tmp_path / "ephemeral"
    (ephemeral / "cluster").mkdir(parents=True)
    (ephemeral / "cluster" / "kubeconfig").write_text("left by an earlier run\n")
    full_env = dict(os.environ, KUBELAB_TARGET="kind", KUBELAB_PROJECT_DIR=str(clone),
                    ANSIBLE_CONFIG=str(clone / "ansible.cfg"), MOLECULE_EPHEMERAL_DIRECTORY=str(ephemeral),
                    PATH=BIN + os.pathsep + os.environ["PATH"], ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    full_env.update(env or {})
    result = subprocess.run(command, cwd=clone / "roles" / "csi", env=full_env, capture_output=True, text=True,
                            timeout=300, check=False)
    return result, clone, ephemeral


def assert_destroyed(result, clone, ephemeral):
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-4000:]
    assert "Delete the kind cluster with the project's cluster_kind role" in log, "the kind path did not run"
    assert not (ephemeral / "cluster").exists(), "the scenario's kubeconfig dir was left behind"
    assert not (clone / "build" / "bin").exists(), "destroy must not install anything"


def test_kind_destroy_before_create_succeeds_on_a_fresh_clone(tmp_path):
    assert_destroyed(*destroy_on_fresh_clone(tmp_path, [os.path.join(BIN, "molecule"), "destroy"]))
