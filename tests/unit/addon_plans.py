"""Helpers of the add-on plan tests (test_addons_a_plan.py, test_addons_b_plan.py): plan day 4 with a chosen
set of add-ons and no labs, and read a rendered values file the way Helm receives it."""

import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
CLUSTER = "kubelab-instructor"


def run_day(build_dir, addons, *extra):
    """The real day playbook in plan mode (no Docker, no cluster) with only these add-ons."""
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "inventories/local", "playbooks/day.yml",
           "-e", "kubelab_day=4", "-e", "kubelab_mode=plan", "-e", "kubelab_build_dir=%s" % build_dir,
           "-e", json.dumps({"kubelab_addons": addons, "kubelab_labs": []}), *extra]
    env = dict(os.environ, KUBELAB_PROJECT_DIR=ROOT, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def values(planned, path):
    """One rendered YAML file of the plan ({"plan": <cluster plan dir>, ...})."""
    with open(os.path.join(planned["plan"], path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)
