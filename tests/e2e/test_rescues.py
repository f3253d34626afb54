"""The add-on roles' rescue paths: on a cluster whose workloads never become ready (kubesim --stalled: the
image pull failing on a fresh kind cluster, say), each role stops at its first wait with its own message, naming
the timeout and what to inspect, instead of Ansible's raw module error. Runs the real roles (rescues.yml)."""

import json
import os
import subprocess
import sys
from pathlib import Path

from kubesim.testing import helm_wrapper, running

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 2  # seconds: every readiness wait gives up at once

# role -> (the task that must have stopped it, words its message must carry)
EXPECTED = {
    "csi": ("Stop with what to inspect when the snapshot-controller is not ready",
            ["within 2 s", "describe pod -l app.kubernetes.io/name=snapshot-controller"]),
    "velero": ("Stop with what to inspect when the S3 store is not ready",
               ["velero/seaweedfs did not become ready within 2 s", "get pvc seaweedfs-data"]),
    "argocd": ("Stop with what to inspect when the Git server is not ready",
               ["argocd/git-server did not become ready within 2 s", "logs deploy/git-server"]),
    "vault": ("Stop with what to inspect when the Vault server does not start",
              ["vault/vault-0 did not start within 2 s", "describe pod vault-0"]),
    "ingress": ("Say what to inspect when the controller is not ready",
                ["not ready after 2 s", "describe pod -l app.kubernetes.io/component=controller"]),
    "metrics_server": ("Say what to inspect when the metrics API stays unavailable",
                       ["v1beta1.metrics.k8s.io is not Available after 2 s", "logs deploy/metrics-server"]),
    "prometheus": ("Say what to inspect when the monitoring stack is not ready",
                   ["not ready after 2 s", "failed: Wait for the Prometheus resource to report Available",
                    "get prometheus kube-prometheus-stack-prometheus -o yaml"]),
}


def test_each_role_stops_with_what_to_inspect(tmp_path):
    out = tmp_path / "messages.json"
    with running(tmp_path / "sim", "--stalled") as sim:
        extra = {
            "kubelab_mode": "apply", "kubelab_kubeconfig": str(sim.kubeconfig), "kubelab_plan_dir": str(tmp_path / "plan"),
            "kubelab_helm_binary": str(helm_wrapper(tmp_path / "helm", tmp_path / "helm-state")),
            "kubelab_addons": list(EXPECTED), "rescue_roles": list(EXPECTED), "rescue_out": str(out),
            "ansible_python_interpreter": sys.executable,
            **{f"{role}_{'wait' if role == 'csi' else 'ready'}_timeout": TIMEOUT for role in EXPECTED},
            # The Helm double renders no chart: Argo CD's own workloads never exist; its Git server is ours.
            "argocd_wait": False, "argocd_git_server_enabled": True, "argocd_secrets_dir": str(tmp_path / "secrets"),
            "velero_secrets_dir": str(tmp_path / "secrets"), "vault_secrets_dir": str(tmp_path / "secrets"),
            "prometheus_grafana_password_file": str(tmp_path / "secrets" / "grafana-admin-password"),
        }
        res = subprocess.run([sys.executable, "-m", "ansible", "playbook", "-i", "localhost,", "-c", "local",
                              str(ROOT / "tests/e2e/rescues.yml"), "-e", json.dumps(extra)],
                             cwd=ROOT, capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), KUBELAB_PROJECT_DIR=str(ROOT)))
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    messages = json.loads(out.read_text())
    assert sorted(messages) == sorted(EXPECTED), res.stdout[-4000:]
    for role, (task, words) in EXPECTED.items():
        assert messages[role]["task"] == task, (role, messages[role])
        assert all(word in messages[role]["msg"] for word in words), (role, messages[role]["msg"])
