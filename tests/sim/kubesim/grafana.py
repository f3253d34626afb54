"""A TEST DOUBLE of Grafana's HTTP API on port 3000 of a pod whose image is grafana/grafana: the signed-in user.

The prometheus role logs in through the cluster's ingress (ingress.py) and reads GET /api/user. Grafana creates its
admin user at its first start from GF_SECURITY_ADMIN_USER and GF_SECURITY_ADMIN_PASSWORD (the grafana chart sets
both from the Secret admin.existingSecret names, templates/_pod.tpl), so the double takes them from the container's
environment when the pod first serves, and keeps them. It is not Grafana: one user, basic authentication only.
"""

from __future__ import annotations

import base64


class GrafanaApiDouble:
    def __init__(self, env: dict):
        # Grafana's defaults when the variables are unset (conf/defaults.ini [security]).
        self.user = env.get("GF_SECURITY_ADMIN_USER", "admin")
        self.password = env.get("GF_SECURITY_ADMIN_PASSWORD", "admin")

    def call(self, method: str, path: str, headers, body) -> tuple[int, dict | None]:
        if (method, path.strip("/")) != ("GET", "api/user"):
            return 404, {"message": "Not found (the Grafana double serves only GET /api/user)"}
        if self._basic_auth(headers.get("Authorization", "")) != (self.user, self.password):
            return 401, {"message": "Invalid username or password"}
        return 200, {"id": 1, "login": self.user, "email": "admin@localhost", "name": "", "isGrafanaAdmin": True}

    @staticmethod
    def _basic_auth(header: str) -> tuple[str, str] | None:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return user, password
