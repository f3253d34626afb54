"""The GitOps and backup lab after converge, the guide's leftovers and lab-reset (side_effect.yml).

Both targets: reset deleted what the guide's steps leave (drill-restore, a stray object in an Argo-created
namespace), applied the lab again with the same generated password, and the AppProject in the cluster permits the
Namespaces its Applications create. kind only: every check of the lab passes again after the reset (Argo CD syncs
the regions again), and the Velero restore drill brings the database and its rows back.
"""

import base64
import os
import time
import uuid

import pytest
import yaml
from kubernetes.dynamic.exceptions import NotFoundError

from ansible_collections.kubelab.core.plugins.filter.lab_checks import evaluate_check

LAB_ID = "w2d4-gitops-backup"
LAB = yaml.safe_load(open(os.path.join(os.environ["KUBELAB_LABS_DIR"], LAB_ID, "lab.yml"), encoding="utf-8"))
BUILD = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "cluster", "build")
CLUSTER = "kubelab-molecule-gitops"


def _get(kube, api_version, kind, name, namespace=None):
    try:
        return kube.resources.get(api_version=api_version, kind=kind).get(name=name, namespace=namespace).to_dict()
    except NotFoundError:
        return None


def _until(what, probe, timeout):
    deadline = time.time() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.time() < deadline, "%s within %d s" % (what, timeout)
        time.sleep(5)


def test_reset_deleted_what_the_guide_left(kube, target):
    assert _get(kube, "velero.io/v1", "Restore", "drill-restore", "velero") is None
    assert _get(kube, "v1", "ConfigMap", "guide-leftover", "platform-zone-a") is None
    if target == "kind":
        assert _get(kube, "velero.io/v1", "Backup", "drill-backup", "velero") is None, "DeleteBackupRequest done"


def test_reset_applied_the_lab_again_with_the_same_password(kube):
    secret = _get(kube, "v1", "Secret", "database-credentials", "backup-demo")
    assert secret, "the generated Secret is back"
    path = os.path.join(BUILD, "secrets", CLUSTER, "labs", LAB_ID, "backup-demo-database-credentials-password")
    with open(path, encoding="utf-8") as handle:
        assert base64.b64decode(secret["data"]["password"]).decode() == handle.read().split()[0]
    database = _get(kube, "apps/v1", "StatefulSet", "database", "backup-demo")
    assert database["spec"]["template"]["spec"]["nodeSelector"] == {"topology.kubernetes.io/zone": "zone-b"}


def test_project_permits_the_namespaces_its_applications_create(kube):
    project = _get(kube, "argoproj.io/v1alpha1", "AppProject", "platform", "argocd")
    assert {"group": "", "kind": "Namespace"} in project["spec"].get("clusterResourceWhitelist", [])
    appset = _get(kube, "argoproj.io/v1alpha1", "ApplicationSet", "platform-services", "argocd")
    assert "CreateNamespace=true" in appset["spec"]["template"]["spec"]["syncPolicy"]["syncOptions"]


@pytest.mark.kind_only
def test_every_check_passes_again_after_the_reset(kube):
    """Argo CD re-creates the platform-zone-* namespaces the reset deleted; then every check holds."""
    def failing():
        nodes = kube.resources.get(api_version="v1", kind="Node").get().to_dict()["items"]
        out = []
        for check in LAB["checks"]:
            res = check["resource"]
            api = kube.resources.get(api_version=res["api_version"], kind=res["kind"])
            if res.get("name"):
                objects = [o for o in [_get(kube, res["api_version"], res["kind"], res["name"], res.get("namespace"))] if o]
            else:
                objects = api.get(namespace=res.get("namespace"),
                                  label_selector=",".join(res.get("label_selectors") or []) or None).to_dict()["items"]
            result = evaluate_check(check, objects, nodes)
            if not result["passed"]:
                out.append((check["id"], result["detail"]))
        return out

    last = []

    def all_pass():
        last[:] = failing()
        return not last

    try:
        _until("every check of %s passing" % LAB_ID, all_pass, 600)
    except AssertionError as exc:
        raise AssertionError("%s; still failing: %s" % (exc, last)) from None


def _core(kubeconfig):
    from kubernetes import client, config

    cfg = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, client_configuration=cfg, persist_config=False)
    return client.CoreV1Api(client.ApiClient(configuration=cfg))


def _psql(core, sql):
    from kubernetes.stream import stream

    return stream(core.connect_get_namespaced_pod_exec, "database-0", "backup-demo", container="database",
                  command=["psql", "-U", "postgres", "-d", "mydb", "-tAc", sql],
                  stderr=True, stdin=False, stdout=True, tty=False)


def _pod_ready(core):
    try:
        pod = core.read_namespaced_pod("database-0", "backup-demo")
    except Exception:  # noqa: BLE001 - not there yet
        return False
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def _phase(kube, kind, name):
    obj = _get(kube, "velero.io/v1", kind, name, "velero")
    phase = ((obj or {}).get("status") or {}).get("phase", "")
    assert phase not in ("Failed", "PartiallyFailed", "FailedValidation"), "%s %s: %s" % (kind, name, obj.get("status"))
    return phase == "Completed"


@pytest.mark.kind_only
def test_restore_drill_brings_the_rows_back(kube, kubeconfig):
    """The guide's steps 4-5: rows in, backup, namespace deleted, restore, rows read back from the restored pod."""
    core = _core(kubeconfig)
    name = "kubelab-verify-%s" % uuid.uuid4().hex[:6]
    velero = {kind: kube.resources.get(api_version="velero.io/v1", kind=kind)
              for kind in ("Backup", "Restore", "DeleteBackupRequest")}
    _until("database-0 Ready", lambda: _pod_ready(core), 600)
    _psql(core, "CREATE TABLE IF NOT EXISTS payments (id serial primary key, amount int);")
    _psql(core, "INSERT INTO payments (amount) VALUES (100), (250);")
    try:
        velero["Backup"].create(namespace="velero", body={
            "metadata": {"name": name},
            "spec": {"includedNamespaces": ["backup-demo"], "snapshotVolumes": True, "storageLocation": "default"}})
        _until("Backup %s Completed" % name, lambda: _phase(kube, "Backup", name), 900)
        kube.resources.get(api_version="v1", kind="Namespace").delete(name="backup-demo")
        _until("backup-demo deleted", lambda: _get(kube, "v1", "Namespace", "backup-demo") is None, 600)
        velero["Restore"].create(namespace="velero", body={
            "metadata": {"name": name}, "spec": {"backupName": name, "includedNamespaces": ["backup-demo"]}})
        _until("Restore %s Completed" % name, lambda: _phase(kube, "Restore", name), 900)
        # The restored PVC is provisioned from the node-local snapshot: only on the node that holds it.
        _until("restored database-0 Ready", lambda: _pod_ready(core), 900)
        rows = _psql(core, "SELECT amount FROM payments ORDER BY id;").split()
        assert rows[-2:] == ["100", "250"], rows
    finally:
        velero["DeleteBackupRequest"].create(namespace="velero", body={
            "metadata": {"name": name}, "spec": {"backupName": name}})
        if _get(kube, "velero.io/v1", "Restore", name, "velero"):
            velero["Restore"].delete(name=name, namespace="velero")
