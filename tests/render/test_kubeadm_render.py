"""Plan mode with inventories/kubeadm renders one kubeadm config per inventory host over the three zones.

The day playbook runs with kubelab_addons/kubelab_labs emptied, so only the kubeadm rendering is under test;
the provider and the shape come from the inventory alone. Plan mode must not contact the VMs: they may appear
in the recap (the node-preparation play targets them) but with no task run and none unreachable.
"""

import os
import re

import kubernetes_validate
import pytest
import yaml

from conftest import ROOT, load_index, run_playbook

ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
CLUSTER = "kubelab-instructor"
KUBEADM_ARGS = ("-e", "kubelab_mode=plan", "-e", '{"kubelab_addons": [], "kubelab_labs": []}')
with open(os.path.join(ROOT, "playbooks", "group_vars", "all", "versions.yml"), encoding="utf-8") as handle:
    VERSIONS = yaml.safe_load(handle)["kubelab_versions"]


def recap_hosts(output):
    recap = output.split("PLAY RECAP", 1)[1]
    return {m.group(1): m.group(2) for m in re.finditer(r"^(\S+)\s+:\s+(ok=.*)$", recap, re.M)}


def load_docs(build_dir, node, name="kubeadm-config.yaml"):
    with open(os.path.join(build_dir, "plan", CLUSTER, "cluster_kubeadm", node, name), encoding="utf-8") as handle:
        return list(yaml.safe_load_all(handle))


def kubelet_args(doc):
    return {a["name"]: a["value"] for a in doc["nodeRegistration"]["kubeletExtraArgs"]}


@pytest.fixture(scope="module")
def ha_plan(tmp_path_factory):
    build_dir = str(tmp_path_factory.mktemp("kubeadm-build"))
    result = run_playbook("playbooks/day3.yml", build_dir, *KUBEADM_ARGS, inventory="inventories/kubeadm")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return build_dir, result.stdout


def test_plan_mode_contacts_no_vm(ha_plan):
    _, output = ha_plan
    hosts = recap_hosts(output)
    assert {"localhost", CLUSTER} <= set(hosts)
    assert all("unreachable=0" in line and "failed=0" in line for line in hosts.values())
    vms = {name: line for name, line in hosts.items() if name not in ("localhost", CLUSTER)}
    assert vms, "the inventory's VMs should be listed (the node-preparation play targets them)"
    assert all(line.startswith("ok=0 ") and "changed=0" in line for line in vms.values()), vms


def test_index_lists_a_kubeadm_config_per_host_and_kube_vip_per_control_plane(ha_plan):
    build_dir, _ = ha_plan
    index = load_index(build_dir, CLUSTER)
    assert index["cluster"] == CLUSTER
    configs = sorted(a["path"] for a in index["artifacts"] if a["type"] == "kubeadm-config")
    assert configs == ["cluster_kubeadm/%s/kubeadm-config.yaml" % n for n in
                       ["cp-a", "cp-b", "cp-c", "worker-a", "worker-b", "worker-c"]]
    manifests = sorted(a["path"] for a in index["artifacts"] if a["role"] == "cluster_kubeadm" and a["type"] == "manifest")
    assert manifests == ["cluster_kubeadm/cp-a/kube-vip-bootstrap.yaml", "cluster_kubeadm/cp-a/kube-vip.yaml",
                         "cluster_kubeadm/cp-b/kube-vip.yaml", "cluster_kubeadm/cp-c/kube-vip.yaml"]


def test_every_node_is_labelled_with_its_inventory_zone(ha_plan):
    build_dir, _ = ha_plan
    expected = {"cp-a": "zone-a", "cp-b": "zone-b", "cp-c": "zone-c",
                "worker-a": "zone-a", "worker-b": "zone-b", "worker-c": "zone-c"}
    seen = {}
    for node, zone in expected.items():
        first = load_docs(build_dir, node)[0]
        assert first["apiVersion"] == "kubeadm.k8s.io/v1beta4"
        assert first["nodeRegistration"]["name"] == node
        labels = dict(pair.split("=", 1) for pair in kubelet_args(first)["node-labels"].split(","))
        assert labels == {ZONE: zone, REGION: "region-1"}
        seen[node] = labels[ZONE]
    assert sorted(set(seen.values())) == ["zone-a", "zone-b", "zone-c"]
    workers_per_zone = sorted(seen[n] for n in seen if n.startswith("worker-"))
    assert workers_per_zone == ["zone-a", "zone-b", "zone-c"]


def test_first_control_plane_inits_the_cluster_from_the_plan(ha_plan):
    build_dir, _ = ha_plan
    init, cluster, kubelet, proxy = load_docs(build_dir, "cp-a")
    assert init["kind"] == "InitConfiguration"
    assert init["localAPIEndpoint"]["advertiseAddress"] == "192.168.56.11"
    assert init["bootstrapTokens"][0]["ttl"] == "15m0s" and "token" not in init["bootstrapTokens"][0]
    assert cluster["kind"] == "ClusterConfiguration"
    assert cluster["kubernetesVersion"] == "v" + VERSIONS["kubernetes"]
    assert cluster["clusterName"] == CLUSTER
    assert cluster["controlPlaneEndpoint"] == "192.168.56.10:6443"
    assert cluster["networking"]["podSubnet"] == "10.244.0.0/16"
    assert cluster["networking"]["serviceSubnet"] == "10.96.0.0/16"
    assert {"192.168.56.10", "192.168.56.11", "192.168.56.12", "192.168.56.13"} <= set(cluster["apiServer"]["certSANs"])
    assert {"name": "bind-address", "value": "0.0.0.0"} in cluster["controllerManager"]["extraArgs"]
    assert {"name": "bind-address", "value": "0.0.0.0"} in cluster["scheduler"]["extraArgs"]
    assert {"name": "listen-metrics-urls", "value": "http://0.0.0.0:2381"} in cluster["etcd"]["local"]["extraArgs"]
    assert (kubelet["kind"], kubelet["cgroupDriver"]) == ("KubeletConfiguration", "systemd")
    assert (proxy["kind"], proxy["metricsBindAddress"]) == ("KubeProxyConfiguration", "0.0.0.0:10249")
    # kube-proxy must not set the host-wide nf_conntrack_max (read-only in a container node), as kind renders it.
    assert proxy["conntrack"] == {"maxPerCore": 0}


def test_other_nodes_join_through_the_endpoint_and_no_secret_is_rendered(ha_plan):
    build_dir, _ = ha_plan
    for node in ["cp-b", "cp-c", "worker-a", "worker-b", "worker-c"]:
        docs = load_docs(build_dir, node)
        assert [d["kind"] for d in docs] == ["JoinConfiguration"]
        join = docs[0]
        assert join["discovery"] == {"bootstrapToken": {"apiServerEndpoint": "192.168.56.10:6443"}}
        assert ("controlPlane" in join) == node.startswith("cp-")
        if node.startswith("cp-"):
            assert "certificateKey" not in join["controlPlane"]
    for root, _, files in os.walk(os.path.join(build_dir, "plan", CLUSTER)):
        for name in files:
            with open(os.path.join(root, name), encoding="utf-8") as handle:
                text = handle.read()
            assert not re.search(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", text), name   # bootstrap token format
            assert "caCertHashes" not in text and "certificateKey" not in text, name


def test_kube_vip_static_pods_hold_the_endpoint_and_are_valid_pods(ha_plan):
    build_dir, _ = ha_plan
    for node, interface in [("cp-a", "eth1"), ("cp-b", "eth1"), ("cp-c", "eth1")]:
        (pod,) = load_docs(build_dir, node, "kube-vip.yaml")
        kubernetes_validate.validate(pod, "1.35.0", strict=True)
        container = pod["spec"]["containers"][0]
        assert container["image"] == VERSIONS["kubeadm"]["kube_vip_image"] and "@sha256:" in container["image"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert (env["address"], env["vip_interface"], env["port"]) == ("192.168.56.10", interface, "6443")
        assert pod["spec"]["volumes"][0]["hostPath"]["path"] == "/etc/kubernetes/admin.conf"
    (bootstrap,) = load_docs(build_dir, "cp-a", "kube-vip-bootstrap.yaml")
    kubernetes_validate.validate(bootstrap, "1.35.0", strict=True)
    assert bootstrap["spec"]["volumes"][0]["hostPath"]["path"] == "/etc/kubernetes/super-admin.conf"


def test_single_control_plane_uses_its_own_address_and_no_kube_vip(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "kubeadm_control_plane": {"hosts": {"cp-a": {"ansible_host": "10.9.0.11"}}},
        "kubeadm_workers": {"hosts": {"w-a": {"ansible_host": "10.9.0.21"}, "w-b": None, "w-c": None}},
        "zone_a": {"hosts": {"cp-a": None, "w-a": None}},
        "zone_b": {"hosts": {"w-b": None}},
        "zone_c": {"hosts": {"w-c": None}},
    }}}))
    build_dir = str(tmp_path / "build")
    args = [a if a != "kubelab_control_planes=3" else "kubelab_control_planes=1" for a in KUBEADM_ARGS]
    result = run_playbook("playbooks/day3.yml", build_dir, *args, inventory=str(inventory))
    assert result.returncode == 0, result.stdout[-4000:]
    index = load_index(build_dir, CLUSTER)
    assert [a["path"] for a in index["artifacts"] if a["role"] == "cluster_kubeadm"] == [
        "cluster_kubeadm/%s/kubeadm-config.yaml" % n for n in ["cp-a", "w-a", "w-b", "w-c"]]
    _, cluster, _, _ = load_docs(build_dir, "cp-a")
    assert cluster["controlPlaneEndpoint"] == "10.9.0.11:6443"
    join = load_docs(build_dir, "w-b")[0]
    assert join["discovery"]["bootstrapToken"]["apiServerEndpoint"] == "10.9.0.11:6443"
    # w-b has no ansible_host: its address is its name, which kubelet's --node-ip cannot take.
    assert "node-ip" not in kubelet_args(join)
    assert kubelet_args(load_docs(build_dir, "w-a")[0])["node-ip"] == "10.9.0.21"


def test_kubeadm_plays_skip_the_vms_in_plan_mode(tmp_path):
    result = run_playbook("playbooks/kubeadm.yml", str(tmp_path), "-e", "kubelab_mode=plan",
                          inventory="inventories/kubeadm")
    assert result.returncode == 0, result.stdout[-4000:]
    hosts = recap_hosts(result.stdout)
    assert set(hosts) == {"cp-a", "cp-b", "cp-c", "worker-a", "worker-b", "worker-c"}
    assert all(line.startswith("ok=0 ") and "unreachable=0" in line for line in hosts.values()), hosts
