"""Task coverage: the callback kubelab.core.task_coverage records what executed, scripts/task_coverage.py
enumerates every task, computes the apply path and applies the floor."""

import importlib.util
import json
import os
import subprocess
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")

_spec = importlib.util.spec_from_file_location("task_coverage", os.path.join(ROOT, "scripts", "task_coverage.py"))
task_coverage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(task_coverage)


def write(root, rel, text):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture(name="tree")
def fixture_tree(tmp_path):
    """A small project: a role with an include in a loop, a skipped task, block/rescue/always, an import."""
    write(tmp_path, "roles/demo/tasks/main.yml", """
        - name: Imported tasks
          ansible.builtin.import_tasks: part.yml

        - name: Include in a loop
          ansible.builtin.include_tasks: looped.yml
          loop: [1, 2]

        - name: Skipped
          ansible.builtin.debug:
            msg: never
          when: false

        - name: A block
          block:
            - name: Fails on purpose
              ansible.builtin.fail:
                msg: boom
          rescue:
            - name: Rescued
              ansible.builtin.debug:
                msg: rescued
          always:
            - name: Always runs
              ansible.builtin.debug:
                msg: always
        """)
    write(tmp_path, "roles/demo/tasks/part.yml", """
        - name: From the import
          ansible.builtin.debug:
            msg: part
        """)
    write(tmp_path, "roles/demo/tasks/looped.yml", """
        - name: Once per item
          ansible.builtin.debug:
            msg: "{{ item }}"
        """)
    write(tmp_path, "roles/demo/tasks/unused.yml", """
        - name: Never included
          ansible.builtin.debug:
            msg: unused
        """)
    write(tmp_path, "playbooks/play.yml", """
        - name: Demo
          hosts: localhost
          gather_facts: false
          pre_tasks:
            - name: Before the role
              ansible.builtin.debug:
                msg: pre
          roles:
            - role: demo
          post_tasks:
            - name: After the role
              ansible.builtin.debug:
                msg: post
        """)
    return tmp_path


def run_playbook(tree, **extra_env):
    env = dict(os.environ, ANSIBLE_ROLES_PATH=str(tree / "roles"), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"),
               KUBELAB_PROJECT_DIR=str(tree), ANSIBLE_NOCOLOR="1", **extra_env)
    env.pop("KUBELAB_COVERAGE_DIR", None)
    env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
    env.update(extra_env)
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", "playbooks/play.yml"], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def test_callback_records_executed_tasks_once_by_file_and_line(tree):
    records = tree / "records"
    result = run_playbook(tree, KUBELAB_COVERAGE_DIR=str(records),
                          ANSIBLE_CALLBACKS_ENABLED="kubelab.core.task_coverage")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [json.loads(line) for path in records.iterdir() for line in path.read_text().splitlines()]
    recorded = [(line["path"], line["line"]) for line in lines]
    assert sorted(recorded) == sorted([
        ("playbooks/play.yml", 5), ("playbooks/play.yml", 11),
        ("roles/demo/tasks/part.yml", 1),
        ("roles/demo/tasks/main.yml", 4), ("roles/demo/tasks/looped.yml", 1),
        ("roles/demo/tasks/main.yml", 15), ("roles/demo/tasks/main.yml", 19), ("roles/demo/tasks/main.yml", 23),
    ])  # once each (the loop ran twice), the skipped task not at all
    assert {line["status"] for line in lines if line["line"] == 15} == {"failed"}
    # Every recorded key is a task the static enumeration knows, at the same line.
    assert set(recorded) <= set(task_coverage.enumerate_tasks(str(tree)))


def test_callback_changes_no_output_and_records_nothing_without_a_directory(tree):
    plain = run_playbook(tree)
    enabled = run_playbook(tree, ANSIBLE_CALLBACKS_ENABLED="kubelab.core.task_coverage")
    recording = run_playbook(tree, ANSIBLE_CALLBACKS_ENABLED="kubelab.core.task_coverage",
                             KUBELAB_COVERAGE_DIR=str(tree / "records"))
    assert plain.stdout == enabled.stdout == recording.stdout
    assert "WARNING" not in enabled.stderr + recording.stderr
    assert list((tree / "records").iterdir())  # the run with a directory recorded, the others wrote nothing
    assert sorted(os.listdir(tree)) == ["playbooks", "records", "roles"]


def test_enumeration_counts_block_rescue_always_and_skips_imports(tree):
    tasks = task_coverage.enumerate_tasks(str(tree))
    assert sorted(tasks) == sorted([
        ("playbooks/play.yml", 5), ("playbooks/play.yml", 11),
        ("roles/demo/tasks/looped.yml", 1), ("roles/demo/tasks/main.yml", 4), ("roles/demo/tasks/main.yml", 8),
        ("roles/demo/tasks/main.yml", 15), ("roles/demo/tasks/main.yml", 19), ("roles/demo/tasks/main.yml", 23),
        ("roles/demo/tasks/part.yml", 1), ("roles/demo/tasks/unused.yml", 1),
    ])
    assert tasks[("roles/demo/tasks/main.yml", 19)] == {"name": "Rescued", "group": "demo", "section": "rescue"}
    assert tasks[("playbooks/play.yml", 11)]["group"] == "playbooks"


@pytest.fixture(name="days")
def fixture_days(tmp_path):
    """Day playbooks shaped like the project's: provider-named roles, mode-chosen entry points, an add-on loop."""
    write(tmp_path, "playbooks/group_vars/all/main.yml", """
        kubelab_addon_order: [one, two, three]
        kubelab_addons: []
        kubelab_labs: []
        """)
    write(tmp_path, "playbooks/days/day1.yml", "kubelab_addons: [three, one]\n")
    write(tmp_path, "playbooks/day1.yml", """
        - name: Day 1
          ansible.builtin.import_playbook: day.yml
          vars:
            kubelab_day: 1
        """)
    write(tmp_path, "playbooks/day.yml", """
        - name: Clusters
          hosts: kubelab_clusters
          tasks:
            - name: Create the cluster
              ansible.builtin.include_role:
                name: cluster_{{ kubelab_provider }}
                tasks_from: "{{ 'render' if kubelab_mode == 'plan' else 'main' }}"
            - name: Add-ons
              ansible.builtin.include_role:
                name: "{{ addon }}"
              # An unknown value that can only remove add-ons: the path keeps them all.
              loop: "{{ kubelab_addon_order | intersect(kubelab_addons) | reject('in', provided | default([])) }}"
              loop_control:
                loop_var: addon
        - name: VMs
          hosts: kubeadm_workers
          tasks:
            - name: Only on VMs
              ansible.builtin.debug:
                msg: vm
        """)
    for role in ("cluster_kind", "cluster_kubeadm", "one", "two", "three"):
        write(tmp_path, "roles/%s/tasks/main.yml" % role, """
            - name: Plan only
              ansible.builtin.debug:
                msg: plan
              when: kubelab_mode == 'plan'
            - name: Option of the inventory
              ansible.builtin.debug:
                msg: maybe
              when: some_option | bool and kubelab_mode == 'apply'
            - name: Unknown include
              ansible.builtin.include_tasks: "{{ some_file }}"
            - name: Kind only
              ansible.builtin.debug:
                msg: kind
              when: kubelab_provider == 'kind'
            """)
        write(tmp_path, "roles/%s/tasks/render.yml" % role, """
            - name: Render
              ansible.builtin.debug:
                msg: render
            """)
    return tmp_path


def test_apply_path_follows_provider_mode_and_the_addon_loop(days):
    reached, unresolved = task_coverage.apply_path("kind", root=str(days), playbooks=["playbooks/day1.yml"])
    roles = {path.split("/")[1] for path, _line in reached if path.startswith("roles/")}
    assert roles == {"cluster_kind", "one", "three"}  # not kubeadm's, not add-on two, no render.yml
    assert ("roles/one/tasks/main.yml", 1) not in reached  # plan only
    assert {("roles/one/tasks/main.yml", 5), ("roles/one/tasks/main.yml", 9), ("roles/one/tasks/main.yml", 11)} <= reached
    assert ("playbooks/day.yml", 4) in reached and ("playbooks/day.yml", 18) not in reached  # no VMs with kind
    assert ("roles/one/tasks/main.yml", 9, "file name unknown") in unresolved

    reached, _unresolved = task_coverage.apply_path("kubeadm", root=str(days), playbooks=["playbooks/day1.yml"])
    assert ("playbooks/day.yml", 18) in reached
    assert ("roles/cluster_kubeadm/tasks/main.yml", 5) in reached
    assert ("roles/cluster_kubeadm/tasks/main.yml", 11) not in reached  # kind only
    assert not any(path.startswith("roles/cluster_kind/") for path, _line in reached)


def test_the_projects_kind_apply_path_is_fully_resolved():
    reached, unresolved = task_coverage.apply_path("kind")
    assert not unresolved
    files = {path for path, _line in reached}
    assert {"roles/cluster_kind/tasks/apply.yml", "roles/cluster_kind/tasks/delete.yml", "roles/lab/tasks/reset.yml",
            "roles/velero/tasks/apply.yml", "roles/toolchain/tasks/install.yml"} <= files
    assert not any("kubeadm" in path for path in files)
    assert reached <= set(task_coverage.enumerate_tasks())


def test_report_floor_and_last_line(tree, tmp_path, capsys):
    records = tmp_path / "records"
    records.mkdir()
    reached, _unresolved = task_coverage.apply_path("kind")
    half = sorted(reached)[: len(reached) // 2]
    records.joinpath("1.jsonl").write_text(
        "".join(json.dumps({"path": path, "line": line, "name": "x", "status": "ok"}) + "\n" for path, line in half)
        + '{"path": "cut off')
    floor = tmp_path / "floor.txt"
    floor.write_text("# never lower silently\n50.1\n")
    assert task_coverage.main(["--records", str(records), "--floor", str(floor)]) == 1
    out = capsys.readouterr()
    expected = "apply-path task coverage: %d of %d (%.1f %%)" % (len(half), len(reached), 100.0 * len(half) / len(reached))
    assert out.out.rstrip("\n").splitlines()[-1] == expected
    assert "below the floor 50.1 %" in out.err
    floor.write_text("# never lower silently\n%.1f\n" % (100.0 * len(half) / len(reached) - 0.1))
    assert task_coverage.main(["--records", str(records), "--floor", str(floor), "--brief"]) == 0
    assert task_coverage.main(["--records", str(tmp_path / "none")]) == 2
