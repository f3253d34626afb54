#!/usr/bin/python
# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One HTTP request to a port of a pod, through the Kubernetes API server's pod proxy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pod_http
short_description: Send one HTTP request to a pod's port through the API server's pod proxy
description:
  - Sends C(METHOD /api/v1/namespaces/NAMESPACE/pods/SCHEME:POD:PORT/proxy/PATH) with the credentials of a
    kubeconfig, and returns the pod's answer (status and JSON body). No port-forward and no exec.
  - Secrets travel in a request header (O(token)) or in the JSON body, never in the URL or on a command line,
    so they do not reach the API server's audit log as the request URI, nor any process list. Use
    C(no_log) on the task when the body or the answer carries secrets.
  - A status outside O(status_code) fails with the status and the pod's error text. When the API server itself
    answers (the pod does not exist, nothing listens on the port), the message says so.
  - In check mode, only GET and HEAD requests are sent.
options:
  kubeconfig:
    type: path
    description: Kubeconfig file. Defaults to the environment variable K8S_AUTH_KUBECONFIG, then KUBECONFIG.
  context: {type: str, description: "Kubeconfig context (default: the current context)."}
  namespace: {type: str, required: true, description: Namespace of the pod.}
  pod: {type: str, required: true, description: Name of the pod.}
  port: {type: int, required: true, description: Port of the pod to send the request to.}
  scheme:
    type: str
    default: http
    choices: [http, https]
    description: Scheme the pod serves on that port.
  method:
    type: str
    default: GET
    choices: [GET, HEAD, POST, PUT, PATCH, DELETE]
    description: HTTP method.
  path: {type: str, required: true, description: "Path on the pod, e.g. C(/v1/sys/seal-status)."}
  body: {type: raw, description: JSON body (a dict or a list).}
  token: {type: str, description: Secret sent in the header named by O(token_header); never logged.}
  token_header: {type: str, default: X-Vault-Token, description: Header that carries O(token).}
  status_code:
    type: list
    elements: int
    default: [200, 204]
    description: Statuses that count as success.
  timeout: {type: int, default: 30, description: Seconds to wait for the answer.}
author: kubelab maintainers
"""

EXAMPLES = r"""
- name: Read Vault's seal status
  kubelab.core.pod_http:
    kubeconfig: "{{ kubelab_kubeconfig }}"
    namespace: vault
    pod: vault-0
    port: 8200
    path: /v1/sys/seal-status
  register: seal

- name: Read a policy with the root token (404 when it does not exist)
  kubelab.core.pod_http:
    namespace: vault
    pod: vault-0
    port: 8200
    path: /v1/sys/policies/acl/payment-processor
    token: "{{ vault_root_token }}"
    status_code: [200, 404]
  no_log: true
"""

RETURN = r"""
status:
  description: HTTP status of the pod's answer.
  returned: always, unless skipped in check mode
  type: int
json:
  description: The answer's body parsed as JSON (null when empty or not JSON).
  returned: always, unless skipped in check mode
  type: raw
content:
  description: The answer's body as text when it is not JSON.
  returned: when the answer is not JSON
  type: str
"""

import json
import os
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    from kubernetes import config
except ImportError:  # pragma: no cover - reported by the module
    config = None


def _decode(raw: bytes):
    text = raw.decode("utf-8", "replace") if raw else ""
    try:
        return (json.loads(text) if text.strip() else None), None
    except ValueError:
        return None, text


def _is_api_server_status(answer) -> bool:
    """The API server's own error (not the pod's): a Kubernetes Status object."""
    return isinstance(answer, dict) and answer.get("kind") == "Status" and answer.get("apiVersion") == "v1"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG", "KUBECONFIG"])),
            context=dict(type="str"),
            namespace=dict(type="str", required=True),
            pod=dict(type="str", required=True),
            port=dict(type="int", required=True),
            scheme=dict(type="str", default="http", choices=["http", "https"]),
            method=dict(type="str", default="GET", choices=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
            path=dict(type="str", required=True),
            body=dict(type="raw"),
            token=dict(type="str", no_log=True),
            token_header=dict(type="str", default="X-Vault-Token"),
            status_code=dict(type="list", elements="int", default=[200, 204]),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    if config is None:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    p = module.params
    if p["body"] is not None and not isinstance(p["body"], (dict, list)):
        module.fail_json(msg="body must be a dict or a list (it is sent as JSON), not %s" % type(p["body"]).__name__)
    if not p["kubeconfig"] or not os.path.exists(p["kubeconfig"]):
        module.fail_json(msg="kubeconfig %r does not exist" % p["kubeconfig"])
    method = p["method"]
    target = "%s %s:%s%s in %s" % (method, p["pod"], p["port"], p["path"], p["namespace"])
    if module.check_mode and method not in ("GET", "HEAD"):
        module.exit_json(changed=True, skipped=True, msg="check mode: %s not sent" % target)

    resource_path = "/api/v1/namespaces/%s/pods/%s/proxy/%s" % (
        quote(p["namespace"], safe=""),
        quote("%s:%s:%d" % (p["scheme"], p["pod"], p["port"]), safe=":"),
        quote(p["path"].lstrip("/"), safe="/-_.~"),
    )
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if p["token"]:
        headers[p["token_header"]] = p["token"]
    try:
        api_client = config.new_client_from_config(config_file=p["kubeconfig"], context=p["context"],
                                                   persist_config=False)
    except Exception as exc:  # the kubernetes client raises several types for a bad kubeconfig
        module.fail_json(msg="cannot load kubeconfig %s: %s" % (p["kubeconfig"], exc))
    try:
        request = api_client.param_serialize(method, resource_path, header_params=headers, body=p["body"],
                                             auth_settings=["BearerToken"])
        response = api_client.call_api(*request, _request_timeout=p["timeout"])
        status, raw = response.status, response.read()
    except Exception as exc:  # connection errors: urllib3 and ssl raise many types
        module.fail_json(msg="%s: the API server could not be reached: %s" % (target, exc))
    answer, text = _decode(raw)
    result = dict(changed=method not in ("GET", "HEAD"), status=status, json=answer)
    if text is not None:
        result["content"] = text
    if status not in p["status_code"]:
        if _is_api_server_status(answer):
            why = "the API server answered %s: %s" % (status, answer.get("message", ""))
        else:
            errors = answer.get("errors") if isinstance(answer, dict) else None
            why = "the pod answered %s: %s" % (status, "; ".join(map(str, errors)) if errors else (text or answer))
        module.fail_json(msg="%s: %s" % (target, why), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
