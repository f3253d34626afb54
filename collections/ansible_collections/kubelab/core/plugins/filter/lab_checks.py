# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Evaluate a lab's declarative checks against resources fetched from the cluster.

The lab role fetches, for every check, the objects its ``resource`` reference selects
(``kubernetes.core.k8s_info`` -> ``resources``), and the cluster's Node objects once. This filter
then decides every check without talking to the cluster, so it is pure and unit-tested.
The format of a check is documented in labs/README.md and labs/lab.schema.json.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: lab_checks
short_description: Evaluate kubelab lab checks against fetched Kubernetes objects
description:
  - Takes the C(checks) list of a lab's C(lab.yml) and the objects fetched for each check,
    and returns one result per check C({id, passed, skipped, detail}).
  - "Path operators (C(==), C(!=), C(>=), C(<=), C(>), C(<), C(exists), C(absent), C(contains), C(length))
    must hold on every fetched object (C(match: all), the default) or on one of them (C(match: any))."
  - C(count) compares the number of fetched objects (optionally only those matching C(where)).
  - C(distinct_zones) counts the distinct C(topology.kubernetes.io/zone) values of the nodes the fetched
    objects run on (a Pod's C(spec.nodeName) looked up in I(nodes); a Node's own label).
options:
  _input:
    description: The checks (list of dicts, as in lab.yml).
    type: list
    required: true
  fetched:
    description:
      - The fetched objects per check, either a dict keyed by check id, a list aligned with the checks,
        or the registered result of a C(k8s_info) loop over the checks (C(results), each with its check as C(item)).
      - Each value is a list of objects or a k8s_info result (a dict with C(resources)).
    type: raw
    required: true
  nodes:
    description: The cluster's Node objects (needed by C(distinct_zones) on non-Node objects).
    type: list
    default: []
  skip_real_cluster:
    description: Report checks marked C(needs_real_cluster) as skipped (C(passed) is null) instead of evaluating them.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Evaluate the lab's checks
  ansible.builtin.set_fact:
    lab_results: "{{ lab.checks | kubelab.core.lab_checks(fetched_by_id, nodes=node_info.resources) }}"
"""

RETURN = r"""
_value:
  description: One dict per check, in the order of the checks.
  type: list
  elements: dict
  contains:
    id: {description: The check id., type: str}
    passed: {description: True or false; null when skipped., type: bool}
    skipped: {description: True when the check was not evaluated (needs a real cluster)., type: bool}
    detail: {description: What was seen, in words a student understands., type: str}
"""

import re

from ansible_collections.kubelab.core.plugins.module_utils.errors import LabError, filters
from ansible_collections.kubelab.core.plugins.module_utils.names import ZONE_LABEL

COMPARE_OPS = ("==", "!=", ">=", "<=", ">", "<")
PATH_OPS = COMPARE_OPS + ("exists", "absent", "contains", "length")
AGGREGATE_OPS = ("count", "distinct_zones")
ALL_OPS = PATH_OPS + AGGREGATE_OPS

_MISSING = object()
# One path segment: a plain key, ["quoted.key"], [3] (list index) or [key=value] (first list item whose key equals value).
_SEGMENT = re.compile(r"""
    (?P<key>[^.\[\]]+)
  | \[\s*"(?P<dq>[^"]*)"\s*\]
  | \[\s*'(?P<sq>[^']*)'\s*\]
  | \[\s*(?P<idx>-?\d+)\s*\]
  | \[\s*(?P<fkey>[^=\]\s]+)\s*=\s*(?P<fval>[^\]]*?)\s*\]
  | (?P<dot>\.)
""", re.VERBOSE)


def parse_path(path):
    """Split a path into segments: ('key', str) | ('index', int) | ('filter', key, value)."""
    if not isinstance(path, str) or not path.strip():
        raise LabError("path must be a non-empty string, got %r" % (path,))
    segments = []
    pos = 0
    expect_key = True
    while pos < len(path):
        m = _SEGMENT.match(path, pos)
        if not m or m.end() == pos:
            raise LabError("cannot parse path %r at offset %d" % (path, pos))
        pos = m.end()
        if m.group("dot"):
            if expect_key:
                raise LabError("empty segment in path %r" % path)
            expect_key = True
            continue
        if m.group("key") is not None:
            if not expect_key:
                raise LabError("missing '.' before %r in path %r" % (m.group("key"), path))
            segments.append(("key", m.group("key")))
        elif m.group("dq") is not None or m.group("sq") is not None:
            segments.append(("key", m.group("dq") if m.group("dq") is not None else m.group("sq")))
        elif m.group("idx") is not None:
            segments.append(("index", int(m.group("idx"))))
        else:
            segments.append(("filter", m.group("fkey"), m.group("fval").strip("\"'")))
        expect_key = False
    if expect_key:
        raise LabError("path %r ends with '.'" % path)
    return segments


def get_path(obj, path):
    """Return the value at path in obj, or _MISSING."""
    cur = obj
    for seg in parse_path(path):
        if seg[0] == "key":
            if not isinstance(cur, dict) or seg[1] not in cur:
                return _MISSING
            cur = cur[seg[1]]
        elif seg[0] == "index":
            if not isinstance(cur, list) or not -len(cur) <= seg[1] < len(cur):
                return _MISSING
            cur = cur[seg[1]]
        else:
            if not isinstance(cur, list):
                return _MISSING
            found = [item for item in cur if isinstance(item, dict) and str(item.get(seg[1])) == seg[2]]
            if not found:
                return _MISSING
            cur = found[0]
    return cur


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return None
    return None


def compare(actual, op, expected):
    """Apply a comparison operator; return (ok, reason-if-not-ok)."""
    if op in ("==", "!="):
        a_num, e_num = _number(actual), _number(expected)
        if a_num is not None and e_num is not None and not isinstance(actual, str) and not isinstance(expected, str):
            equal = a_num == e_num
        else:
            equal = actual == expected
        ok = equal if op == "==" else not equal
        return ok, None if ok else "%r %s %r is false" % (actual, op, expected)
    a_num, e_num = _number(actual), _number(expected)
    if a_num is None or e_num is None:
        return False, "%r %s %r: both sides must be numbers" % (actual, op, expected)
    ok = {">=": a_num >= e_num, "<=": a_num <= e_num, ">": a_num > e_num, "<": a_num < e_num}[op]
    return ok, None if ok else "%r %s %r is false" % (actual, op, expected)


def _contains(actual, expected):
    if isinstance(actual, str):
        return isinstance(expected, str) and expected in actual
    if isinstance(actual, list):
        if isinstance(expected, dict):
            return any(isinstance(i, dict) and all(i.get(k) == v for k, v in expected.items()) for i in actual)
        return expected in actual
    if isinstance(actual, dict):
        if isinstance(expected, dict):
            return all(k in actual and actual[k] == v for k, v in expected.items())
        return expected in actual
    return False


def eval_path_expectation(obj, exp):
    """Evaluate one path expectation on one object; return (ok, reason)."""
    path, op = exp.get("path"), exp["op"]
    actual = get_path(obj, path)
    if op == "exists":
        return (actual is not _MISSING and actual is not None), "%s is missing" % path
    if op == "absent":
        return (actual is _MISSING or actual is None), "%s is present (%r)" % (path, actual)
    if actual is _MISSING:
        return False, "%s is missing" % path
    if op == "length":
        if not isinstance(actual, (list, dict, str)):
            return False, "%s = %r has no length" % (path, actual)
        ok, why = compare(len(actual), exp.get("cmp", "=="), exp.get("value"))
        return ok, "length of %s: %s" % (path, why)
    if op == "contains":
        ok = _contains(actual, exp.get("value"))
        return ok, "%s = %r does not contain %r" % (path, actual, exp.get("value"))
    ok, why = compare(actual, op, exp.get("value"))
    return ok, "%s: %s" % (path, why)


def _name(obj):
    meta = obj.get("metadata", {}) if isinstance(obj, dict) else {}
    ns = meta.get("namespace")
    name = meta.get("name", "?")
    return "%s/%s" % (ns, name) if ns else name


def _zone_of(obj, nodes_by_name):
    """Return (zone, problem)."""
    if obj.get("kind") == "Node":
        zone = obj.get("metadata", {}).get("labels", {}).get(ZONE_LABEL)
        return zone, None if zone else "node %s has no %s label" % (_name(obj), ZONE_LABEL)
    node_name = (obj.get("spec") or {}).get("nodeName")
    if not node_name:
        return None, "%s is not scheduled (no spec.nodeName)" % _name(obj)
    node = nodes_by_name.get(node_name)
    if node is None:
        return None, "node %s of %s was not fetched" % (node_name, _name(obj))
    zone = node.get("metadata", {}).get("labels", {}).get(ZONE_LABEL)
    if not zone:
        return None, "node %s has no %s label" % (node_name, ZONE_LABEL)
    return zone, None


def validate_check(check):
    """Raise LabError when a check is malformed."""
    if not isinstance(check, dict) or not check.get("id"):
        raise LabError("every check needs an id: %r" % (check,))
    expect = check.get("expect")
    if not isinstance(expect, list) or not expect:
        raise LabError("check %s: expect must be a non-empty list" % check["id"])
    for exp in expect:
        if not isinstance(exp, dict) or exp.get("op") not in ALL_OPS:
            raise LabError("check %s: unknown op in %r (known: %s)" % (check["id"], exp, ", ".join(ALL_OPS)))
        if exp["op"] in PATH_OPS:
            parse_path(exp.get("path"))
            if exp["op"] not in ("exists", "absent") and "value" not in exp:
                raise LabError("check %s: op %s needs a value" % (check["id"], exp["op"]))
            if exp["op"] == "length" and exp.get("cmp", "==") not in COMPARE_OPS:
                raise LabError("check %s: cmp must be one of %s" % (check["id"], ", ".join(COMPARE_OPS)))
        else:
            if "value" not in exp:
                raise LabError("check %s: op %s needs a value" % (check["id"], exp["op"]))
            if exp.get("cmp", "==") not in COMPARE_OPS:
                raise LabError("check %s: cmp must be one of %s" % (check["id"], ", ".join(COMPARE_OPS)))
            if exp.get("where") is not None:
                validate_check({"id": check["id"], "expect": [exp["where"]]})
                if exp["where"].get("op") not in PATH_OPS:
                    raise LabError("check %s: where must use a path op" % check["id"])
        if exp.get("match", "all") not in ("all", "any"):
            raise LabError("check %s: match must be all or any" % check["id"])


def evaluate_check(check, resources, nodes=None):
    """Evaluate one check; return {id, passed, skipped, detail}."""
    validate_check(check)
    resources = [r for r in (resources or []) if isinstance(r, dict)]
    nodes_by_name = {n.get("metadata", {}).get("name"): n for n in (nodes or []) if isinstance(n, dict)}
    failures = []
    seen = []
    for exp in check["expect"]:
        op = exp["op"]
        if op == "count":
            pool = resources
            if exp.get("where"):
                pool = [r for r in resources if eval_path_expectation(r, exp["where"])[0]]
            ok, why = compare(len(pool), exp.get("cmp", "=="), exp["value"])
            seen.append("count=%d" % len(pool))
            if not ok:
                failures.append("count: %s" % why)
            continue
        if not resources:
            failures.append("no matching object found")
            break
        if op == "distinct_zones":
            zones, problems = set(), []
            for r in resources:
                zone, problem = _zone_of(r, nodes_by_name)
                if zone:
                    zones.add(zone)
                else:
                    problems.append(problem)
            seen.append("zones=%s" % ",".join(sorted(zones)))
            ok, why = compare(len(zones), exp.get("cmp", ">="), exp["value"])
            if not ok:
                failures.append("distinct_zones: %s%s" % (why, ("; " + "; ".join(problems)) if problems else ""))
            continue
        results = [(r, eval_path_expectation(r, exp)) for r in resources]
        bad = [(r, res[1]) for r, res in results if not res[0]]
        if exp.get("match", "all") == "any":
            if len(bad) == len(results):
                failures.append("no object satisfies: " + "; ".join("%s: %s" % (_name(r), w) for r, w in bad))
        elif bad:
            failures.extend("%s: %s" % (_name(r), w) for r, w in bad)
    passed = not failures
    detail = ("ok (%d object(s)%s)" % (len(resources), (", " + ", ".join(seen)) if seen else "")
              if passed else "; ".join(failures))
    return {"id": check["id"], "passed": passed, "skipped": False, "detail": detail}


def _resources_of(value):
    if value is None:
        return []
    if isinstance(value, dict):
        if "resources" in value:
            return value.get("resources") or []
        return [value]
    if isinstance(value, list):
        return value
    raise LabError("fetched objects must be a list or a k8s_info result, got %s" % type(value).__name__)


def lab_checks(checks, fetched, nodes=None, skip_real_cluster=False):
    """Evaluate every check; see DOCUMENTATION."""
    if not isinstance(checks, list):
        raise LabError("checks must be a list")
    if isinstance(fetched, dict) and isinstance(fetched.get("results"), list):
        # A registered loop of k8s_info over the checks: each result carries its check as "item".
        by_id = {}
        for res in fetched["results"]:
            item = res.get("item") if isinstance(res, dict) else None
            if not isinstance(item, dict) or "id" not in item:
                raise LabError("a loop result has no check as its item")
            by_id[item["id"]] = res
        fetched = by_id
    if isinstance(fetched, list) and len(fetched) != len(checks):
        raise LabError("fetched has %d entries for %d checks" % (len(fetched), len(checks)))
    if not isinstance(fetched, (list, dict)):
        raise LabError("fetched must be a dict keyed by check id or a list aligned with checks")
    ids = [c.get("id") for c in checks if isinstance(c, dict)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise LabError("duplicate check ids: %s" % ", ".join(map(str, dupes)))
    out = []
    for pos, check in enumerate(checks):
        validate_check(check)
        if skip_real_cluster and check.get("needs_real_cluster"):
            out.append({"id": check["id"], "passed": None, "skipped": True,
                        "detail": "skipped: needs a real cluster (scheduler, storage or CNI behaviour)"})
            continue
        if isinstance(fetched, dict):
            if check["id"] not in fetched:
                out.append({"id": check["id"], "passed": False, "skipped": False,
                            "detail": "nothing was fetched for this check"})
                continue
            raw = fetched[check["id"]]
        else:
            raw = fetched[pos]
        out.append(evaluate_check(check, _resources_of(raw), nodes))
    return out


class FilterModule:
    """kubelab lab check filters."""

    def filters(self):
        return filters({"lab_checks": lab_checks})
