"""A class spread over several Docker hosts, planned end to end (plan mode; the hosts are never contacted):
placement by capacity, stable hosts and ports when the roster grows, each cluster's host in index.json and in
the access plan, a class too big for every host refused with per-host numbers."""

import json
import os
import re

import pytest
import yaml

from ansible_collections.kubelab.core.plugins.filter import students as students_filters
from conftest import ROOT, load_index, run_playbook

DAY3 = "playbooks/day3.yml"
# (name, address, cpu, memory MiB): three Docker hosts of different sizes.
HOSTS = [("big", "192.0.2.11", 32, 131072), ("medium", "192.0.2.12", 16, 65536), ("small", "192.0.2.13", 8, 32768)]
ROSTER = ["s%02d" % i for i in range(1, 13)]


def write_inventory(path, hosts):
    inventory = {"all": {"children": {"kubelab": {"children": {
        "controller": {"hosts": {"localhost": {"ansible_connection": "local",
                                               "ansible_python_interpreter": "{{ ansible_playbook_python }}"}}},
        "kind_hosts": {"hosts": {name: {"ansible_host": address, "kubelab_api_address": address,
                                        "kubelab_host_capacity": {"cpu": cpu, "memory_mib": mib, "disk_gib": 500}}
                                 for name, address, cpu, mib in hosts}},
        "kubelab_clusters": None}}}}}
    path.write_text(yaml.safe_dump(inventory))
    return str(path)


def plan(inventory, build_dir, names, addons="[]"):
    extra = '{"kubelab_tenancy": "cluster", "kubelab_addons": %s, "kubelab_labs": [], "kubelab_students": %s}' % (
        addons, json.dumps([{"name": n} for n in names]))
    return run_playbook(DAY3, build_dir, "-e", "kubelab_mode=plan", "-e", extra, inventory=inventory)


def placed(build_dir, names):
    """{student: (host, address, api port, http port, https port)} from the plan's files."""
    result = {}
    for name in names:
        cluster = "kubelab-%s" % name
        kind = [a for a in load_index(build_dir, cluster)["artifacts"] if a["type"] == "kind-config"][0]
        with open(os.path.join(build_dir, "plan", cluster, "cluster_kind", "kind-config.yaml"), encoding="utf-8") as fh:
            config = yaml.safe_load(fh)
        with open(os.path.join(build_dir, "plan", cluster, "students", "access.yaml"), encoding="utf-8") as fh:
            (access,) = yaml.safe_load(fh)["students"]
        ingress = config["nodes"][0]["extraPortMappings"]
        assert access["host"] == kind["docker_host"]
        result[name] = (kind["docker_host"], access["server"], config["networking"]["apiServerPort"],
                        ingress[0]["hostPort"], ingress[1]["hostPort"])
    return result


@pytest.fixture(scope="module")
def class_of_12(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hosts")
    inventory = write_inventory(tmp / "hosts.yml", HOSTS)
    build_dir = str(tmp / "build")
    result = plan(inventory, build_dir, ROSTER, addons='["cni", "csi", "metrics_server", "ingress"]')
    assert result.returncode == 0, result.stdout[-4000:]
    return inventory, build_dir, result


def test_twelve_students_spread_over_three_hosts_by_capacity(class_of_12):
    _, build_dir, result = class_of_12
    where = placed(build_dir, ROSTER)
    counts = {name: sum(w[0] == name for w in where.values()) for name, *_ in HOSTS}
    # Capacities 4:2:1 take the clusters in about that proportion; every host gets some.
    assert counts["big"] > counts["medium"] > counts["small"] > 0, counts
    assert sum(counts.values()) == 12
    for student, (host, server, api, http, https) in where.items():
        address = {h[0]: h[1] for h in HOSTS}[host]
        assert server == "https://%s:%d" % (address, api), "the access sheet names the cluster's own host"
    for name, *_ in HOSTS:
        ports = [p for w in where.values() if w[0] == name for p in w[2:]]
        assert len(ports) == len(set(ports)), "ports must differ within a host: %s" % ports
    with open(os.path.join(build_dir, "class", "placement.json"), encoding="utf-8") as fh:
        stored = json.load(fh)["clusters"]
    assert {k.removeprefix("kubelab-"): v["host"] for k, v in stored.items()} == {s: w[0] for s, w in where.items()}
    assert "big: %d cluster(s)" % counts["big"] in result.stdout


def test_a_student_added_at_the_top_moves_no_one(class_of_12):
    inventory, build_dir, _ = class_of_12
    before = placed(build_dir, ROSTER)
    result = plan(inventory, build_dir, ["aaron"] + ROSTER, addons='["cni", "csi", "metrics_server", "ingress"]')
    assert result.returncode == 0, result.stdout[-4000:]
    after = placed(build_dir, ["aaron"] + ROSTER)
    assert {s: after[s] for s in ROSTER} == before
    newcomer = after["aaron"]
    same_host = [w for s, w in before.items() if w[0] == newcomer[0]]
    assert newcomer[2] not in [w[2] for w in same_host]


def test_the_overview_names_each_students_host():
    cluster = {"name": "kubelab-kim", "students": ["kim"], "tenancy": "cluster", "provider": "kind",
               "api_address": "192.0.2.12", "api_port": 20010, "docker_host": "medium"}
    entries = students_filters.students_access(cluster, {})
    row = [line for line in students_filters.students_overview(entries, [], []).splitlines() if "kim" in line][0]
    assert [cell.strip() for cell in row.split("|")[1:4]] == ["kim", "kubelab-kim", "medium"]
    assert "https://192.0.2.12:20010" in row


def test_a_class_that_fits_no_host_combination_is_refused_with_per_host_numbers(tmp_path):
    inventory = write_inventory(tmp_path / "hosts.yml", [("one", "192.0.2.21", 4, 16384), ("two", "192.0.2.22", 4, 8192)])
    result = plan(inventory, str(tmp_path / "build"), ROSTER)
    assert result.returncode != 0
    assert "does not fit the Docker hosts" in result.stdout
    assert "one: " in result.stdout and "two: " in result.stdout and "of 14745 MiB" in result.stdout
    assert not os.path.exists(tmp_path / "build" / "class" / "placement.json")
    assert not os.path.exists(tmp_path / "build" / "plan")


def two_local_docker_hosts(path):
    """An inventory of two Docker hosts without kubelab_host_capacity, both this machine (a local connection)."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    path.write_text(yaml.safe_dump({"all": {"children": {"kubelab": {"children": {
        "controller": {"hosts": {"localhost": local}},
        "kind_hosts": {"hosts": {name: dict(local, kubelab_api_address=address)
                                 for name, address in (("docker-a", "192.0.2.21"), ("docker-b", "192.0.2.22"))}},
        "kubelab_clusters": None}}}}}))
    return str(path)


def check(inventory, build_dir, **extra):
    """make check DAY=1 for the class of two (read-only: it writes build/board/ only)."""
    extra = dict({"kubelab_students": [{"name": "kim"}, {"name": "lee"}], "kubelab_tenancy": "cluster"}, **extra)
    return run_playbook("playbooks/check.yml", build_dir, "-e", "kubelab_day=1", "-e", json.dumps(extra),
                        inventory=inventory)


def test_docker_hosts_without_a_capacity_are_sized_from_their_facts(tmp_path):
    # Apply mode gathers the vCPUs and memory of every Docker host that has no kubelab_host_capacity (preflight's
    # class.yml); make check runs that preflight and changes nothing. Only a known capacity gives a host a load in
    # the plan's summary.
    result = check(two_local_docker_hosts(tmp_path / "hosts.yml"), str(tmp_path / "build"))
    gathered = result.stdout.split("Gather the CPU and memory of Docker hosts", 1)[-1].split("TASK [", 1)[0]
    assert "ok: [localhost -> docker-a]" in gathered and "ok: [localhost -> docker-b]" in gathered, result.stdout[-4000:]
    summary = " ".join(result.stdout.split("Show the plan", 1)[-1].split("TASK [", 1)[0].split())
    for host in ("docker-a", "docker-b"):
        assert re.search(r"%s: 1 cluster\(s\), \d+m CPU, \d+ MiB, load \d+%%" % host, summary), summary


def test_make_check_reports_a_class_too_big_for_its_hosts_instead_of_stopping(tmp_path):
    # A usable share of 1 % makes one cluster too big for any host of up to ~140 CPUs. make check still places the
    # class, so each host's capacity row says what it lacks and the board shows it; the verdict then fails the run.
    inventory, build = two_local_docker_hosts(tmp_path / "hosts.yml"), tmp_path / "build"
    result = check(inventory, str(build), preflight_capacity_headroom=0.01)
    assert result.returncode != 0
    with open(build / "board" / "check.json", encoding="utf-8") as handle:
        rows = json.load(handle)["rows"]
    assert {r["host"]: r["status"] for r in rows if r["item"] == "capacity"} == {
        "docker-a": "NOT READY", "docker-b": "NOT READY"}, result.stdout[-4000:]
    assert (build / "board" / "index.html").is_file()
    assert "capacity on docker-a" in " ".join(result.stdout.split())
    # A day (here its plan, with both hosts' capacity given) still refuses such a class before anything is written.
    planned = run_playbook(DAY3, str(tmp_path / "plan-build"), "-e", "kubelab_mode=plan", "-e", json.dumps(
        {"kubelab_students": [{"name": "kim"}, {"name": "lee"}], "preflight_capacity_headroom": 0.01,
         "kubelab_host_capacity": {"cpu": 2, "memory_mib": 24576}}), inventory=inventory)
    assert planned.returncode != 0 and "does not fit the Docker hosts" in planned.stdout
    assert not (tmp_path / "plan-build" / "plan").exists()
