"""Helpers to run the project's real playbooks against a throw-away build directory."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run_playbook(playbook, build_dir, *extra_args, env=None, inventory="inventories/local", prefix=()):
    """Run ansible-playbook from the project root (after the prefix command, e.g. unshare); returns the
    CompletedProcess (never raises)."""
    cmd = [*prefix, os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook,
           "-e", "kubelab_build_dir=%s" % build_dir, *extra_args]
    full_env = dict(os.environ, KUBELAB_PROJECT_DIR=ROOT, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                    ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
                    # One line per result, so a message is never folded mid-word in the output.
                    ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=600, check=False)


def load_index(build_dir, cluster):
    with open(os.path.join(build_dir, "plan", cluster, "index.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def plan_day():
    """Plan a day once per (day, args) and share the result: plan runs are the slow part of these tests."""
    cache = {}

    def plan(tmp_factory, day, *extra_args):
        key = (day, extra_args)
        if key not in cache:
            build_dir = str(tmp_factory.mktemp("build"))
            result = run_playbook("playbooks/day%s.yml" % day, build_dir, "-e", "kubelab_mode=plan", *extra_args)
            assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
            cache[key] = build_dir
        return cache[key]

    return plan
