"""The contract every role keeps (issue 12 item 4, docs/architecture.md): its entry points exist, its argument spec
agrees with its defaults, its README names every default, and every role is included by a literal name, so the
edges from a day playbook to a role are visible to a reader and to ansible-lint. Static: reads YAML, runs nothing."""

import glob
import os
import re

import jinja2
import jinja2.meta
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = os.path.join(ROOT, "roles")
GROUP_VARS = os.path.join(ROOT, "playbooks", "group_vars", "all", "main.yml")
ADDONS = yaml.safe_load(open(GROUP_VARS, encoding="utf-8"))["kubelab_addon_order"]
CLUSTER_ROLES = sorted(os.path.basename(path) for path in glob.glob(os.path.join(ROLES, "cluster_*")))
ALL_ROLES = sorted(os.path.basename(os.path.dirname(path)) for path in glob.glob(os.path.join(ROLES, "*", "tasks")))
INCLUDES = {"include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role"}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def defaults_of(role):
    path = os.path.join(ROLES, role, "defaults", "main.yml")
    return (load(path) or {}) if os.path.exists(path) else {}


def spec_defaults(role):
    """(entry point, option, default) of every option whose argument spec declares a default."""
    path = os.path.join(ROLES, role, "meta", "argument_specs.yml")
    specs = ((load(path) or {}).get("argument_specs") or {}) if os.path.exists(path) else {}
    return [(entry, name, option["default"]) for entry, spec in specs.items()
            for name, option in (spec.get("options") or {}).items() if "default" in option]


def walk_tasks(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        yield task
        for part in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks"):
            yield from walk_tasks(task.get(part))


def role_includes():
    """(file, role name) of every include_role/import_role in the playbooks and the roles' tasks."""
    files = glob.glob(os.path.join(ROOT, "playbooks", "*.yml")) + glob.glob(os.path.join(ROLES, "*", "tasks", "*.yml"))
    for path in sorted(files):
        for task in walk_tasks(load(path)):
            for action in INCLUDES & set(task):
                yield os.path.relpath(path, ROOT), task[action]["name"]


@pytest.mark.parametrize("role", CLUSTER_ROLES)
def test_cluster_role_has_check_render_main_and_delete(role):
    missing = [entry for entry in ("check", "render", "main", "delete")
               if not os.path.exists(os.path.join(ROLES, role, "tasks", entry + ".yml"))]
    assert not missing, "roles/%s/tasks/ lacks %s" % (role, ", ".join(entry + ".yml" for entry in missing))


@pytest.mark.parametrize("role", ADDONS)
def test_addon_role_has_check_render_and_main(role):
    missing = [entry for entry in ("check", "render", "main")
               if not os.path.exists(os.path.join(ROLES, role, "tasks", entry + ".yml"))]
    assert not missing, "roles/%s/tasks/ lacks %s" % (role, ", ".join(entry + ".yml" for entry in missing))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_argument_spec_defaults_equal_role_defaults(role):
    defaults = defaults_of(role)
    wrong = ["%s.%s: spec %r, defaults/main.yml %r" % (entry, name, value, defaults.get(name, "<absent>"))
             for entry, name, value in spec_defaults(role) if defaults.get(name, object()) != value]
    assert not wrong, "roles/%s/meta/argument_specs.yml disagrees with defaults/main.yml: %s" % (role, "; ".join(wrong))


@pytest.mark.parametrize("role", ALL_ROLES)
def test_readme_lists_every_default(role):
    with open(os.path.join(ROLES, role, "README.md"), encoding="utf-8") as handle:
        readme = handle.read()
    missing = [name for name in defaults_of(role) if not re.search(r"\b%s\b" % re.escape(name), readme)]
    assert not missing, "roles/%s/README.md does not list %s" % (role, ", ".join(missing))


def test_every_role_is_included_by_a_literal_name():
    built = ["%s: %s" % (path, name) for path, name in role_includes() if "{{" in str(name) or "{%" in str(name)]
    assert not built, "role names built from strings (no reader or lint can follow them): %s" % "; ".join(built)
    unknown = ["%s: %s" % (path, name) for path, name in role_includes() if name not in ALL_ROLES]
    assert not unknown, "includes of roles that do not exist: %s" % "; ".join(unknown)


def entry_point_includes():
    """(file, role, tasks_from) of every include_role/import_role with tasks_from, in every YAML file of the project
    that Ansible runs: playbooks, roles (tasks and Molecule scenarios), molecule/ and the tests' playbooks."""
    patterns = ("playbooks/*.yml", "roles/*/tasks/*.yml", "roles/*/molecule/*/*.yml", "molecule/**/*.yml",
                "tests/**/*.yml")
    for path in sorted({p for pattern in patterns for p in glob.glob(os.path.join(ROOT, pattern), recursive=True)}):
        data = load(path)
        for task in walk_tasks(data if isinstance(data, list) else []):
            for action in INCLUDES & set(task):
                if "tasks_from" in task[action]:
                    yield os.path.relpath(path, ROOT), task[action]["name"], str(task[action]["tasks_from"])


def test_every_entry_point_is_named_as_its_argument_spec():
    # Ansible looks the argument spec up by the literal tasks_from: `tasks_from: check.yml` runs tasks/check.yml but
    # matches no spec entry, and validates nothing (preflight's checks did exactly that until 2026-12-06).
    suffixed = ["%s: %s tasks_from %s" % include for include in entry_point_includes()
                if include[2].endswith((".yml", ".yaml"))]
    assert not suffixed, "write tasks_from without .yml, or the entry point's argument spec never applies: %s" % suffixed


# Options that come from each cluster's host variables (not from the class's settings), so preflight cannot
# validate them on the controller: the access sheet's endpoints read the cluster's ingress port.
PER_CLUSTER_OPTIONS = {"students": {"students_addon_endpoints"}}


@pytest.mark.parametrize("role", CLUSTER_ROLES + ADDONS + ["lab", "students"])
def test_preflight_validates_each_role_once_and_plan_mode_does_not_again(role):
    """check (preflight, once per run, on the controller) validates main's options; the plan-mode entry point has
    no spec of its own, which would validate the same options again on every cluster (a worker each), unless an
    option is per cluster."""
    with open(os.path.join(ROLES, role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    per_cluster = PER_CLUSTER_OPTIONS.get(role, set())
    assert set(specs["check"]["options"]) == set(specs["main"]["options"]) - per_cluster
    plan_entry = "plan" if role == "lab" else "render"
    assert (plan_entry in specs) == bool(per_cluster), (
        "roles/%s/meta/argument_specs.yml: %s entry %s" % (role, plan_entry, "missing" if per_cluster else "present"))
    preflight = [include for include in entry_point_includes()
                 if include[0].startswith("roles/preflight/") and include[1:] == (role, "check")]
    assert preflight, "preflight does not include %s's check entry point" % role


def test_day_plays_include_the_addons_in_kubelab_addon_order():
    plays = load(os.path.join(ROOT, "playbooks", "day.yml"))
    included = [task[action]["name"] for play in plays for task in walk_tasks(play.get("tasks"))
                for action in INCLUDES & set(task) if task[action]["name"] in ADDONS]
    assert included == ADDONS


def test_day_plays_tag_each_component_and_its_tasks_with_its_name():
    plays = load(os.path.join(ROOT, "playbooks", "day.yml"))
    untagged = []
    for play in plays:
        for task in walk_tasks(play.get("tasks")):
            for action in INCLUDES & set(task):
                name = task[action]["name"]
                expected = "cluster" if name.startswith("cluster_") else name
                applied = ((task[action].get("apply") or {}).get("tags") or []) if action.endswith("include_role") else []
                if not {expected, "always"} & set(task.get("tags") or []) or (
                        action.endswith("include_role") and set(applied) != set(task.get("tags"))):
                    untagged.append(task["name"])
    assert not untagged, "day.yml includes without their component's tag (on the task and in apply): %s" % untagged


@pytest.mark.parametrize("role", CLUSTER_ROLES + ADDONS + ["lab", "students"])
def test_cluster_play_roles_leave_the_mode_to_the_entry_point(role):
    """The day plays decide plan or apply once (kubelab_entry_point: render.yml or main.yml); main.yml is the apply
    path and no task of these roles asks for kubelab_mode again."""
    asking = []
    for path in sorted(glob.glob(os.path.join(ROLES, role, "tasks", "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            asking += ["%s:%d" % (os.path.relpath(path, ROOT), number)
                       for number, line in enumerate(handle, 1) if "kubelab_mode" in line]
    assert not asking, "kubelab_mode conditions inside the role: %s" % ", ".join(asking)


def test_every_wait_tries_at_least_twice_whatever_the_timeout():
    # ansible-core runs a task with `until` and retries: 0 once and never evaluates `until`
    # (lib/ansible/executor/task_executor.py: attempts = 1 + max(0, retries); the until check and the final
    # failed=True only when attempts > 1), so a wait computed as timeout / delay must not round down to 0: with a
    # timeout below the delay it would pass whatever the state.
    env = jinja2.Environment()
    waits = []
    for path in sorted(glob.glob(os.path.join(ROLES, "*", "tasks", "*.yml"))):
        for task in walk_tasks(load(path)):
            if "until" in task and isinstance(task.get("retries"), str):
                expression = task["retries"].strip()[2:-2]
                names = jinja2.meta.find_undeclared_variables(env.parse(task["retries"]))
                retries = env.compile_expression(expression)(**{name: 1 for name in names})
                waits.append((os.path.relpath(path, ROOT), task["name"], retries))
    assert len(waits) >= 10, "the waits computed from a timeout were not found"
    assert [wait for wait in waits if wait[2] < 1] == []


JINJA = re.compile(r"\{\{.*?\}\}")
PLAN_PATH = re.compile(r"\{\{ kubelab_plan_dir \}\}/((?:\{\{.*?\}\}|[^\s\"'{])+)")


def rendered_plan_paths():
    """Every `path:` of the render.yml files: the artifacts they write (relative to the cluster's plan directory),
    whether given to plan_artifact directly or built first in a fact."""
    def paths_in(node):
        if isinstance(node, dict):
            if isinstance(node.get("path"), str):
                yield node["path"]
            for value in node.values():
                yield from paths_in(value)
        elif isinstance(node, list):
            for value in node:
                yield from paths_in(value)

    return {found for path in glob.glob(os.path.join(ROLES, "*", "tasks", "render.yml")) for found in paths_in(load(path))}


def read_plan_paths():
    """(file:line, path) of every plan path another task file of a role names: what apply reads of the plan."""
    for path in sorted(glob.glob(os.path.join(ROLES, "*", "tasks", "*.yml"))):
        if os.path.basename(path) == "render.yml":
            continue
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                for match in PLAN_PATH.finditer(line):
                    yield "%s:%d" % (os.path.relpath(path, ROOT), number), match.group(1).rstrip(".")


def test_every_plan_path_an_apply_task_reads_is_one_a_render_task_writes():
    # Apply reads the plan back by path; the path is written twice (render.yml and the reading task), so a rename
    # on one side only would leave apply reading a file nobody writes. Templated parts match any name.
    rendered = rendered_plan_paths()

    def pattern(text):
        parts = JINJA.split(text)
        return re.compile("[^/]*".join(re.escape(part) for part in parts) + "(/.*)?$")

    read = list(read_plan_paths())
    assert len(read) >= 20, "the plan paths the apply tasks read were not found"
    unknown = [(where, path) for where, path in read
               if not any(pattern(path).match(JINJA.sub("x", done)) for done in rendered)]
    assert unknown == []


# The plays after the clusters' include these roles on one cluster in plan mode (kubelab_render_once), so their
# render entry points must render every cluster of the play. The cluster roles are included on every cluster.
CLASS_RENDERED = ADDONS + ["lab", "students", "cluster_kind"]


@pytest.mark.parametrize("role", CLASS_RENDERED)
def test_render_tasks_render_every_cluster_of_the_play_once(role):
    """Every task of the role's render.yml runs once for the class; a plan_artifact task writes into the plan of
    every cluster of the play (clusters) or loops over them (kubelab_render_cluster)."""
    tasks = list(walk_tasks(load(os.path.join(ROLES, role, "tasks", "render.yml"))))
    assert tasks
    for task in tasks:
        assert task.get("run_once") is True, "%s render.yml: %s runs once per cluster" % (role, task["name"])
        artifact = task.get("kubelab.core.plan_artifact")
        if artifact is None:
            continue
        if "clusters" in artifact:
            assert "kubelab.core.play_clusters(hostvars, kubelab_plan_dir)" in artifact["clusters"], task["name"]
        else:
            assert "kubelab.core.play_clusters(hostvars)" in task["loop"], task["name"]
            assert task["loop_control"]["loop_var"] == "kubelab_render_cluster", task["name"]
            assert task["vars"]["kubelab_cluster"] == "{{ kubelab_render_cluster }}", task["name"]
            assert artifact["cluster"] == "{{ kubelab_cluster.name }}", task["name"]


def test_plan_mode_includes_the_class_rendered_roles_once():
    plays = load(os.path.join(ROOT, "playbooks", "day.yml"))
    once = {task[action]["name"]: task.get("run_once") for play in plays for task in walk_tasks(play.get("tasks"))
            for action in INCLUDES & set(task)}
    assert {role: once[role] for role in CLASS_RENDERED if role != "cluster_kind"} == {
        role: "{{ kubelab_render_once }}" for role in CLASS_RENDERED if role != "cluster_kind"}
    # kubeadm's and an existing cluster's render stay per cluster, so the Clusters play includes on every cluster.
    assert not any(once[role] for role in CLUSTER_ROLES)
