#!/usr/bin/env python3
"""Task coverage of the test suite (make coverage; the end of make test).

Reads the records the callback plugin kubelab.core.task_coverage wrote (one JSON line per task that executed,
keyed by file and line), enumerates every task the project has (roles/*/tasks/*.yml and playbooks/*.yml,
block/rescue/always included; import_tasks/import_role are not tasks, their contents are), and prints per role
"N of M tasks executed (P %)", the apply-path figures of the day playbooks for the kind and the kubeadm
provider, and (without --brief) every task never executed. The last line is
"apply-path task coverage: N of M (P %)" (kind provider). With --floor FILE it exits 1 when that percentage is
below the floor kept in FILE.

The apply path of a provider is computed statically (see tests/README.md, "Task coverage"): the plays of
playbooks/day1.yml, day3.yml, day4.yml, lab-reset.yml and teardown.yml whose hosts exist with that provider,
following import_playbook, roles:, include_role/import_role (tasks_from) and include_tasks/import_tasks, with
kubelab_mode=apply, kubelab_provider, kubelab_day and the day's kubelab_addons/kubelab_labs
(playbooks/days/), kubelab_addon_order and kubelab_entry_point (group_vars) and loops over those known values. A
`when` is dropped only when it is false for those known values alone; any condition on another variable
(inventory options, role defaults, registered results, the student given) counts as possibly true, and rescue
tasks count as reachable.
"""

import argparse
import functools
import glob
import json
import os
import sys
import warnings

import yaml
from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.nativetypes import NativeEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
APPLY_PLAYBOOKS = ["playbooks/day1.yml", "playbooks/day3.yml", "playbooks/day4.yml", "playbooks/lab-reset.yml",
                   "playbooks/teardown.yml"]
# The host groups that have hosts with each provider (inventories/local and classroom: kind_hosts;
# inventories/kubeadm: the VM groups). Plays on other groups match no host.
PROVIDER_GROUPS = {
    "kind": {"all", "localhost", "kind_hosts", "kubelab_clusters"},
    "kubeadm": {"all", "localhost", "kubeadm_control_plane", "kubeadm_workers", "kubeadm_nodes", "kubelab_clusters"},
}
INCLUDE_TASKS = {"include_tasks", "ansible.builtin.include_tasks"}
IMPORT_TASKS = {"import_tasks", "ansible.builtin.import_tasks"}
INCLUDE_ROLE = {"include_role", "ansible.builtin.include_role"}
IMPORT_ROLE = {"import_role", "ansible.builtin.import_role"}
# Keywords of a task that are not its action.
TASK_KEYWORDS = {
    "name", "when", "loop", "loop_control", "vars", "tags", "register", "changed_when", "failed_when", "become",
    "become_user", "become_method", "delegate_to", "delegate_facts", "run_once", "no_log", "ignore_errors",
    "ignore_unreachable", "environment", "retries", "until", "delay", "notify", "listen", "args", "check_mode",
    "diff", "any_errors_fatal", "throttle", "timeout", "async", "poll", "connection", "remote_user", "port",
    "module_defaults", "collections", "debugger", "block", "rescue", "always",
}
PLAY_SECTIONS = ("pre_tasks", "tasks", "post_tasks")
# Project-wide values the apply path is computed with (playbooks/group_vars/all/main.yml; days override the lists;
# kubelab_entry_point, the day plays' entry point of each role, follows from kubelab_mode).
KNOWN_GROUP_VARS = ("kubelab_addon_order", "kubelab_addons", "kubelab_labs", "kubelab_entry_point")


class _Map(dict):
    """A YAML mapping that remembers the line it starts on (the line Ansible's task.get_path() reports)."""

    line = 0


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    pass


def _construct_map(loader, node):
    data = _Map()
    data.line = node.start_mark.line + 1
    yield data
    data.update(loader.construct_mapping(node))


def _construct_tagged(loader, _suffix, node):
    # Ansible's own tags (!unsafe, !vault): the value as written is enough here.
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    return None


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_multi_constructor("!", _construct_tagged)


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def action_of(task):
    return next((key for key in task if key not in TASK_KEYWORDS and not key.startswith("with_")), None)


def listify(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def iter_tasks(tasks, section="tasks"):
    """(task mapping, section) of every task in a task list, inside blocks too; imports are not tasks."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        if "block" in task:
            for part in ("block", "rescue", "always"):
                yield from iter_tasks(task.get(part), section if part == "block" else part)
        elif action_of(task) not in IMPORT_TASKS | IMPORT_ROLE:
            yield task, section


def task_files(root):
    files = sorted(glob.glob(os.path.join(root, "roles", "*", "tasks", "*.yml")))
    return files + sorted(glob.glob(os.path.join(root, "playbooks", "*.yml")))


def task_lists(path):
    """The task lists of a file: the file itself (role tasks) or each play's pre_tasks/tasks/post_tasks."""
    data = load_yaml(path) or []
    if "/playbooks/" not in path.replace(os.sep, "/"):
        return [data]
    return [play.get(section) for play in data if isinstance(play, dict) for section in PLAY_SECTIONS]


def enumerate_tasks(root=ROOT):
    """{(path relative to root, line): {"name", "group", "section"}} of every task of the project."""
    found = {}
    for path in task_files(root):
        rel = os.path.relpath(path, root)
        parts = rel.split(os.sep)
        group = parts[1] if parts[0] == "roles" else "playbooks"
        for tasks in task_lists(path):
            for task, section in iter_tasks(tasks):
                found[(rel, task.line)] = {"name": task.get("name") or action_of(task), "group": group,
                                           "section": section}
    return found


# --- evaluating conditions and names with only the known variables -------------------------------------------

UNKNOWN = object()


def _fail_unknown(value):
    if isinstance(value, Undefined):
        raise TemplateError("unknown variable")


def _bool(value):
    _fail_unknown(value)
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "on", "1", "true", "y", "t")
    return bool(value)


def _default(value, default_value="", boolean=False):
    _fail_unknown(value)  # an unknown variable may well be set: its default says nothing
    return default_value if boolean and not value else value


def _intersect(first, second):
    _fail_unknown(first)
    _fail_unknown(second)
    return [item for item in first if item in second]


def _defined(value):
    _fail_unknown(value)
    return True


ENV = NativeEnvironment(undefined=StrictUndefined)
ENV.filters.update({"bool": _bool, "default": _default, "d": _default, "intersect": _intersect})
ENV.tests.update({"defined": _defined})


class _Unknown:
    """An unknown value in a loop expression, for the filters that can only remove items."""


def _loop_default(value, default_value="", boolean=False):
    return _Unknown() if isinstance(value, Undefined) else _default(value, default_value, boolean)


def _narrowing(keep):
    """A filter that removes items: with an unknown argument it keeps them all (the loop's items can only be fewer)."""
    def narrow(seq, *args):
        _fail_unknown(seq)
        if any(isinstance(arg, (Undefined, _Unknown)) for arg in args):
            return list(seq)
        return [item for item in seq if keep(item, *args)]
    return narrow


# Loops: a superset of the items is enough to find what an include can reach.
LOOP_ENV = ENV.overlay()
LOOP_ENV.filters.update({
    "default": _loop_default, "d": _loop_default, "difference": _narrowing(lambda item, other: item not in other),
    "reject": _narrowing(lambda item, test, other: not (test == "in" and item in other)),
})


def template(value, known, env=ENV):
    """value with its Jinja rendered from the known variables, or UNKNOWN."""
    if isinstance(value, list):
        items = [template(item, known, env) for item in value]
        return UNKNOWN if UNKNOWN in items else items
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value
    try:
        with warnings.catch_warnings():  # regular expressions in templates make Jinja's lexer warn
            warnings.simplefilter("ignore", DeprecationWarning)
            result = env.from_string(value).render(known)
    except (TemplateError, TypeError, ValueError, AttributeError):
        return UNKNOWN
    return UNKNOWN if isinstance(result, Undefined) else result


def condition(expression, known):
    """True, False, or None when the known variables do not decide it."""
    if isinstance(expression, bool):
        return expression
    if isinstance(expression, str) and "{{" in expression:
        value = template(expression, known)
        return None if value is UNKNOWN else _bool(value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            value = ENV.compile_expression(str(expression), undefined_to_none=False)(**known)
    except (TemplateError, TypeError, ValueError, AttributeError):
        return None
    return None if isinstance(value, Undefined) else bool(value)


def with_vars(known, variables):
    """known plus the variables whose values the known ones decide; the others become unknown."""
    known = dict(known)
    for name, value in (variables or {}).items():
        value = template(value, known)
        if value is UNKNOWN:
            known.pop(name, None)
        else:
            known[name] = value
    return known


# --- the apply path -----------------------------------------------------------------------------------------

class ApplyPath:
    """Statically follows playbooks into roles and task files; `reached` holds (path, line) of every task on
    the path, `unresolved` the includes whose target is unknown or missing."""

    def __init__(self, root, provider, fixed):
        self.root = root
        self.groups = PROVIDER_GROUPS[provider]
        self.fixed = dict(fixed, kubelab_provider=provider)
        self.reached = set()
        self.unresolved = set()
        self._done = set()

    def rel(self, path):
        return os.path.relpath(path, self.root)

    def playbook(self, path, known):
        for play in load_yaml(path) or []:
            if not isinstance(play, dict):
                continue
            imported = play.get("import_playbook", play.get("ansible.builtin.import_playbook"))
            if imported:
                self.playbook(os.path.join(os.path.dirname(path), imported), with_vars(known, play.get("vars")))
            elif self._hosts_exist(play.get("hosts", "")):
                self.play(path, play, known)

    def _hosts_exist(self, hosts):
        patterns = hosts if isinstance(hosts, list) else str(hosts).replace(",", ":").split(":")
        return any(pattern.strip().lstrip("!&") in self.groups for pattern in patterns)

    def play(self, path, play, known):
        known = with_vars(known, play.get("vars"))
        for vars_file in listify(play.get("vars_files")):
            name = template(vars_file, self._known(known))
            full = os.path.join(os.path.dirname(path), name) if name is not UNKNOWN else None
            if full and os.path.exists(full):
                known.update(load_yaml(full) or {})
        known = self._known(known)
        for role in listify(play.get("roles")):
            role = {"role": role} if isinstance(role, str) else role
            if condition_all(listify(role.get("when")), known) is not False:
                self.role(path, play.line, role.get("role") or role.get("name"), "main", with_vars(known, role.get("vars")))
        for section in PLAY_SECTIONS:
            self.tasks(path, play.get(section), known, [])

    def _known(self, known):
        return dict(known, **self.fixed)  # extra-vars level: nothing overrides them

    def tasks(self, path, tasks, known, conditions):
        for task in tasks or []:
            if isinstance(task, dict):
                self.task(path, task, known, conditions)

    def task(self, path, task, known, conditions):
        known = self._known(with_vars(known, task.get("vars")))
        conditions = conditions + listify(task.get("when"))
        if "block" in task:
            if condition_all(conditions, known) is not False:
                for part in ("block", "rescue", "always"):
                    self.tasks(path, task.get(part), known, conditions)
            return
        action = action_of(task)
        for item_known in self._loop(task, known):
            if condition_all(conditions, item_known) is False:
                continue
            if action not in IMPORT_TASKS | IMPORT_ROLE:
                self.reached.add((self.rel(path), task.line))
            args = task.get(action)
            # An include's `when` is its own; an import's applies to every task it brings in.
            inherited = conditions if action in IMPORT_TASKS | IMPORT_ROLE else []
            if action in INCLUDE_TASKS | IMPORT_TASKS:
                name = template(args.get("file") if isinstance(args, dict) else args, item_known)
                full = UNKNOWN if name is UNKNOWN else os.path.join(os.path.dirname(path), str(name))
                self.file(path, task.line, full, item_known, inherited)
            elif action in INCLUDE_ROLE | IMPORT_ROLE:
                role = template(args.get("name"), item_known)
                tasks_from = template(args.get("tasks_from", "main"), item_known)
                if UNKNOWN in (role, tasks_from):
                    self.unresolved.add((self.rel(path), task.line, "role or tasks_from unknown"))
                else:
                    self.role(path, task.line, role, tasks_from, item_known, inherited)

    def _loop(self, task, known):
        """One set of known variables per loop item when the loop is known; the loop variable unknown otherwise."""
        loop = task.get("loop", task.get("with_items"))
        if loop is None:
            return [known]
        loop_var = (task.get("loop_control") or {}).get("loop_var", "item")
        items = template(loop, known, LOOP_ENV)
        if items is UNKNOWN or not isinstance(items, list):
            return [{name: value for name, value in known.items() if name != loop_var}]
        return [dict(known, **{loop_var: item}) for item in items]

    def role(self, path, line, role, tasks_from, known, conditions=()):
        name = tasks_from if os.path.splitext(tasks_from)[1] else tasks_from + ".yml"
        full = os.path.join(self.root, "roles", role, "tasks", name)
        self.file(path, line, full, known, list(conditions))

    def file(self, path, line, full, known, conditions):
        """Follows the task file `full`, included at path:line."""
        if full is UNKNOWN:
            self.unresolved.add((self.rel(path), line, "file name unknown"))
            return
        if not os.path.exists(full):
            self.unresolved.add((self.rel(path), line, "missing " + self.rel(full)))
            return
        key = (full, json.dumps(known, sort_keys=True, default=str), json.dumps(conditions, default=str))
        if key in self._done:
            return
        self._done.add(key)
        self.tasks(full, load_yaml(full), known, conditions)


def condition_all(conditions, known):
    """False when one condition is false for the known variables, else True or None (undecided)."""
    verdicts = [condition(expression, known) for expression in conditions]
    if False in verdicts:
        return False
    return None if None in verdicts else True


def apply_path(provider, root=ROOT, playbooks=None):
    """(reached, unresolved) of a provider's apply path."""
    return _apply_path(provider, root, tuple(playbooks or APPLY_PLAYBOOKS))


@functools.lru_cache(maxsize=None)
def _apply_path(provider, root, playbooks):
    group_vars = load_yaml(os.path.join(root, "playbooks", "group_vars", "all", "main.yml")) or {}
    fixed = {"kubelab_mode": "apply"}
    base = with_vars(fixed, {name: group_vars[name] for name in KNOWN_GROUP_VARS if name in group_vars})
    walker = ApplyPath(root, provider, fixed)
    for playbook in playbooks:
        known = dict(base)
        # The day's lists (playbooks/days/dayN.yml), which preflight hands to every cluster host (add_host).
        day_file = os.path.join(root, "playbooks", "days", os.path.basename(playbook))
        if os.path.exists(day_file):
            known.update(load_yaml(day_file) or {})
        walker.playbook(os.path.join(root, playbook), known)
    return walker.reached, walker.unresolved


# --- records and the report ---------------------------------------------------------------------------------

def read_records(directory, root=ROOT):
    """{(path, line)} of every executed task the records name; paths made relative to root."""
    executed = set()
    for record_file in sorted(glob.glob(os.path.join(directory, "*.jsonl"))):
        with open(record_file, encoding="utf-8") as handle:
            for raw in handle:
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue  # a run killed while writing leaves a partial line
                path = record["path"]
                if os.path.isabs(path) and path.startswith(root + os.sep):
                    path = os.path.relpath(path, root)
                executed.add((path, int(record["line"])))
    return executed


def figure(done, total):
    percent = 100.0 * done / total if total else 100.0
    return "%d of %d (%.1f %%)" % (done, total, percent), percent


def report(records_dir, root=ROOT, brief=False, out=None):
    """Prints the report; returns the kind apply-path percentage."""
    out = out or sys.stdout
    tasks = enumerate_tasks(root)
    executed = read_records(records_dir, root) & set(tasks)
    paths = {provider: apply_path(provider, root) for provider in ("kind", "kubeadm")}
    print("Task coverage (records in %s)" % os.path.relpath(records_dir, root), file=out)
    for group in sorted({info["group"] for info in tasks.values()}):
        keys = {key for key, info in tasks.items() if info["group"] == group}
        print("  %-16s %s tasks executed" % (group, figure(len(keys & executed), len(keys))[0]), file=out)
    for provider, (reached, unresolved) in paths.items():
        print("apply path, %s provider: %s tasks executed" % (provider, figure(len(reached & executed), len(reached))[0]),
              file=out)
        for path, line, why in sorted(unresolved):
            print("  include not followed: %s:%d (%s)" % (path, line, why), file=out)
    never = sorted(set(tasks) - executed)
    kind_path = paths["kind"][0]
    if brief:
        print("%d tasks never executed (%d on the kind apply path): make coverage lists them"
              % (len(never), len(set(never) & kind_path)), file=out)
    else:
        print("Never executed (%d):" % len(never), file=out)
        for key in never:
            info = tasks[key]
            marks = [mark for mark, on in (("kind apply path", key in kind_path),
                                           ("kubeadm apply path", key in paths["kubeadm"][0]),
                                           (info["section"], info["section"] in ("rescue", "always"))) if on]
            print("  %s:%d  %s%s" % (key[0], key[1], info["name"], "  [%s]" % ", ".join(marks) if marks else ""),
                  file=out)
    text, percent = figure(len(kind_path & executed), len(kind_path))
    print("apply-path task coverage: %s" % text, file=out)
    return percent


def read_floor(path):
    """The floor (percent): the first line of the file that is not a comment."""
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle if line.strip() and not line.lstrip().startswith("#")]
    return float(lines[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--records", default=os.environ.get("KUBELAB_COVERAGE_DIR", os.path.join(ROOT, "build", "coverage")))
    parser.add_argument("--floor", help="fail when the kind apply-path percentage is below the floor in this file")
    parser.add_argument("--brief", action="store_true", help="no list of never executed tasks")
    args = parser.parse_args(argv)
    if not glob.glob(os.path.join(args.records, "*.jsonl")):
        print("No task coverage records in %s: run make test (or make coverage)." % args.records, file=sys.stderr)
        return 2
    percent = report(args.records, brief=args.brief)
    if args.floor:
        floor = read_floor(args.floor)
        if percent < floor:
            print("FAILED: apply-path task coverage %.1f %% is below the floor %.1f %% in %s. Test the tasks that "
                  "lost their test (make coverage lists them); never lower the floor silently."
                  % (percent, floor, args.floor), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
