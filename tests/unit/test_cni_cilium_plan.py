"""The Cilium option (cni_plugin: cilium) renders values that work with the ingress add-on and re-run cleanly.

Rules from the Cilium chart (cilium/cilium install/kubernetes/cilium/values.yaml and its README):
- without the kube-proxy replacement Cilium serves no hostPorts; the chained portmap plugin does
  (cni.chainingMode: portmap), and ingress-nginx on kind is reached only through hostPorts 80/443;
- hubble.tls.auto.method "helm" (the chart default, with Hubble's TLS on by default) generates certificates at
  every render, so helm-diff reports a change on every run; "cronJob" generates them once in the cluster.
"""

import json
import os

from addon_plans import CLUSTER, run_day, values


def cilium_problems(cilium, ingress_controller):
    problems = []
    uses_host_ports = (ingress_controller.get("hostPort") or {}).get("enabled", False)
    if uses_host_ports and cilium.get("kubeProxyReplacement") in (False, "false", "disabled"):
        if (cilium.get("cni") or {}).get("chainingMode") != "portmap":
            problems.append("ingress hostPorts without kube-proxy replacement need cni.chainingMode: portmap")
    tls = (cilium.get("hubble") or {}).get("tls") or {}
    if tls.get("enabled", True) and (tls.get("auto") or {}).get("enabled", True):
        if (tls.get("auto") or {}).get("method", "helm") == "helm":
            problems.append("hubble.tls.auto.method helm renders new certificates on every run")
    return problems


def test_cilium_with_hostport_ingress_chains_portmap_and_keeps_hubble_certs_out_of_helm(tmp_path):
    result = run_day(str(tmp_path), ["cni", "csi", "ingress"], "-e", json.dumps({"cni_plugin": "cilium"}))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    planned = {"plan": os.path.join(str(tmp_path), "plan", CLUSTER)}
    cilium = values(planned, "cni/cilium-values.yaml")
    controller = values(planned, "ingress/ingress-nginx-values.yaml")["controller"]
    assert controller["hostPort"]["enabled"] is True, "the default kind exposure is hostPort"
    assert cilium_problems(cilium, controller) == []
    # The rule is not vacuous: the values as they were before the fix break it twice.
    old = json.loads(json.dumps(cilium))
    old.pop("cni")
    old["hubble"].pop("tls")
    assert len(cilium_problems(old, controller)) == 2
