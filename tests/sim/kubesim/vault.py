"""A TEST DOUBLE of Vault's HTTP API (/v1/...), served on port 8200 of a pod whose image is hashicorp/vault.

The Kubernetes API double reaches it through the pod proxy (/api/v1/namespaces/NS/pods/NAME:8200/proxy/...),
the way the vault role talks to the real server. It keeps the state machine and the answers the role reads
(init once, unseal at the threshold, sealed again after a pod restart, token check, mounts, the Kubernetes auth
method's config and roles, ACL policies, KV version 2) and nothing else. It is not Vault: no storage
encryption, no leases, no policy evaluation (the root token may do everything, any other token nothing).

Status codes and bodies follow Vault's API documentation: errors are {"errors": [...]}, a read of a path
with nothing there is 404 {"errors": []}, writes without a body to return answer 204.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid

LIST_FIELDS = ("bound_service_account_names", "bound_service_account_namespaces", "token_policies")
DURATION_FIELDS = ("token_ttl", "token_max_ttl")


class VaultApiError(Exception):
    def __init__(self, status: int, *errors: str):
        super().__init__(status, errors)
        self.status, self.errors = status, list(errors)


def _duration(value) -> int:
    """Vault accepts seconds as a number or a duration string (30, "30s", "5m", "1h")."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"([0-9]+)([smh]?)", str(value))
    if not match:
        raise VaultApiError(400, f"error converting input {value!r} for field: cannot parse duration")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def _list(value) -> list[str]:
    """Vault accepts a list or a comma-separated string for list fields."""
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value).split(",") if v]


class VaultApiDouble:
    """One Vault server. call(method, path, headers, body) -> (status, JSON body or None)."""

    def __init__(self):
        self.initialized = False
        self.sealed = True
        self.shares = self.threshold = 0
        self.keys: list[bytes] = []
        self.root_token = ""
        self.progress: list[bytes] = []
        self.auth = {"token/": {"type": "token", "description": "token based credentials", "options": None}}
        self.mounts = {"cubbyhole/": {"type": "cubbyhole", "options": None},
                       "identity/": {"type": "identity", "options": None},
                       "sys/": {"type": "system", "options": None}}
        self.config: dict[str, dict] = {}     # auth mount -> config
        self.roles: dict[tuple[str, str], dict] = {}  # (auth mount, role) -> fields
        self.policies = {"root": "", "default": 'path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}\n'}
        self.kv: dict[tuple[str, str], list[dict]] = {}  # (mount, path) -> versions

    def restart(self) -> None:
        """A restart of the server pod: the data (on its volume) stays, the server comes back sealed."""
        self.sealed, self.progress = True, []

    # -------------------------------------------------------------------------------- entry point
    def call(self, method: str, path: str, headers, body) -> tuple[int, dict | None]:
        method = "POST" if method == "PUT" else method  # Vault treats PUT and POST alike
        token = headers.get("X-Vault-Token")
        try:
            if not path.startswith("v1/"):
                raise VaultApiError(404, "the Vault double serves only /v1/")
            status, answer = self._route(method, path[3:].rstrip("/"), token, body if isinstance(body, dict) else {})
        except VaultApiError as exc:
            return exc.status, {"errors": exc.errors}
        return status, answer

    def _route(self, method: str, path: str, token, body: dict):
        if path == "sys/seal-status" and method == "GET":
            return 200, self._seal_status()
        if path == "sys/init":
            return (200, {"initialized": self.initialized}) if method == "GET" else self._init(body)
        if path == "sys/unseal" and method == "POST":
            return self._unseal(body)
        self._authorise(token)
        if path in ("sys/auth", "sys/mounts") and method == "GET":
            table = self.auth if path == "sys/auth" else self.mounts
            return 200, self._response(dict(table), top_level=True)
        match = re.fullmatch(r"sys/(auth|mounts)/(.+)", path)
        if match and method == "POST":
            return self._enable(match.group(1), match.group(2), body)
        match = re.fullmatch(r"sys/policies/acl/([^/]+)", path)
        if match:
            return self._policy(method, match.group(1), body)
        match = re.fullmatch(r"auth/([^/]+)/(config|role/[^/]+)", path)
        if match and self.auth.get(match.group(1) + "/", {}).get("type") == "kubernetes":
            return self._kubernetes_auth(method, match.group(1), match.group(2), body)
        match = re.fullmatch(r"([^/]+)/(data|metadata)/(.+)", path)
        if match and self.mounts.get(match.group(1) + "/", {}).get("type") == "kv":
            return self._kv(method, match.group(1), match.group(2), match.group(3), body)
        raise VaultApiError(404, f"no handler for route \"{path}\". route entry not found.")

    # -------------------------------------------------------------------------------- seal
    def _seal_status(self) -> dict:
        return {"type": "shamir", "initialized": self.initialized, "sealed": self.sealed, "t": self.threshold,
                "n": self.shares, "progress": len(self.progress), "nonce": "", "version": "sim",
                "migration": False, "recovery_seal": False, "storage_type": "file"}

    def _authorise(self, token) -> None:
        if self.sealed:
            raise VaultApiError(503, "Vault is sealed")
        if not token or token != self.root_token:
            raise VaultApiError(403, "permission denied")

    def _init(self, body: dict):
        if self.initialized:
            raise VaultApiError(400, "Vault is already initialized")
        shares, threshold = body.get("secret_shares"), body.get("secret_threshold")
        if not isinstance(shares, int) or not isinstance(threshold, int) or not 1 <= threshold <= shares:
            raise VaultApiError(400, "invalid seal configuration: threshold must be between 1 and shares")
        self.keys = [secrets.token_bytes(32) for _ in range(shares)]
        self.root_token = "hvs." + secrets.token_urlsafe(18)
        self.initialized, self.sealed, self.shares, self.threshold = True, True, shares, threshold
        return 200, {"keys": [k.hex() for k in self.keys],
                     "keys_base64": [base64.b64encode(k).decode() for k in self.keys],
                     "root_token": self.root_token}

    def _unseal(self, body: dict):
        if not self.initialized:
            raise VaultApiError(400, "Vault is not initialized")
        if body.get("reset"):
            self.progress = []
            return 200, self._seal_status()
        key = body.get("key")
        if not isinstance(key, str) or not key:
            raise VaultApiError(400, "'key' must be specified in request body as JSON, or 'reset' set to true")
        try:
            raw = bytes.fromhex(key) if re.fullmatch(r"[0-9a-f]+", key) else base64.b64decode(key, validate=True)
        except ValueError:
            raise VaultApiError(400, "'key' must be a valid hex or base64 string") from None
        if self.sealed:
            if raw not in self.keys:
                self.progress = []
                raise VaultApiError(400, "failed to decrypt keys from storage: cipher: message authentication failed")
            if raw not in self.progress:
                self.progress.append(raw)
            if len(self.progress) >= self.threshold:
                self.sealed, self.progress = False, []
        return 200, self._seal_status()

    # -------------------------------------------------------------------------------- sys
    @staticmethod
    def _response(data, top_level: bool = False) -> dict:
        """A logical response; sys/auth and sys/mounts also repeat their data at the top level."""
        answer = {"request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False, "lease_duration": 0,
                  "data": data, "wrap_info": None, "warnings": None, "auth": None}
        return {**data, **answer} if top_level else answer

    def _enable(self, kind: str, mount: str, body: dict):
        table = self.auth if kind == "auth" else self.mounts
        path = mount.strip("/") + "/"
        if not body.get("type"):
            raise VaultApiError(400, "backend type must be specified as a string")
        if path in table:
            raise VaultApiError(400, f"path is already in use at {path}")
        options = body.get("options") or None
        if body["type"] == "kv" and options and str(options.get("version")) not in ("1", "2"):
            raise VaultApiError(400, "invalid kv version")
        table[path] = {"type": body["type"], "description": body.get("description", ""),
                       "options": {k: str(v) for k, v in options.items()} if options else None}
        return 204, None

    def _policy(self, method: str, name: str, body: dict):
        if method == "GET":
            if name not in self.policies:
                raise VaultApiError(404)
            return 200, self._response({"name": name, "policy": self.policies[name]})
        if method != "POST":
            raise VaultApiError(405, "unsupported operation")
        if name == "root":
            raise VaultApiError(400, "cannot update \"root\" policy")
        rules = body.get("policy", "")
        if not isinstance(rules, str) or "path" not in rules or rules.count("{") != rules.count("}"):
            raise VaultApiError(400, "failed to parse policy: no path stanza")
        self.policies[name] = rules
        return 204, None

    # -------------------------------------------------------------------------------- auth/kubernetes
    def _kubernetes_auth(self, method: str, mount: str, sub: str, body: dict):
        if sub == "config":
            if method == "GET":
                if mount not in self.config:
                    raise VaultApiError(404)
                return 200, self._response(self.config[mount])
            if not body.get("kubernetes_host"):
                raise VaultApiError(400, "no host provided")
            self.config[mount] = {"kubernetes_host": body["kubernetes_host"], "disable_local_ca_jwt": False}
            return 204, None
        key = (mount, sub.split("/", 1)[1])
        if method == "GET":
            if key not in self.roles:
                raise VaultApiError(404)
            return 200, self._response(self.roles[key])
        fields = {**self.roles.get(key, {})}
        for name, value in body.items():
            if name in LIST_FIELDS:
                fields[name] = _list(value)
            elif name in DURATION_FIELDS:
                fields[name] = _duration(value)
            else:
                fields[name] = value
        for required in ("bound_service_account_names", "bound_service_account_namespaces"):
            if not fields.get(required):
                raise VaultApiError(400, f"\"{required}\" can not be empty")
        fields.setdefault("token_policies", [])
        fields.setdefault("token_ttl", 0)
        self.roles[key] = fields
        return 204, None

    # -------------------------------------------------------------------------------- kv v2
    def _kv(self, method: str, mount: str, kind: str, path: str, body: dict):
        if (self.mounts[mount + "/"].get("options") or {}).get("version") != "2":
            raise VaultApiError(404, f"no handler for route \"{mount}/{kind}/{path}\". route entry not found.")
        versions = self.kv.setdefault((mount, path), [])
        if kind == "data" and method == "POST":
            if not isinstance(body.get("data"), dict):
                raise VaultApiError(400, "no data provided")
            versions.append(dict(body["data"]))
            return 200, self._response({"version": len(versions), "destroyed": False, "deletion_time": "",
                                        "custom_metadata": None})
        if method != "GET":
            raise VaultApiError(405, "unsupported operation")
        if not versions:
            raise VaultApiError(404)
        if kind == "data":
            return 200, self._response({"data": versions[-1],
                                        "metadata": {"version": len(versions), "destroyed": False}})
        return 200, self._response({"current_version": len(versions), "oldest_version": 1,
                                    "versions": {str(i + 1): {"destroyed": False} for i in range(len(versions))}})
