# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The kind Cluster config of one planned cluster (filter kubelab.core.kind_config, role cluster_kind)."""

from __future__ import annotations

from ansible_collections.kubelab.core.plugins.module_utils.errors import PlanError
from ansible_collections.kubelab.core.plugins.module_utils.names import REGION_LABEL, ZONE_LABEL


def kind_config(cluster, node_image, registry_config_dir="", api_listen_address="127.0.0.1", ingress=True):
    """The kind Cluster config (kind.x-k8s.io/v1alpha4) for one planned cluster, as a dict.

    Zones and the region are per-node `labels:` (kubelet node labels in the NodeRestriction allowed set),
    not versioned kubeadm patches, so the config survives kind's move from kubeadm v1beta3 to v1beta4.
    """
    if "@sha256:" not in node_image:
        raise PlanError("kubelab_versions.kind_node_image: %r must be pinned by digest (image:tag@sha256:...); "
                        "kind node images are built for one kind release" % node_image)
    nodes = []
    for position, node in enumerate(cluster["nodes"]):
        entry = {
            "role": node["role"],
            "image": node_image,
            "labels": {ZONE_LABEL: node["zone"], REGION_LABEL: cluster["region"]},
        }
        if ingress and position == 0:
            # ingress-nginx's kind setup: the controller runs where ingress-ready=true and binds hostPorts 80/443.
            entry["labels"]["ingress-ready"] = "true"
            entry["extraPortMappings"] = [
                {"containerPort": 80, "hostPort": cluster["http_port"], "listenAddress": api_listen_address,
                 "protocol": "TCP"},
                {"containerPort": 443, "hostPort": cluster["https_port"], "listenAddress": api_listen_address,
                 "protocol": "TCP"},
            ]
        if registry_config_dir:
            # Pull-through caches: one hosts.toml per upstream. kind node images since v0.27 already set
            # containerd's config_path to /etc/containerd/certs.d, so mounting the files is all it takes.
            entry["extraMounts"] = [{"hostPath": registry_config_dir, "containerPath": "/etc/containerd/certs.d",
                                     "readOnly": True}]
        nodes.append(entry)
    config = {
        "kind": "Cluster",
        "apiVersion": "kind.x-k8s.io/v1alpha4",
        "name": cluster["name"],
        "networking": {
            # The CNI role installs Calico (or Cilium), which enforces NetworkPolicy; kindnet does not.
            "disableDefaultCNI": True,
            "podSubnet": cluster["pod_subnet"],
            "serviceSubnet": cluster["service_subnet"],
            "apiServerAddress": api_listen_address,
            "apiServerPort": cluster["api_port"],
        },
        "nodes": nodes,
    }
    if cluster["api_address"] not in ("127.0.0.1", "localhost", api_listen_address):
        # Students reach the API at the instructor's address: the serving certificate must name it.
        config["kubeadmConfigPatches"] = [
            "kind: ClusterConfiguration\napiServer:\n  certSANs:\n    - %s\n    - 127.0.0.1\n    - localhost\n"
            % cluster["api_address"]
        ]
    return config
