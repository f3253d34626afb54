"""Placement of clusters on Docker hosts: stable host and ports per student, spread by capacity, refusals."""

import json

import pytest

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import PlanError, class_plan, cluster_ports
from ansible_collections.kubelab.core.plugins.module_utils.placement import (
    create_rounds,
    day_time_estimate,
    host_capacity,
    place,
    placement_hosts,
    read_placement,
    release,
)

NEED = {"cpu_m": 1000, "memory_mib": 4000, "disk_gib": 16}


def roster(*names):
    return class_plan([{"name": n} for n in names])


def hosts(*sizes):
    """Hosts h1, h2, ... of (cpus, memory GiB) each."""
    return [host_capacity("h%d" % i, "192.0.2.%d" % i, {"cpu": cpu, "memory_mib": gib * 1024})
            for i, (cpu, gib) in enumerate(sizes, start=1)]


def run(clusters, host_list, previous=None, headroom=1.0):
    needs = {c["name"]: NEED for c in clusters}
    return place(clusters, host_list, previous, needs, port_base=20000, port_stride=10, headroom=headroom)


def where(placed):
    return {c["name"]: (c["docker_host"], c["api_port"], c["http_port"], c["https_port"]) for c in placed}


def test_one_host_without_known_size_takes_slot_n_for_student_n():
    placed, stored = run(roster("kim", "lee"), [host_capacity("localhost", "127.0.0.1", None)])
    assert [(c["docker_host"], c["slot"], c["api_port"]) for c in placed] == [("localhost", 0, 20000),
                                                                            ("localhost", 1, 20010)]
    assert stored["clusters"]["kubelab-lee"] == {"host": "localhost", "slot": 1}


def test_adding_a_student_at_the_top_moves_no_one():
    host_list = hosts((16, 64), (8, 32), (8, 32))
    first, stored = run(roster("kim", "lee", "park", "choi"), host_list)
    second, _ = run(roster("ahn", "kim", "lee", "park", "choi"), host_list, previous=stored)
    before, after = where(first), where(second)
    assert {name: after[name] for name in before} == before
    # The newcomer takes the lowest free slot of the host it lands on.
    ahn = next(c for c in second if c["name"] == "kubelab-ahn")
    taken = {c["slot"] for c in first if c["docker_host"] == ahn["docker_host"]}
    assert ahn["slot"] == min(set(range(len(taken) + 1)) - taken)


def test_ports_differ_within_a_host_and_may_repeat_across_hosts():
    placed, _ = run(roster(*["s%02d" % i for i in range(9)]), hosts((8, 32), (8, 32), (8, 32)))
    for host in ("h1", "h2", "h3"):
        ports = [p for c in placed if c["docker_host"] == host for _, p in cluster_ports(c)]
        assert len(ports) == len(set(ports)) == 9
    assert len({c["api_port"] for c in placed}) == 3  # the same three slots on every host


def test_a_removed_student_keeps_the_slot_until_released():
    host_list = hosts((64, 256))
    _, stored = run(roster("kim", "lee", "park"), host_list)
    placed, stored = run(roster("kim", "park", "choi"), host_list, previous=stored)
    # lee's cluster may still run and hold its ports: choi does not get slot 1.
    assert {c["name"]: c["slot"] for c in placed} == {"kubelab-kim": 0, "kubelab-park": 2, "kubelab-choi": 3}
    placed, _ = run(roster("kim", "park", "choi", "jung"), host_list, previous=release(stored, ["kubelab-lee"]))
    assert {c["name"]: c["slot"] for c in placed}["kubelab-jung"] == 1


def test_students_spread_by_capacity():
    # 12 students over a 32-core/128 GiB host and two 8-core/32 GiB hosts: the big one takes about twice as many.
    placed, _ = run(roster(*["s%02d" % i for i in range(12)]), hosts((32, 128), (8, 32), (8, 32)))
    counts = {h: sum(c["docker_host"] == h for c in placed) for h in ("h1", "h2", "h3")}
    assert counts == {"h1": 8, "h2": 2, "h3": 2}
    assert {c["api_address"] for c in placed if c["docker_host"] == "h2"} == {"192.0.2.2"}


def test_a_class_too_big_for_every_host_is_refused_with_per_host_numbers():
    with pytest.raises(PlanError) as err:
        run(roster(*["s%02d" % i for i in range(12)]), hosts((8, 32), (4, 16)), headroom=0.9)
    text = str(err.value)
    assert "h1: " in text and "h2: " in text and "of 29491 MiB" in text and "of 14745 MiB" in text
    assert "kind_hosts" in text and "Nothing was changed" in text


@pytest.mark.parametrize("workers,advice", [
    (3, None),  # the minimum, one per zone: class_plan refuses fewer, so the refusal must not advise it
    (5, "use fewer workers (kubelab_workers: 5 now, at least 3, one per zone)"),
])
def test_a_refusal_advises_fewer_workers_only_above_the_minimum(workers, advice):
    clusters = class_plan([{"name": "s%02d" % i} for i in range(12)], workers=workers)
    with pytest.raises(PlanError) as err:
        run(clusters, hosts((8, 32)), headroom=0.9)
    text = str(err.value)
    assert ("fewer workers" in text) is (advice is not None), text
    assert advice is None or advice in text
    assert text.endswith("use fewer add-ons (kubelab_addons) or use namespace tenancy (one shared cluster). "
                         "Nothing was changed."), text


def test_clusters_placed_earlier_that_outgrow_their_host_are_refused_not_moved():
    host_list = hosts((8, 32), (8, 32))
    _, stored = run(roster("kim", "lee", "park", "choi"), host_list)
    clusters = roster("kim", "lee", "park", "choi")
    needs = {c["name"]: dict(NEED, memory_mib=20000) for c in clusters}
    with pytest.raises(PlanError, match="placed on h1 earlier"):
        place(clusters, host_list, stored, needs, 20000, 10, 1.0)


def test_overcommit_places_what_fits_nowhere_on_the_least_loaded_host_and_keeps_earlier_clusters():
    # make check: the class is placed anyway, so each host's capacity row can say what it lacks.
    students = ["s%02d" % i for i in range(12)]
    needs = {c["name"]: NEED for c in roster(*students)}
    placed, _ = place(roster(*students), hosts((8, 32), (4, 16)), None, needs, 20000, 10, 0.9, overcommit=True)
    per_host = {h: sum(c["docker_host"] == h for c in placed) for h in ("h1", "h2")}
    assert per_host == {"h1": 8, "h2": 4}  # 7 and 3 fit; the rest go where the load stays lowest
    host_list = hosts((8, 32), (8, 32))
    _, stored = run(roster("kim", "lee", "park", "choi"), host_list)
    bigger = {c["name"]: dict(NEED, memory_mib=20000) for c in roster("kim", "lee", "park", "choi")}
    again, _ = place(roster("kim", "lee", "park", "choi"), host_list, stored, bigger, 20000, 10, 1.0, overcommit=True)
    assert where(again) == where(run(roster("kim", "lee", "park", "choi"), host_list, stored)[0])


def test_several_hosts_need_known_sizes():
    with pytest.raises(PlanError, match="kubelab_host_capacity"):
        run(roster("kim"), [host_capacity("a", "", None), host_capacity("b", "", {"cpu": 8, "memory_mib": 1})])
    with pytest.raises(PlanError, match="kubelab_host_capacity of a"):
        host_capacity("a", "", {"cpu": "many"})


def test_a_slot_past_the_last_port_is_refused():
    with pytest.raises(PlanError, match="kubelab_port_base"):
        place(roster("kim", "lee"), hosts((64, 256)), None, {"kubelab-kim": NEED, "kubelab-lee": NEED}, 65530, 10)


def test_placement_hosts_prefer_the_stated_capacity_then_facts():
    hostvars = {"a": {"kubelab_host_capacity": {"cpu": 4, "memory_mib": 8192}, "kubelab_api_address": "192.0.2.1",
                      "ansible_facts": {"processor_vcpus": 64, "memtotal_mb": 1}},
                "b": {"ansible_facts": {"processor_vcpus": 8, "memtotal_mb": 32000}},
                "c": {}}
    assert placement_hosts(["a", "b", "c"], hostvars, "127.0.0.1") == [
        {"name": "a", "address": "192.0.2.1", "capacity": {"cpu": 4, "memory_mib": 8192}},
        {"name": "b", "address": "127.0.0.1", "capacity": {"cpu": 8, "memory_mib": 32000}},
        {"name": "c", "address": "127.0.0.1", "capacity": {}}]


def test_the_placement_file_round_trips_and_a_broken_one_is_refused(tmp_path):
    path = str(tmp_path / "class" / "placement.json")
    assert read_placement(path) is None
    _, stored = run(roster("kim"), hosts((8, 32)))
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "placement.json").write_text(json.dumps(stored, indent=2, sort_keys=True))
    assert read_placement(path) == stored
    (tmp_path / "class" / "placement.json").write_text("{not json")
    with pytest.raises(PlanError, match="not valid JSON"):
        read_placement(path)
    (tmp_path / "class" / "placement.json").write_text(json.dumps({"version": 99}))
    with pytest.raises(PlanError, match="unknown format"):
        read_placement(path)


def test_creation_rounds_count_per_host_in_slot_order():
    placed, _ = run(roster(*["s%d" % i for i in range(5)]), hosts((8, 32), (8, 32)))
    rounds = create_rounds(placed, 2)
    per_host = {}
    for cluster in sorted(placed, key=lambda c: c["slot"]):
        per_host.setdefault(cluster["docker_host"], []).append(rounds[cluster["name"]])
    assert per_host == {"h1": [0, 0, 1], "h2": [0, 0]}
    with pytest.raises(PlanError, match="cluster_kind_create_concurrency"):
        create_rounds(placed, 0)


def test_day_time_is_creation_rounds_on_the_busiest_host_plus_addon_waves():
    placed, _ = run(roster(*["s%d" % i for i in range(5)]), hosts((8, 32), (8, 32)))
    estimate = day_time_estimate(placed, ["cni", "csi"], 100, {"cni": 30, "csi": 20}, concurrency=2, forks=4)
    # h1 has 3 clusters (2 rounds), h2 has 2 (1 round); 5 clusters install add-ons 4 at a time: 2 waves of 50 s.
    assert estimate["rounds"] == {"h1": 2, "h2": 1}
    assert (estimate["create_seconds"], estimate["addon_seconds"], estimate["total_seconds"]) == (200, 100, 300)
    assert day_time_estimate(placed, [], 100, {}, created=[c["name"] for c in placed])["total_seconds"] == 0
    with pytest.raises(PlanError, match="preflight_time_addon_seconds: no install time for velero"):
        day_time_estimate(placed, ["velero"], 100, {})


@pytest.mark.parametrize("workers", [3, 5])
def test_the_hosts_own_capacity_refusal_advises_fewer_workers_only_above_the_minimum(workers):
    """preflight's host.yml (apply mode, a host sized from its facts) gives the same advice as the placement."""
    import os

    import yaml
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "roles", "preflight", "tasks", "host.yml"), encoding="utf-8") as handle:
        task = next(t for t in yaml.safe_load(handle) if t.get("name") == "Stop if the class does not fit this host")
    variables = {"inventory_hostname": "h1", "kubelab_addons": ["cni"],
                 "ansible_facts": {"memtotal_mb": 8000, "processor_vcpus": 2},
                 "preflight_capacity_headroom": 0.9, "kubelab_workers": workers,
                 "kubelab_zones": ["zone-a", "zone-b", "zone-c"],
                 "preflight_capacity": {"clusters": [{}] * 12, "nodes": 48, "memory_mib": 70000, "cpu_m": 20000}}
    text = Templar(loader=DataLoader(), variables=variables).template(
        trust_as_template(task["ansible.builtin.assert"]["fail_msg"]))
    assert ("fewer workers" in text) is (workers > 3), text
    assert workers == 3 or "fewer workers (kubelab_workers: 5 now, at least 3, one per zone)" in text
    assert text.endswith("add-ons (kubelab_addons) or namespace tenancy. Nothing was changed."), text
