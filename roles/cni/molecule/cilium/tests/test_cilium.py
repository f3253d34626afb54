"""cni with Cilium: the values Helm got (sim and kind) and, on kind, a hostPort that answers.

Without the kube-proxy replacement Cilium serves no hostPorts itself; the chained portmap plugin does. ingress-nginx
on kind is reached only through hostPorts 80/443, so a hostPort that answers is what the ingress needs.
"""

import importlib.util
import os
import time

import pytest

# The default scenario's probe pods, pod-phase wait and scratch namespace (its tests are not collected from here).
_SPEC = importlib.util.spec_from_file_location(
    "cni_default_tests", os.path.join(os.path.dirname(__file__), "..", "..", "default", "tests", "test_cni.py"))
_DEFAULT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_DEFAULT)
PROBE_IMAGE = _DEFAULT.PROBE_IMAGE


def test_cilium_release_chains_portmap_and_leaves_hubble_certificates_to_certgen(helm):
    values = helm("get", "values", "cilium", "--namespace", "kube-system")
    assert values["kubeProxyReplacement"] is False
    assert values["cni"]["chainingMode"] == "portmap"
    assert values["hubble"]["tls"]["auto"]["method"] == "cronJob"


@pytest.mark.kind_only
def test_a_host_port_answers_on_the_node_address(kube):
    with _DEFAULT.scratch_namespace(kube, "cilium-hostport") as ns:
        pods = kube.resources.get(api_version="v1", kind="Pod")
        pods.create(namespace=ns, body={"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "server"}, "spec": {
            "containers": [{"name": "c", "image": PROBE_IMAGE, "command": ["sh", "-c"],
                            "args": ["mkdir -p /tmp/w && echo hostport-ok > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w"],
                            "ports": [{"containerPort": 8080, "hostPort": 18080}]}]}})
        assert _DEFAULT._phase(kube, ns, "server", {"Running"}) == "Running"
        node = kube.resources.get(api_version="v1", kind="Node").get(
            name=pods.get(name="server", namespace=ns).to_dict()["spec"]["nodeName"]).to_dict()
        address = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
        time.sleep(3)
        pods.create(namespace=ns, body=_DEFAULT._pod("client", "wget -T 5 -qO- http://%s:18080/ | grep -q hostport-ok" % address))
        assert _DEFAULT._phase(kube, ns, "client", {"Succeeded", "Failed"}) == "Succeeded", \
            "nothing answered on %s:18080 (hostPort): is the portmap plugin chained (cni.chainingMode)?" % address
