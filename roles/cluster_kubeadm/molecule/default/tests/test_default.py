"""What cluster_kubeadm left on each node (a systemd container) and in the API double: every node joined once,
with its inventory zone; no join config (token, certificate key) left behind; kube-vip on every control plane
with the admin kubeconfig, not the bootstrap super-admin one."""

import json
import os
import urllib.request

import yaml

NODES = {"kubelab-mol-cp-a": "zone-a", "kubelab-mol-cp-b": "zone-b", "kubelab-mol-cp-c": "zone-c",
         "kubelab-mol-worker-a": "zone-a", "kubelab-mol-worker-b": "zone-b", "kubelab-mol-worker-c": "zone-c"}


def test_joined_once_and_no_secret_left(host):
    assert host.file("/etc/kubernetes/kubelet.conf").exists
    assert not host.file("/etc/kubernetes/kubelab-join.yaml").exists


def test_init_config_only_on_the_first_control_plane(host):
    name = host.backend.get_hostname()
    config = host.file("/etc/kubernetes/kubelab-kubeadm.yaml")
    assert config.exists == (name == "kubelab-mol-cp-a")
    if config.exists:
        assert config.mode == 0o600


def test_kube_vip_on_control_planes_with_admin_conf(host):
    manifest = host.file("/etc/kubernetes/manifests/kube-vip.yaml")
    if "-cp-" not in host.backend.get_hostname():
        assert not manifest.exists
        return
    assert "/etc/kubernetes/admin.conf" in manifest.content_string
    assert "super-admin.conf" not in manifest.content_string


def test_every_planned_node_registered_with_its_zone():
    kubeconfig = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "clusters", "kubelab-molecule", "kubeconfig")
    with open(kubeconfig, encoding="utf-8") as handle:
        server = yaml.safe_load(handle)["clusters"][0]["cluster"]["server"]
    with urllib.request.urlopen(server + "/api/v1/nodes", timeout=10) as resp:
        nodes = json.loads(resp.read())["items"]
    assert {n["metadata"]["name"]: n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes} == NODES
    control_planes = {n["metadata"]["name"] for n in nodes if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]}
    assert control_planes == {"kubelab-mol-cp-a", "kubelab-mol-cp-b", "kubelab-mol-cp-c"}
