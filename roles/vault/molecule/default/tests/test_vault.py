"""vault: outcomes read back through the Kubernetes API (and, on sim, the Helm double's release state).

Init, unseal and configuration are read back from Vault's HTTP API through the API server's pod proxy, as the
role reaches it: on sim that is the API double's Vault API double (tests/sim/kubesim/vault.py), which keeps
Vault's state machine (init once, unseal threshold, root token) but is not Vault; the pod, the injector and its
webhook are fixtures there (prepare.yml).
"""

import json
import os
import stat

import pytest
import yaml

STATE = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "cluster")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
SECRETS = os.path.join(STATE, "secrets")


def _get(kube, api_version, kind, **kwargs):
    return kube.resources.get(api_version=api_version, kind=kind).get(**kwargs).to_dict()


def _versions():
    with open(os.path.join(ROOT, "playbooks", "group_vars", "all", "versions.yml")) as fh:
        return yaml.safe_load(fh)["kubelab_versions"]["vault"]


def test_release_is_pinned_standalone_with_file_storage_and_the_injector(target):
    if target != "sim":
        pytest.skip("reads the Helm double's state")
    with open(os.path.join(STATE, "helm", "releases.json")) as fh:
        release = json.load(fh)["vault/vault"]
    pins = _versions()
    assert (release["chart"], release["version"]) == ("vault", pins["chart"])
    assert release["repo"] == "https://helm.releases.hashicorp.com"
    values = release["values"]
    server = values["server"]
    assert server["dev"]["enabled"] is False
    assert server["standalone"]["enabled"] is True and server["ha"]["enabled"] is False
    assert 'storage "file"' in server["standalone"]["config"]
    assert "tls_disable" in server["standalone"]["config"]
    assert server["dataStorage"] == {"enabled": True, "size": "1Gi"}
    assert f'{server["image"]["repository"]}:{server["image"]["tag"]}' == pins["image"]
    assert values["injector"]["enabled"] is True
    injector = values["injector"]["image"]
    assert f'{injector["repository"]}:{injector["tag"]}' == pins["injector_image"]


def test_namespace_exists(kube):
    assert _get(kube, "v1", "Namespace", name="vault")["status"]["phase"] == "Active"


def test_kv_values_are_generated_once_and_private():
    path = os.path.join(SECRETS, "vault-kv.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as fh:
        values = json.load(fh)
    api_key = values["banking/payment-processor"]["api_key"]
    assert len(api_key) == 32 and api_key.isalnum()


def test_no_generated_value_in_the_plan(plan_dir):
    with open(os.path.join(SECRETS, "vault-kv.json")) as fh:
        api_key = json.load(fh)["banking/payment-processor"]["api_key"]
    with open(os.path.join(plan_dir, "vault", "vault-values.yaml")) as fh:
        assert api_key not in fh.read()


def _init():
    path = os.path.join(SECRETS, "vault-init.json")
    with open(path) as fh:
        return json.load(fh)


def _vault(kubeconfig, path, token=None, method="GET", body=None):
    """(status, JSON answer) of Vault's HTTP API through the API server's pod proxy, as the role reaches it
    (sim: the API double's Vault API double; kind: the real server)."""
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=kubeconfig, persist_config=False)
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if token:
        headers["X-Vault-Token"] = token
    request = api_client.param_serialize(method, "/api/v1/namespaces/vault/pods/http:vault-0:8200/proxy/v1/" + path,
                                         header_params=headers, body=body, auth_settings=["BearerToken"])
    response = api_client.call_api(*request, _request_timeout=30)
    raw = response.read()
    return response.status, (json.loads(raw) if raw else None)


def test_init_file_is_private_and_holds_the_keys_and_root_token():
    path = os.path.join(SECRETS, "vault-init.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(SECRETS).st_mode) == 0o700
    init = _init()
    assert len(init["unseal_keys_b64"]) == 1 and init["unseal_threshold"] == 1 and init["root_token"]
    # Initialised once: no earlier file was set aside (that happens only when a fresh Vault meets an old file).
    assert not os.path.exists(path + ".replaced")


def test_vault_is_initialised_and_unsealed(kubeconfig):
    """After side_effect.yml restarted the pod (sealed again), the second converge unsealed it."""
    status, seal = _vault(kubeconfig, "sys/seal-status")
    assert status == 200
    assert seal["initialized"] is True and seal["sealed"] is False
    assert (seal["t"], seal["n"]) == (1, 1)


def test_the_root_token_is_needed(kubeconfig):
    status, answer = _vault(kubeconfig, "sys/policies/acl/payment-processor")
    assert status == 403 and "permission denied" in answer["errors"]


def test_kubernetes_auth_points_at_the_in_cluster_api(kubeconfig):
    token = _init()["root_token"]
    auths = _vault(kubeconfig, "sys/auth", token=token)[1]["data"]
    assert auths["kubernetes/"]["type"] == "kubernetes"
    status, config = _vault(kubeconfig, "auth/kubernetes/config", token=token)
    assert status == 200 and config["data"]["kubernetes_host"] == "https://kubernetes.default.svc:443"


def test_payment_processor_policy_role_and_kv_secret(kubeconfig):
    token = _init()["root_token"]
    status, policy = _vault(kubeconfig, "sys/policies/acl/payment-processor", token=token)
    assert status == 200
    assert 'path "secret/data/banking/payment-processor"' in policy["data"]["policy"]
    assert '"read"' in policy["data"]["policy"]
    status, role = _vault(kubeconfig, "auth/kubernetes/role/payment-processor", token=token)
    role = role["data"]
    assert status == 200
    assert role["bound_service_account_names"] == ["payment-processor-sa"]
    assert role["bound_service_account_namespaces"] == ["banking-core"]
    assert role["token_policies"] == ["payment-processor"] and role["token_ttl"] == 3600
    mounts = _vault(kubeconfig, "sys/mounts", token=token)[1]["data"]
    assert mounts["secret/"]["type"] == "kv" and mounts["secret/"]["options"]["version"] == "2"
    status, secret = _vault(kubeconfig, "secret/data/banking/payment-processor", token=token)
    with open(os.path.join(SECRETS, "vault-kv.json")) as fh:
        want = json.load(fh)["banking/payment-processor"]
    assert status == 200 and secret["data"]["data"] == want
    # Written once: the idempotence run and the converge after the restart did not put a second version.
    assert secret["data"]["metadata"]["version"] == 1


def test_no_secret_in_the_plan(plan_dir):
    init = _init()
    for root, _, files in os.walk(plan_dir):
        for name in files:
            with open(os.path.join(root, name)) as fh:
                text = fh.read()
            assert init["root_token"] not in text
            assert all(key not in text for key in init["unseal_keys_b64"])


@pytest.mark.kind_only
def test_vault_pod_is_ready_and_the_injector_webhook_registered(kube):
    """On sim the pod, the injector and the webhook are fixtures (prepare.yml): nothing to learn there."""
    pod = _get(kube, "v1", "Pod", name="vault-0", namespace="vault")
    ready = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert ready["Ready"] == "True"
    webhook = _get(kube, "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration",
                   name="vault-agent-injector-cfg")
    assert webhook["webhooks"]
