"""The pod proxy of the Kubernetes API double, the Vault API double behind it, and kubelab.core.pod_http.

The vault role talks to Vault's HTTP API through the API server's pod proxy; these tests pin what the double
answers there (statuses and bodies from Vault's API documentation) and how the module reports them.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sim"))

from kubesim.testing import running  # noqa: E402
from kubesim.vault import VaultApiDouble  # noqa: E402

PROXY = "/api/v1/namespaces/vault/pods/vault-0:8200/proxy/v1/"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running(tmp_path_factory.mktemp("sim")) as sim:
        sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": "vault"}})
        sim.request("POST", "/api/v1/namespaces/vault/pods", {"metadata": {"name": "vault-0"}, "spec": {"containers": [
            {"name": "vault", "image": "docker.io/hashicorp/vault:1.21.2"},
            {"name": "sidecar", "image": "busybox:1.37"}]}})
        yield sim


# ------------------------------------------------------------------ the Vault API double on its own
def call(vault, method, path, token=None, body=None):
    return vault.call(method, "v1/" + path, {"X-Vault-Token": token} if token else {}, body)


@pytest.fixture
def vault():
    return VaultApiDouble()


def test_vault_initialises_once(vault):
    status, init = call(vault, "PUT", "sys/init", body={"secret_shares": 3, "secret_threshold": 2})
    assert status == 200 and len(init["keys_base64"]) == 3 and len(init["keys"]) == 3
    assert init["root_token"].startswith("hvs.")
    assert call(vault, "PUT", "sys/init", body={"secret_shares": 1, "secret_threshold": 1}) == (
        400, {"errors": ["Vault is already initialized"]})
    seal = call(vault, "GET", "sys/seal-status")[1]
    assert (seal["initialized"], seal["sealed"], seal["t"], seal["n"]) == (True, True, 2, 3)


def test_vault_refuses_a_threshold_above_the_shares(vault):
    status, answer = call(vault, "PUT", "sys/init", body={"secret_shares": 1, "secret_threshold": 2})
    assert status == 400 and "threshold" in answer["errors"][0]
    assert call(vault, "GET", "sys/init") == (200, {"initialized": False})


def test_vault_unseals_at_the_threshold_with_base64_or_hex_keys_and_reseals_on_restart(vault):
    init = call(vault, "PUT", "sys/init", body={"secret_shares": 3, "secret_threshold": 2})[1]
    status, seal = call(vault, "PUT", "sys/unseal", body={"key": init["keys_base64"][0]})
    assert status == 200 and seal["sealed"] is True and seal["progress"] == 1
    # The same key again (here in hex) does not count twice.
    assert call(vault, "PUT", "sys/unseal", body={"key": init["keys"][0]})[1]["progress"] == 1
    status, answer = call(vault, "PUT", "sys/unseal", body={"key": "bm90LWEta2V5"})
    assert status == 400 and "failed to decrypt" in answer["errors"][0]
    # A wrong key resets the progress, as Vault does.
    assert call(vault, "PUT", "sys/unseal", body={"key": init["keys_base64"][1]})[1]["progress"] == 1
    assert call(vault, "PUT", "sys/unseal", body={"key": init["keys_base64"][2]})[1]["sealed"] is False
    vault.restart()
    assert call(vault, "GET", "sys/seal-status")[1]["sealed"] is True


def _unsealed(vault):
    init = call(vault, "PUT", "sys/init", body={"secret_shares": 1, "secret_threshold": 1})[1]
    call(vault, "PUT", "sys/unseal", body={"key": init["keys_base64"][0]})
    return init["root_token"]


def test_vault_needs_the_root_token_and_an_unsealed_server(vault):
    init = call(vault, "PUT", "sys/init", body={"secret_shares": 1, "secret_threshold": 1})[1]
    assert call(vault, "GET", "sys/auth", init["root_token"]) == (503, {"errors": ["Vault is sealed"]})
    call(vault, "PUT", "sys/unseal", body={"key": init["keys_base64"][0]})
    for token in (None, "", "hvs.wrong"):
        assert call(vault, "GET", "sys/auth", token) == (403, {"errors": ["permission denied"]})
    assert call(vault, "GET", "sys/auth", init["root_token"])[0] == 200


def test_vault_kubernetes_auth_policy_role_and_kv(vault):
    token = _unsealed(vault)
    assert "kubernetes/" not in call(vault, "GET", "sys/auth", token)[1]["data"]
    # A role before the auth method exists has no route.
    status, answer = call(vault, "POST", "auth/kubernetes/role/app", token,
                          {"bound_service_account_names": ["a"], "bound_service_account_namespaces": ["b"]})
    assert status == 404 and "no handler for route" in answer["errors"][0]
    assert call(vault, "POST", "sys/auth/kubernetes", token, {"type": "kubernetes"}) == (204, None)
    assert "path is already in use" in call(vault, "POST", "sys/auth/kubernetes", token, {"type": "kubernetes"})[1]["errors"][0]
    assert call(vault, "GET", "auth/kubernetes/config", token) == (404, {"errors": []})
    call(vault, "POST", "auth/kubernetes/config", token, {"kubernetes_host": "https://kubernetes.default.svc:443"})
    assert call(vault, "GET", "auth/kubernetes/config", token)[1]["data"]["kubernetes_host"] == "https://kubernetes.default.svc:443"

    rules = 'path "secret/data/app" {\n  capabilities = ["read"]\n}\n'
    assert call(vault, "GET", "sys/policies/acl/app", token) == (404, {"errors": []})
    assert call(vault, "PUT", "sys/policies/acl/app", token, {"policy": rules}) == (204, None)
    assert call(vault, "GET", "sys/policies/acl/app", token)[1]["data"] == {"name": "app", "policy": rules}
    assert call(vault, "PUT", "sys/policies/acl/bad", token, {"policy": "nonsense"})[0] == 400

    # Lists as lists or comma-separated strings; TTLs as seconds or duration strings.
    assert call(vault, "POST", "auth/kubernetes/role/app", token, {
        "bound_service_account_names": "sa1,sa2", "bound_service_account_namespaces": ["ns"],
        "token_policies": ["app"], "token_ttl": "1h"}) == (204, None)
    role = call(vault, "GET", "auth/kubernetes/role/app", token)[1]["data"]
    assert role == {"bound_service_account_names": ["sa1", "sa2"], "bound_service_account_namespaces": ["ns"],
                    "token_policies": ["app"], "token_ttl": 3600}
    status, answer = call(vault, "POST", "auth/kubernetes/role/bad", token, {"token_policies": ["app"]})
    assert status == 400 and "bound_service_account_names" in answer["errors"][0]

    # KV v2: no mount yet, then two writes (two versions); reads return the latest.
    assert call(vault, "GET", "secret/data/app", token)[0] == 404
    assert call(vault, "POST", "sys/mounts/secret", token, {"type": "kv", "options": {"version": "2"}}) == (204, None)
    assert call(vault, "GET", "sys/mounts", token)[1]["data"]["secret/"]["options"] == {"version": "2"}
    assert call(vault, "GET", "secret/data/app", token) == (404, {"errors": []})
    call(vault, "POST", "secret/data/app", token, {"data": {"api_key": "one"}})
    assert call(vault, "POST", "secret/data/app", token, {"data": {"api_key": "two"}})[1]["data"]["version"] == 2
    got = call(vault, "GET", "secret/data/app", token)[1]["data"]
    assert got["data"] == {"api_key": "two"} and got["metadata"]["version"] == 2
    assert call(vault, "GET", "secret/metadata/app", token)[1]["data"]["current_version"] == 2


# ------------------------------------------------------------------ through the pod proxy
def test_the_pod_proxy_reaches_the_server_double_of_the_port(sim):
    assert sim.request("GET", PROXY + "sys/init") == (200, {"initialized": False})
    # The scheme:name:port form is the same pod and the same server.
    status, seal = sim.request("GET", "/api/v1/namespaces/vault/pods/http:vault-0:8200/proxy/v1/sys/seal-status")
    assert status == 200 and seal["sealed"] is True


def test_the_pod_proxy_answers_like_the_api_server_when_nothing_listens(sim):
    status, answer = sim.request("GET", "/api/v1/namespaces/vault/pods/vault-0:8201/proxy/v1/sys/init")
    assert status == 503 and answer["kind"] == "Status" and "error trying to reach service" in answer["message"]
    status, answer = sim.request("GET", "/api/v1/namespaces/vault/pods/vault-9:8200/proxy/v1/sys/init")
    assert status == 404 and answer["kind"] == "Status" and answer["reason"] == "NotFound"
    status, answer = sim.request("GET", "/api/v1/namespaces/vault/pods/vault-0/proxy/v1/sys/init")
    assert status == 400 and "NAME:PORT" in answer["message"]


def test_a_deleted_pod_comes_back_sealed_with_its_data(sim, tmp_path):
    with running(tmp_path / "sim") as fresh:
        fresh.request("POST", "/api/v1/namespaces", {"metadata": {"name": "vault"}})
        pod = {"metadata": {"name": "vault-0"}, "spec": {"containers": [{"name": "vault", "image": "hashicorp/vault:1.21.2"}]}}
        fresh.request("POST", "/api/v1/namespaces/vault/pods", pod)
        init = fresh.request("PUT", PROXY + "sys/init", {"secret_shares": 1, "secret_threshold": 1})[1]
        assert fresh.request("PUT", PROXY + "sys/unseal", {"key": init["keys_base64"][0]})[1]["sealed"] is False
        fresh.request("DELETE", "/api/v1/namespaces/vault/pods/vault-0")
        fresh.request("POST", "/api/v1/namespaces/vault/pods", pod)
        seal = fresh.request("GET", PROXY + "sys/seal-status")[1]
        assert (seal["initialized"], seal["sealed"]) == (True, True)


# ------------------------------------------------------------------ kubelab.core.pod_http
def run_playbook(sim, tmp_path, tasks: str, *args: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
    env = dict(os.environ, K8S_AUTH_KUBECONFIG=str(sim.kubeconfig), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(playbook), *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=180)


def test_pod_http_sends_the_token_in_a_header_and_never_prints_it(tmp_path):
    with running(tmp_path / "sim") as sim:
        sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": "vault"}})
        sim.request("POST", "/api/v1/namespaces/vault/pods", {"metadata": {"name": "vault-0"}, "spec": {
            "containers": [{"name": "vault", "image": "hashicorp/vault:1.21.2"}]}})
        init = sim.request("PUT", PROXY + "sys/init", {"secret_shares": 1, "secret_threshold": 1})[1]
        sim.request("PUT", PROXY + "sys/unseal", {"key": init["keys_base64"][0]})
        out = tmp_path / "out.json"
        run = run_playbook(sim, tmp_path, f"""
    - kubelab.core.pod_http:
        namespace: vault
        pod: vault-0
        port: 8200
        path: /v1/sys/mounts/secret
        method: POST
        body: {{type: kv, options: {{version: "2"}}}}
        token: {init["root_token"]}
      register: enable
    - kubelab.core.pod_http:
        namespace: vault
        pod: vault-0
        port: 8200
        path: /v1/secret/data/missing
        token: {init["root_token"]}
        status_code: [200, 404]
      register: missing
    - ansible.builtin.copy:
        content: "{{{{ [enable.status, enable.changed, missing.status, missing.changed] | to_json }}}}"
        dest: {out}
        mode: "0600"
""", "-vvv")
        assert run.returncode == 0, run.stdout[-3000:]
        assert json.loads(out.read_text()) == [204, True, 404, False]
        assert init["root_token"] not in run.stdout + run.stderr
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in run.stdout


def test_pod_http_fails_with_the_pods_or_the_api_servers_words(sim, tmp_path):
    run = run_playbook(sim, tmp_path, """
    - name: The pod's own error
      kubelab.core.pod_http: {namespace: vault, pod: vault-0, port: 8200, path: /v1/sys/auth, token: not-the-root-token}
      ignore_errors: true
    - name: The API server's error
      kubelab.core.pod_http: {namespace: vault, pod: vault-9, port: 8200, path: /v1/sys/seal-status}
      ignore_errors: true
    - name: A body that is not JSON
      kubelab.core.pod_http: {namespace: vault, pod: vault-0, port: 8200, path: /v1/sys/init, method: PUT, body: "1"}
      ignore_errors: true
""")
    assert run.returncode == 0, run.stdout[-3000:]
    # This Vault is sealed (never initialised here): Vault answers 503 before it looks at the token.
    assert "GET vault-0:8200/v1/sys/auth in vault: the pod answered 503: Vault is sealed" in run.stdout
    assert "GET vault-9:8200/v1/sys/seal-status in vault: the API server answered 404: pods" in run.stdout
    assert "body must be a dict or a list" in run.stdout
    assert "ignored=3" in run.stdout


def test_pod_http_sends_nothing_but_reads_in_check_mode(sim, tmp_path):
    run = run_playbook(sim, tmp_path, """
    - kubelab.core.pod_http: {namespace: vault, pod: vault-0, port: 8200, path: /v1/sys/seal-status}
      register: read
    - kubelab.core.pod_http:
        namespace: vault
        pod: vault-0
        port: 8200
        path: /v1/sys/init
        method: PUT
        body: {secret_shares: 1, secret_threshold: 1}
      register: init
    - ansible.builtin.assert:
        that: [read.status == 200, init is changed, init.status is not defined]
""", "--check")
    assert run.returncode == 0, run.stdout[-3000:]
    assert sim.request("GET", PROXY + "sys/init") == (200, {"initialized": False})
