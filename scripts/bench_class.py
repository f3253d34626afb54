#!/usr/bin/env python3
"""Class benchmark: plan-mode wall time of a day for 1 and for N students (cluster tenancy). Prints figures;
never fails on a number. Targets: one student at most 10 s on a 2-core machine; 30 students at most 2x as long as 1.

With --profile, the N-student run also prints the slowest tasks (ansible.posix.profile_tasks), to show where
the time goes. Most of it is per cluster and per task: every task of the cluster plays runs once per cluster,
in a worker process Ansible forks for it, which templates the task's arguments afresh; so the cluster plays run
as few tasks as they can in plan mode (docs/architecture.md, "Modes"). The figures depend on what else the
machine runs: each size prints the load average before its runs.
Placement (issue 15): before the plan runs, the class planner places --placement-students (100) cluster-tenancy
students over five Docker hosts of mixed sizes (pure Python, the same functions preflight calls) and prints the
time that takes, the placement quality (each host's load: the larger of its CPU and memory shares; the max
is what matters) and the expected wall time of the day. --placement-only stops there.
With --baseline REV, every plan also runs on git revision REV (extracted into a temporary directory), alternating
with the working tree, so "before" and "after" share the machine's load; the ratios compare them.
Usage: python scripts/bench_class.py [--day 3] [--students 30] [--runs 1] [--profile] [--with-addons]
                                     [--baseline REV] [--placement-students 100] [--placement-only]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(ROOT, "collections"))
# (name, vCPUs, memory GiB): five Docker hosts of mixed sizes.
PLACEMENT_HOSTS = [("host-xl", 96, 384), ("host-l", 64, 256), ("host-m", 48, 192), ("host-s", 32, 128), ("host-xs", 16, 64)]


def placement(day: str, students: int) -> None:
    """Place the class over PLACEMENT_HOSTS as preflight does; print time, loads and the day's expected wall time."""
    import yaml

    from ansible_collections.kubelab.core.plugins.module_utils.class_plan import capacity_estimate, class_plan
    from ansible_collections.kubelab.core.plugins.module_utils.placement import (
        cluster_needs, day_time_estimate, host_capacity, host_loads, place)

    with open(os.path.join(ROOT, "roles", "preflight", "defaults", "main.yml"), encoding="utf-8") as handle:
        defaults = yaml.safe_load(handle)
    with open(os.path.join(ROOT, "playbooks", "days", "day%s.yml" % day), encoding="utf-8") as handle:
        addons = yaml.safe_load(handle)["kubelab_addons"]
    hosts = [host_capacity(name, "", {"cpu": cpu, "memory_mib": gib * 1024}) for name, cpu, gib in PLACEMENT_HOSTS]
    roster = [{"name": "student%03d" % i} for i in range(1, students + 1)]
    start = time.perf_counter()
    clusters = class_plan(roster)
    needs = cluster_needs(capacity_estimate(clusters, addons, defaults["preflight_footprints"]),
                          defaults["preflight_disk_gib_per_node"])
    placed, stored = place(clusters, hosts, None, needs, 20000, 10, defaults["preflight_capacity_headroom"])
    elapsed = time.perf_counter() - start
    loads = host_loads(placed, hosts, needs)
    print("placement, day %s, %d students over %d hosts: %.1f ms" % (day, students, len(hosts), elapsed * 1000))
    for load in loads:
        print("  %-8s %3d clusters, %6dm CPU, %7d MiB, load %.2f" % (
            load["host"], load["clusters"], load["cpu_m"], load["memory_mib"], load["load"]))
    shares = [load["load"] for load in loads]
    print("  max host load %.2f, min %.2f (load: share of the usable %s of CPU or memory; ideal: all equal)" % (
        max(shares), min(shares), defaults["preflight_capacity_headroom"]))
    again, _ = place(class_plan([{"name": "newcomer"}] + roster), hosts, stored,
                     dict(needs, **{"kubelab-newcomer": next(iter(needs.values()))}), 20000, 10,
                     defaults["preflight_capacity_headroom"])
    before = {c["name"]: (c["docker_host"], c["api_port"]) for c in placed}
    moved = sum(before[c["name"]] != (c["docker_host"], c["api_port"]) for c in again if c["name"] in before)
    print("  a student added at the top of the roster moves %d other student(s)" % moved)
    estimate = day_time_estimate(placed, addons, defaults["preflight_time_create_seconds"],
                                 defaults["preflight_time_addon_seconds"])
    print("  expected wall time of day %s: %.1f min (%d creation rounds on the busiest host x %d s, add-ons %d s; "
          "forks 10) [estimate from preflight_time_*]" % (day, estimate["total_minutes"], estimate["max_rounds"],
                                                          defaults["preflight_time_create_seconds"],
                                                          estimate["addon_seconds"]))
    sys.stdout.flush()


def plan(root: str, day: str, build_dir: str, students: int, with_addons: bool, profile: bool) -> tuple[float, str]:
    roster = [{"name": "student%02d" % i} for i in range(1, students + 1)]
    extra = {"kubelab_students": roster, "kubelab_tenancy": "cluster"}
    if not with_addons:
        extra.update(kubelab_addons=[], kubelab_labs=[])
    env = dict(os.environ, KUBELAB_PROJECT_DIR=root, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1")
    if profile:
        env.update(ANSIBLE_CALLBACKS_ENABLED="kubelab.core.preload_plugins,ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="12",
                   PROFILE_TASKS_SORT_ORDER="descending")
    playbook = os.path.join(root, "playbooks", "day%s.yml" % day)
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "inventories/local", playbook, "-e", "kubelab_mode=plan",
           "-e", "kubelab_build_dir=%s" % build_dir, "-e", json.dumps(extra)]
    start = time.monotonic()
    result = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.exit("plan for %d students in %s failed:\n%s" % (students, root, result.stdout[-3000:]))
    return elapsed, result.stdout


def slowest_tasks(stdout: str) -> list[str]:
    """The profile_tasks summary lines ('<task> ---- 1.23s') printed at the end of a run."""
    return [line.strip() for line in stdout.splitlines() if re.search(r"-{3,} \d+\.\d+s$", line.strip())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", default="3")
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--runs", type=int, default=1, help="runs per class size (the median is printed)")
    parser.add_argument("--profile", action="store_true", help="print the slowest tasks of the large class")
    parser.add_argument("--with-addons", action="store_true",
                        help="render the day's add-ons and labs too (default: cluster, caches and students only)")
    parser.add_argument("--baseline", metavar="REV", help="also time git revision REV, alternating with the working tree")
    parser.add_argument("--placement-students", type=int, default=100)
    parser.add_argument("--placement-only", action="store_true", help="print the placement figures only")
    args = parser.parse_args()

    placement(args.day, args.placement_students)
    if args.placement_only:
        return

    with tempfile.TemporaryDirectory() as tmp:
        trees = {"working tree": ROOT}
        if args.baseline:
            trees = {args.baseline: extract(args.baseline, os.path.join(tmp, "baseline")), "working tree": ROOT}
        figures = {label: {} for label in trees}
        for size in (1, args.students):
            load = os.getloadavg()
            times = {label: [] for label in trees}
            for run in range(args.runs):
                for index, (label, root) in enumerate(trees.items()):
                    build_dir = os.path.join(tmp, "build-%d-%d-%d" % (index, size, run))  # fresh: every file written
                    seconds, stdout = plan(root, args.day, build_dir, size, args.with_addons,
                                           args.profile and size > 1 and root == ROOT)
                    times[label].append(seconds)
            for label in trees:
                figures[label][size] = statistics.median(times[label])
                print("%-12s plan mode, day %s, %d student(s), cluster tenancy%s, %d cores: %.1f s%s "
                      "[load average before: %s]" % (
                          label, args.day, size, ", add-ons and labs" if args.with_addons else "", os.cpu_count(),
                          figures[label][size], " (median of %d)" % args.runs if args.runs > 1 else "",
                          " ".join("%.2f" % x for x in load)))
            sys.stdout.flush()
            if args.profile and size > 1:
                print("  slowest tasks of the %d-student run:" % size)
                for line in slowest_tasks(stdout):
                    print("    " + line)
    for label in trees:
        print("%-12s %d students / 1 student: %.2fx [target <= 2x]; 1 student: %.1f s [target <= 10 s]" % (
            label, args.students, figures[label][args.students] / figures[label][1], figures[label][1]))
    if args.baseline:
        for size in (1, args.students):
            print("working tree / %s, %d student(s): %.2fx" % (
                args.baseline, size, figures["working tree"][size] / figures[args.baseline][size]))


def extract(revision: str, directory: str) -> str:
    """The project at a git revision, as files (git archive), for --baseline."""
    os.makedirs(directory)
    archive = subprocess.run(["git", "-C", ROOT, "archive", revision], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
    return directory

if __name__ == "__main__":
    main()
