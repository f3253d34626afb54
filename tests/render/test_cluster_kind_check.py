"""cluster_kind's check entry point (preflight, kind provider): bad settings of the kind role stop the day before
anything changes, naming the variable to fix."""

import pytest

from conftest import run_playbook


@pytest.mark.parametrize("setting, message", [
    ("cluster_kind_node_image=kindest/node:v1.35.8", "cluster_kind_node_image=kindest/node:v1.35.8 is not pinned"),
    ("cluster_kind_create_concurrency=0", "cluster_kind_create_concurrency=0: give 1 or more"),
])
def test_bad_kind_setting_stops_in_preflight(tmp_path, setting, message):
    build = tmp_path / "build"
    result = run_playbook("playbooks/day1.yml", str(build), "-e", "kubelab_mode=plan", "-e", setting)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert not (build / "plan").exists(), "something was rendered before the check stopped the run"
