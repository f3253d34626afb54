# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Placement: which Docker host runs each planned cluster, and in which port slot.

Pure functions, no Ansible imports (the class_plan module, the benchmark and the tests share them).

- A cluster keeps the host and slot it was given the first time (the placement file under build/ remembers them),
  so adding or removing a student never moves anyone else: a student's ports are
  port_base + slot * port_stride (+1 HTTP, +2 HTTPS) on their host.
- A new cluster goes to the host where it leaves the lowest load (the larger of its CPU and memory shares after
  placing it), and takes the lowest free slot there. Slots are per host: the same ports on two hosts do not clash.
- The entry of a student who left the roster is kept (their cluster may still run and hold its ports) until a
  teardown releases it (release()).
"""

from __future__ import annotations

import json
import os

from ansible_collections.kubelab.core.plugins.module_utils.errors import PlanError

PLACEMENT_VERSION = 1
# What a host offers and a cluster needs; disk only when the host states it (kubelab_host_capacity.disk_gib).
RESOURCES = ("cpu_m", "memory_mib", "disk_gib")
NOTHING = dict.fromkeys(RESOURCES, 0)


def check_hosts(hosts):
    """hosts: [{name, address, cpu_m, memory_mib}] in inventory order; cpu_m/memory_mib None = unknown."""
    if not hosts:
        raise PlanError("kind_hosts: the inventory has no Docker host; add one under the kind_hosts group")
    names = [h["name"] for h in hosts]
    unknown = [h["name"] for h in hosts if h.get("cpu_m") is None or h.get("memory_mib") is None]
    if unknown and len(hosts) > 1:
        raise PlanError("kubelab_host_capacity: the capacity of %s is unknown, so the class cannot be spread over "
                        "%d Docker hosts; set kubelab_host_capacity: {cpu: 16, memory_mib: 65536} in each host's "
                        "inventory variables (apply mode gathers it from the host's facts)"
                        % (", ".join(unknown), len(hosts)))
    if len(set(names)) != len(names):
        raise PlanError("kind_hosts: a host is listed twice: %s" % ", ".join(names))


def _load(host, need):
    """The largest share of any known resource of a host after adding need (0 when its size is unknown)."""
    return max([(host["used"][r] + need.get(r, 0)) / host[r] for r in RESOURCES if host.get(r)] or [0.0])


def _add(host, name, need):
    for resource in RESOURCES:
        host["used"][resource] += need.get(resource, 0)
    host["clusters"].append(name)


def fewer_workers(clusters):
    """The advice to use fewer workers, only while a cluster has more than the minimum (one per zone, which
    class_plan enforces); else "" (advice a refusal of its own would answer)."""
    spare = [c for c in clusters if c.get("workers", 0) > len(c.get("zones") or ())]
    if not spare:
        return ""
    return "use fewer workers (kubelab_workers: %d now, at least %d, one per zone)" % (
        spare[0]["workers"], len(spare[0]["zones"]))


def _refusal(hosts, what, headroom, clusters=()):
    lines = ["The class does not fit the Docker hosts: %s; per host (usable: %s of its CPU, memory and disk):"
             % (what, headroom)]
    for host in hosts:
        lines.append("%s: %d cluster(s) use %dm of %sm CPU, %d of %s MiB, %d of %s GiB disk" % (
            host["name"], len(host["clusters"]), host["used"]["cpu_m"], host["cpu_m"], host["used"]["memory_mib"],
            host["memory_mib"], host["used"]["disk_gib"], host["disk_gib"] or "?"))
    options = ["add a host to kind_hosts", "correct kubelab_host_capacity where it is wrong", fewer_workers(clusters),
               "use fewer add-ons (kubelab_addons)", "use namespace tenancy (one shared cluster)"]
    options = [o for o in options if o]
    lines.append("%s or %s. Nothing was changed." % (", ".join(options[:-1]), options[-1]))
    return "; ".join(lines)


def place(clusters, hosts, previous, needs, port_base, port_stride, headroom=0.9, overcommit=False):
    """Place clusters (from class_plan) on hosts; returns (placed clusters, placement dict to store).

    previous: the stored placement ({"clusters": {name: {host, slot}}}) or None.
    needs: {cluster name: {cpu_m, memory_mib, disk_gib}} (see cluster_needs).
    overcommit: place a cluster that fits no host on the least loaded one instead of refusing (make check: each
    host's capacity row then reports what it lacks).
    """
    check_hosts(hosts)
    stored = dict((previous or {}).get("clusters", {}))
    by_name = {}
    for host in hosts:
        usable = {r: (None if host.get(r) is None else int(host[r] * headroom)) for r in RESOURCES}
        by_name[host["name"]] = dict(host, used=dict(NOTHING), clusters=[], slots=set(), **usable)
    # Slots of every stored entry stay taken, including students who left the roster (released on teardown).
    for name, entry in stored.items():
        if entry.get("host") in by_name:
            by_name[entry["host"]]["slots"].add(entry["slot"])
    placed = {}
    for cluster in clusters:  # kept clusters first: their host is not a choice
        entry = stored.get(cluster["name"])
        if entry and entry.get("host") in by_name:
            host = by_name[entry["host"]]
            _add(host, cluster["name"], needs[cluster["name"]])
            placed[cluster["name"]] = (host["name"], entry["slot"])
    order = list(by_name.values())
    # A later day may bring more add-ons than the day that placed a host's clusters; they do not move.
    for host in order:
        if _load(host, NOTHING) > 1 and not overcommit:
            raise PlanError(_refusal(order, "the clusters placed on %s earlier (placement file) outgrow it with "
                                     "this day's add-ons" % host["name"], headroom, clusters))
    new = [c for c in clusters if c["name"] not in placed]
    for position, cluster in enumerate(new):
        need = needs[cluster["name"]]
        fitting = [h for h in order if _load(h, need) <= 1] or (order if overcommit else [])
        if not fitting:
            raise PlanError(_refusal(order, "%d more cluster(s) need %dm CPU and %d MiB each (nodes and the day's "
                                     "add-ons)" % (len(new) - position, need["cpu_m"], need["memory_mib"]), headroom,
                                     clusters))
        host = min(fitting, key=lambda h: _load(h, need))  # min keeps inventory order on ties
        slot = next(s for s in range(len(host["slots"]) + 1) if s not in host["slots"])
        host["slots"].add(slot)
        _add(host, cluster["name"], need)
        placed[cluster["name"]] = (host["name"], slot)
    result = []
    for cluster in clusters:
        host_name, slot = placed[cluster["name"]]
        base = port_base + slot * port_stride
        if base + 2 > 65535:
            raise PlanError("kubelab_port_base: slot %d on %s starts at port %d, past 65535; lower kubelab_port_base "
                            "or kubelab_port_stride" % (slot, host_name, base))
        address = by_name[host_name].get("address") or cluster["api_address"]
        result.append(dict(cluster, docker_host=host_name, slot=slot, api_address=address, api_port=base,
                           http_port=base + 1, https_port=base + 2))
        stored[cluster["name"]] = {"host": host_name, "slot": slot}
    return result, {"version": PLACEMENT_VERSION, "clusters": dict(sorted(stored.items()))}


def cluster_needs(estimate, disk_gib_per_node):
    """{cluster name: {cpu_m, memory_mib, disk_gib}} from capacity_estimate's per-cluster figures."""
    return {c["name"]: {"cpu_m": c["cpu_m"], "memory_mib": c["memory_mib"], "disk_gib": c["nodes"] * disk_gib_per_node}
            for c in estimate["clusters"]}


def host_capacity(name, address, capacity):
    """A placement host from kubelab_host_capacity ({cpu, memory_mib, disk_gib}); missing keys are unknown."""
    capacity = capacity or {}
    try:
        return {"name": name, "address": address,
                "cpu_m": None if capacity.get("cpu") is None else int(float(capacity["cpu"]) * 1000),
                "memory_mib": None if capacity.get("memory_mib") is None else int(capacity["memory_mib"]),
                "disk_gib": None if capacity.get("disk_gib") is None else int(capacity["disk_gib"])}
    except (TypeError, ValueError, AttributeError):
        raise PlanError("kubelab_host_capacity of %s: %r must be a mapping of numbers, e.g. {cpu: 16, memory_mib: "
                        "65536, disk_gib: 500}" % (name, capacity)) from None


def placement_hosts(names, hostvars, default_address):
    """[{name, address, capacity}] of the Docker hosts: capacity from kubelab_host_capacity, else from gathered
    facts (vCPUs, memory), else unknown; address from the host's kubelab_api_address."""
    hosts = []
    for name in names:
        hv = hostvars.get(name, {})
        facts = hv.get("ansible_facts", {}) or {}
        capacity = hv.get("kubelab_host_capacity")
        if not capacity and "processor_vcpus" in facts:
            capacity = {"cpu": facts["processor_vcpus"], "memory_mib": facts["memtotal_mb"]}
        hosts.append({"name": name, "address": str(hv.get("kubelab_api_address") or default_address),
                      "capacity": dict(capacity or {})})
    return hosts


def host_loads(clusters, hosts, needs):
    """Per host: its clusters, what they use and the host's load (largest share of a known resource)."""
    loads = []
    for host in hosts:
        entry = dict(host, used=dict(NOTHING), clusters=[])
        for cluster in clusters:
            if cluster["docker_host"] == host["name"]:
                _add(entry, cluster["name"], needs[cluster["name"]])
        loads.append({"host": host["name"], "clusters": len(entry["clusters"]), "load": round(_load(entry, NOTHING), 3),
                      **entry["used"]})
    return loads


def create_rounds(clusters, concurrency):
    """{cluster name: round}: each Docker host creates its clusters in rounds of at most concurrency, in slot
    order; all hosts run the same round at once. Rounds are numbered from 0."""
    if not isinstance(concurrency, int) or concurrency < 1:
        raise PlanError("cluster_kind_create_concurrency: %r must be a whole number >= 1" % (concurrency,))
    rounds, seen = {}, {}
    for cluster in sorted(clusters, key=lambda c: (c["docker_host"], c.get("slot", c["index"]))):
        position = seen.get(cluster["docker_host"], 0)
        seen[cluster["docker_host"]] = position + 1
        rounds[cluster["name"]] = position // concurrency
    return rounds


def day_time_estimate(clusters, addons, create_seconds, addon_seconds, concurrency=2, forks=10, created=()):
    """Expected wall time of a day: kind creation rounds (per host, all hosts at once) x the creation time, then the
    add-on installs (one cluster's add-ons one after another; forks clusters at a time). created: clusters that
    exist already (no creation). Figures in seconds; an add-on without a figure is an error, not zero."""
    missing = [a for a in addons if a not in addon_seconds]
    if missing:
        raise PlanError("preflight_time_addon_seconds: no install time for %s; add one" % ", ".join(missing))
    to_create = [c for c in clusters if c["name"] not in set(created) and c.get("provider", "kind") == "kind"]
    per_host = {}
    for cluster in to_create:
        per_host[cluster["docker_host"]] = per_host.get(cluster["docker_host"], 0) + 1
    rounds = {host: -(-count // concurrency) for host, count in sorted(per_host.items())}
    most = max(rounds.values() or [0])
    create = most * create_seconds
    waves = -(-len(clusters) // max(forks, 1))
    install = waves * sum(addon_seconds[a] for a in addons)
    return {"rounds": rounds, "max_rounds": most, "create_seconds": create, "addon_seconds": install, "total_seconds": create + install,
            "total_minutes": round((create + install) / 60.0, 1)}


def release(placement, names):
    """The placement without the named clusters (their slots become free)."""
    kept = {k: v for k, v in (placement or {}).get("clusters", {}).items() if k not in set(names)}
    return {"version": PLACEMENT_VERSION, "clusters": kept}


def read_placement(path):
    """The stored placement, or None when there is none yet."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
        except ValueError as err:
            raise PlanError("%s is not valid JSON (%s); restore it from a backup, or delete it to place the class "
                            "afresh (ports may then change: run the teardown first)" % (path, err)) from None
    if not isinstance(data, dict) or data.get("version") != PLACEMENT_VERSION:
        raise PlanError("%s has an unknown format; delete it to place the class afresh (teardown first)" % path)
    return data
