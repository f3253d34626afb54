"""The add-on roles' rescue paths: on a cluster where something never becomes ready, each role stops in its own
rescue task with a message naming the object, the timeout and what to inspect, instead of Ansible's raw module
error. Runs the real roles (rescues.yml) against the API double, which `--stall KIND/NAMESPACE/NAME` makes hold
back the matching objects (tests/README.md): workloads and pods never ready, custom resources without status
(their controller stuck), deletions that never end.

Scenario "first-waits" stalls everything (the image pulls of a fresh kind cluster failing): each role stops at its
first wait. The others stall one object per role behind the first waits, with the charts' stand-ins installed
(tests/e2e/chart_stand_ins.py), so the later rescues run too; a role stops at most once per run, so the Velero
role's four rescues take four scenarios."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chart_stand_ins import write_chart_stand_ins
from kubesim.testing import helm_wrapper, running

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 2  # seconds: every readiness wait gives up at once

# scenario -> (stall globs, roles and what must stop each: (task name, words its message must carry))
SCENARIOS = {
    "first-waits": (["*"], {
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
    }),
    "later-waits": (["DaemonSet/csi-hostpath/csi-hostpathplugin", "Deployment/vault/vault-agent-injector",
                     "Deployment/argocd/argocd-server", "BackupStorageLocation/velero/default"], {
        "csi": ("Stop with what to inspect when the hostpath CSI driver is not ready",
                ["did not become ready on every node within 2 s", "describe pod -l app.kubernetes.io/name=csi-hostpathplugin"]),
        "vault": ("Stop with what to inspect when the injector is not available",
                  ["not available after 2 s", "describe deploy vault-agent-injector"]),
        "argocd": ("Stop with what to inspect when Argo CD does not come up",
                   ["did not become ready within", "context deadline exceeded", "describe pod -l app.kubernetes.io/part-of=argocd"]),
        "velero": ("Stop with what to inspect when the BackupStorageLocation is not Available",
                   ["velero/default is", "(no message)", "logs deploy/velero | grep -i backup-storage"]),
    }),
    "unready-after-start": (["Pod/vault/vault-0", "Deployment/velero/velero"], {
        "vault": ("Stop with what to inspect when Vault stays unready",
                  ["vault/vault-0 is not Ready 2 s after unsealing", "exec vault-0 -- vault status"]),
        "velero": ("Stop with what to inspect when Velero does not come up",
                   ["velero release did not become ready", "context deadline exceeded", "logs deploy/velero"]),
    }),
    "backup-stuck": (["Backup/velero/*"], {
        "velero": ("Stop with what to inspect when the backup did not complete",
                   ["ended without a phase", "waited up to 2 s for Completed", "velero backup describe"]),
    }),
    "restore-stuck": (["Restore/velero/*"], {
        "velero": ("Stop with what to inspect when the restore did not complete",
                   ["ended without a phase", "waited up to 2 s for Completed", "velero restore describe"]),
    }),
    # The instructor's other choices (CHOICES): kind's own `standard` class kept (refused, not replaced), and Vault
    # in dev mode (no init, root token `root`) up to the injector's wait.
    "other-choices": (["Deployment/vault/vault-agent-injector"], {
        "csi": ("Stop if a StorageClass of the same name belongs to another provisioner",
                ["['standard'] exist with another provisioner", "rancher.io/local-path",
                 "set csi_conflicting_class_action: replace"]),
        "vault": ("Stop with what to inspect when the injector is not available",
                  ["not available after 2 s", "describe deploy vault-agent-injector"]),
    }),
}
# scenario -> variables an instructor sets, beyond the defaults
CHOICES = {"other-choices": {"csi_conflicting_class_action": "fail", "vault_dev_mode": True}}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_each_role_stops_with_what_to_inspect(tmp_path, scenario):
    stall, expected = SCENARIOS[scenario]
    out = tmp_path / "messages.json"
    secrets = tmp_path / "secrets"
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), KUBELAB_PROJECT_DIR=str(ROOT))
    sim_args = [arg for glob in stall for arg in ("--stall", glob)]
    extra = {
        "kubelab_mode": "apply", "kubelab_plan_dir": str(tmp_path / "plan"),
        "kubelab_helm_binary": str(helm_wrapper(tmp_path / "helm", tmp_path / "helm-state")),
        "kubelab_addons": list(expected), "rescue_roles": list(expected), "rescue_out": str(out),
        "ansible_python_interpreter": sys.executable,
        **{f"{role}_{'wait' if role == 'csi' else 'ready'}_timeout": TIMEOUT for role in expected},
        "argocd_git_server_enabled": True, "argocd_secrets_dir": str(secrets),
        "velero_secrets_dir": str(secrets), "vault_secrets_dir": str(secrets),
        "prometheus_grafana_password_file": str(secrets / "grafana-admin-password"),
        **CHOICES.get(scenario, {}),
    }
    if scenario == "first-waits":
        # The Helm double renders no chart here: Argo CD's own workloads never exist; its Git server is ours.
        extra["argocd_wait"] = False
    else:
        # The charts' workloads exist and run (unless stalled); Velero's controllers answer (kubesim --velero).
        versions = yaml.safe_load((ROOT / "playbooks/group_vars/all/versions.yml").read_text())["kubelab_versions"]
        write_chart_stand_ins(tmp_path / "chart-stand-ins", ROOT, versions)
        env["KUBELAB_HELM_SIM_CHART_OBJECTS"] = str(tmp_path / "chart-stand-ins")
        sim_args += ["--workload-pods", "--velero"]
        extra.update(velero_run_drill=True, argocd_helm_timeout="2s", velero_helm_timeout="2s")
    with running(tmp_path / "sim", *sim_args) as sim:
        extra["kubelab_kubeconfig"] = str(sim.kubeconfig)
        res = subprocess.run([sys.executable, "-m", "ansible", "playbook", "-i", "localhost,", "-c", "local",
                              str(ROOT / "tests/e2e/rescues.yml"), "-e", json.dumps(extra)],
                             cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    messages = json.loads(out.read_text())
    assert sorted(messages) == sorted(expected), res.stdout[-4000:]
    for role, (task, words) in expected.items():
        assert messages[role]["task"] == task, (role, messages[role])
        assert all(word in messages[role]["msg"] for word in words), (role, messages[role]["msg"])
