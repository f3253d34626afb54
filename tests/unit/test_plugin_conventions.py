"""The rules every file of kubelab's Python follows (issue 12): one place (the collection), one error style, one
licence header, name rules in one module, no dead filters, error messages that name real variables."""

import ast
import glob
import importlib
import os
import re

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.kubelab.core.plugins.module_utils import errors, names

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTION = os.path.join(ROOT, "collections", "ansible_collections", "kubelab", "core")
PLUGINS = sorted(glob.glob(os.path.join(COLLECTION, "plugins", "*", "*.py")))
FILTER_FILES = sorted(os.path.splitext(os.path.basename(p))[0]
                      for p in glob.glob(os.path.join(COLLECTION, "plugins", "filter", "*.py")))
ROLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles", "*")))
HEADER = ["# Copyright: kubelab contributors", "# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)"]


def rel(path):
    return os.path.relpath(path, ROOT)


def registered_filters():
    """{filter name: (file, function)} of every FilterModule in the collection."""
    found = {}
    for module_name in FILTER_FILES:
        module = importlib.import_module("ansible_collections.kubelab.core.plugins.filter." + module_name)
        for name, func in module.FilterModule().filters().items():
            found[name] = (module_name, func)
    return found


def test_no_python_under_roles():
    assert glob.glob(os.path.join(ROOT, "roles", "*", "filter_plugins")) == []
    # Python under roles/ is only the Molecule scenarios' verifiers.
    assert [rel(p) for p in glob.glob(os.path.join(ROOT, "roles", "**", "*.py"), recursive=True)
            if "/molecule/" not in p] == []


def test_every_plugin_has_the_collection_licence_and_no_python2_boilerplate():
    with open(os.path.join(COLLECTION, "galaxy.yml"), encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["license"] == ["Apache-2.0"]  # the header below says the same
    wrong = []
    for path in PLUGINS:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        head = lines[1:3] if lines[0].startswith("#!") else lines[:2]
        if head != HEADER:
            wrong.append("%s: header %r" % (rel(path), head))
        # ansible-core 2.19's boilerplate is `from __future__ import annotations` alone (dev_guide, sanity).
        for number, line in enumerate(lines, start=1):
            if re.match(r"(__metaclass__ = type|from __future__ import (?!annotations$)|# -\*- coding)", line):
                wrong.append("%s:%d: %s" % (rel(path), number, line))
    assert wrong == []


@pytest.mark.parametrize("module_name", FILTER_FILES)
def test_filters_report_kubelab_errors_as_one_line_filter_errors(module_name):
    module = importlib.import_module("ansible_collections.kubelab.core.plugins.filter." + module_name)
    for name, func in module.FilterModule().filters().items():
        # Registered through errors.filters(): the wrapper keeps the function it wraps.
        assert getattr(func, "__wrapped__", None) is not None, "%s.%s is not registered through errors.filters()" % (
            module_name, name)


def test_the_wrapper_turns_an_input_error_into_the_same_message():
    def broken(value):
        raise errors.LabError("kubelab_labs: %r is not a lab; known labs: a, b" % value)

    with pytest.raises(AnsibleFilterError) as err:
        errors.filters({"broken": broken})["broken"]("x")
    assert str(err.value) == "kubelab_labs: 'x' is not a lab; known labs: a, b"
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no traceback chain in Ansible's message
    # Anything else is a bug in kubelab and keeps its traceback.
    with pytest.raises(ZeroDivisionError):
        errors.filters({"bug": lambda: 1 / 0})["bug"]()


def test_input_errors_are_value_errors_and_kubelab_errors():
    for cls in (errors.PlanError, errors.KubeadmInventoryError, errors.LabError):
        assert issubclass(cls, errors.InputError)
    assert issubclass(errors.InputError, ValueError) and issubclass(errors.InputError, errors.KubelabError)


@pytest.mark.parametrize("value", ["kim", "a", "zone-a", "a" * 63, "k8s-1"])
def test_dns1123_labels_accepted(value):
    names.check_label(value, "kubelab_students[1].name")


@pytest.mark.parametrize("value", ["Kim", "-a", "a-", "a_b", "a.b", "a" * 64, "", None, 7])
def test_dns1123_labels_refused_naming_the_variable(value):
    with pytest.raises(errors.InputError, match=r"^kubelab_students\[1\]\.name: .* DNS-1123 label"):
        names.check_label(value, "kubelab_students[1].name")


def test_name_rules_live_in_names_only():
    """The DNS-1123 pattern and the label keys kubelab sets are written once, in module_utils/names.py."""
    literals = {names.DNS1123_LABEL.pattern, names.STUDENT_LABEL, names.ZONE_LABEL, names.REGION_LABEL,
                names.NAME_LABEL}
    copies = []
    for path in PLUGINS:
        if path.endswith(os.path.join("module_utils", "names.py")):
            continue
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value in literals:
                copies.append("%s:%d" % (rel(path), node.lineno))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "compile" and node.args \
                    and isinstance(node.args[0], ast.Constant) and node.args[0].value == names.DNS1123_LABEL.pattern:
                copies.append("%s:%d" % (rel(path), node.lineno))
    assert copies == []


def test_every_registered_filter_is_called():
    """A filter no role, playbook, template or scenario calls is dead code: remove it (or call it)."""
    text = ""
    for pattern in ("roles/**/*.yml", "roles/**/*.j2", "playbooks/**/*.yml", "molecule/**/*.yml"):
        for path in glob.glob(os.path.join(ROOT, pattern), recursive=True):
            with open(path, encoding="utf-8") as handle:
                text += handle.read()
    dead = sorted(name for name in registered_filters() if not re.search(r"kubelab\.core\.%s\b" % name, text))
    assert dead == []


def _known_variables():
    known = set()
    paths = (glob.glob(os.path.join(ROOT, "roles", "*", "defaults", "main.yml"))
             + glob.glob(os.path.join(ROOT, "roles", "*", "vars", "main.yml"))
             + glob.glob(os.path.join(ROOT, "playbooks", "group_vars", "**", "*.yml"), recursive=True)
             + glob.glob(os.path.join(ROOT, "inventories", "**", "*.yml"), recursive=True))
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        known |= set(data) if isinstance(data, dict) else set()
    for path in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")):
        with open(path, encoding="utf-8") as handle:
            for entry in (yaml.safe_load(handle).get("argument_specs") or {}).values():
                known |= set((entry or {}).get("options") or {})
    # Documented variables without a default (host variables such as kubelab_host_capacity).
    with open(os.path.join(ROOT, "docs", "variables.md"), encoding="utf-8") as handle:
        known |= set(re.findall(r"`([a-z][a-z0-9_]+)`", handle.read()))
    return known


def test_error_messages_name_variables_that_exist():
    """Every kubelab_*/<role>_* name in an error message (raise, _fail, a problem's message) is a variable a user
    can set: defaults, vars, group_vars, inventories, argument specs or docs/variables.md."""
    variable = re.compile(r"\b(?:kubelab|%s)_[a-z0-9_]*[a-z0-9]\b" % "|".join(ROLES))
    known = _known_variables()
    unknown = []
    for path in PLUGINS:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                parts = [v for k, v in zip(node.keys, node.values)
                         if isinstance(k, ast.Constant) and k.value == "message"]
            elif isinstance(node, ast.Raise) or (isinstance(node, ast.Call)
                                                 and getattr(node.func, "id", "") == "_fail"):
                parts = [node]
            else:
                continue
            texts = [n.value for part in parts for n in ast.walk(part)
                     if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            unknown += ["%s:%d %s" % (rel(path), node.lineno, name)
                        for text in texts for name in variable.findall(text) if name not in known]
    assert unknown == []
