# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Loads the Jinja filter and test plugins once in the controller, before it forks a worker for each task."""

from __future__ import annotations

DOCUMENTATION = """
name: preload_plugins
type: aggregate
short_description: Load the filter and test plugins before the first worker is forked
description:
  - Ansible forks one worker process per task and host, and each worker loads (imports and wraps) every filter
    and test plugin its templates use afresh, because the controller itself seldom templates anything. A class
    of thirty clusters forks about a thousand workers per day playbook.
  - At the start of the playbook this callback loads Ansible's own filters and tests and every filter of
    kubelab.core in the controller, so every worker inherits them already loaded. It prints nothing and changes
    nothing else.
requirements:
  - enabled in ansible.cfg (callbacks_enabled)
"""

import importlib
import pkgutil

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import filter_loader, test_loader

FILTERS = "ansible_collections.kubelab.core.plugins.filter"


def kubelab_filter_names():
    """The names of every filter the kubelab.core collection defines."""
    package = importlib.import_module(FILTERS)
    names = []
    for module in pkgutil.iter_modules(package.__path__):
        plugin = importlib.import_module("%s.%s" % (FILTERS, module.name))
        names.extend(plugin.FilterModule().filters())
    return sorted(names)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kubelab.core.preload_plugins"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        # The first lookup of any builtin name wraps all of Ansible's own filters (tests) for Jinja.
        filter_loader.get("ansible.builtin.to_json")
        test_loader.get("ansible.builtin.match")
        for name in kubelab_filter_names():
            filter_loader.get("kubelab.core.%s" % name)
