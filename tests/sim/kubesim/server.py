"""HTTP layer of the Kubernetes API test double (aiohttp).

Serves discovery (/api, /apis, group versions), /version, /openapi/v2 and /openapi/v3 (empty but well
formed), health endpoints, and the REST verbs on every registered resource, answering errors with
Kubernetes Status bodies. All state lives in one Store; requests are served one at a time on one event loop.
With an ingress port, requests on that port go to the double of ingress-nginx's data path instead (ingress.py).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as _dt
import json

import yaml
from aiohttp import web

from . import ingress, rbac
from .catalog import ACCESS_DENY_CONFIGMAP
from .execs import ExecRegistry
from .store import ApiError, Store, field_selector_matches, label_selector_matches

JSON = "application/json"


def _json(data, status: int = 200) -> web.Response:
    return web.Response(text=json.dumps(data), status=status, content_type=JSON)


def _error(exc: ApiError) -> web.Response:
    return _json(exc.status(), exc.code)


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    then = _dt.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    secs = int((_dt.datetime.now(_dt.timezone.utc) - then).total_seconds())
    return f"{secs}s" if secs < 120 else f"{secs // 60}m"


def _table(payload: dict) -> dict:
    """Server-side printing for kubectl get (`Accept: ...;as=Table`): name and age columns."""
    items = payload["items"] if payload["kind"].endswith("List") else [payload]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": payload.get("metadata", {}).get("resourceVersion", "")},
        "columnDefinitions": [
            {"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0},
            {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0},
        ],
        "rows": [
            {
                "cells": [i["metadata"]["name"], _age(i["metadata"].get("creationTimestamp"))],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": i["metadata"]},
            }
            for i in items
        ],
    }


def _proto_field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (payloads here are short: a one-byte length is enough)."""
    assert len(payload) < 128
    return bytes([(number << 3) | 2, len(payload)]) + payload


def _swagger_proto(version: str) -> bytes:
    """An empty OpenAPI v2 document in gnostic's protobuf encoding (what kubectl asks for to validate).

    Document{swagger: "2.0", info: Info{title: "Kubernetes", version}}: no schemas, so kubectl's client-side
    validation finds no model for any kind and skips (the double does not validate objects).
    """
    info = _proto_field(1, b"Kubernetes") + _proto_field(2, version.encode())
    return _proto_field(1, b"2.0") + _proto_field(2, info)


class ApiServer:
    def __init__(self, store: Store, execs: ExecRegistry | None = None, ingress_port: int = 0):
        self.store = store
        self.execs = ExecRegistry() if execs is None else execs
        self.ingress_port = ingress_port
        self.app = web.Application(client_max_size=64 * 1024 * 1024)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    # ------------------------------------------------------------------ discovery
    def _api_resource_list(self, group: str, version: str) -> dict:
        resources = self.store.resources_in(group, version)
        if not resources:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": [entry for rt in resources for entry in rt.discovery()],
        }

    def _api_group(self, group: str, versions: list[str]) -> dict:
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {"name": group, "versions": entries, "preferredVersion": entries[0]}

    def _discovery(self, parts: list[str]):
        groups = self.store.groups()
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            return {"kind": "APIGroupList", "apiVersion": "v1",
                    "groups": [self._api_group(g, v) for g, v in sorted(groups.items()) if g]}
        if len(parts) == 2 and parts[0] == "apis":
            if parts[1] not in groups:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return {"kind": "APIGroup", "apiVersion": "v1", **self._api_group(parts[1], groups[parts[1]])}
        if parts == ["api", "v1"]:
            return self._api_resource_list("", "v1")
        if len(parts) == 3 and parts[0] == "apis":
            return self._api_resource_list(parts[1], parts[2])
        return None

    # ------------------------------------------------------------------ request handling
    async def handle(self, request: web.Request) -> web.Response:
        if self.ingress_port and (request.transport.get_extra_info("sockname") or ("", 0))[1] == self.ingress_port:
            return await self._ingress(request)
        parts = [p for p in request.path.split("/") if p]
        try:
            if parts in (["healthz"], ["readyz"], ["livez"]):
                return web.Response(text="ok")
            if parts == ["version"]:
                v = self.store.version
                major, minor = v.lstrip("v").split(".")[:2]
                return _json({"major": major, "minor": minor, "gitVersion": v, "platform": "linux/amd64",
                              "goVersion": "go1.25", "compiler": "gc", "buildDate": "2026-01-01T00:00:00Z"})
            if parts[:1] == ["openapi"]:
                return self._openapi(parts, request.headers.get("Accept", ""))
            if len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4:7:2] == ["pods", "exec"]:
                return await self._exec(request, parts[3], parts[5])
            if len(parts) >= 7 and parts[:3] == ["api", "v1", "namespaces"] and parts[4:7:2] == ["pods", "proxy"]:
                return await self._pod_proxy(request, parts[3], parts[5], "/".join(parts[7:]))
            if request.method == "POST" and parts == ["apis", "authorization.k8s.io", "v1", "selfsubjectaccessreviews"]:
                if "protobuf" in (request.content_type or ""):
                    try:
                        review = rbac.review_from_protobuf(await request.read())
                    except (ValueError, IndexError) as exc:
                        raise ApiError(400, "BadRequest", f"the request body is not a SelfSubjectAccessReview: {exc}") from None
                else:
                    review = await self._body(request)
                return _json(self._access_review(review, request.headers), 201)
            if request.method == "GET":
                found = self._discovery(parts)
                if found is not None:
                    return _json(found)
            return await self._resource(request, parts)
        except ApiError as exc:
            return _error(exc)

    def _access_review(self, review: dict, headers) -> dict:
        """A SelfSubjectAccessReview answered: for an impersonated user from RBAC (rbac.py), else allowed unless
        catalog.ACCESS_DENY_CONFIGMAP denies it."""
        attrs = (review.get("spec") or {}).get("resourceAttributes") or {}
        user = headers.get("Impersonate-User")
        if user:
            grant = rbac.allowed(self.store.objects, user, rbac.groups_of(user, headers.getall("Impersonate-Group", [])),
                                 attrs)
            return dict(review, apiVersion="authorization.k8s.io/v1", kind="SelfSubjectAccessReview",
                        status={"allowed": grant, "reason": "RBAC: allowed by a binding" if grant else ""})
        resource = attrs.get("resource", "") + ("." + attrs["group"] if attrs.get("group") else "")
        namespace, name = ACCESS_DENY_CONFIGMAP
        try:
            deny = self.store.get(self.store.resource("", "v1", "configmaps"), namespace, name)["data"]["deny"]
        except (ApiError, KeyError, TypeError):
            deny = ""
        denied = "%s %s" % (attrs.get("verb", ""), resource) in [line.strip() for line in deny.splitlines()]
        return dict(review, apiVersion="authorization.k8s.io/v1", kind="SelfSubjectAccessReview",
                    status={"allowed": not denied, "reason": "denied by %s/%s" % (namespace, name) if denied else ""})

    def _openapi(self, parts: list[str], accept: str = "") -> web.Response:
        if parts == ["openapi", "v2"] and "protobuf" in accept:
            return web.Response(body=_swagger_proto(self.store.version), content_type="application/octet-stream")
        if parts == ["openapi", "v2"]:
            return _json({"swagger": "2.0", "info": {"title": "Kubernetes", "version": self.store.version},
                          "paths": {}, "definitions": {}})
        if parts == ["openapi", "v3"]:
            return _json({"paths": {}})
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def _route(self, parts: list[str]):
        """Split a resource path into (group, version, namespace, plural, name, subresource)."""
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 4:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in ("status", "finalize"):
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        plural = rest[0]
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if sub == "finalize":
            sub = None
        if sub not in (None, "status"):
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({plural}/{sub})")
        return group, version, namespace, plural, name, sub

    async def _body(self, request: web.Request):
        raw = await request.text()
        if not raw.strip():
            raise ApiError(400, "BadRequest", "the request body is empty")
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            if "yaml" not in (request.content_type or ""):
                raise ApiError(400, "BadRequest", "the request body is not valid JSON") from None
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ApiError(400, "BadRequest", f"the request body is not valid YAML: {exc}") from None

    async def _resource(self, request: web.Request, parts: list[str]) -> web.Response:
        group, version, namespace, plural, name, sub = self._route(parts)
        rt = self.store.resource(group, version, plural)
        if namespace and not rt.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if sub == "status" and not rt.status:
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({plural}/status)")
        q = request.query
        dry_run = q.get("dryRun") == "All"
        manager = q.get("fieldManager")
        method = request.method
        store = self.store
        if method == "GET" and q.get("watch") in ("true", "1"):
            return await self._watch(request, rt, namespace, name, version)
        if method == "GET":
            if name:
                result = store.get(rt, namespace, name, version)
            else:
                result = store.list(rt, namespace, q.get("labelSelector"), q.get("fieldSelector"), version)
            if "as=Table" in request.headers.get("Accept", ""):
                return _json(_table(result))
            return _json(result)
        if method == "POST" and not name:
            return _json(store.create(rt, namespace, await self._body(request), dry_run, manager, version), 201)
        if method == "PUT" and name:
            return _json(store.replace(rt, namespace, name, await self._body(request), dry_run, manager, version, sub))
        if method == "PATCH" and name:
            ctype = request.content_type or ""
            kinds = {"application/apply-patch+yaml": "apply", "application/merge-patch+json": "merge",
                     "application/strategic-merge-patch+json": "strategic", "application/json-patch+json": "json"}
            if ctype not in kinds:
                raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: {ctype}")
            created = name is not None and kinds[ctype] == "apply" and not self._exists(rt, namespace, name)
            result = store.patch(rt, namespace, name, kinds[ctype], await self._body(request), dry_run, manager,
                                 q.get("force") == "true", version, sub)
            return _json(result, 201 if created else 200)
        if method == "DELETE":
            if name and rt.kind == "Pod" and not dry_run:
                self.execs.restart(namespace, name)
            if name:
                return _json(store.delete(rt, namespace, name, dry_run, version))
            return _json(store.delete_collection(rt, namespace, q.get("labelSelector"), dry_run, version))
        raise ApiError(405, "MethodNotAllowed", f"{method} is not supported on this path")

    async def _watch(self, request: web.Request, rt, namespace, name, version) -> web.StreamResponse:
        """Watch: the current objects as ADDED (unless the client lists first and passes its resourceVersion),
        then every change until timeoutSeconds. No history: changes before the watch started are not replayed."""
        q = request.query
        labels, fields = q.get("labelSelector"), q.get("fieldSelector")
        if name:
            fields = ",".join(filter(None, [fields, f"metadata.name={name}"]))

        def wanted(obj: dict) -> bool:
            meta = obj["metadata"]
            return ((not rt.namespaced or not namespace or meta.get("namespace") == namespace)
                    and label_selector_matches(labels, meta.get("labels"))
                    and field_selector_matches(fields, obj))

        queue: asyncio.Queue = asyncio.Queue()

        def on_change(event: str, changed_rt, obj: dict) -> None:
            if changed_rt.group == rt.group and changed_rt.plural == rt.plural and wanted(obj):
                queue.put_nowait((event, obj))

        response = web.StreamResponse(headers={"Content-Type": JSON})
        await response.prepare(request)
        if q.get("resourceVersion") in (None, "", "0"):
            for item in self.store.list(rt, namespace, labels, fields, version)["items"]:
                await response.write((json.dumps({"type": "ADDED", "object": item}) + "\n").encode())
        self.store.watchers.append(on_change)
        deadline = asyncio.get_running_loop().time() + min(float(q.get("timeoutSeconds") or 1800), 1800)
        try:
            while True:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                try:
                    event, obj = await asyncio.wait_for(queue.get(), timeout=remaining)
                except asyncio.TimeoutError:
                    break
                rendered = self.store._render(rt, obj, version)
                await response.write((json.dumps({"type": event, "object": rendered}) + "\n").encode())
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.store.watchers.remove(on_change)
        return response

    async def _exec(self, request: web.Request, namespace: str, name: str) -> web.StreamResponse:
        """Pod exec over a websocket (channel protocol v5/v4: one leading byte names the channel; 1 stdout,
        2 stderr, 3 the final Status). The command runs in the exec double of the container's image (execs.py).
        No stdin and no tty: the roles' commands need neither."""
        q = request.query
        pod = self.store.get(self.store.resource("", "v1", "pods"), namespace, name)
        containers = pod.get("spec", {}).get("containers", [])
        wanted = q.get("container") or (containers[0]["name"] if len(containers) == 1 else None)
        if wanted is None:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, choose one of: "
                                              f"{[c['name'] for c in containers]}")
        container = next((c for c in containers if c.get("name") == wanted), None)
        if container is None:
            raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
        command = q.getall("command", [])
        if not command:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        if q.get("stdin") in ("true", "True", "1") or q.get("tty") in ("true", "True", "1"):
            raise ApiError(400, "BadRequest", "the exec double supports neither stdin nor tty")
        ws = web.WebSocketResponse(protocols=("v5.channel.k8s.io", "v4.channel.k8s.io"))
        if not ws.can_prepare(request).ok:
            raise ApiError(400, "BadRequest", "Upgrade request required")
        await ws.prepare(request)
        result = self._container(namespace, name, container).run(list(command))
        if result.stdout and q.get("stdout") not in ("false", "False", "0"):
            await ws.send_bytes(b"\x01" + result.stdout.encode())
        if result.stderr and q.get("stderr") not in ("false", "False", "0"):
            await ws.send_bytes(b"\x02" + result.stderr.encode())
        if result.rc == 0:
            status = {"metadata": {}, "status": "Success"}
        else:
            status = {"metadata": {}, "status": "Failure",
                      "message": f"command terminated with non-zero exit code: exit status {result.rc}",
                      "reason": "NonZeroExitCode",
                      "details": {"causes": [{"reason": "ExitCode", "message": str(result.rc)}]}}
        await ws.send_bytes(b"\x03" + json.dumps(status).encode())
        await ws.close()
        return ws

    async def _pod_proxy(self, request: web.Request, namespace: str, target: str, path: str) -> web.Response:
        """The pod proxy (pods/[scheme:]NAME:PORT/proxy/PATH): the request goes to the server double of the
        container image that listens on PORT (execs.SERVERS), its status and body come back unchanged. Like the
        API server, a port nobody listens on is 503 "error trying to reach service"."""
        pieces = target.split(":")
        if len(pieces) == 3 and pieces[0] in ("http", "https"):
            pieces = pieces[1:]
        if len(pieces) != 2 or not pieces[1].isdigit():
            raise ApiError(400, "BadRequest", f"the pod proxy double needs NAME:PORT, not {target!r}")
        name, port = pieces[0], int(pieces[1])
        pod = self.store.get(self.store.resource("", "v1", "pods"), namespace, name)
        server = self._server(pod, port) if pod.get("status", {}).get("phase") == "Running" else None
        if server is None:
            raise ApiError(503, "ServiceUnavailable", f"error trying to reach service: dial tcp {name}:{port}: "
                                                      "connect: connection refused")
        return await self._call(server, request, path)

    @staticmethod
    async def _call(server, request: web.Request, path: str) -> web.Response:
        """A server double's answer to the request: its status and JSON body, unchanged."""
        raw = await request.text()
        try:
            body = json.loads(raw) if raw.strip() else None
        except json.JSONDecodeError:
            return _json({"errors": ["failed to parse JSON input"]}, 400)
        status, answer = server.call(request.method, path, request.headers, body)
        if answer is None:
            return web.Response(status=status)
        return _json(answer, status)

    async def _ingress(self, request: web.Request) -> web.Response:
        """What ingress-nginx answers on the node's port 80 (ingress.py): its own error page, or the backend's."""
        found = ingress.route(self.store, request.host.rsplit(":", 1)[0], request.path)
        if found.pod is None:
            return web.Response(status=found.status, text=f"{found.message} (ingress-nginx double)\n")
        server = self._server(found.pod, found.port)
        if server is not None:
            return await self._call(server, request, request.path.lstrip("/"))
        meta = found.pod["metadata"]
        return web.Response(status=502, text=f"connection refused: nothing listens on port {found.port} of "
                                             f"{meta['namespace']}/{meta['name']} (ingress-nginx double)\n")

    def _server(self, pod: dict, port: int):
        """The server double listening on the pod's port, in whichever of its containers (None: nobody listens)."""
        meta = pod["metadata"]
        return next((server for container in pod.get("spec", {}).get("containers", [])
                     if (server := self._container(meta["namespace"], meta["name"], container).servers.get(port))),
                    None)

    def _container(self, namespace: str, pod: str, container: dict):
        """The exec and server doubles of one container, made the first time with the environment it starts with."""
        return self.execs.container(namespace, pod, container["name"], container.get("image", ""),
                                    self._env(namespace, container))

    def _env(self, namespace: str, container: dict) -> dict:
        """The container's env: plain values, and Secret keys (valueFrom.secretKeyRef); other sources are left out."""
        env = {}
        for var in container.get("env") or []:
            ref = (var.get("valueFrom") or {}).get("secretKeyRef")
            if "value" in var:
                env[var["name"]] = var["value"]
            elif ref:
                secret = self.store.objects.get(("", "secrets", namespace, ref.get("name")))
                data = (secret or {}).get("data") or {}
                if ref.get("key") in data:
                    env[var["name"]] = base64.b64decode(data[ref["key"]]).decode()
        return env

    def _exists(self, rt, namespace, name) -> bool:
        try:
            self.store.get(rt, namespace, name)
            return True
        except ApiError:
            return False
