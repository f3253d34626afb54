"""The callback kubelab.core.preload_plugins: at the start of a playbook the controller has loaded Ansible's own
filters and tests and every filter file of kubelab.core, so the workers it forks inherit them; ansible.cfg
enables it."""

import configparser
import glob
import json
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILTER_DIR = os.path.join(ROOT, "collections", "ansible_collections", "kubelab", "core", "plugins", "filter")

# A fresh interpreter: the plugin loaders are process-wide, and other tests may have filled them already.
PROBE = textwrap.dedent("""
    import json
    from ansible.plugins.loader import filter_loader, init_plugin_loader, test_loader
    init_plugin_loader([%r])
    from ansible_collections.kubelab.core.plugins.callback import preload_plugins
    before = sorted(filter_loader._module_cache)
    preload_plugins.CallbackModule().v2_playbook_on_start(None)
    print(json.dumps(dict(before=before, after=sorted(filter_loader._module_cache),
                          filters=len(filter_loader._cached_non_collection_wrappers),
                          tests=len(test_loader._cached_non_collection_wrappers),
                          names=preload_plugins.kubelab_filter_names())))
""") % os.path.join(ROOT, "collections")


def probe():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_every_filter_file_and_the_builtin_plugins_are_loaded_before_any_worker():
    result = probe()
    assert result["before"] == []
    files = sorted(p for p in glob.glob(os.path.join(FILTER_DIR, "*.py")) if not p.endswith("__init__.py"))
    assert files
    assert set(files) <= set(result["after"])
    # Ansible's own filters (to_json, combine, ...) and tests (match, ...) are wrapped for Jinja once.
    assert result["filters"] > 50 and result["tests"] > 20
    assert {"lab_plan_artifacts", "kind_config", "class_plan"} <= set(result["names"])


def test_ansible_cfg_enables_it():
    config = configparser.ConfigParser()
    config.read(os.path.join(ROOT, "ansible.cfg"))
    assert "kubelab.core.preload_plugins" in config["defaults"]["callbacks_enabled"].split(",")
