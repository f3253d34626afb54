# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The class plan: students and a cluster shape in, the clusters to build out.

Pure functions, no Ansible imports, so the filters, the benchmarks and the tests share one implementation.
Every error names the inventory variable at fault and how to fix it.
"""

from __future__ import annotations

import ipaddress

from ansible_collections.kubelab.core.plugins.module_utils.errors import PlanError
from ansible_collections.kubelab.core.plugins.module_utils.names import DNS1123_LABEL_MAX, ZONES, check_label
from ansible_collections.kubelab.core.plugins.module_utils.placement import (
    cluster_needs,
    day_time_estimate,
    host_capacity,
    host_loads,
    place,
    read_placement,
)

# kind names node containers <cluster>-control-plane<N> / <cluster>-worker<N>; they must stay DNS labels.
LONGEST_NODE_SUFFIX = len("-control-plane99")
MAX_CLUSTER_NAME = DNS1123_LABEL_MAX - LONGEST_NODE_SUFFIX
TENANCIES = ("cluster", "namespace")
PROVIDERS = ("kind", "kubeadm", "existing")


def student_names(students):
    """Validated, unique student names, in roster order."""
    if not isinstance(students, list) or not students:
        raise PlanError("kubelab_students: give at least one student, e.g. [{name: instructor}]")
    names = []
    for position, student in enumerate(students, start=1):
        name = student.get("name") if isinstance(student, dict) else student
        check_label(name, "kubelab_students[%d].name" % position, "student name")
        if name in names:
            # Each student names a cluster (or namespaces), so a repeated name would mean two clusters with one name.
            raise PlanError("kubelab_students: student %r appears twice; student names must be unique (each names a "
                            "cluster or a namespace)" % name)
        names.append(name)
    return names


def check_shape(zones, control_planes, workers, pod_subnet, service_subnet):
    if not isinstance(zones, list) or len(zones) < 3:
        raise PlanError("kubelab_zones: %r has %d zone(s); the labs need three zones (e.g. [zone-a, zone-b, zone-c])"
                        % (zones, len(zones) if isinstance(zones, list) else 0))
    for position, zone in enumerate(zones):
        check_label(zone, "kubelab_zones[%d]" % position, "zone name")
    if len(set(zones)) != len(zones):
        raise PlanError("kubelab_zones: %r repeats a zone; zones must be distinct" % (zones,))
    if not isinstance(control_planes, int) or control_planes < 1 or control_planes % 2 == 0:
        raise PlanError("kubelab_control_planes: %r must be an odd number (1, or 3 for HA: one per zone); "
                        "etcd needs an odd quorum" % (control_planes,))
    if control_planes > len(zones):
        raise PlanError("kubelab_control_planes: %d control planes for %d zones; use at most one per zone"
                        % (control_planes, len(zones)))
    if not isinstance(workers, int) or workers < len(zones):
        raise PlanError("kubelab_workers: %r workers cannot cover %d zones; set kubelab_workers >= %d so every zone "
                        "has a worker" % (workers, len(zones), len(zones)))
    nets = []
    for variable, value in (("kubelab_pod_subnet", pod_subnet), ("kubelab_service_subnet", service_subnet)):
        try:
            nets.append(ipaddress.ip_network(value))
        except ValueError as err:
            raise PlanError("%s: %r is not a CIDR (%s)" % (variable, value, err)) from None
    if nets[0].overlaps(nets[1]):
        raise PlanError("kubelab_pod_subnet %s overlaps kubelab_service_subnet %s; give them distinct ranges"
                        % (pod_subnet, service_subnet))


def node_layout(zones, control_planes, workers):
    """Nodes in kind's order: control planes one per zone, then workers round-robin over the zones."""
    nodes = [{"role": "control-plane", "zone": zones[i]} for i in range(control_planes)]
    nodes += [{"role": "worker", "zone": zones[i % len(zones)]} for i in range(workers)]
    return nodes


def class_plan(students, prefix="kubelab", tenancy="cluster", provider="kind", zones=None, region="region-1",
               control_planes=1, workers=3, pod_subnet="10.244.0.0/16", service_subnet="10.96.0.0/16",
               port_base=20000, port_stride=10, build_dir="build", api_address="127.0.0.1",
               docker_host="localhost", plan_root=None):
    """The clusters to build: one per student (cluster tenancy) or one shared (namespace tenancy)."""
    zones = list(zones if zones is not None else ZONES)
    if tenancy not in TENANCIES:
        raise PlanError("kubelab_tenancy: %r must be one of %s" % (tenancy, ", ".join(TENANCIES)))
    if provider not in PROVIDERS:
        raise PlanError("kubelab_provider: %r must be one of %s" % (provider, ", ".join(PROVIDERS)))
    if provider == "existing" and tenancy != "namespace":
        raise PlanError("kubelab_tenancy: %r with kubelab_provider existing: an existing cluster is one cluster "
                        "kubelab does not create; set kubelab_tenancy: namespace" % tenancy)
    check_label(prefix, "kubelab_cluster_prefix", "cluster name prefix")
    check_label(region, "kubelab_region", "region name")
    check_shape(zones, control_planes, workers, pod_subnet, service_subnet)
    names = student_names(students)
    if not isinstance(port_base, int) or not isinstance(port_stride, int) or port_stride < 3 or port_base < 1024:
        raise PlanError("kubelab_port_base/kubelab_port_stride: %r/%r: the base must be >= 1024 and the stride >= 3 "
                        "(API, HTTP and HTTPS ports per cluster)" % (port_base, port_stride))

    groups = [(n, [n]) for n in names] if tenancy == "cluster" else [("shared", names)]
    clusters = []
    for index, (suffix, members) in enumerate(groups):
        name = "%s-%s" % (prefix, suffix)
        check_label(name, "kubelab_cluster_prefix + student name", "cluster name", MAX_CLUSTER_NAME)
        base = port_base + index * port_stride
        if base + 2 > 65535:
            raise PlanError("kubelab_port_base: %d clusters from port %d run past 65535; lower kubelab_port_base "
                            "or kubelab_port_stride" % (len(groups), port_base))
        clusters.append({
            "name": name,
            "index": index,
            "provider": provider,
            "tenancy": tenancy,
            "students": members,
            "zones": zones,
            "region": region,
            "control_planes": control_planes,
            "workers": workers,
            "nodes": node_layout(zones, control_planes, workers),
            "pod_subnet": pod_subnet,
            "service_subnet": service_subnet,
            "api_address": api_address,
            "api_port": base,
            "http_port": base + 1,
            "https_port": base + 2,
            "docker_host": docker_host,
            "plan_dir": "%s/%s" % (plan_root or build_dir + "/plan", name),
            "kubeconfig": "%s/clusters/%s/kubeconfig" % (build_dir, name),
        })
    return clusters


def capacity_estimate(clusters, addons, footprints):
    """CPU (millicores) and memory (MiB) the planned clusters need, from per-node and per-add-on footprints.

    footprints: {"control_plane": {cpu_m, memory_mib}, "worker": {...}, "addons": {name: {...}}}, and optionally
    "labs": the day's lab workloads' requests {"student": {...}, "cluster": {...}}, each {cpu_m, memory_mib,
    node_cpu_m, node_memory_mib} (node_: DaemonSets, one pod per node): a cluster adds "student" once per student
    it holds and "cluster" once (namespace tenancy's shared lab parts).
    An add-on without a footprint entry is an error: an unknown cost must not pass as zero.
    """
    labs = footprints.get("labs") or {}
    missing = [a for a in addons if a not in footprints.get("addons", {})]
    if missing:
        raise PlanError("preflight_footprints.addons: no footprint for %s; add one so capacity can be checked"
                        % ", ".join(missing))
    per_cluster = []
    for cluster in clusters:
        cpu = mem = 0
        for node in cluster["nodes"]:
            kind = "control_plane" if node["role"] == "control-plane" else "worker"
            cpu += footprints[kind]["cpu_m"]
            mem += footprints[kind]["memory_mib"]
        for addon in addons:
            cpu += footprints["addons"][addon]["cpu_m"]
            mem += footprints["addons"][addon]["memory_mib"]
        for scope, copies in (("student", len(cluster.get("students") or [])), ("cluster", 1)):
            need = labs.get(scope) or {}
            cpu += copies * (need.get("cpu_m", 0) + len(cluster["nodes"]) * need.get("node_cpu_m", 0))
            mem += copies * (need.get("memory_mib", 0) + len(cluster["nodes"]) * need.get("node_memory_mib", 0))
        per_cluster.append({"name": cluster["name"], "cpu_m": cpu, "memory_mib": mem, "nodes": len(cluster["nodes"])})
    return {
        "clusters": per_cluster,
        "cpu_m": sum(c["cpu_m"] for c in per_cluster),
        "memory_mib": sum(c["memory_mib"] for c in per_cluster),
        "nodes": sum(c["nodes"] for c in per_cluster),
    }


def cluster_ports(cluster):
    """[(label, port)] of the host ports a kind cluster binds: API, ingress HTTP, ingress HTTPS."""
    return [["%s api" % cluster["name"], cluster["api_port"]],
            ["%s http" % cluster["name"], cluster["http_port"]],
            ["%s https" % cluster["name"], cluster["https_port"]]]




def play_clusters(hosts, hostvars, plan_dir=None):
    """The clusters of a play's hosts: each host's kubelab_cluster (the host variable preflight's add_host sets),
    which holds its name and plan_dir. A render task runs once and renders every one of them (in a loop, or with
    plan_artifact's clusters), so one worker renders the class instead of one worker per cluster.

    A play of one host without that host variable (a Molecule converge) renders for its host's name and the
    plan_dir given.
    """
    clusters = []
    for host in hosts:
        cluster = hostvars[host].get("kubelab_cluster") if host in hostvars else None
        if cluster is None:
            if len(hosts) > 1:
                raise PlanError("host %s has no kubelab_cluster host variable: a play of several clusters takes "
                                "each cluster's from preflight (add_host)" % host)
            cluster = {"name": host}
            if plan_dir is not None:
                cluster["plan_dir"] = plan_dir
        clusters.append(cluster)
    return clusters


ARGUMENT_SPEC = dict(
    students=dict(type="list", elements="raw", required=True),
    prefix=dict(type="str", default="kubelab"),
    tenancy=dict(type="str", default="cluster"),
    provider=dict(type="str", default="kind"),
    zones=dict(type="list", elements="raw", required=True),
    region=dict(type="str", default="region-1"),
    control_planes=dict(type="raw", default=1),
    workers=dict(type="raw", default=3),
    pod_subnet=dict(type="str", required=True),
    service_subnet=dict(type="str", required=True),
    port_base=dict(type="int", default=20000),
    port_stride=dict(type="int", default=10),
    build_dir=dict(type="path", required=True),
    plan_root=dict(type="path"),
    api_address=dict(type="str", default="127.0.0.1"),
    docker_host=dict(type="str", default="localhost"),
    hosts=dict(type="list", elements="dict"),
    placement_file=dict(type="path"),
    addons=dict(type="list", elements="str", default=[]),
    footprints=dict(type="dict", default={}),
    headroom=dict(type="float", default=0.9),
    disk_gib_per_node=dict(type="int", default=4),
    create_seconds=dict(type="int", default=150),
    addon_seconds=dict(type="dict", default={}),
    create_concurrency=dict(type="int", default=2),
    forks=dict(type="int", default=10),
    overcommit=dict(type="bool", default=False),
)
REQUIRED_TOGETHER = [("hosts", "placement_file")]


def _int(value, variable):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PlanError("%s: %r must be a whole number" % (variable, value)) from None


def run(params):
    """The class plan of the module kubelab.core.class_plan: clusters, and with hosts their placement, each host's
    load and the day's time estimate. Raises KubelabError (a message naming the variable) or OSError."""
    params = dict(params)
    placing = {k: params.pop(k) for k in ("hosts", "placement_file", "addons", "footprints", "headroom",
                                          "disk_gib_per_node", "create_seconds", "addon_seconds",
                                          "create_concurrency", "forks", "overcommit")}
    placement, loads, estimate = None, [], {}
    params["control_planes"] = _int(params["control_planes"], "kubelab_control_planes")
    params["workers"] = _int(params["workers"], "kubelab_workers")
    clusters = class_plan(params.pop("students"), **params)
    if placing["hosts"] is not None:
        hosts = [host_capacity(h["name"], h.get("address"), h.get("capacity")) for h in placing["hosts"]]
        needs = cluster_needs(capacity_estimate(clusters, placing["addons"], placing["footprints"]),
                              placing["disk_gib_per_node"])
        clusters, placement = place(clusters, hosts, read_placement(placing["placement_file"]), needs,
                                    params["port_base"], params["port_stride"], placing["headroom"],
                                    placing["overcommit"])
        loads = host_loads(clusters, hosts, needs)
        if placing["addon_seconds"]:
            estimate = day_time_estimate(clusters, placing["addons"], placing["create_seconds"],
                                         placing["addon_seconds"], placing["create_concurrency"], placing["forks"])
    return dict(changed=False, clusters=clusters, placement=placement, loads=loads, time_estimate=estimate)
