#!/usr/bin/python
# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Expand the roster and cluster shape into the clusters to build, failing with one clear message."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: class_plan
short_description: Plan the class's clusters from students and the cluster shape
description:
  - Validates the roster and the cluster shape and returns one entry per cluster (name, nodes with zones,
    host ports, plan and kubeconfig paths). Changes nothing.
  - Bad input fails with a message that names the inventory variable and the fix.
options:
  students: {type: list, elements: raw, required: true, description: "Students, [{name: ...}]."}
  prefix: {type: str, default: kubelab, description: Cluster name prefix.}
  tenancy: {type: str, default: cluster, description: "cluster or namespace."}
  provider: {type: str, default: kind, description: "kind or kubeadm."}
  zones: {type: list, elements: raw, required: true, description: Zone names.}
  region: {type: str, default: region-1, description: Region name.}
  control_planes: {type: raw, default: 1, description: Control planes per cluster.}
  workers: {type: raw, default: 3, description: Workers per cluster.}
  pod_subnet: {type: str, required: true, description: Pod CIDR.}
  service_subnet: {type: str, required: true, description: Service CIDR.}
  port_base: {type: int, default: 20000, description: First host port.}
  port_stride: {type: int, default: 10, description: Host ports per cluster.}
  build_dir: {type: path, required: true, description: The build directory.}
  plan_root: {type: path, description: "Where the clusters' plan directories go (default: I(build_dir)/plan)."}
  api_address: {type: str, default: 127.0.0.1, description: Address students reach the API at.}
  docker_host: {type: str, default: localhost, description: "Inventory host that runs kind when I(hosts) is not given."}
  hosts:
    type: list
    elements: dict
    description:
      - "Docker hosts to place the clusters on, in inventory order: [{name, address, capacity: {cpu, memory_mib,
        disk_gib}}]. Unknown capacity is allowed for one host only. Without it every cluster goes to I(docker_host)
        and cluster N takes port slot N."
  placement_file:
    type: path
    description:
      - "JSON file of the placement (cluster -> host, slot), read here and returned as I(placement). It is not
        written here: preflight changes nothing; cluster_kind's render step keeps it once every check has passed."
  addons: {type: list, elements: str, default: [], description: "The day's add-ons (for each cluster's footprint)."}
  footprints: {type: dict, default: {}, description: "preflight_footprints: per node kind and per add-on."}
  headroom: {type: float, default: 0.9, description: Usable share of a host's CPU, memory and disk.}
  disk_gib_per_node: {type: int, default: 4, description: Disk a kind node needs on the host.}
  create_seconds: {type: int, default: 150, description: Seconds one kind creation round takes (time estimate).}
  addon_seconds: {type: dict, default: {}, description: "Seconds each add-on's install takes (time estimate)."}
  create_concurrency: {type: int, default: 2, description: Clusters created at once per Docker host.}
  forks: {type: int, default: 10, description: Ansible's forks (clusters installing add-ons at once).}
  overcommit:
    type: bool
    default: false
    description:
      - "Place a cluster that fits no host on the least loaded one instead of failing (make check reports each
        host's capacity instead of stopping)."
author: kubelab maintainers
"""

EXAMPLES = r"""
- name: Expand the roster into clusters
  kubelab.core.class_plan:
    students: "{{ kubelab_students }}"
    zones: "{{ kubelab_zones }}"
    pod_subnet: "{{ kubelab_pod_subnet }}"
    service_subnet: "{{ kubelab_service_subnet }}"
    build_dir: "{{ kubelab_build_dir }}"
  register: plan
"""

RETURN = r"""
clusters:
  description: One entry per cluster to build (with docker_host and slot when placed).
  returned: success
  type: list
  elements: dict
time_estimate:
  description: "Expected wall time of the day: {rounds (per host), max_rounds, create_seconds, addon_seconds,
    total_seconds, total_minutes} (only with I(hosts))."
  returned: success
  type: dict
placement:
  description: "The placement to keep in I(placement_file): {version, clusters: {name: {host, slot}}} (only with I(hosts))."
  returned: success
  type: dict
loads:
  description: Per Docker host, its clusters and what they use (only with I(hosts)).
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import capacity_estimate, class_plan
from ansible_collections.kubelab.core.plugins.module_utils.errors import KubelabError, PlanError
from ansible_collections.kubelab.core.plugins.module_utils.placement import (
    cluster_needs,
    day_time_estimate,
    host_capacity,
    host_loads,
    place,
    read_placement,
)


def _int(value, variable):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise PlanError("%s: %r must be a whole number" % (variable, value)) from None


def main():
    module = AnsibleModule(
        argument_spec=dict(
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
        ),
        required_together=[("hosts", "placement_file")],
        supports_check_mode=True,
    )
    params = dict(module.params)
    placing = {k: params.pop(k) for k in ("hosts", "placement_file", "addons", "footprints", "headroom",
                                          "disk_gib_per_node", "create_seconds", "addon_seconds",
                                          "create_concurrency", "forks", "overcommit")}
    placement, loads, estimate = None, [], {}
    try:
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
    except (KubelabError, OSError) as err:
        module.fail_json(msg=str(err))
    module.exit_json(changed=False, clusters=clusters, placement=placement, loads=loads, time_estimate=estimate)


if __name__ == "__main__":
    main()
