"""`make day3` on a laptop without passwordless sudo (issue 11 item 5): host_prep asks for root only when a
sysctl must go up, and preflight stops early, naming the sysctls, `ARGS=-K` and the `sysctl -w` lines, when a
raise is needed and become cannot get root without a password that was not given.

sudo is a double (tests/render/doubles/sudo-double, as ansible_become_exe) that logs its calls and behaves like
sudo for a user without passwordless sudo. These tests run as root, and Ansible skips become to the user it
already is, so they become `nobody` (the double runs the command as the caller). A raise is only ever
requested from preflight, which changes nothing: no test here writes a sysctl."""

import os
import re
import sys

import pytest
import yaml

from conftest import ROOT, run_playbook

SUDO_DOUBLE = os.path.join(ROOT, "tests", "render", "doubles", "sudo-double")
BIG = 2 ** 31 - 1  # above any live value: a raise is needed

PLAYBOOK = """
- name: The host checks and host_prep, on this machine
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    kubelab_mode: apply
  tasks:
    - name: Preflight's become check
      ansible.builtin.include_role:
        name: preflight
        tasks_from: become
    - name: host_prep itself
      ansible.builtin.include_role:
        name: host_prep
      when: run_host_prep | bool
"""


@pytest.fixture()
def run(tmp_path):
    playbook = tmp_path / "host.yml"
    playbook.write_text(PLAYBOOK)
    log = tmp_path / "sudo.log"

    def run_with(minimums, *extra, host_prep=False):
        sysctls = {"fs.inotify.max_user_watches": minimums[0], "fs.inotify.max_user_instances": minimums[1]}
        result = run_playbook(str(playbook), str(tmp_path / "build"), "-e", "kubelab_day=3",
                              "-e", "ansible_python_interpreter=%s" % sys.executable,
                              "-e", "ansible_become_exe=%s" % SUDO_DOUBLE, "-e", "ansible_become_user=nobody",
                              "-e", '{"host_prep_sysctls": %s}' % str(sysctls).replace("'", '"'),
                              "-e", "host_prep_sysctl_file=%s" % (tmp_path / "60-kubelab-kind.conf"),
                              "-e", "run_host_prep=%s" % host_prep, *extra, env={"SUDO_DOUBLE_LOG": str(log)})
        calls = log.read_text().splitlines() if log.exists() else []
        return result, calls

    return run_with


def test_the_day_does_not_force_become_on_host_prep():
    with open(os.path.join(ROOT, "playbooks", "day.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    includes = [task for play in plays for task in play.get("tasks", [])
                if task.get("ansible.builtin.include_role", {}).get("name") == "host_prep"]
    assert len(includes) == 1
    # The include may apply a tag (--tags host_prep), never become: the role asks for root per task.
    assert "become" not in includes[0]
    assert "become" not in includes[0]["ansible.builtin.include_role"].get("apply", {})


def test_values_high_enough_need_no_root_at_all(run, tmp_path):
    result, calls = run((1, 1), host_prep=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert calls == [], "sudo was called although no sysctl had to go up"
    assert not (tmp_path / "60-kubelab-kind.conf").exists()
    assert "changed=0" in result.stdout.split("PLAY RECAP")[-1]


def test_a_raise_without_a_become_password_stops_in_preflight_with_both_ways_out(run):
    result, calls = run((1, BIG))
    assert result.returncode != 0
    out = result.stdout
    needs = r"kind needs fs.inotify.max_user_instances >= %d \(now \d+\), and raising it needs root" % BIG
    assert re.search(needs, out), out[-3000:]
    assert "become failed (sudo: a password is required)" in out
    assert "`make day3 ARGS=-K`" in out
    assert "`sudo sysctl -w fs.inotify.max_user_instances=%d`" % BIG in out
    assert "max_user_watches" not in out.split("kind needs")[1], "a sysctl high enough was named"
    assert "Nothing was changed." in out
    assert len(calls) == 1 and " -n " in " %s " % calls[0], calls  # one non-interactive try, no prompt


def test_a_raise_with_a_become_password_passes_preflight(run, tmp_path):
    password = tmp_path / "become-password"
    password.write_text("secret\n")
    result, calls = run((1, BIG), "--become-password-file", str(password))
    assert result.returncode == 0, result.stdout[-3000:]
    assert len(calls) == 1 and "-p" in calls[0].split(), calls  # asked, and got the password
