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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubelab.core.plugins.module_utils.class_board import ARGUMENT_SPEC, REQUIRED_IF, run
from ansible_collections.kubelab.core.plugins.module_utils.errors import KubelabError


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    try:
        module.exit_json(**run(module.params, module.check_mode))
    except (KubelabError, OSError) as err:
        module.fail_json(msg=str(err))


if __name__ == "__main__":
    main()
