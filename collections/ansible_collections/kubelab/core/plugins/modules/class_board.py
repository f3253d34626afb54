#!/usr/bin/python
# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Write a student's class board record, or the class board page from the records."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: class_board
short_description: The instructor's class board (build/board/index.html) and its per-student records
description:
  - "C(state=record): per student of one cluster (or of each of I(clusters)), writes I(board_dir)/students/<student>.json: where she works,
    every lab check of the run (read from the lab role's reports; not checked in plan mode), the cluster's health
    items (I(nodes) Ready per zone, add-ons up from I(workloads)), the time, and since when her first failing check fails."
  - "C(state=render): writes I(board_dir)/index.html from the records of I(students) and I(board_dir)/check.json
    (make check's readiness) when present, and returns the end-of-run summary table."
  - Records hold no credentials; the page links to the access sheets and never copies them.
  - Reports changed only when a result changes, not when only the time of the check does.
options:
  state: {type: str, required: true, choices: [record, render], description: What to write.}
  board_dir: {type: path, required: true, description: The board's directory.}
  now: {type: str, description: "Time of the check (ISO 8601, UTC); default: now."}
  cluster: {type: str, description: "C(record): the cluster's name."}
  access_file: {type: path, description: "C(record): the students role's access plan (students/access.yaml)."}
  instances: {type: list, elements: dict, default: [], description: "C(record): the lab role's lab_instances_all."}
  reports_dir: {type: path, description: "C(record): the lab role's report directory (lab_reports_dir)."}
  mode: {type: str, default: apply, description: "C(record): apply, plan or status (plan: no check ran)."}
  nodes: {type: list, elements: dict, description: "C(record): the cluster's Nodes (omit: no node health)."}
  zones: {type: list, elements: str, default: [], description: "C(record): zones whose nodes must be Ready."}
  workloads: {type: list, elements: dict, default: [], description: "C(record): the cluster's Deployments, DaemonSets, StatefulSets."}
  addons: {type: list, elements: str, default: [], description: "C(record): the day's add-ons (kubelab_addons)."}
  addon_namespaces: {type: dict, default: {}, description: "C(record): add-on -> its namespaces (kubelab_addon_namespaces)."}
  addon_selectors:
    type: dict
    default: {}
    description: "C(record): add-on -> key=value labels its workloads carry (for a namespace it shares)."
  sheet_dir: {type: path, description: "C(record): the access sheets' directory (students_sheet_dir)."}
  students: {type: list, elements: str, default: [], description: "C(render): the class's students, in order."}
  clusters:
    type: list
    elements: dict
    default: []
    description:
      - "C(record): the records of several clusters in one task: per cluster I(cluster), I(access_file), I(instances),
        I(nodes), I(workloads) and I(addons) (as the options of one cluster; the other options are shared). Empty:
        the one cluster of the options."
author: kubelab maintainers
"""

EXAMPLES = r"""
- name: Write the board
  kubelab.core.class_board:
    state: render
    board_dir: "{{ kubelab_build_dir }}/board"
    students: [kim, lee]
  register: board
"""

RETURN = r"""
summary:
  description: "C(render): the end-of-run table, one line per student (where, passed, failed, not checked, sheet)."
  returned: state=render
  type: list
  elements: str
stuck:
  description: "C(render): the students with a failing check, the longest-failing first: student, check, since."
  returned: state=render
  type: list
  elements: dict
path:
  description: "C(render): the page written."
  returned: state=render
  type: str
"""

import datetime
import json
import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubelab.core.plugins.module_utils.class_board import (
    addon_health,
    addon_workloads,
    lab_results,
    node_health,
    read_json,
    render_board,
    same_state,
    student_record,
    stuck,
    summary_lines,
)

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

STATE_RE = re.compile(r'<meta name="kubelab-board-state" content="([0-9a-f]+)">')


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _entries(params):
    """The students of the cluster as the students role planned them (its plan artifact students/access.yaml)."""
    data = None
    if params["access_file"] and os.path.exists(params["access_file"]):
        with open(params["access_file"], encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    return (data or {}).get("students") or []


def record(module, params, now):
    """The records of one cluster's students, or of every cluster of I(clusters) (one task for the whole class)."""
    changed, written = False, []
    for cluster in params["clusters"] or [params]:
        cluster_changed, cluster_written = _record_cluster(module, dict(params, **cluster), now)
        changed = changed or cluster_changed
        written += cluster_written
    module.exit_json(changed=changed, written=written)


def _record_cluster(module, params, now):
    for key in ("cluster", "access_file"):
        if not params.get(key):
            module.fail_json(msg="state=record: every cluster needs %s" % key)
    health = []
    if params.get("nodes") is not None:
        health += node_health(params["nodes"], params["zones"])
    health += [addon_health(addon, addon_workloads(params.get("workloads") or [], {
        "namespaces": params["addon_namespaces"][addon], "label_selectors": params["addon_selectors"].get(addon)}))
        for addon in sorted(params.get("addons") or []) if addon in params["addon_namespaces"]]
    changed, written = False, []
    for entry in _entries(params):
        student = entry["student"]
        checks = []
        for instance in params.get("instances") or []:
            if instance.get("student") and instance["student"] != student:
                continue
            report = None
            if params["mode"] != "plan":
                report = read_json(os.path.join(params["reports_dir"] or "", params["cluster"] or "",
                                                instance.get("report", "")))
            checks += lab_results(instance, report)
        path = os.path.join(params["board_dir"], "students", student + ".json")
        previous = read_json(path)
        sheet = os.path.join(params["sheet_dir"] or "", student, "endpoints.md")
        new = student_record(entry, checks, health, params["mode"], now, sheet, previous)
        if same_state(new, previous):
            continue
        changed = True
        written.append(student)
        if not module.check_mode:
            _write(path, json.dumps(new, indent=2, sort_keys=True) + "\n")
    return changed, written


def render(module, params, now):
    board = params["board_dir"]
    records, missing = [], []
    for student in params["students"]:
        data = read_json(os.path.join(board, "students", student + ".json"))
        if data:
            records.append(data)
        else:
            missing.append(student)
    check = read_json(os.path.join(board, "check.json"))
    page = render_board(records, now, board, check=check, missing=missing)
    path = os.path.join(board, "index.html")
    old = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            found = STATE_RE.search(handle.read())
            old = found.group(1) if found else None
    changed = old != STATE_RE.search(page).group(1)
    if not module.check_mode:
        _write(path, page)
    module.exit_json(changed=changed, path=path, summary=summary_lines(records, missing),
                     stuck=[{"student": r["student"], "check": r["failing"], "since": r["failing_since"]}
                            for r in stuck(records)])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", required=True, choices=["record", "render"]),
            board_dir=dict(type="path", required=True),
            now=dict(type="str"),
            cluster=dict(type="str"),
            access_file=dict(type="path"),
            instances=dict(type="list", elements="dict", default=[]),
            reports_dir=dict(type="path"),
            mode=dict(type="str", default="apply"),
            nodes=dict(type="list", elements="dict"),
            zones=dict(type="list", elements="str", default=[]),
            workloads=dict(type="list", elements="dict", default=[]),
            addons=dict(type="list", elements="str", default=[]),
            addon_namespaces=dict(type="dict", default={}),
            addon_selectors=dict(type="dict", default={}),
            sheet_dir=dict(type="path"),
            students=dict(type="list", elements="str", default=[]),
            clusters=dict(type="list", elements="dict", default=[]),
        ),
        required_if=[("state", "record", ("reports_dir", "sheet_dir"))],
        supports_check_mode=True,
    )
    now = module.params["now"] or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    (record if module.params["state"] == "record" else render)(module, module.params, now)


if __name__ == "__main__":
    main()
