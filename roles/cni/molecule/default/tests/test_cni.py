"""cni: what was installed, read back through Helm and the Kubernetes API (sim and kind); pod networking and
NetworkPolicy enforcement on a real cluster only."""

import contextlib
import time
import uuid

import pytest
from kubelab_cluster_fixtures import plan_values

PROBE_IMAGE = "busybox:1.37.0"


def test_calico_release_is_the_pinned_operator_chart_with_the_planned_values(helm, plan_dir, plan_index):
    releases = {r["name"]: r for r in helm("list", "--all-namespaces")}
    entry = next(a for a in plan_index["artifacts"] if a["path"] == "cni/calico-values.yaml")
    assert releases["calico"]["namespace"] == "tigera-operator"
    assert releases["calico"]["status"] == "deployed"
    assert releases["calico"]["chart"] == "tigera-operator-%s" % entry["version"]
    assert entry["version"].startswith("v3.31.")
    # What Helm got is exactly the plan's values file.
    assert helm("get", "values", "calico", "--namespace", "tigera-operator") == plan_values(plan_dir, "cni/calico-values.yaml")


def test_calico_pool_is_the_pod_subnet_with_vxlan(helm, project_vars):
    installed = helm("get", "values", "calico", "--namespace", "tigera-operator")
    pools = installed["installation"]["calicoNetwork"]["ipPools"]
    assert [p["cidr"] for p in pools] == [project_vars["kubelab_pod_subnet"]]
    assert pools[0]["encapsulation"] in ("VXLAN", "VXLANCrossSubnet")
    assert pools[0]["nodeSelector"] == "all()"
    assert installed["installation"]["calicoNetwork"]["bgp"] == "Disabled"


def test_operator_namespace_exists(kube):
    ns = kube.resources.get(api_version="v1", kind="Namespace").get(name="tigera-operator").to_dict()
    assert ns["status"]["phase"] == "Active"


@pytest.mark.kind_only
def test_every_node_is_ready_and_calico_is_available(kube):
    nodes = kube.resources.get(api_version="v1", kind="Node").get().to_dict()["items"]
    assert nodes
    for node in nodes:
        ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
        assert ready == "True", node["metadata"]["name"]
    status = kube.resources.get(api_version="operator.tigera.io/v1", kind="TigeraStatus").get(name="calico").to_dict()
    assert {c["type"]: c["status"] for c in status["status"]["conditions"]}["Available"] == "True"
    ds = kube.resources.get(api_version="apps/v1", kind="DaemonSet").get(name="calico-node", namespace="calico-system").to_dict()
    assert ds["status"]["numberReady"] == len(nodes)


def _pod(name, args, labels=None):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"restartPolicy": "Never" if not labels else "Always",
                     "containers": [{"name": "c", "image": PROBE_IMAGE, "command": ["sh", "-c"], "args": [args]}]}}


def _phase(kube, ns, name, wanted, timeout=180):
    pods = kube.resources.get(api_version="v1", kind="Pod")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        phase = pods.get(name=name, namespace=ns).to_dict().get("status", {}).get("phase")
        if phase in wanted:
            return phase
        time.sleep(3)
    return None


@contextlib.contextmanager
def scratch_namespace(kube, prefix):
    """A namespace for probe pods (PREFIX-<random>), deleted afterwards."""
    ns = "%s-%s" % (prefix, uuid.uuid4().hex[:6])
    namespaces = kube.resources.get(api_version="v1", kind="Namespace")
    namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    try:
        yield ns
    finally:
        namespaces.delete(name=ns)


@pytest.mark.kind_only
def test_network_policy_is_enforced(kube):
    """A client reaches a server; after a deny-all ingress policy the same request fails (kindnet would pass it)."""
    with scratch_namespace(kube, "cni-test") as ns:
        pods = kube.resources.get(api_version="v1", kind="Pod")
        pods.create(namespace=ns, body=_pod("server", "mkdir -p /tmp/w && echo ok > /tmp/w/index.html && "
                                                      "exec httpd -f -p 8080 -h /tmp/w", {"app": "server"}))
        assert _phase(kube, ns, "server", {"Running"}) == "Running"
        server_ip = pods.get(name="server", namespace=ns).to_dict()["status"]["podIP"]
        time.sleep(3)
        pods.create(namespace=ns, body=_pod("open", "wget -T 5 -qO- http://%s:8080/" % server_ip))
        assert _phase(kube, ns, "open", {"Succeeded", "Failed"}) == "Succeeded"
        kube.resources.get(api_version="networking.k8s.io/v1", kind="NetworkPolicy").create(namespace=ns, body={
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny-all"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
        pods.create(namespace=ns, body=_pod("denied", "sleep 5; wget -T 5 -qO- http://%s:8080/" % server_ip))
        assert _phase(kube, ns, "denied", {"Succeeded", "Failed"}) == "Failed"
