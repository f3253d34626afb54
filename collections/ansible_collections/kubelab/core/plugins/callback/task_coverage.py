# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Records which tasks executed, for the project's task coverage (scripts/task_coverage.py)."""

from __future__ import annotations

DOCUMENTATION = """
name: task_coverage
type: aggregate
short_description: Record every task that executed, for kubelab's task coverage
description:
  - Appends one JSON line per task that executed (ok, changed or failed; not skipped) to a file of its own in
    the directory O(directory). A task is keyed by its file relative to the project and the line the task
    starts on (the task's get_path()), so tasks of included files and loops are attributed to where they are
    written. Each task is written once per ansible-playbook process.
  - Does nothing when O(directory) is not set, and never changes the output of the run.
  - scripts/task_coverage.py reads the records (make coverage).
requirements:
  - enable it with ANSIBLE_CALLBACKS_ENABLED=kubelab.core.task_coverage
options:
  directory:
    description:
      - Directory the records go to (created if missing). Unset means no recording.
    type: path
    env:
      - name: KUBELAB_COVERAGE_DIR
  project_dir:
    description:
      - Paths below this directory are recorded relative to it; others stay absolute.
    type: path
    env:
      - name: KUBELAB_PROJECT_DIR
"""

import json
import os
import uuid

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kubelab.core.task_coverage"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self._seen = set()
        self._file = None

    def _record(self, result, status):
        directory = self.get_option("directory")
        if not directory:
            return
        task = result.task
        path, _, line = task.get_path().rpartition(":")
        if not path:
            return
        project = self.get_option("project_dir")
        path = os.path.realpath(path)
        if project and path.startswith(os.path.realpath(project) + os.sep):
            path = os.path.relpath(path, os.path.realpath(project))
        key = (path, int(line))
        if key in self._seen:
            return
        self._seen.add(key)
        if self._file is None:
            os.makedirs(directory, exist_ok=True)
            # One file per process: concurrent runs (pytest, Molecule) never write to the same file.
            name = "%d-%s.jsonl" % (os.getpid(), uuid.uuid4().hex[:8])
            self._file = open(os.path.join(directory, name), "a", encoding="utf-8")  # pylint: disable=consider-using-with
        self._file.write(json.dumps({"path": path, "line": int(line), "name": task.get_name(), "status": status}) + "\n")
        self._file.flush()

    def v2_runner_on_ok(self, result):
        self._record(result, "changed" if result.result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, "failed")

    def v2_playbook_on_stats(self, stats):
        if self._file is not None:
            self._file.close()
            self._file = None
