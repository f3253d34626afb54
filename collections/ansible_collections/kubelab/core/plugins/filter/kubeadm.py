# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The kubeadm provider's filters: inventory groups to planned nodes, and the kubeadm configs per node.

For kubeadm the nodes are the inventory's hosts: groups `kubeadm_control_plane` and `kubeadm_workers`, and one
group per zone (`zone_a` for zone `zone-a`, or the mapping in `cluster_kubeadm_zone_groups`). A node's zone
comes from its zone *group membership*, not from a variable: a host in two zone groups would otherwise get one
of the two values silently, by Ansible's group merge order.

Pure Python (no Ansible imports outside FilterModule), so the unit tests call the functions directly.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.kubelab.core.plugins.module_utils.errors import KubeadmInventoryError, filters
from ansible_collections.kubelab.core.plugins.module_utils.names import REGION_LABEL, ZONE_LABEL

KUBEADM_API = "kubeadm.k8s.io/v1beta4"
CONTROL_PLANE_GROUP = "kubeadm_control_plane"
WORKER_GROUP = "kubeadm_workers"


def default_zone_groups(zones):
    """{group name: zone}: Ansible group names cannot hold '-', so zone-a lives in group zone_a."""
    return {zone.replace("-", "_"): zone for zone in zones}


def inventory_problems(groups, zones, zone_groups=None, ha_endpoint=""):
    """Every problem of a kubeadm inventory, as messages that name the host or group and say the fix.

    An empty list means the inventory is buildable. The check tasks (roles/cluster_kubeadm/tasks/check.yml)
    assert each kind of problem separately so each failure reads on its own.
    """
    zone_groups = zone_groups or default_zone_groups(zones)
    control_planes = list(groups.get(CONTROL_PLANE_GROUP, []))
    workers = list(groups.get(WORKER_GROUP, []))
    problems = []
    for kind, message in _problems(groups, zones, zone_groups, control_planes, workers, ha_endpoint):
        problems.append({"kind": kind, "message": message})
    return problems


def _problems(groups, zones, zone_groups, control_planes, workers, ha_endpoint):
    if not control_planes:
        yield ("control_planes", "group %s is empty: put one (or three, for HA) control-plane host in it"
               % CONTROL_PLANE_GROUP)
    elif len(control_planes) % 2 == 0:
        yield ("control_planes", "group %s has %d hosts (%s): etcd needs an odd number of members; use 1, or 3 "
               "(one per zone) for HA, by adding or removing a host" % (CONTROL_PLANE_GROUP, len(control_planes),
                                                                       ", ".join(control_planes)))
    if len(control_planes) > 1 and not ha_endpoint:
        yield ("ha_endpoint", "group %s has %d hosts but cluster_kubeadm_ha_endpoint is empty: set it to a free "
               "address on the control planes' network (the kube-vip virtual IP)" % (CONTROL_PLANE_GROUP,
                                                                                   len(control_planes)))
    both = [h for h in control_planes if h in workers]
    for host in both:
        yield ("both_roles", "host %s is in both %s and %s: keep it in one of them" % (host, CONTROL_PLANE_GROUP,
                                                                                     WORKER_GROUP))
    for group, zone in sorted(zone_groups.items()):
        if zone not in zones:
            yield ("zone_unknown", "zone group %s maps to zone %r, which is not in kubelab_zones %s: fix "
                   "cluster_kubeadm_zone_groups or kubelab_zones" % (group, zone, zones))
    for zone in zones:
        if zone not in zone_groups.values():
            yield ("zone_group_missing", "zone %s of kubelab_zones has no inventory group: add group %s with at "
                   "least one worker" % (zone, zone.replace("-", "_")))
    for group, zone in sorted(zone_groups.items()):
        if zone in zones and not [h for h in groups.get(group, []) if h in workers]:
            yield ("zone_without_worker", "zone group %s (zone %s) has no host of %s: add a worker to %s so "
                   "every zone can run the labs' spread workloads" % (group, zone, WORKER_GROUP, group))
    for host in _ordered(control_planes + workers):
        member_of = [g for g in sorted(zone_groups) if host in groups.get(g, [])]
        if len(member_of) > 1:
            yield ("host_in_two_zones", "host %s is in zone groups %s: a node has exactly one zone; remove it from "
                   "all but one" % (host, " and ".join(member_of)))
        elif not member_of:
            yield ("host_without_zone", "host %s is in no zone group (%s): add it to the group of its zone"
                   % (host, ", ".join(sorted(zone_groups))))


def _ordered(hosts):
    seen, result = set(), []
    for host in hosts:
        if host not in seen:
            seen.add(host)
            result.append(host)
    return result


def kubeadm_nodes(groups, hostvars, zones, zone_groups=None, default_interface="eth0"):
    """The planned nodes from the inventory: control planes first (inventory order), then workers.

    Each node: {name, role, zone, address, vip_interface}. `address` is the host variable
    cluster_kubeadm_node_address, else ansible_host, else the inventory name.
    """
    zone_groups = zone_groups or default_zone_groups(zones)
    problems = inventory_problems(groups, zones, zone_groups, ha_endpoint="(checked elsewhere)")
    if problems:
        raise KubeadmInventoryError("; ".join(p["message"] for p in problems))
    nodes = []
    for role, group in (("control-plane", CONTROL_PLANE_GROUP), ("worker", WORKER_GROUP)):
        for host in groups.get(group, []):
            hv = hostvars.get(host, {})
            zone_group = [g for g in sorted(zone_groups) if host in groups.get(g, [])][0]
            nodes.append({
                "name": host,
                "role": role,
                "zone": zone_groups[zone_group],
                "address": str(hv.get("cluster_kubeadm_node_address") or hv.get("ansible_host") or host),
                "vip_interface": str(hv.get("cluster_kubeadm_vip_interface") or default_interface),
            })
    return nodes


def _args(mapping):
    """kubeadm v1beta4 extraArgs / kubeletExtraArgs: a list of {name, value}, in a stable order."""
    return [{"name": name, "value": str(value)} for name, value in sorted(mapping.items())]


def api_endpoint(nodes, ha_endpoint, port):
    """host:port every node and kubeconfig uses: the HA virtual IP, else the single control plane's address."""
    host = ha_endpoint or [n for n in nodes if n["role"] == "control-plane"][0]["address"]
    return "%s:%d" % (host, int(port))


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _local_endpoint(node, settings):
    """localAPIEndpoint: the node's address when it is an IP; else kubeadm picks the default route's address."""
    endpoint = {"bindPort": int(settings["api_port"])}
    if _is_ip(node["address"]):
        endpoint = {"advertiseAddress": node["address"], **endpoint}
    return endpoint


def _node_registration(node, settings):
    labels = {ZONE_LABEL: node["zone"], REGION_LABEL: settings["region"]}
    kubelet_args = {
        # Zone and region are in NodeRestriction's allowed set of self-applied kubelet labels.
        "node-labels": ",".join("%s=%s" % item for item in sorted(labels.items())),
    }
    if _is_ip(node["address"]):
        # kubelet --node-ip takes addresses only; a DNS name leaves kubelet's own choice in place.
        kubelet_args["node-ip"] = node["address"]
    registration = {
        "name": node["name"],
        "criSocket": settings["cri_socket"],
        "kubeletExtraArgs": _args(kubelet_args),
    }
    if settings.get("ignore_preflight_errors"):
        registration["ignorePreflightErrors"] = list(settings["ignore_preflight_errors"])
    return registration


def kubeadm_config(node, nodes, settings):
    """The kubeadm config documents for one node (kubeadm.k8s.io/v1beta4).

    The first control plane gets InitConfiguration + ClusterConfiguration + KubeletConfiguration +
    KubeProxyConfiguration; every other node a JoinConfiguration. Join secrets (token, CA hash, certificate
    key) are never rendered: apply adds them on the node, in a 0600 file it deletes after the join.

    settings: cluster_name, kubernetes_version (e.g. 1.35.8), region, pod_subnet, service_subnet, ha_endpoint,
    api_port, cert_sans, cri_socket, token_ttl, ignore_preflight_errors.
    """
    control_planes = [n for n in nodes if n["role"] == "control-plane"]
    endpoint = api_endpoint(nodes, settings.get("ha_endpoint", ""), settings["api_port"])
    if node["name"] != control_planes[0]["name"]:
        join = {
            "apiVersion": KUBEADM_API,
            "kind": "JoinConfiguration",
            "nodeRegistration": _node_registration(node, settings),
            "discovery": {"bootstrapToken": {"apiServerEndpoint": endpoint}},
        }
        if node["role"] == "control-plane":
            join["controlPlane"] = {"localAPIEndpoint": _local_endpoint(node, settings)}
        return [join]

    sans = _ordered([str(s) for s in settings.get("cert_sans", [])]
                    + ([settings["ha_endpoint"]] if settings.get("ha_endpoint") else [])
                    + [n["address"] for n in control_planes] + [n["name"] for n in control_planes]
                    + ["127.0.0.1", "localhost"])
    init = {
        "apiVersion": KUBEADM_API,
        "kind": "InitConfiguration",
        # No token value: kubeadm generates one; only its lifetime is set (joins use fresh tokens anyway).
        "bootstrapTokens": [{
            "groups": ["system:bootstrappers:kubeadm:default-node-token"],
            "ttl": settings["token_ttl"],
            "usages": ["signing", "authentication"],
        }],
        "localAPIEndpoint": _local_endpoint(node, settings),
        "nodeRegistration": _node_registration(node, settings),
    }
    cluster = {
        "apiVersion": KUBEADM_API,
        "kind": "ClusterConfiguration",
        "clusterName": settings["cluster_name"],
        "kubernetesVersion": "v%s" % str(settings["kubernetes_version"]).lstrip("v"),
        "controlPlaneEndpoint": endpoint,
        "networking": {"podSubnet": settings["pod_subnet"], "serviceSubnet": settings["service_subnet"],
                       "dnsDomain": "cluster.local"},
        "apiServer": {"certSANs": sans},
        # Metrics endpoints Prometheus (kube-prometheus-stack) scrapes; kubeadm binds them to 127.0.0.1 by
        # default, which leaves the TargetDown alerts firing (kubeadm#2388).
        "controllerManager": {"extraArgs": _args({"bind-address": "0.0.0.0"})},
        "scheduler": {"extraArgs": _args({"bind-address": "0.0.0.0"})},
        "etcd": {"local": {"extraArgs": _args({"listen-metrics-urls": "http://0.0.0.0:2381"})}},
    }
    kubelet = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        # containerd runs runc with SystemdCgroup = true (role kubeadm_node): both sides use systemd.
        "cgroupDriver": "systemd",
    }
    proxy = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "metricsBindAddress": "0.0.0.0:10249",
        # Leave the kernel's nf_conntrack_max alone, as kind does (kubernetes-sigs/kind
        # pkg/cluster/internal/kubeadm/config.go): it is a host-wide sysctl that a node in a container cannot set
        # (kube-proxy then crash-loops) and shares with every other node of the host. Rendered for every node, VMs
        # too: the kernel's default (sized from RAM) is ample for a lab, and one config for both keeps them alike.
        "conntrack": {"maxPerCore": 0},
    }
    return [init, cluster, kubelet, proxy]


def kube_vip_manifest(node, settings, bootstrap=False):
    """kube-vip's static pod (ARP mode, control-plane VIP with leader election) for one control plane.

    bootstrap=True: the first control plane during `kubeadm init`. From Kubernetes 1.29 admin.conf only gets
    its rights once init has bound them, so kube-vip must use super-admin.conf until then (kube-vip#684).
    """
    kubeconfig = "/etc/kubernetes/super-admin.conf" if bootstrap else "/etc/kubernetes/admin.conf"
    env = {
        "vip_arp": "true",
        "port": str(settings["api_port"]),
        "vip_interface": node["vip_interface"],
        "vip_cidr": "32",
        "cp_enable": "true",
        "cp_namespace": "kube-system",
        "vip_leaderelection": "true",
        "vip_leasename": "plndr-cp-lock",
        "vip_leaseduration": "5",
        "vip_renewdeadline": "3",
        "vip_retryperiod": "1",
        "address": settings["ha_endpoint"],
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "kube-vip", "namespace": "kube-system"},
        "spec": {
            "containers": [{
                "name": "kube-vip",
                "image": settings["kube_vip_image"],
                "imagePullPolicy": "IfNotPresent",
                "args": ["manager"],
                "env": [{"name": k, "value": v} for k, v in env.items()],
                "securityContext": {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
                "volumeMounts": [{"name": "kubeconfig", "mountPath": "/etc/kubernetes/admin.conf"}],
            }],
            "hostAliases": [{"ip": "127.0.0.1", "hostnames": ["kubernetes"]}],
            "hostNetwork": True,
            "volumes": [{"name": "kubeconfig", "hostPath": {"path": kubeconfig, "type": "FileOrCreate"}}],
        },
    }


def join_secrets(join_command):
    """{token, ca_cert_hash} from `kubeadm token create --print-join-command` output."""
    words = join_command.split()
    values = {}
    for flag, key in (("--token", "token"), ("--discovery-token-ca-cert-hash", "ca_cert_hash")):
        if flag not in words or words.index(flag) + 1 >= len(words):
            raise KubeadmInventoryError("the join command printed by kubeadm lacks %s" % flag)
        values[key] = words[words.index(flag) + 1]
    return values


class FilterModule:
    """kubeadm provider filters."""

    def filters(self):
        return filters({
            "kubeadm_inventory_problems": inventory_problems,
            "kubeadm_nodes": kubeadm_nodes,
            "kubeadm_config": kubeadm_config,
            "kube_vip_manifest": kube_vip_manifest,
            "kubeadm_join_secrets": join_secrets,
        })
