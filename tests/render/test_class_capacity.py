"""Capacity of a class: the estimate preflight compares with a Docker host (roles/preflight/tasks/host.yml).

The host half (Docker facts: memory, CPUs, disk) runs only where a Docker engine answers; here the estimate is
tested through the same function the kubelab.core.capacity_estimate filter calls, with the footprints preflight
really uses, against host sizes given in the test.
"""

import os

import pytest
import yaml

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import PlanError, capacity_estimate, class_plan
from conftest import ROOT

FOOTPRINTS = yaml.safe_load(open(os.path.join(ROOT, "roles", "preflight", "defaults", "main.yml")))["preflight_footprints"]
HEADROOM = yaml.safe_load(open(os.path.join(ROOT, "roles", "preflight", "defaults", "main.yml")))["preflight_capacity_headroom"]
DAY3 = yaml.safe_load(open(os.path.join(ROOT, "playbooks", "days", "day3.yml")))["kubelab_addons"]


def roster(count):
    return [{"name": "student%02d" % i} for i in range(1, count + 1)]


def by_hand(clusters, addons):
    """The same sum written out: every node's footprint plus every add-on's, per cluster."""
    cpu = mem = 0
    for cluster in clusters:
        for node in cluster["nodes"]:
            kind = "control_plane" if node["role"] == "control-plane" else "worker"
            cpu += FOOTPRINTS[kind]["cpu_m"]
            mem += FOOTPRINTS[kind]["memory_mib"]
        cpu += sum(FOOTPRINTS["addons"][a]["cpu_m"] for a in addons)
        mem += sum(FOOTPRINTS["addons"][a]["memory_mib"] for a in addons)
    return cpu, mem


def fits(estimate, host_cpus, host_mib):
    """host.yml's rule: the estimate within the usable share (preflight_capacity_headroom) of the host."""
    return estimate["memory_mib"] <= host_mib * HEADROOM and estimate["cpu_m"] <= host_cpus * 1000 * HEADROOM


@pytest.mark.parametrize("students", [1, 3, 30])
def test_estimate_grows_with_the_class_and_matches_the_footprints(students):
    clusters = class_plan(roster(students), tenancy="cluster")
    estimate = capacity_estimate(clusters, DAY3, FOOTPRINTS)
    assert (estimate["cpu_m"], estimate["memory_mib"]) == by_hand(clusters, DAY3)
    assert estimate["nodes"] == 4 * students
    assert len(estimate["clusters"]) == students


def test_thirty_students_do_not_fit_a_64_gib_host_but_namespace_tenancy_does():
    per_student = capacity_estimate(class_plan(roster(30), tenancy="cluster"), DAY3, FOOTPRINTS)
    assert not fits(per_student, host_cpus=16, host_mib=64 * 1024), per_student
    shared = capacity_estimate(class_plan(roster(30), tenancy="namespace"), DAY3, FOOTPRINTS)
    assert shared["nodes"] == 4
    assert fits(shared, host_cpus=16, host_mib=64 * 1024), shared
    # The numbers the failure message quotes are the class's, not one cluster's.
    assert per_student["memory_mib"] == 30 * per_student["clusters"][0]["memory_mib"]


def test_a_class_on_the_classroom_host_fits_only_up_to_a_size():
    sizes = [n for n in range(1, 41) if fits(capacity_estimate(class_plan(roster(n)), DAY3, FOOTPRINTS), 32, 128 * 1024)]
    largest = max(sizes)
    assert sizes == list(range(1, largest + 1)), "fitting must be monotonic in the class size"
    assert 1 <= largest < 40


def test_an_addon_without_a_footprint_is_an_error_not_zero():
    with pytest.raises(PlanError, match="no footprint for mystery"):
        capacity_estimate(class_plan(roster(2)), DAY3 + ["mystery"], FOOTPRINTS)


def test_lab_requests_count_per_student_and_shared_parts_once_per_cluster():
    labs = {"student": {"cpu_m": 270, "memory_mib": 432, "node_cpu_m": 0, "node_memory_mib": 0},
            "cluster": {"cpu_m": 0, "memory_mib": 0, "node_cpu_m": 5, "node_memory_mib": 8}}
    with_labs = dict(FOOTPRINTS, labs=labs)
    for tenancy, students in (("namespace", 60), ("cluster", 3)):
        clusters = class_plan(roster(students), tenancy=tenancy)
        bare = capacity_estimate(clusters, DAY3, FOOTPRINTS)
        full = capacity_estimate(clusters, DAY3, with_labs)
        nodes = sum(len(c["nodes"]) for c in clusters)
        assert full["cpu_m"] - bare["cpu_m"] == students * 270 + nodes * 5
        assert full["memory_mib"] - bare["memory_mib"] == students * 432 + nodes * 8
    # Issue 13: 60 namespace students passed on a 2-CPU host because the labs were not counted.
    shared = class_plan(roster(60), tenancy="namespace")
    assert fits(capacity_estimate(shared, DAY3, FOOTPRINTS), host_cpus=2, host_mib=64 * 1024)
    assert not fits(capacity_estimate(shared, DAY3, with_labs), host_cpus=2, host_mib=64 * 1024)
