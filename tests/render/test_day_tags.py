"""playbooks/day.yml tags every component with its name (issue 12): --list-tags shows one tag per component and
--tags vault in plan mode renders Vault alone, the class plan (preflight, tagged always) still running first."""

import os
import re

import yaml

from conftest import ROOT, load_index, run_playbook

ADDON_ORDER = yaml.safe_load(open(os.path.join(ROOT, "playbooks", "group_vars", "all", "main.yml"),
                                  encoding="utf-8"))["kubelab_addon_order"]


def test_list_tags_shows_a_tag_per_component(tmp_path):
    result = run_playbook("playbooks/day3.yml", str(tmp_path / "build"), "--list-tags")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    tags = set()
    for listed in re.findall(r"TASK TAGS: \[([^\]]*)\]", result.stdout):
        tags.update(tag.strip() for tag in listed.split(",") if tag.strip())
    assert set(ADDON_ORDER) | {"cluster", "lab", "students"} <= tags, sorted(tags)


def test_tags_vault_in_plan_mode_renders_only_vault(tmp_path):
    build = str(tmp_path / "build")
    result = run_playbook("playbooks/day3.yml", build, "-e", "kubelab_mode=plan", "--tags", "vault")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    index = load_index(build, "kubelab-instructor")
    assert {artifact["role"] for artifact in index["artifacts"]} == {"vault"}
    assert sorted(os.listdir(os.path.join(build, "plan", "kubelab-instructor"))) == ["index.json", "vault"]
