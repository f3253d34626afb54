"""API double option --velero (the kind double's clusters): the Velero controllers' double (kubesim/velero.py)."""

import pytest
from kubesim.store import Store

KINDS = {"backups": "Backup", "restores": "Restore", "deletebackuprequests": "DeleteBackupRequest",
         "backupstoragelocations": "BackupStorageLocation"}


def _store(velero=True, server=True, location=True):
    store = Store(nodes=1, velero=velero)
    crd_rt = store.resource("apiextensions.k8s.io", "v1", "customresourcedefinitions")
    for plural, kind in KINDS.items():
        store.create(crd_rt, None, {"metadata": {"name": f"{plural}.velero.io"}, "spec": {
            "group": "velero.io", "scope": "Namespaced", "names": {"plural": plural, "kind": kind},
            "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}}}]}})
    create("", "namespaces", None, {"metadata": {"name": "velero"}}, store)
    if server:
        create("apps", "deployments", "velero", {"metadata": {"name": "velero"}, "spec": {"replicas": 1}}, store)
    if location:
        create("velero.io", "backupstoragelocations", "velero", {"metadata": {"name": "default"},
                                                                 "spec": {"default": True, "provider": "aws"}}, store)
    return store


def create(group, plural, namespace, body, store):
    version = "v1"
    return store.create(store.resource(group, version, plural), namespace, body)


def get(store, group, plural, namespace, name):
    return store.objects.get((group, plural, namespace, name))


def _drill_namespace(store):
    create("", "namespaces", None, {"metadata": {"name": "shop"}}, store)
    create("", "configmaps", "shop", {"metadata": {"name": "orders"}, "data": {"orders.csv": "1,keyboard\n"}}, store)


def _backup(store, name="b1", **spec):
    return create("velero.io", "backups", "velero",
                  {"metadata": {"name": name}, "spec": {"includedNamespaces": ["shop"], **spec}}, store)


def test_backup_delete_restore_brings_the_objects_back():
    store = _store()
    _drill_namespace(store)
    backup = _backup(store)
    assert backup["status"]["phase"] == "Completed"
    assert backup["status"]["progress"] == {"totalItems": 2, "itemsBackedUp": 2}
    store.delete(store.resource("", "v1", "namespaces"), None, "shop")
    assert get(store, "", "configmaps", "shop", "orders") is None
    restore = create("velero.io", "restores", "velero",
                     {"metadata": {"name": "r1"}, "spec": {"backupName": "b1", "includedNamespaces": ["shop"]}}, store)
    assert restore["status"]["phase"] == "Completed" and "warnings" not in restore["status"]
    restored = get(store, "", "configmaps", "shop", "orders")
    assert restored["data"] == {"orders.csv": "1,keyboard\n"}
    assert restored["metadata"]["labels"] == {"velero.io/backup-name": "b1", "velero.io/restore-name": "r1"}


def test_restore_skips_objects_that_still_exist():
    store = _store()
    _drill_namespace(store)
    _backup(store)
    restore = create("velero.io", "restores", "velero", {"metadata": {"name": "r1"}, "spec": {"backupName": "b1"}}, store)
    assert restore["status"]["warnings"] == 2
    assert "labels" not in get(store, "", "configmaps", "shop", "orders")["metadata"]


def test_backup_to_a_missing_location_fails_validation():
    store = _store()
    backup = _backup(store, storageLocation="elsewhere")
    assert backup["status"]["phase"] == "FailedValidation"
    assert "'elsewhere' wasn't found" in backup["status"]["validationErrors"][0]


def test_restore_of_an_unknown_backup_fails_validation():
    store = _store()
    restore = create("velero.io", "restores", "velero", {"metadata": {"name": "r1"}, "spec": {"backupName": "nope"}}, store)
    assert restore["status"]["phase"] == "FailedValidation"


def test_delete_backup_request_removes_the_backup():
    store = _store()
    _drill_namespace(store)
    _backup(store)
    request = create("velero.io", "deletebackuprequests", "velero",
                     {"metadata": {"name": "b1-del"}, "spec": {"backupName": "b1"}}, store)
    assert request["status"] == {"phase": "Processed"}
    assert get(store, "velero.io", "backups", "velero", "b1") is None
    restore = create("velero.io", "restores", "velero", {"metadata": {"name": "r1"}, "spec": {"backupName": "b1"}}, store)
    assert restore["status"]["phase"] == "FailedValidation"


@pytest.mark.parametrize("velero, server", [(False, True), (True, False)])
def test_nothing_happens_without_the_option_or_a_velero_server(velero, server):
    store = _store(velero=velero, server=server)
    _drill_namespace(store)
    assert "status" not in _backup(store)
