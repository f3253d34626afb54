"""Every dependency is pinned, and the Galaxy pins match what the pinned ansible package bundles."""

import importlib.util
import json
import os
import re

import pytest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("name", ["requirements.txt", "requirements-dev.txt"])
def test_python_requirements_are_exact_pins(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as handle:
        lines = [ln.strip() for ln in handle if ln.strip() and not ln.startswith("#")]
    # The dev set includes the run-time set; nothing else may be unpinned.
    loose = [ln for ln in lines if ln != "-r requirements.txt"
             and not re.match(r"^[A-Za-z0-9_.\-\[\]]+==[0-9][^ ;]*(\s*;.*)?$", ln)]
    assert not loose, "unpinned requirements: %s" % loose


def test_galaxy_pins_match_the_bundled_collections():
    with open(os.path.join(ROOT, "collections", "requirements.yml"), encoding="utf-8") as handle:
        wanted = yaml.safe_load(handle)["collections"]
    spec = importlib.util.find_spec("ansible_collections.kubernetes.core")
    site = os.path.dirname(os.path.dirname(os.path.dirname(spec.submodule_search_locations[0])))
    for entry in wanted:
        namespace, name = entry["name"].split(".")
        with open(os.path.join(site, "ansible_collections", namespace, name, "MANIFEST.json"), encoding="utf-8") as fh:
            bundled = json.load(fh)["collection_info"]["version"]
        assert bundled == entry["version"], "%s: requirements.yml pins %s, ansible bundles %s" % (
            entry["name"], entry["version"], bundled)


def test_versions_file_has_no_floating_entry():
    with open(os.path.join(ROOT, "playbooks", "group_vars", "all", "versions.yml"), encoding="utf-8") as handle:
        versions = yaml.safe_load(handle)["kubelab_versions"]

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, sub in value.items():
                yield from walk("%s.%s" % (prefix, key), sub)
        elif isinstance(value, list):
            for index, sub in enumerate(value):
                yield from walk("%s[%d]" % (prefix, index), sub)
        else:
            yield prefix, value

    floating = [(k, v) for k, v in walk("kubelab_versions", versions)
                if str(v).strip().lower() in ("", "latest", "stable", "main", "master", "*")
                or re.search(r":latest(@|$)", str(v))]
    assert not floating, floating
    assert "@sha256:" in versions["kind_node_image"]
