"""Issue 12: labs are read once per run. The students role takes the labs preflight loaded (the lab role's
lab_loaded, kubelab.core.lab_load) instead of parsing lab.yml a third way."""

import glob
import os
import re

import pytest

from ansible_collections.kubelab.core.plugins.filter import lab_plan
from ansible_collections.kubelab.core.plugins.filter.students_labs import students_lab_facts
from ansible_collections.kubelab.core.plugins.module_utils.errors import LabError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABS_DIR = os.path.join(ROOT, "labs")
DAY3 = ["w2d3-ecommerce", "w2d3-banking"]


def loaded(*lab_ids):
    return {lab_id: lab_plan.lab_load(LABS_DIR, lab_id) for lab_id in lab_ids}


@pytest.mark.parametrize("tenancy", ["namespace", "cluster"])
def test_students_take_the_loaded_labs_and_read_no_lab_directory(tmp_path, tenancy):
    # A labs directory that does not exist: any read of lab.yml would fail (lab_load raises LabError).
    facts = students_lab_facts(str(tmp_path / "no-labs"), DAY3, tenancy, loaded=loaded(*DAY3))
    assert facts == students_lab_facts(LABS_DIR, DAY3, tenancy)
    assert "banking-core" in facts["namespaces"] and facts["requests"]["student"]["cpu_m"] > 0


def test_students_use_what_was_loaded_not_the_files():
    labs = loaded("w2d3-banking")
    labs["w2d3-banking"]["manifests"] = {}
    assert students_lab_facts(LABS_DIR, ["w2d3-banking"], loaded=labs)["namespaces"] == []


def test_a_lab_preflight_did_not_load_goes_through_lab_load(tmp_path):
    # -e lab=<id> loads only that lab; the day's other labs are read through the same loader.
    assert students_lab_facts(LABS_DIR, DAY3, loaded=loaded("w2d3-banking")) == students_lab_facts(LABS_DIR, DAY3)
    with pytest.raises(LabError, match="unknown lab 'w9-none'"):
        students_lab_facts(str(tmp_path), ["w9-none"], loaded={})


def test_the_students_role_passes_the_loaded_labs():
    calls = []
    for path in glob.glob(os.path.join(ROOT, "roles", "students", "tasks", "*.yml")):
        with open(path, encoding="utf-8") as handle:
            calls += re.findall(r"kubelab\.core\.students_lab_facts\(([^)]*)\)", handle.read())
    assert len(calls) == 2, calls  # preflight's check.yml and the render entry point
    assert all("loaded=" in call and "lab_loaded" in call for call in calls), calls

