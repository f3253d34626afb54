"""cni with Cilium: the values Helm got (sim and kind) and, on kind, a hostPort that answers.

Without the kube-proxy replacement Cilium serves no hostPorts itself; the chained portmap plugin does. ingress-nginx
on kind is reached only through hostPorts 80/443, so a hostPort that answers is what the ingress needs.
"""

import time
import uuid

import pytest

PROBE_IMAGE = "busybox:1.37.0"


def test_cilium_release_chains_portmap_and_leaves_hubble_certificates_to_certgen(helm):
    values = helm("get", "values", "cilium", "--namespace", "kube-system")
    assert values["kubeProxyReplacement"] is False
    assert values["cni"]["chainingMode"] == "portmap"
    assert values["hubble"]["tls"]["auto"]["method"] == "cronJob"


def _wait_phase(pods, ns, name, wanted, timeout=180):
    deadline = time.monotonic() + timeout
    phase = None
    while time.monotonic() < deadline:
        phase = pods.get(name=name, namespace=ns).to_dict().get("status", {}).get("phase")
        if phase in wanted:
            break
        time.sleep(3)
    return phase


@pytest.mark.kind_only
def test_a_host_port_answers_on_the_node_address(kube):
    ns = "cilium-hostport-%s" % uuid.uuid4().hex[:6]
    namespaces = kube.resources.get(api_version="v1", kind="Namespace")
    namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    pods = kube.resources.get(api_version="v1", kind="Pod")
    try:
        pods.create(namespace=ns, body={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "server"}, "spec": {
            "containers": [{"name": "c", "image": PROBE_IMAGE, "command": ["sh", "-c"],
                            "args": ["mkdir -p /tmp/w && echo hostport-ok > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w"],
                            "ports": [{"containerPort": 8080, "hostPort": 18080}]}]}})
        assert _wait_phase(pods, ns, "server", {"Running"}) == "Running"
        node = kube.resources.get(api_version="v1", kind="Node").get(
            name=pods.get(name="server", namespace=ns).to_dict()["spec"]["nodeName"]).to_dict()
        address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        time.sleep(3)
        pods.create(namespace=ns, body={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"}, "spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "c", "image": PROBE_IMAGE, "command": ["sh", "-c"],
                            "args": ["wget -T 5 -qO- http://%s:18080/ | grep -q hostport-ok" % address]}]}})
        assert _wait_phase(pods, ns, "client", {"Succeeded", "Failed"}) == "Succeeded", \
            "nothing answered on %s:18080 (hostPort): is the portmap plugin chained (cni.chainingMode)?" % address
    finally:
        namespaces.delete(name=ns)
