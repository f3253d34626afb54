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

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import ARGUMENT_SPEC, REQUIRED_TOGETHER, run
from ansible_collections.kubelab.core.plugins.module_utils.errors import KubelabError


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_together=REQUIRED_TOGETHER, supports_check_mode=True)
    try:
        module.exit_json(**run(module.params))
    except (KubelabError, OSError) as err:
        module.fail_json(msg=str(err))


if __name__ == "__main__":
    main()
