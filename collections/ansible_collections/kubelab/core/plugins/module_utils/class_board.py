# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The class board: per-student status records and the static page built from them (no Ansible imports).

A record is what one run knows of one student: where she works, the result of every lab check and of every
cluster health item, when that was checked, and since when her first failing check has been failing. The
board page is built from the records alone, so it can only show what a record holds: records never hold
credentials (no kubeconfig, token or password field exists), and check details are shortened.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import os
import re

from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError
from ansible_collections.kubelab.core.plugins.module_utils.names import ZONE_LABEL

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML comes with ansible-core
    yaml = None

# A check's detail on the board: enough to see why, too short to carry a whole object.
DETAIL_MAX = 80
# What says when and by which run a record was made, not what was found: a change of these alone is no change.
TIMES = ("checked_at", "failing_since", "mode")


def _state(passed):
    return {True: "pass", False: "fail"}.get(passed, "none")


def _detail(text):
    text = " ".join(str(text or "").split())
    return text if len(text) <= DETAIL_MAX else text[:DETAIL_MAX - 1] + "\u2026"


def lab_results(instance, report):
    """One lab copy's checks as board items: from its report when the run checked it, else not checked."""
    by_id = {c.get("id"): c for c in (report or {}).get("checks", [])}
    items = []
    for check in instance.get("checks", []):
        result = by_id.get(check["id"], {})
        passed = None if result.get("skipped") else result.get("passed")
        items.append({"id": "%s/%s" % (instance["lab"], check["id"]), "passed": passed,
                      "detail": _detail(result.get("detail", "") if result else "not checked")})
    return items


def _ready(node):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def node_health(nodes, zones):
    """One item per zone: every node labelled with that zone is Ready (and there is one)."""
    items = []
    for zone in zones:
        members = [n for n in nodes if (n.get("metadata", {}).get("labels") or {}).get(ZONE_LABEL) == zone]
        ready = sum(1 for n in members if _ready(n))
        items.append({"id": "nodes %s" % zone, "passed": bool(members) and ready == len(members),
                      "detail": "%d/%d nodes Ready" % (ready, len(members))})
    return items


def _workload_ready(obj):
    status = obj.get("status") or {}
    if "desiredNumberScheduled" in status:  # a DaemonSet (list items carry no kind)
        return status.get("numberReady", 0) >= status.get("desiredNumberScheduled", 1)
    return status.get("readyReplicas", 0) >= (obj.get("spec") or {}).get("replicas", 1)


def addon_workloads(workloads, where):
    """The workloads in one of where's namespaces that carry every label of its key=value label_selectors."""
    wanted = dict(s.split("=", 1) for s in where.get("label_selectors") or [])
    found = []
    for obj in workloads:
        meta = obj.get("metadata") or {}
        labels = meta.get("labels") or {}
        if meta.get("namespace") in (where.get("namespaces") or []) and all(labels.get(k) == v for k, v in wanted.items()):
            found.append(obj)
    return found


def addon_health(addon, workloads):
    """One item per add-on: its Deployments, StatefulSets and DaemonSets exist and are all ready."""
    ready = sum(1 for w in workloads if _workload_ready(w))
    return {"id": "addon %s" % addon, "passed": bool(workloads) and ready == len(workloads),
            "detail": "%d/%d workloads ready" % (ready, len(workloads))}


def student_record(entry, checks, health, mode, now, sheet_path, previous=None):
    """The board record of one student; keeps failing_since while the same check is the first to fail."""
    failing = next((c["id"] for c in checks + health if c["passed"] is False), "")
    since = ""
    if failing:
        since = previous.get("failing_since") if previous and previous.get("failing") == failing else ""
        since = since or now
    return {"student": entry["student"], "cluster": entry["cluster"], "tenancy": entry.get("tenancy", "cluster"),
            "namespaces": list(entry.get("namespaces") or []), "sheet_path": sheet_path, "mode": mode,
            "checks": checks, "health": health, "checked_at": now, "failing": failing, "failing_since": since}


def same_state(record, previous):
    """Whether two records differ only in their times (so a re-run with the same results changes nothing)."""
    if not previous:
        return False
    strip = lambda r: {k: v for k, v in r.items() if k not in TIMES}  # noqa: E731
    return strip(record) == strip(previous) and record.get("failing_since") == previous.get("failing_since")


def read_json(path):
    """A JSON file's content, or None when it is missing or unreadable (a board never fails on a stale file)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def where(record):
    if record["tenancy"] == "namespace":
        return "%s / %s" % (record["cluster"], ", ".join(record["namespaces"]) or "-")
    return record["cluster"]


def counts(record):
    items = record["checks"] + record["health"]
    return (sum(1 for c in items if c["passed"] is True), sum(1 for c in items if c["passed"] is False),
            sum(1 for c in items if c["passed"] is None))


def stuck(records):
    """Students with a failing check, the longest-failing first: (record, first failing check, since)."""
    failing = [r for r in records if r.get("failing")]
    return sorted(failing, key=lambda r: (r["failing_since"], r["student"]))


def summary_lines(records, missing=()):
    """The end-of-run table: per student where, checks passed/failed/not checked, access sheet."""
    rows = [("student", "cluster / namespaces", "passed", "failed", "not checked", "access sheet")]
    for record in records:
        rows.append((record["student"], where(record)) + tuple(str(n) for n in counts(record)) + (record["sheet_path"],))
    # make check writes the board before any day ran; in a day run, the student's cluster failed before the report.
    rows += [(name, "no record (no run has reported on her cluster yet)", "-", "-", "-", "-") for name in missing]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def state_hash(records, check):
    """What the page shows apart from times: a re-render with the same results is not a change."""
    strip = [{k: v for k, v in r.items() if k not in TIMES} for r in records]
    text = json.dumps([strip, check], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


CSS = """
body { background: #000; color: #fff; font: 22px/1.4 "DejaVu Sans", Arial, sans-serif; margin: 1em; }
h1 { font-size: 34px; margin: 0 0 .3em 0; } h2 { font-size: 28px; margin: 1em 0 .3em 0; }
table { border-collapse: collapse; } th, td { border: 2px solid #888; padding: .25em .5em; text-align: left; }
th { background: #222; } a { color: #7cf; }
td.pass { background: #0a5c1e; color: #fff; } td.fail { background: #a00000; color: #fff; font-weight: bold; }
td.none { background: #333; color: #ddd; } td.pass, td.fail, td.none { white-space: nowrap; }
.meta { color: #ddd; }
"""
# make check's table columns in the order it prints them (roles/preflight/templates/readiness_table.j2).
CHECK_COLUMNS = ("item", "host", "value", "needed", "status")
LABEL = {"pass": "\u2713 OK", "fail": "\u2717 FAIL", "none": "\u2013 not checked"}


def _cell(item):
    state = _state(item["passed"])
    title = html.escape(item.get("detail", ""), quote=True)
    return '<td class="%s" title="%s">%s</td>' % (state, title, LABEL[state])


def _check_section(check):
    """make check's readiness (build/board/check.json) as it is: its verdict and its rows, escaped."""
    if not isinstance(check, dict):
        return []
    out = ["<h2>Readiness (make check)</h2>"]
    verdict = check.get("verdict")
    if verdict is not None:
        when = " (day %s, checked %s)" % (check.get("day", "?"), check["checked_at"]) if check.get("checked_at") else ""
        out.append('<p id="check-verdict">Verdict: <strong>%s</strong>%s</p>' % (html.escape(str(verdict)),
                                                                                html.escape(when)))
    rows = next((check[k] for k in ("rows", "items", "table") if isinstance(check.get(k), list)), [])
    rows = [r for r in rows if isinstance(r, dict)]
    if rows:
        # check.json's keys come sorted; the table reads as make check prints it.
        keys = [k for k in CHECK_COLUMNS if k in rows[0]] + [k for k in rows[0] if k not in CHECK_COLUMNS]
        out.append('<table id="check"><tr>%s</tr>' % "".join("<th>%s</th>" % html.escape(str(k)) for k in keys))
        out += ["<tr>%s</tr>" % "".join(_check_cell(k, r.get(k, "")) for k in keys) for r in rows]
        out.append("</table>")
    return out


def _check_cell(key, value):
    """A readiness cell; the status in the board's colours (NOT READY red, OK green, UNKNOWN grey)."""
    state = {"OK": "pass", "NOT READY": "fail"}.get(value, "none") if key == "status" else ""
    return '<td%s>%s</td>' % (' class="%s"' % state if state else "", html.escape(str(value)))


def render_board(records, generated_at, board_dir, check=None, missing=()):
    """The board page: static HTML, inline style, no script, nothing fetched from elsewhere."""
    check_ids = sorted({c["id"] for r in records for c in r["checks"]})
    health_ids = sorted({c["id"] for r in records for c in r["health"]})
    head = ["student", "cluster / namespaces", "access sheet"] + check_ids + health_ids + ["checked at"]
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="kubelab-board-state" content="%s">' % state_hash(records, check),
           "<title>kubelab class board</title><style>%s</style></head><body>" % CSS,
           "<h1>kubelab class board</h1>",
           '<p class="meta">Written %s UTC. Cells: \u2713 OK (green), \u2717 FAIL (red), \u2013 not checked (grey); '
           "hover a cell for its detail.</p>" % html.escape(generated_at)]
    # Before any day has reported (make check the morning of the first class), the readiness is all there is to see:
    # it comes first, above the empty student table; afterwards the students do.
    readiness_first = not records
    if readiness_first:
        out += _check_section(check)
    out.append("<h2>Stuck longest</h2>")
    longest = stuck(records)
    if longest:
        out.append('<ol id="stuck">')
        out += ["<li><strong>%s</strong>: %s failing since %s</li>" % (
            html.escape(r["student"]), html.escape(r["failing"]), html.escape(r["failing_since"])) for r in longest]
        out.append("</ol>")
    else:
        out.append('<p id="stuck">Nobody: no failing check.</p>')
    out.append("<h2>Students</h2>")
    out.append('<table id="board"><tr>%s</tr>' % "".join("<th>%s</th>" % html.escape(h) for h in head))
    for record in records:
        by_id = {c["id"]: c for c in record["checks"] + record["health"]}
        cells = ['<th scope="row">%s</th>' % html.escape(record["student"]), "<td>%s</td>" % html.escape(where(record)),
                 '<td><a href="%s">sheet</a></td>' % html.escape(relative_link(record["sheet_path"], board_dir), quote=True)]
        cells += [_cell(by_id.get(i, {"passed": None, "detail": "not part of this student's run"}))
                  for i in check_ids + health_ids]
        cells.append("<td>%s (%s)</td>" % (html.escape(record["checked_at"]), html.escape(record["mode"])))
        out.append('<tr id="student-%s">%s</tr>' % (html.escape(record["student"], quote=True), "".join(cells)))
    out.append("</table>")
    if missing:
        out.append('<p id="missing">No record yet: %s</p>' % html.escape(", ".join(missing)))
    if not readiness_first:
        out += _check_section(check)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def relative_link(target, start):
    return os.path.relpath(target, start).replace(os.sep, "/")


STATE_RE = re.compile(r'<meta name="kubelab-board-state" content="([0-9a-f]+)">')


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _entries(params):
    """The students of the cluster as the students role planned them (its plan artifact students/access.yaml)."""
    data = None
    if params["access_file"] and os.path.exists(params["access_file"]):
        with open(params["access_file"], encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    return (data or {}).get("students") or []


def record(params, now, check_mode):
    """The records of one cluster's students, or of every cluster of I(clusters) (one task for the whole class)."""
    changed, written = False, []
    for cluster in params["clusters"] or [params]:
        cluster_changed, cluster_written = _record_cluster(dict(params, **cluster), now, check_mode)
        changed = changed or cluster_changed
        written += cluster_written
    return dict(changed=changed, written=written)


def _record_cluster(params, now, check_mode):
    for key in ("cluster", "access_file"):
        if not params.get(key):
            raise InputError("state=record: every cluster needs %s" % key)
    health = []
    if params.get("nodes") is not None:
        health += node_health(params["nodes"], params["zones"])
    health += [addon_health(addon, addon_workloads(params.get("workloads") or [], {
        "namespaces": params["addon_namespaces"][addon], "label_selectors": params["addon_selectors"].get(addon)}))
        for addon in sorted(params.get("addons") or []) if addon in params["addon_namespaces"]]
    changed, written = False, []
    for entry in _entries(params):
        student = entry["student"]
        checks = []
        for instance in params.get("instances") or []:
            if instance.get("student") and instance["student"] != student:
                continue
            report = None
            if params["mode"] != "plan":
                report = read_json(os.path.join(params["reports_dir"] or "", params["cluster"] or "",
                                                instance.get("report", "")))
            checks += lab_results(instance, report)
        path = os.path.join(params["board_dir"], "students", student + ".json")
        previous = read_json(path)
        sheet = os.path.join(params["sheet_dir"] or "", student, "endpoints.md")
        new = student_record(entry, checks, health, params["mode"], now, sheet, previous)
        if same_state(new, previous):
            continue
        changed = True
        written.append(student)
        if not check_mode:
            _write(path, json.dumps(new, indent=2, sort_keys=True) + "\n")
    return changed, written


def render(params, now, check_mode):
    board = params["board_dir"]
    records, missing = [], []
    for student in params["students"]:
        data = read_json(os.path.join(board, "students", student + ".json"))
        if data:
            records.append(data)
        else:
            missing.append(student)
    check = read_json(os.path.join(board, "check.json"))
    page = render_board(records, now, board, check=check, missing=missing)
    path = os.path.join(board, "index.html")
    old = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            found = STATE_RE.search(handle.read())
            old = found.group(1) if found else None
    changed = old != STATE_RE.search(page).group(1)
    if not check_mode:
        _write(path, page)
    return dict(changed=changed, path=path, summary=summary_lines(records, missing),
                stuck=[{"student": r["student"], "check": r["failing"], "since": r["failing_since"]}
                       for r in stuck(records)])

ARGUMENT_SPEC = dict(
    state=dict(type="str", required=True, choices=["record", "render"]),
    board_dir=dict(type="path", required=True),
    now=dict(type="str"),
    cluster=dict(type="str"),
    access_file=dict(type="path"),
    instances=dict(type="list", elements="dict", default=[]),
    reports_dir=dict(type="path"),
    mode=dict(type="str", default="apply"),
    nodes=dict(type="list", elements="dict"),
    zones=dict(type="list", elements="str", default=[]),
    workloads=dict(type="list", elements="dict", default=[]),
    addons=dict(type="list", elements="str", default=[]),
    addon_namespaces=dict(type="dict", default={}),
    addon_selectors=dict(type="dict", default={}),
    sheet_dir=dict(type="path"),
    students=dict(type="list", elements="str", default=[]),
    clusters=dict(type="list", elements="dict", default=[]),
)
REQUIRED_IF = [("state", "record", ("reports_dir", "sheet_dir"))]


def run(params, check_mode):
    """Record the students' board records (state=record) or write the board page (state=render); the result dict.
    Raises InputError on a cluster without its name or access file."""
    now = params["now"] or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return (record if params["state"] == "record" else render)(params, now, check_mode)
