"""Cluster creation per Docker host: at most cluster_kind_create_concurrency (2) kind creates at once on one host,
all hosts at the same time, nothing created twice. Runs cluster_kind's real tasks/create.yml with a kind double
that logs when each create starts and ends (the hosts are local aliases)."""

import json
import os
import stat

import yaml

from conftest import run_playbook

# TEST DOUBLE of the kind CLI: `get clusters` lists what it created, `create cluster` logs start/end and waits.
KIND_DOUBLE = """#!/bin/sh
state="$KIND_DOUBLE_DIR"
case "$1 $2" in
  "get clusters") ls "$state/clusters" 2>/dev/null || true ;;
  "create cluster")
    name=$(printf '%s\\n' "$@" | sed -n 's/^--name=//p')
    echo "start $name $(date +%s.%N)" >> "$state/log"
    sleep 1
    mkdir -p "$state/clusters" && touch "$state/clusters/$name"
    echo "end $name $(date +%s.%N)" >> "$state/log" ;;
  *) echo "kind double: unexpected $*" >&2; exit 1 ;;
esac
"""


def most_at_once(intervals):
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def test_each_host_creates_two_at_a_time_and_hosts_work_in_parallel(tmp_path):
    kind = tmp_path / "kind-double"
    kind.write_text(KIND_DOUBLE)
    kind.chmod(kind.stat().st_mode | stat.S_IEXEC)
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    hosts = {name: dict(local, kubelab_host_capacity={"cpu": 64, "memory_mib": 262144}) for name in ("dh1", "dh2")}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"kubelab": {"children": {
        "controller": {"hosts": {"localhost": local}}, "kind_hosts": {"hosts": hosts}, "kubelab_clusters": None}}}}}))
    build = tmp_path / "build"
    roster = json.dumps({"kubelab_students": [{"name": "s%d" % i} for i in range(6)],
                         "kubelab_kind_binary": str(kind)})
    env = {"KIND_DOUBLE_DIR": str(tmp_path)}
    result = run_playbook("tests/render/playbooks/create_rounds.yml", str(build), "-e", roster, env=env,
                          inventory=str(inventory))
    assert result.returncode == 0, result.stdout[-4000:]
    placement = json.loads((build / "class" / "placement.json").read_text())["clusters"]
    times = {}
    for line in (tmp_path / "log").read_text().splitlines():
        what, name, when = line.split()
        times.setdefault(name, {})[what] = float(when)
    assert sorted(times) == sorted(placement)
    by_host = {}
    for name, t in times.items():
        by_host.setdefault(placement[name]["host"], []).append((t["start"], t["end"]))
    assert sorted(len(v) for v in by_host.values()) == [3, 3]
    assert [most_at_once(v) for v in by_host.values()] == [2, 2]
    assert most_at_once([i for v in by_host.values() for i in v]) == 4, "the hosts must create at the same time"

    again = run_playbook("tests/render/playbooks/create_rounds.yml", str(build), "-e", roster, env=env,
                         inventory=str(inventory))
    assert again.returncode == 0, again.stdout[-4000:]
    assert len((tmp_path / "log").read_text().splitlines()) == 12, "a second run must create nothing"
    assert os.path.isdir(tmp_path / "clusters")
