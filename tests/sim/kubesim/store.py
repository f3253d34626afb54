"""In-memory object store with the API semantics the project's roles rely on.

Pure Python, no I/O: the HTTP layer (server.py) translates requests into calls here. Errors are raised
as ApiError carrying the HTTP code and the Kubernetes `reason`, so the server can answer with a Status body.
"""

from __future__ import annotations

import copy
import datetime as _dt
import fnmatch
import hashlib
import json
import re
import uuid

from . import network, velero
from .catalog import BUILTIN, SYSTEM_NAMESPACES, ResourceType

# Fields the server owns: clients cannot set them through a write.
_SYSTEM_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")


def _as_json_schema(schema):
    """A CRD's OpenAPI v3 schema as JSON Schema: `nullable` becomes a null type, int-or-string accepts
    anything, and the other Kubernetes extensions are left for jsonschema to ignore."""
    if isinstance(schema, list):
        return [_as_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _as_json_schema(v) for k, v in schema.items()}
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _get_path(obj: dict, dotted: str):
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch: dicts merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# Merge keys of the built-in list fields a strategic merge patch merges item by item (the rest are replaced).
_MERGE_KEYS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
               "volumes": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
               "imagePullSecrets": "name", "hostAliases": "ip", "conditions": "type"}


def strategic_merge(target, patch):
    """Strategic merge patch for the list fields of _MERGE_KEYS (and `ports`: containerPort or port), with
    the `$patch: delete|replace` directives; other `$` directives are ignored. Anything else as merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            result.pop(key, None)
            continue
        merge_key = _MERGE_KEYS.get(key)
        if key == "ports" and isinstance(value, list) and value and isinstance(value[0], dict):
            merge_key = "containerPort" if "containerPort" in value[0] else "port"
        if merge_key and isinstance(value, list) and all(isinstance(i, dict) for i in value) \
                and isinstance(result.get(key), list):
            merged = copy.deepcopy(result[key])
            for item in value:
                index = next((n for n, old in enumerate(merged)
                              if isinstance(old, dict) and old.get(merge_key) == item.get(merge_key)), None)
                if item.get("$patch") == "delete":
                    if index is not None:
                        merged.pop(index)
                elif index is None:
                    merged.append({k: v for k, v in item.items() if not k.startswith("$")})
                else:
                    merged[index] = strategic_merge(merged[index], item)
            result[key] = merged
        elif isinstance(value, dict):
            result[key] = strategic_merge(result.get(key), value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _prune(target: dict, old: dict, new: dict) -> None:
    """Remove from target the fields that `old` (a manager's previous applied config) set and `new` drops."""
    for key, old_value in old.items():
        if key not in target:
            continue
        if key not in new:
            del target[key]
        elif isinstance(old_value, dict) and isinstance(new[key], dict) and isinstance(target[key], dict):
            _prune(target[key], old_value, new[key])


def _json_pointer(path: str) -> list[str]:
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def json_patch(target, ops: list[dict]):
    """RFC 6902 JSON patch (add, remove, replace, test, copy, move)."""
    doc = copy.deepcopy(target)

    def parent(path):
        parts = _json_pointer(path)
        cur = doc
        for part in parts[:-1]:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        return cur, parts[-1]

    def get(path):
        cur = doc
        for part in _json_pointer(path):
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        return cur

    try:
        for op in ops:
            kind, path = op["op"], op["path"]
            if kind == "test":
                if get(path) != op["value"]:
                    raise ApiError(422, "Invalid", f"test operation failed at {path}")
                continue
            if kind in ("copy", "move"):
                value = copy.deepcopy(get(op["from"]))
                if kind == "move":
                    p, k = parent(op["from"])
                    del p[int(k) if isinstance(p, list) else k]
                kind, op = "add", {"op": "add", "path": path, "value": value}
            p, k = parent(path)
            if kind == "add":
                if isinstance(p, list):
                    p.insert(len(p) if k == "-" else int(k), copy.deepcopy(op["value"]))
                else:
                    p[k] = copy.deepcopy(op["value"])
            elif kind == "replace":
                if isinstance(p, list):
                    p[int(k)] = copy.deepcopy(op["value"])
                else:
                    if k not in p:
                        raise ApiError(422, "Invalid", f"replace operation does not apply: {path} is missing")
                    p[k] = copy.deepcopy(op["value"])
            elif kind == "remove":
                del p[int(k) if isinstance(p, list) else k]
            else:
                raise ApiError(400, "BadRequest", f"unsupported JSON patch op {kind!r}")
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, "Invalid", f"JSON patch failed: {exc!r}") from exc
    return doc


_SELECTOR_SET = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split_selector(selector: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in selector:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def label_selector_matches(selector: str | None, labels: dict) -> bool:
    """Kubernetes label selector syntax: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a."""
    if not selector:
        return True
    labels = labels or {}
    for term in _split_selector(selector):
        m = _SELECTOR_SET.match(term)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",") if v.strip()}
            if op == "in" and labels.get(key) not in values:
                return False
            if op == "notin" and key in labels and labels[key] in values:
                return False
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (s.strip() for s in re.split(r"==?", term, maxsplit=1))
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:].strip() in labels:
                return False
        elif term not in labels:
            return False
    return True


def field_selector_matches(selector: str | None, obj: dict) -> bool:
    if not selector:
        return True
    for term in _split_selector(selector):
        negate = "!=" in term
        key, value = (s.strip() for s in re.split(r"!=|==?", term, maxsplit=1))
        actual = _get_path(obj, key)
        actual = "" if actual is None else str(actual)
        if (actual == value) == negate:
            return False
    return True


def _target_port(port: dict, pods: list) -> int:
    """A Service port's targetPort as a number: a named one is looked up in the pods' container ports."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    named = [p["containerPort"] for pod in pods for c in (pod.get("spec") or {}).get("containers", [])
             for p in c.get("ports", []) if p.get("name") == target]
    return named[0] if named else port.get("port")


class Store:
    """Objects keyed by (group, plural, namespace, name); one storage version per group/resource."""

    def __init__(self, nodes: int = 4, kind_profile: bool = True, version: str = "v1.35.8", workload_pods: bool = False,
                 velero: bool = False, stall: list[str] | tuple = ()):
        self.version = version
        # Opt-in (the kind double's clusters): Deployments and StatefulSets get their Running pods at once.
        self.workload_pods = workload_pods
        # Opt-in too: the Velero controllers' double (velero.py); its "object storage" per (namespace, backup).
        self.velero = velero
        self.velero_backups: dict[tuple[str, str], list] = {}
        # Opt-in, for the roles' rescue paths: globs of KIND/NAMESPACE/NAME ("*" matches all) whose objects never
        # progress, as when an image pull fails or a controller is stuck (see stalled()).
        self.stall = list(stall)
        self.types: dict[tuple[str, str, str], ResourceType] = {}
        for rt in BUILTIN:
            self.types[(rt.group, rt.version, rt.plural)] = rt
        self.objects: dict[tuple[str, str, str, str], dict] = {}
        # manager -> last applied configuration, per object key (server-side apply bookkeeping).
        self.applied: dict[tuple, dict[str, dict]] = {}
        self.rv = 1
        self._ips = 10
        # Callbacks (event_type, resource type, stored object) for watches; called after each change.
        self.watchers: list = []
        self._seed(nodes, kind_profile)

    # ------------------------------------------------------------------ registry
    def resource(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.types.get((group, version, plural))
        if rt is None:
            gv = f"{group}/{version}" if group else version
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({plural}.{gv})",
                           {"group": group, "kind": plural})
        return rt

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for rt in self.types.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return out

    def resources_in(self, group: str, version: str) -> list[ResourceType]:
        return [rt for (g, v, _), rt in sorted(self.types.items()) if g == group and v == version]

    # ------------------------------------------------------------------ helpers
    def _key(self, rt: ResourceType, namespace: str | None, name: str):
        return (rt.group, rt.plural, namespace if rt.namespaced else "", name)

    def _ensure_namespace(self, rt: ResourceType, namespace: str | None) -> None:
        if not rt.namespaced:
            return
        if not namespace:
            raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
        if ("", "namespaces", "", namespace) not in self.objects:
            raise ApiError(404, "NotFound", f'namespaces "{namespace}" not found', {"name": namespace, "kind": "namespaces"})

    def _not_found(self, rt: ResourceType, name: str) -> ApiError:
        res = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
        return ApiError(404, "NotFound", f'{res} "{name}" not found', {"name": name, "group": rt.group, "kind": rt.plural})

    def _render(self, rt: ResourceType, obj: dict, version: str | None = None) -> dict:
        out = copy.deepcopy(obj)
        out["apiVersion"] = f"{rt.group}/{version or rt.version}" if rt.group else (version or rt.version)
        out["kind"] = rt.kind
        return out

    def _validate_body(self, rt: ResourceType, body, namespace: str | None, name: str | None) -> dict:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be an object")
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        kind = body.get("kind")
        if kind and kind != rt.kind:
            raise ApiError(400, "BadRequest", f"the body kind {kind!r} does not match the URL resource {rt.plural!r} ({rt.kind})")
        if rt.namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name and meta.get("name") and meta["name"] != name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        if name:
            meta["name"] = name
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            else:
                raise ApiError(422, "Invalid", f"{rt.kind}.{rt.group or 'core'} is invalid: metadata.name: Required value: name or generateName is required")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", meta["name"]) or len(meta["name"]) > 253:
            raise ApiError(422, "Invalid", f"{rt.kind} {meta['name']!r} is invalid: metadata.name: must be a lowercase RFC 1123 subdomain")
        for field_name in _SYSTEM_METADATA:
            meta.pop(field_name, None)
        return body

    # ------------------------------------------------------------------ reads
    def get(self, rt: ResourceType, namespace: str | None, name: str, version: str | None = None) -> dict:
        obj = self.objects.get(self._key(rt, namespace, name))
        if obj is None:
            raise self._not_found(rt, name)
        return self._render(rt, obj, version)

    def stored(self, group: str, plural: str, namespace: str | None = None) -> list[dict]:
        """The stored objects of one resource (of one namespace when given), in key order: what the doubles that
        act on the cluster's state (network, ingress) read, without a list call's rendering and selectors."""
        return [obj for (g, p, ns, _name), obj in sorted(self.objects.items())
                if (g, p) == (group, plural) and namespace in (None, ns)]

    def list(self, rt: ResourceType, namespace: str | None, label_selector=None, field_selector=None, version=None) -> dict:
        items = []
        for (group, plural, ns, _), obj in sorted(self.objects.items()):
            if group != rt.group or plural != rt.plural:
                continue
            if rt.namespaced and namespace and ns != namespace:
                continue
            if not label_selector_matches(label_selector, obj["metadata"].get("labels")):
                continue
            rendered = self._render(rt, obj, version)
            if not field_selector_matches(field_selector, rendered):
                continue
            items.append(rendered)
        gv = f"{rt.group}/{version or rt.version}" if rt.group else (version or rt.version)
        return {"kind": f"{rt.kind}List", "apiVersion": gv, "metadata": {"resourceVersion": str(self.rv)}, "items": items}

    # ------------------------------------------------------------------ writes
    def _commit(self, rt: ResourceType, key, old: dict | None, new: dict, dry_run: bool, manager: str | None,
                operation: str, version: str | None) -> dict:
        """Default, validate, check immutability, run the controller, bump versions only on a real change, store."""
        self._default(rt, new)
        if rt.crd and operation != "status":
            self._validate_custom(rt, new)
        if old is not None:
            for path in rt.immutable:
                if _get_path(old, path) != _get_path(new, path):
                    raise ApiError(422, "Invalid", f'{rt.kind}.{rt.group or "core"} "{new["metadata"]["name"]}" is invalid: '
                                   f"{path}: Invalid value: field is immutable")
            for keep in ("uid", "creationTimestamp", "generation", "resourceVersion", "managedFields"):
                if keep in old["metadata"]:
                    new["metadata"][keep] = copy.deepcopy(old["metadata"][keep])
            if rt.status and "status" in old and operation != "status":
                new["status"] = copy.deepcopy(old["status"])
        else:
            new["metadata"]["uid"] = str(uuid.uuid4())
            new["metadata"]["creationTimestamp"] = _now()
            new["metadata"]["generation"] = 1
            if rt.status and operation != "status":
                new.pop("status", None)
        if old is not None and self._spec_view(old) != self._spec_view(new):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        self._control(rt, new)
        if manager:
            self._manage(new, manager, operation, rt, version, changed=old is None or self._strip(old) != self._strip(new))
        if old is not None and self._strip(old) == self._strip(new):
            return self._render(rt, old, version)
        if dry_run:
            new["metadata"]["resourceVersion"] = str(self.rv + 1)
            return self._render(rt, new, version)
        self.rv += 1
        new["metadata"]["resourceVersion"] = str(self.rv)
        self.objects[key] = new
        self._after_write(rt, new)
        self._emit("ADDED" if old is None else "MODIFIED", rt, new)
        return self._render(rt, new, version)

    @staticmethod
    def _strip(obj: dict) -> dict:
        out = copy.deepcopy(obj)
        out["metadata"].pop("resourceVersion", None)
        for entry in out["metadata"].get("managedFields", []):
            entry.pop("time", None)
        return out

    @staticmethod
    def _spec_view(obj: dict) -> dict:
        return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}

    @staticmethod
    def _manage(obj: dict, manager: str, operation: str, rt: ResourceType, version: str | None, changed: bool) -> None:
        entries = obj["metadata"].setdefault("managedFields", [])
        op = "Update" if operation in ("status", "create", "update", "patch") else "Apply"
        sub = "status" if operation == "status" else None
        for entry in entries:
            if entry["manager"] == manager and entry["operation"] == op and entry.get("subresource") == sub:
                if changed:
                    entry["time"] = _now()
                return
        entry = {"manager": manager, "operation": op, "apiVersion": f"{rt.group}/{version or rt.version}" if rt.group else rt.version,
                 "time": _now(), "fieldsType": "FieldsV1", "fieldsV1": {}}
        if sub:
            entry["subresource"] = sub
        entries.append(entry)

    def create(self, rt, namespace, body, dry_run=False, manager=None, version=None) -> dict:
        body = self._validate_body(rt, copy.deepcopy(body), namespace, None)
        namespace = body["metadata"].get("namespace")
        self._ensure_namespace(rt, namespace)
        self._check_crd_served(rt)
        key = self._key(rt, namespace, body["metadata"]["name"])
        if key in self.objects:
            res = f"{rt.plural}.{rt.group}" if rt.group else rt.plural
            raise ApiError(409, "AlreadyExists", f'{res} "{body["metadata"]["name"]}" already exists',
                           {"name": body["metadata"]["name"], "group": rt.group, "kind": rt.plural})
        return self._commit(rt, key, None, body, dry_run, manager or "kubesim-client", "create", version)

    def replace(self, rt, namespace, name, body, dry_run=False, manager=None, version=None, subresource=None) -> dict:
        key = self._key(rt, namespace, name)
        old = self.objects.get(key)
        if old is None:
            raise self._not_found(rt, name)
        sent_rv = (body.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {rt.plural} "{name}": the object has been modified; '
                           "please apply your changes to the latest version and try again")
        body = self._validate_body(rt, copy.deepcopy(body), namespace, name)
        if subresource == "status":
            new = copy.deepcopy(old)
            new["status"] = body.get("status", {})
            return self._commit(rt, key, old, new, dry_run, manager, "status", version)
        body["metadata"].setdefault("namespace", old["metadata"].get("namespace"))
        return self._commit(rt, key, old, body, dry_run, manager or "kubesim-client", "update", version)

    def patch(self, rt, namespace, name, patch_type: str, patch, dry_run=False, manager=None, force=False,
              version=None, subresource=None) -> dict:
        key = self._key(rt, namespace, name)
        old = self.objects.get(key)
        if patch_type == "apply":
            return self._apply(rt, namespace, name, key, old, patch, dry_run, manager, version, subresource)
        if old is None:
            raise self._not_found(rt, name)
        base = self._render(rt, old, version)
        if patch_type == "json":
            if not isinstance(patch, list):
                raise ApiError(400, "BadRequest", "a JSON patch must be a list of operations")
            new = json_patch(base, patch)
        else:
            if not isinstance(patch, dict):
                raise ApiError(400, "BadRequest", "a merge patch must be an object")
            if patch_type == "strategic" and rt.crd:
                raise ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - accepted "
                               "media types include: application/json-patch+json, application/merge-patch+json, "
                               "application/apply-patch+yaml")
            new = strategic_merge(base, patch) if patch_type == "strategic" else merge_patch(base, patch)
        new = self._validate_body(rt, new, namespace, name)
        if subresource == "status":
            status_only = copy.deepcopy(old)
            status_only["status"] = new.get("status", {})
            return self._commit(rt, key, old, status_only, dry_run, manager or "kubesim-client", "status", version)
        return self._commit(rt, key, old, new, dry_run, manager or "kubesim-client", "patch", version)

    def _apply(self, rt, namespace, name, key, old, config, dry_run, manager, version, subresource) -> dict:
        if not manager:
            raise ApiError(400, "BadRequest", "PATCH with apply requires a fieldManager query parameter")
        if not isinstance(config, dict):
            raise ApiError(400, "BadRequest", "an apply patch must be an object")
        if not config.get("apiVersion") or not config.get("kind"):
            raise ApiError(400, "BadRequest", "apply patches must set apiVersion and kind")
        config = self._validate_body(rt, copy.deepcopy(config), namespace, name)
        if rt.status and subresource != "status":
            config.pop("status", None)
        config.pop("apiVersion", None)
        config.pop("kind", None)
        if old is None:
            self._ensure_namespace(rt, config["metadata"].get("namespace"))
            self._check_crd_served(rt)
            new = copy.deepcopy(config)
        else:
            new = copy.deepcopy(old)
            previous = self.applied.get(key, {}).get(manager)
            if previous is not None:
                _prune(new, previous, config)
            new = merge_patch(new, config)
        result = self._commit(rt, key, old, new, dry_run, manager, "status" if subresource == "status" else "apply", version)
        if not dry_run:
            self.applied.setdefault(key, {})[manager] = config
        return result

    def delete(self, rt, namespace, name, dry_run=False, version=None) -> dict:
        key = self._key(rt, namespace, name)
        obj = self.objects.get(key)
        if obj is None:
            raise self._not_found(rt, name)
        if self.stalled(rt, obj) and not dry_run:
            return self._render(rt, self._terminating(rt, obj), version)
        rendered = self._render(rt, obj, version)
        if not dry_run:
            self._remove(rt, key)
        return rendered

    def stalled(self, rt: ResourceType, obj: dict) -> bool:
        """Whether obj matches a --stall glob (KIND/NAMESPACE/NAME; cluster-scoped objects have an empty namespace)."""
        meta = obj["metadata"]
        return any(fnmatch.fnmatchcase(f"{rt.kind}/{meta.get('namespace') or ''}/{meta['name']}", pattern)
                   for pattern in self.stall)

    def _terminating(self, rt: ResourceType, obj: dict) -> dict:
        """A stalled object is not removed: it waits for a finalizer nobody removes, as a namespace does whose
        content's controller is gone (deletionTimestamp set, phase Terminating)."""
        if "deletionTimestamp" not in obj["metadata"]:
            obj["metadata"]["deletionTimestamp"] = _now()
            obj["metadata"].setdefault("finalizers", ["kubelab.test/stalled"])
            if rt.kind == "Namespace":
                obj["status"] = {"phase": "Terminating"}
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._emit("MODIFIED", rt, obj)
        return obj

    def delete_collection(self, rt, namespace, label_selector=None, dry_run=False, version=None) -> dict:
        listing = self.list(rt, namespace, label_selector, None, version)
        if not dry_run:
            for item in listing["items"]:
                self._remove(rt, self._key(rt, item["metadata"].get("namespace"), item["metadata"]["name"]))
        return listing

    def _remove(self, rt: ResourceType, key) -> None:
        obj = self.objects.pop(key)
        self.applied.pop(key, None)
        self.rv += 1
        if rt.plural == "namespaces" and rt.group == "":
            for other in [k for k in self.objects if k[2] == key[3] and self._is_namespaced(k)]:
                gone = self.objects.pop(other)
                self.applied.pop(other, None)
                owner = next((t for t in self.types.values() if t.group == other[0] and t.plural == other[1]), None)
                if owner is not None:
                    self._emit("DELETED", owner, gone)
        if rt.plural == "customresourcedefinitions":
            self._unregister(obj, drop_objects=True)
        self._emit("DELETED", rt, obj)
        if self.workload_pods and rt.group == "" and rt.plural in ("pods", "services"):
            self._endpoint_slices(key[2])

    def _emit(self, event: str, rt: ResourceType, obj: dict) -> None:
        for callback in list(self.watchers):
            callback(event, rt, obj)

    def _is_namespaced(self, key) -> bool:
        return any(rt.namespaced for (g, _, p), rt in self.types.items() if g == key[0] and p == key[1])

    # ------------------------------------------------------------------ defaults and controllers
    def _default(self, rt: ResourceType, obj: dict) -> None:
        kind = rt.kind
        spec = obj.get("spec")
        if kind == "Namespace":
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif kind in ("Deployment", "StatefulSet", "ReplicaSet") and isinstance(spec, dict):
            spec.setdefault("replicas", 1)
            spec.setdefault("revisionHistoryLimit", 10)
            if kind == "Deployment":
                spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}})
                spec.setdefault("progressDeadlineSeconds", 600)
            if kind == "StatefulSet":
                spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
                spec.setdefault("podManagementPolicy", "OrderedReady")
        elif kind == "DaemonSet" and isinstance(spec, dict):
            spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
            spec.setdefault("revisionHistoryLimit", 10)
        elif kind == "StorageClass":
            obj.setdefault("reclaimPolicy", "Delete")
            obj.setdefault("volumeBindingMode", "Immediate")
        elif kind == "CSIDriver":
            spec = obj.setdefault("spec", {})
            for field_name, value in (("attachRequired", True), ("podInfoOnMount", False), ("requiresRepublish", False),
                                      ("storageCapacity", False), ("fsGroupPolicy", "ReadWriteOnceWithFSType"),
                                      ("volumeLifecycleModes", ["Persistent"]), ("seLinuxMount", False)):
                spec.setdefault(field_name, value)
        elif kind == "Service" and isinstance(spec, dict):
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if "clusterIP" not in spec:
                self._ips += 1
                spec["clusterIP"] = f"10.96.{self._ips // 250}.{self._ips % 250}"
                spec["clusterIPs"] = [spec["clusterIP"]]
        elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
            spec.setdefault("conversion", {"strategy": "None"})
        elif kind == "ServiceAccount":
            pass

    def _control(self, rt: ResourceType, obj: dict) -> None:
        """What the controllers of a healthy cluster would write into status, at once."""
        kind, spec, gen = rt.kind, obj.get("spec") or {}, obj["metadata"].get("generation", 1)
        if kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif kind == "Deployment":
            n = spec.get("replicas", 1)
            obj["status"] = {"observedGeneration": gen, "replicas": n, "updatedReplicas": n, "readyReplicas": n,
                             "availableReplicas": n,
                             "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}
            if n == 0:
                # The real API omits zero counts (omitempty), replicas included.
                for field_name in ("replicas", "readyReplicas", "availableReplicas", "updatedReplicas"):
                    obj["status"].pop(field_name)
        elif kind == "StatefulSet":
            n = spec.get("replicas", 1)
            rev = f"{obj['metadata']['name']}-{hashlib.sha256(json.dumps(spec.get('template'), sort_keys=True).encode()).hexdigest()[:10]}"
            obj["status"] = {"observedGeneration": gen, "replicas": n, "readyReplicas": n, "currentReplicas": n,
                             "updatedReplicas": n, "availableReplicas": n, "currentRevision": rev, "updateRevision": rev,
                             "collisionCount": 0}
        elif kind == "DaemonSet":
            n = sum(1 for k in self.objects if k[0] == "" and k[1] == "nodes")
            obj["status"] = {"observedGeneration": gen, "desiredNumberScheduled": n, "currentNumberScheduled": n,
                             "numberReady": n, "numberAvailable": n, "updatedNumberScheduled": n, "numberMisscheduled": 0}
        if kind in ("Deployment", "StatefulSet", "DaemonSet") and self.stalled(rt, obj):
            # Scheduled but never ready: the counts the readiness checks compare are absent (zero, omitempty).
            for field_name in ("readyReplicas", "availableReplicas", "updatedReplicas", "numberReady", "numberAvailable",
                               "updatedNumberScheduled"):
                obj["status"].pop(field_name, None)
            if kind == "Deployment":
                obj["status"]["conditions"][0].update(status="False", reason="MinimumReplicasUnavailable")
        elif kind == "CustomResourceDefinition":
            names = spec.get("names", {})
            obj["status"] = {
                "acceptedNames": {k: v for k, v in names.items() if k in ("kind", "plural", "singular", "shortNames", "listKind", "categories")},
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found"},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted"},
                ],
                "storedVersions": [v["name"] for v in spec.get("versions", []) if v.get("storage")],
            }
        elif kind == "PersistentVolumeClaim" and "status" not in obj:
            # No provisioner runs in the double: claims stay Pending (a real cluster binds them).
            obj["status"] = {"phase": "Pending"}
        elif kind == "Pod" and "status" not in obj:
            containers = spec.get("containers", [])
            # A stalled pod runs but fails its readiness probe.
            ready = not self.stalled(rt, obj)
            obj["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": str(ready)}],
                             "containerStatuses": [{"name": c.get("name"), "ready": ready, "restartCount": 0,
                                                    "image": c.get("image"), "imageID": c.get("image") or "",
                                                    "started": True,
                                                    "state": {"running": {"startedAt": _now()}}}
                                                   for c in containers]}
            if self.workload_pods:
                network.run_to_completion(self, obj)  # a wget client ends as an enforcing CNI lets it
        elif rt.crd and self.stalled(rt, obj):
            # Its controller never reports: whatever status is written (a chart stand-in's included) is dropped.
            obj.pop("status", None)

    def _validate_custom(self, rt: ResourceType, obj: dict) -> None:
        """Check a custom resource against its CRD's openAPIV3Schema (types, required, enums, patterns, bounds).

        Like the API server without fieldValidation=Strict it does not reject unknown fields; unlike it, it
        does not prune them, and it evaluates no CEL rules (x-kubernetes-validations)."""
        schema = rt.extra.get("schema")
        if not schema:
            return
        import jsonschema

        body = {k: v for k, v in obj.items() if k not in ("metadata",)}
        body["metadata"] = {}
        errors = sorted(jsonschema.Draft4Validator(_as_json_schema(schema)).iter_errors(body), key=lambda e: list(e.path))
        if errors:
            causes = "; ".join(f"{'.'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors[:5])
            raise ApiError(422, "Invalid", f'{rt.kind}.{rt.group} "{obj["metadata"]["name"]}" is invalid: {causes}',
                           {"name": obj["metadata"]["name"], "group": rt.group, "kind": rt.kind})

    def _check_crd_served(self, rt: ResourceType) -> None:
        if rt.crd and self.objects.get(("apiextensions.k8s.io", "customresourcedefinitions", "", rt.crd)) is None:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({rt.plural}.{rt.group_version})")

    def _after_write(self, rt: ResourceType, obj: dict) -> None:
        if rt.kind == "CustomResourceDefinition":
            self._register(obj)
        elif self.workload_pods and rt.kind in ("Deployment", "StatefulSet"):
            self._workload_pods(rt, obj)
            for (group, plural, namespace, _name), hpa in list(self.objects.items()):
                if (group, plural, namespace) == ("autoscaling", "horizontalpodautoscalers", obj["metadata"]["namespace"]):
                    self._autoscale(hpa)
        elif self.workload_pods and rt.kind == "HorizontalPodAutoscaler":
            self._autoscale(obj)
        elif self.workload_pods and rt.kind in ("Pod", "Service") and rt.group == "":
            self._endpoint_slices(obj["metadata"]["namespace"])
        elif self.velero and not self.stalled(rt, obj):
            velero.reconcile(self, rt, obj, _now())

    def _workload_pods(self, rt: ResourceType, obj: dict) -> None:
        """One Running pod per replica from the pod template (StatefulSet: <name>-<i>; Deployment: <name>-pod-<i>),
        created once: no rollouts, scaling down or restarts."""
        meta, spec = obj["metadata"], obj.get("spec") or {}
        template = spec.get("template") or {}
        pod_rt = self.types[("", "v1", "pods")]
        for i in range(spec.get("replicas", 1)):
            name = f"{meta['name']}-{i}" if rt.kind == "StatefulSet" else f"{meta['name']}-pod-{i}"
            if ("", "pods", meta["namespace"], name) in self.objects:
                continue
            self.create(pod_rt, meta["namespace"], {
                "metadata": {"name": name, "namespace": meta["namespace"],
                             "labels": dict((template.get("metadata") or {}).get("labels") or {})},
                "spec": copy.deepcopy(template.get("spec") or {"containers": []})}, manager="kube-controller-manager")

    def _endpoint_slices(self, namespace: str) -> None:
        """The EndpointSlice controller (kubernetes pkg/controller/endpointslice): one IPv4 slice per Service with
        a selector, labelled kubernetes.io/service-name, listing the Running pods the selector matches. One slice
        per Service (the real controller splits above 100 endpoints), named <service>-kubesim."""
        slice_rt = self.types[("discovery.k8s.io", "v1", "endpointslices")]
        for (group, plural, ns, name), svc in list(self.objects.items()):
            if (group, plural, ns) != ("", "services", namespace) or not (svc.get("spec") or {}).get("selector"):
                continue
            selector = svc["spec"]["selector"]
            pods = [p for (g, pl, pns, _), p in sorted(self.objects.items()) if (g, pl, pns) == ("", "pods", namespace)
                    and selector.items() <= (p["metadata"].get("labels") or {}).items()
                    and (p.get("status") or {}).get("phase") == "Running"]
            want = {
                "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                "metadata": {"name": f"{name}-kubesim", "namespace": namespace,
                             "labels": {"kubernetes.io/service-name": name,
                                        "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}},
                "endpoints": [{"addresses": [f"10.244.0.{10 + i}"], "conditions": {"ready": True, "serving": True, "terminating": False},
                               "targetRef": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": namespace}}
                              for i, p in enumerate(pods)],
                "ports": [{"name": port.get("name", ""), "port": _target_port(port, pods),
                           "protocol": port.get("protocol", "TCP")} for port in svc["spec"].get("ports", [])],
            }
            key = ("discovery.k8s.io", "endpointslices", namespace, want["metadata"]["name"])
            current = self.objects.get(key)
            if current is None:
                self.create(slice_rt, namespace, want, manager="endpointslice-controller.k8s.io")
            elif {k: current.get(k) for k in ("endpoints", "ports")} != {k: want[k] for k in ("endpoints", "ports")}:
                self.replace(slice_rt, namespace, want["metadata"]["name"], {**want, "metadata": {
                    **want["metadata"], "resourceVersion": current["metadata"]["resourceVersion"]}},
                    manager="endpointslice-controller.k8s.io")

    def _autoscale(self, hpa: dict) -> None:
        """The HPA controller's bounds, without metrics (kubernetes pkg/controller/podautoscaler/horizontal.go,
        reconcileAutoscaler): a target below minReplicas (default 1) is scaled up to it, one above maxReplicas down
        to it; a target at 0 replicas is left alone (autoscaling disabled)."""
        spec, namespace = hpa.get("spec") or {}, hpa["metadata"]["namespace"]
        ref = spec.get("scaleTargetRef") or {}
        plural = {"Deployment": "deployments", "StatefulSet": "statefulsets"}.get(ref.get("kind"))
        target = self.objects.get(("apps", plural, namespace, ref.get("name"))) if plural else None
        if target is None:
            return
        current = (target.get("spec") or {}).get("replicas", 1)
        desired = min(max(current, spec.get("minReplicas", 1)), spec.get("maxReplicas", current))
        if current != 0 and desired != current:
            self.patch(self.types[("apps", "v1", plural)], namespace, ref["name"], "merge",
                       {"spec": {"replicas": desired}}, manager="kube-controller-manager")

    def _register(self, crd: dict) -> None:
        self._unregister(crd)
        spec = crd["spec"]
        names = spec.get("names", {})
        for ver in spec.get("versions", []):
            if not ver.get("served", True):
                continue
            sub = ver.get("subresources") or {}
            rt = ResourceType(
                group=spec["group"], version=ver["name"], plural=names["plural"], kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced", short_names=tuple(names.get("shortNames", [])),
                status="status" in sub, categories=tuple(names.get("categories", [])), crd=crd["metadata"]["name"],
                extra={"schema": (ver.get("schema") or {}).get("openAPIV3Schema")},
            )
            self.types[(rt.group, rt.version, rt.plural)] = rt

    def _unregister(self, crd: dict, drop_objects: bool = False) -> None:
        name = crd["metadata"]["name"]
        for key in [k for k, rt in self.types.items() if rt.crd == name]:
            del self.types[key]
        if drop_objects:
            group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
            for key in [k for k in self.objects if k[0] == group and k[1] == plural]:
                self.objects.pop(key)
                self.applied.pop(key, None)

    # ------------------------------------------------------------------ a fresh cluster
    def _seed(self, nodes: int, kind_profile: bool) -> None:
        ns_rt = self.types[("", "v1", "namespaces")]
        for ns in SYSTEM_NAMESPACES if kind_profile else SYSTEM_NAMESPACES[:4]:
            self.create(ns_rt, None, {"metadata": {"name": ns}}, manager="kube-apiserver")
        node_rt = self.types[("", "v1", "nodes")]
        zones = ["zone-a", "zone-b", "zone-c"]
        for i in range(nodes):
            name = "kubesim-control-plane" if i == 0 else f"kubesim-worker{'' if i == 1 else i}"
            labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                      "topology.kubernetes.io/region": "region-1", "topology.kubernetes.io/zone": zones[(max(i, 1) - 1) % 3]}
            if i == 0:
                labels["node-role.kubernetes.io/control-plane"] = ""
            self.create(node_rt, None, {"metadata": {"name": name, "labels": labels}}, manager="kubelet")
            key = ("", "nodes", "", name)
            self.objects[key]["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                                           "nodeInfo": {"kubeletVersion": self.version}}
        if kind_profile:
            # kind's own default StorageClass (rancher local-path), as on a fresh kind cluster.
            sc_rt = self.types[("storage.k8s.io", "v1", "storageclasses")]
            self.create(sc_rt, None, {
                "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
                "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer",
            }, manager="kubectl-client-side-apply")
            # Cluster DNS as kubeadm deploys it (kind's coredns): the NetworkPolicy probe waits for it and resolves through it.
            dns = {"k8s-app": "kube-dns"}
            self.create(self.types[("apps", "v1", "deployments")], "kube-system", {
                "metadata": {"name": "coredns", "namespace": "kube-system", "labels": dns},
                "spec": {"replicas": 2, "selector": {"matchLabels": dns}, "template": {"metadata": {"labels": dns}, "spec": {
                    "containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.13.1", "ports": [
                        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
                        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                        {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]}]}}},
            }, manager="kubeadm")
            self.create(self.types[("", "v1", "services")], "kube-system", {
                "metadata": {"name": "kube-dns", "namespace": "kube-system", "labels": {**dns, "kubernetes.io/name": "CoreDNS"}},
                "spec": {"selector": dns, "clusterIP": "10.96.0.10", "ports": [
                    {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                    {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                    {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
            }, manager="kubeadm")
        svc_rt = self.types[("", "v1", "services")]
        self.create(svc_rt, "default", {"metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver"}},
                                        "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                                                                        "targetPort": 6443}]}},
                    manager="kube-apiserver")
