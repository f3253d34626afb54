"""playbooks/teardown.yml on the kubeadm inventory (issue 11): the kubeadm provider's delete entry point resets
every joined node with kubeadm, removes what reset leaves behind, and the controller's kubeconfig dir.

The six VMs of inventories/kubeadm do not exist here, so every node is this machine (connection local) seen
through an overlay of /etc in a private mount namespace: the nodes' files are real files, the real /etc is
never written, and `kubeadm` is a double that logs its calls. What this cannot tell: what the real kubeadm
reset does on a real node (upstream: kubernetes.io/docs/reference/setup-tools/kubeadm/kubeadm-reset)."""

import os
import shutil
import sys

import pytest

from conftest import ROOT, run_playbook

DOUBLE = os.path.join(ROOT, "tests", "render", "doubles", "kubeadm-double")
NODE_FILES = ["/etc/kubernetes/kubelet.conf", "/etc/kubernetes/admin.conf", "/etc/kubernetes/kubelab-kubeadm.yaml",
              "/etc/cni/net.d/10-calico.conflist"]
# Every node is this machine: no SSH, and `su` (no sudo here) for become as root.
NODES_HERE = ["-e", "confirm=yes", "-e", "ansible_connection=local", "-e", "ansible_become_method=su",
              "-e", "ansible_python_interpreter=%s" % sys.executable]

needs_root = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                reason="needs root and unshare for a private overlay of /etc")


def test_plan_mode_names_the_kubeadm_cluster_and_changes_nothing(tmp_path):
    build = tmp_path / "build"
    kubeconfig = build / "clusters" / "kubelab-instructor" / "kubeconfig"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text("keep")
    result = run_playbook("playbooks/teardown.yml", str(build), "-e", "kubelab_mode=plan",
                          inventory="inventories/kubeadm")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Would remove the whole class: kubelab-instructor and their access sheets." in result.stdout
    assert kubeconfig.read_text() == "keep"


@needs_root
def test_teardown_resets_every_node_and_removes_the_kubeconfig(tmp_path):
    build = tmp_path / "build"
    kubeconfig = build / "clusters" / "kubelab-instructor" / "kubeconfig"
    kubeconfig.parent.mkdir(parents=True)
    kubeconfig.write_text("apiVersion: v1\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubeadm").symlink_to(DOUBLE)
    log = tmp_path / "kubeadm.log"
    upper, work = tmp_path / "upper", tmp_path / "work"
    work.mkdir()
    # The nodes look joined: their files go in the overlay's upper dir, which every run mounts again.
    for path in NODE_FILES:
        (upper / path[len("/etc/"):]).parent.mkdir(parents=True, exist_ok=True)
        (upper / path[len("/etc/"):]).write_text("node state\n")
    etc_before = os.path.exists("/etc/kubernetes"), os.path.exists("/etc/cni")
    overlay = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
               'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$0,workdir=$1" /etc && shift && exec "$@"',
               str(upper), str(work)]
    env = {"PATH": "%s%s%s" % (bin_dir, os.pathsep, os.environ["PATH"]), "KUBEADM_DOUBLE_LOG": str(log)}

    first = run_playbook("playbooks/teardown.yml", str(build), *NODES_HERE, inventory="inventories/kubeadm",
                         env=env, prefix=overlay)
    assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
    # All six nodes had joined: each was reset once, workers first, the first control plane (cp-a) last.
    assert log.read_text().splitlines() == ["reset -f --cri-socket unix:///run/containerd/containerd.sock"] * 6
    resets = first.stdout.split("Run kubeadm reset on each node")[1].split("TASK [")[0]
    order = [line.split("(item=")[1].split(" ")[0] for line in resets.splitlines() if "(item=" in line]
    assert order == ["worker-c", "worker-b", "worker-a", "cp-c", "cp-b", "cp-a"], order
    left = [path for path in NODE_FILES if (upper / path[len("/etc/"):]).exists()]
    assert not left, "left on the nodes: %s" % left
    assert not kubeconfig.parent.exists(), "the controller's kubeconfig dir was left behind"

    # A second teardown finds no joined node and changes nothing.
    second = run_playbook("playbooks/teardown.yml", str(build), *NODES_HERE, inventory="inventories/kubeadm",
                          env=env, prefix=overlay)
    assert second.returncode == 0, second.stdout[-6000:]
    assert len(log.read_text().splitlines()) == 6, "a node was reset twice"
    assert "changed=0" in second.stdout.split("PLAY RECAP")[-1].split("kubelab-instructor")[1].splitlines()[0]
    assert (os.path.exists("/etc/kubernetes"), os.path.exists("/etc/cni")) == etc_before, "the real /etc was written"
