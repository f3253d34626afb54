"""Input hygiene (issue 16 item 4): a mistyped inventory, day or variable, a comma string for a list, an unconfirmed
class teardown: each stops before anything changes with a message that says what to fix. make targets run with
`-o .venv/.installed-run` so the tests never install anything."""

import json
import os
import subprocess

import pytest

from conftest import ROOT, run_playbook

DAY3 = "playbooks/day3.yml"
NO_ADDONS = '{"kubelab_addons": [], "kubelab_labs": []}'


def make(*args):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed-run", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=False, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("target", ["day3", "plan", "teardown"])
def test_make_with_a_mistyped_inventory_stops_before_any_play(target):
    result = make(target, "INVENTORY=inventories/clasroom")
    assert result.returncode != 0
    assert "INVENTORY=inventories/clasroom: no such file or directory" in result.stderr
    assert "inventories/classroom" in result.stderr, "the message lists the inventories there are"
    assert "PLAY [" not in result.stdout


def test_playbook_with_a_mistyped_inventory_stops_in_preflight_naming_the_path(tmp_path):
    build = tmp_path / "build"
    result = run_playbook(DAY3, str(build), "-e", "kubelab_mode=plan", inventory="inventories/clasroom")
    assert result.returncode != 0
    assert "The inventory %s/inventories/clasroom has no host in the group kind_hosts" % ROOT in result.stdout
    assert not build.exists()


@pytest.mark.parametrize("args,message", [
    (["day2"], "make day2: no such day. Days: day1 day3 day4 site"),
    (["plan", "DAY=2"], "DAY=2: no such day. Days: 1 3 4 all"),
])
def test_an_unknown_day_lists_the_days(args, message):
    result = make(*args)
    assert result.returncode != 0
    assert message in result.stderr


def test_help_lists_every_user_command_and_variable():
    result = make("help")
    assert result.returncode == 0
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("  make ")}
    listed |= {word for line in result.stdout.splitlines() if line.startswith("  make ") for word in line.split()[1:5]}
    for command in ("day1", "day3", "day4", "site", "plan", "teardown", "lab-reset", "test", "bench"):
        assert command in listed, "make help does not list %s" % command
    # Every .PHONY target is a user command (listed) or one of the internal steps below.
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as handle:
        text = handle.read().replace("\\\n", " ")
    phony = {t for line in text.splitlines() if line.startswith(".PHONY:") for t in line.split(":", 1)[1].split()}
    internal = {"venv", "venv-dev", "inventory-check", "day-check", "molecule", "molecule-host", "molecule-cluster"}
    assert phony - internal - listed == set()
    for variable in ("INVENTORY=", "ARGS=", "STUDENT=", "DAY=", "LAB=", "REV="):
        assert variable in result.stdout
    # DAY= is read by make check, status and warm too, not only by make plan.
    assert "DAY= the day of plan, check, status and warm" in result.stdout


def test_an_unknown_kubelab_variable_is_refused_with_the_nearest_name(tmp_path):
    build = tmp_path / "build"
    result = run_playbook(DAY3, str(build), "-e", "kubelab_mode=plan", "-e", NO_ADDONS, "-e", "kubelab_worker=5")
    assert result.returncode != 0
    assert "kubelab_worker (did you mean kubelab_workers?)" in result.stdout
    assert not build.exists()


def test_a_wrong_add_on_variable_stops_in_preflight_before_any_cluster_play(tmp_path):
    # Preflight validates each enabled add-on's variables once, on the controller (its check entry point, the
    # options of main); plan mode's render entry points validate nothing again on each cluster.
    build = tmp_path / "build"
    result = run_playbook(DAY3, str(build), "-e", "kubelab_mode=plan", "-e", "csi_snapshot_controller_replicas=many")
    assert result.returncode != 0
    failed_task = result.stdout.split("fatal: [localhost]", 1)[0].rsplit("TASK [", 1)[-1]
    assert failed_task.startswith("csi : Validating arguments against arg spec 'check'"), failed_task[:200]
    assert "csi_snapshot_controller_replicas" in result.stdout and "cannot be converted to an int" in result.stdout
    assert "PLAY [Clusters]" not in result.stdout
    assert not build.exists()


def test_a_comma_string_for_a_list_is_refused_with_the_list_to_write(tmp_path):
    build = tmp_path / "build"
    result = run_playbook(DAY3, str(build), "-e", "kubelab_mode=plan", "-e", "kubelab_addons=cni,csi")
    assert result.returncode != 0
    assert ("kubelab_addons=cni,csi is one string, but kubelab_addons is a list. Give a list: "
            "-e '{\\\"kubelab_addons\\\": [\\\"cni\\\", \\\"csi\\\"]}'") in result.stdout
    # The old report: "kubelab_addons: unknown add-on(s) n, s, ,, i, c".
    assert "unknown add-on(s)" not in result.stdout, "reported character by character"
    assert not build.exists()


@pytest.mark.parametrize("inventory", ["inventories/local", "inventories/classroom", "inventories/kubeadm"])
def test_no_host_pattern_warnings_for_groups_the_provider_does_not_use(tmp_path, inventory):
    result = run_playbook(DAY3, str(tmp_path / "build"), "-e", "kubelab_mode=plan", "-e", NO_ADDONS,
                          inventory=inventory)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Could not match supplied host pattern" not in result.stdout + result.stderr


def test_make_plan_keeps_the_previous_plan_until_the_new_one_succeeds(tmp_path):
    plan = tmp_path / "plan"
    (plan / "kubelab-old").mkdir(parents=True)
    (plan / "kubelab-old" / "index.json").write_text("{}")
    build = "-e kubelab_build_dir=%s" % (tmp_path / "build")

    failed = make("plan", "PLAN_DIR=%s" % plan, "ARGS=%s -e kubelab_tenancy=bogus" % build)
    assert failed.returncode != 0
    assert "the previous plan in %s is kept" % plan in failed.stderr
    assert (plan / "kubelab-old" / "index.json").read_text() == "{}"
    assert not (tmp_path / "plan.new").exists()

    done = make("plan", "PLAN_DIR=%s" % plan, "ARGS=%s -e '%s'" % (build, NO_ADDONS))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert sorted(os.listdir(plan)) == ["kubelab-instructor"]
    with open(plan / "kubelab-instructor" / "index.json", encoding="utf-8") as handle:
        assert json.load(handle)["artifacts"]
    assert not (tmp_path / "plan.new").exists()


@pytest.fixture
def no_terminal():
    """Standard input is /dev/null for the playbooks this test starts (as in CI), even when pytest has a terminal."""
    saved = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(devnull, 0)
        yield
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(devnull)


def test_class_teardown_without_a_terminal_is_refused_unless_confirmed(tmp_path, no_terminal):
    build = tmp_path / "build"
    marker = build / "students" / "instructor" / "kubeconfig"
    marker.parent.mkdir(parents=True)
    marker.write_text("keep me")
    result = run_playbook("playbooks/teardown.yml", str(build))
    assert result.returncode != 0
    assert "The teardown of the whole class was not confirmed" in result.stdout
    assert "add -e confirm=yes" in result.stdout
    assert "Teardown - clusters and students" not in result.stdout, "the teardown went past the confirmation"
    assert marker.read_text() == "keep me"

    # Confirmed: the class goes (no kind binary in this build directory, so there is no cluster to delete).
    confirmed = run_playbook("playbooks/teardown.yml", str(build), "-e", "confirm=yes")
    assert confirmed.returncode == 0, confirmed.stdout[-3000:]
    assert not marker.exists()


def test_a_lab_refused_in_namespace_tenancy_names_the_command_for_the_rest_of_the_day(tmp_path):
    build = tmp_path / "build"
    result = run_playbook("playbooks/day4.yml", str(build), "-e", "kubelab_mode=plan", "-e", "kubelab_tenancy=namespace",
                          "-e", '{"kubelab_students": [{"name": "alice"}, {"name": "bob"}]}')
    assert result.returncode != 0
    out = " ".join(result.stdout.split())
    assert "Lab w2d4-gitops-backup cannot run in namespace tenancy" in out
    assert "run the day without it: -e '{\\\"kubelab_labs\\\": [\\\"w2d4-microservices\\\"]}'" in out or \
        "run the day without it: -e '{\"kubelab_labs\": [\"w2d4-microservices\"]}'" in out, out[-2000:]
