"""A TEST DOUBLE of the Velero server's Backup, Restore and DeleteBackupRequest controllers (velero.io/v1).

Opt-in (`kubesim --velero`, the kind double's clusters). It acts only where a Velero server would run: a
Deployment named `velero` in the object's namespace; elsewhere the objects stay without a phase, as they do
on a cluster without Velero. It finishes each request at once, with the phases and fields upstream's
controllers write (vmware-tanzu/velero pkg/controller/backup_controller.go, restore_controller.go,
backup_deletion_controller.go):

- Backup: FailedValidation with `validationErrors` when its storage location does not exist, else Completed,
  keeping a copy of the included namespaces and their objects (the "object storage");
- Restore: FailedValidation when its backup is unknown or not Completed, else Completed; objects that are
  missing are created again, labelled velero.io/backup-name and velero.io/restore-name; existing ones are
  skipped (Velero's default existingResourcePolicy);
- DeleteBackupRequest: deletes the Backup and its copy, then phase Processed.

No volumes, hooks, item actions, resource filters beyond includedNamespaces, or backup sync from the store.
"""

from __future__ import annotations

import copy

# Server-set metadata a backup does not carry into a restore.
_SERVER_FIELDS = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields")


def reconcile(store, rt, obj: dict, now: str) -> None:
    """Called after `obj` (of type `rt`) was stored; sets its status in place, once."""
    meta = obj["metadata"]
    if rt.group != "velero.io" or (obj.get("status") or {}).get("phase"):
        return
    if ("apps", "deployments", meta.get("namespace"), "velero") not in store.objects:
        return  # no Velero server in this namespace
    handler = {"Backup": _backup, "Restore": _restore, "DeleteBackupRequest": _delete}.get(rt.kind)
    if handler:
        obj["status"] = handler(store, obj, now)


def _backup(store, obj: dict, now: str) -> dict:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    location = spec.get("storageLocation") or next(
        (o["metadata"]["name"] for k, o in store.objects.items()
         if k[:3] == ("velero.io", "backupstoragelocations", meta["namespace"]) and (o.get("spec") or {}).get("default")),
        "default")
    if ("velero.io", "backupstoragelocations", meta["namespace"], location) not in store.objects:
        return {"phase": "FailedValidation", "validationErrors": [
            f"an existing backup storage location wasn't specified at backup creation time and the default "
            f"'{location}' wasn't found. Error: backupstoragelocations.velero.io \"{location}\" not found"]}
    namespaces = set(spec.get("includedNamespaces") or [])
    items = []
    for key, stored in sorted(store.objects.items()):
        group, plural, namespace, name = key
        if (namespace in namespaces) or (group == "" and plural == "namespaces" and name in namespaces):
            item = copy.deepcopy(stored)
            for field in _SERVER_FIELDS:
                item["metadata"].pop(field, None)
            item.pop("status", None)
            items.append(((group, plural), item))
    store.velero_backups[(meta["namespace"], meta["name"])] = items
    return {"phase": "Completed", "version": 1, "startTimestamp": now, "completionTimestamp": now,
            "progress": {"totalItems": len(items), "itemsBackedUp": len(items)}}


def _restore(store, obj: dict, now: str) -> dict:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    backup = store.objects.get(("velero.io", "backups", meta["namespace"], spec.get("backupName", "")))
    items = store.velero_backups.get((meta["namespace"], spec.get("backupName", "")))
    if backup is None or items is None or (backup.get("status") or {}).get("phase") != "Completed":
        return {"phase": "FailedValidation",
                "validationErrors": [f"Error retrieving backup: backups.velero.io \"{spec.get('backupName')}\" not found"]}
    wanted = set(spec.get("includedNamespaces") or [])
    restored = skipped = 0
    # Namespaces first (sorted keys put the core group "" first; namespaces before their objects).
    for (group, plural), item in sorted(items, key=lambda entry: (entry[0] != ("", "namespaces"), entry[0])):
        item_meta = item["metadata"]
        namespace = item_meta.get("namespace")
        if wanted and (namespace or item_meta["name"]) not in wanted:
            continue
        item_rt = next((t for (g, _v, p), t in store.types.items() if (g, p) == (group, plural)), None)
        if item_rt is None or store._key(item_rt, namespace, item_meta["name"]) in store.objects:  # noqa: SLF001
            skipped += 1
            continue
        body = copy.deepcopy(item)
        body["metadata"].setdefault("labels", {}).update(
            {"velero.io/backup-name": spec["backupName"], "velero.io/restore-name": meta["name"]})
        store.create(item_rt, namespace, body, manager="velero-server")
        restored += 1
    status = {"phase": "Completed", "startTimestamp": now, "completionTimestamp": now,
              "progress": {"totalItems": restored + skipped, "itemsRestored": restored}}
    if skipped:
        status["warnings"] = skipped
    return status


def _delete(store, obj: dict, now: str) -> dict:
    meta, spec = obj["metadata"], obj.get("spec") or {}
    key = ("velero.io", "backups", meta["namespace"], spec.get("backupName", ""))
    store.velero_backups.pop((meta["namespace"], spec.get("backupName", "")), None)
    if key not in store.objects:
        return {"phase": "Processed", "errors": [f"backup {spec.get('backupName')} not found"]}
    backup_rt = next(t for (g, _v, p), t in store.types.items() if (g, p) == ("velero.io", "backups"))
    store.delete(backup_rt, meta["namespace"], spec["backupName"])
    return {"phase": "Processed"}
