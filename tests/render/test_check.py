"""`make check DAY=N` (issue 16 item 1): a read-only readiness table, one verdict, exit non-zero when not ready.

Each scenario runs `make check` in a copy of the project (without .git, .venv and build/), so that any file the check
writes shows in the copy's mtimes: only build/board/check.json and the class board build/board/index.html may appear,
and the board shows the verdict even when the run fails NOT READY (issue 16 item 2). sudo is a double that logs every call
(tests/render/doubles/sudo-double, as ansible_become_exe): the check must never become root.
The fake-ready host: `docker info` answers cgroup v2 (tests/render/doubles/docker-double), the pinned tools are in
toolchain_artifact_dir, and host_prep's sysctl minimums are the kernel's current values (the limits are global to
the machine; nothing here writes them)."""

import html
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import ROOT

DOUBLES = Path(ROOT, "tests", "render", "doubles")
SYSCTLS = ("fs.inotify.max_user_watches", "fs.inotify.max_user_instances")
TOOLS = ("kind", "kubectl", "helm", "helm_diff")
CGROUP_V2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()


def _mtimes(tree):
    return {str(p.relative_to(tree)): p.lstat().st_mtime_ns for p in Path(tree).rglob("*") if not p.is_dir()}


def _ready_host(base):
    """Extra vars and environment of a fake-ready Docker host: the docker double first on PATH, the pinned tools
    in toolchain_artifact_dir, host_prep's minimums at the kernel's current values."""
    pins = yaml.safe_load(Path(ROOT, "playbooks", "group_vars", "all", "versions.yml").read_text())
    artifacts = base / "artifacts"
    for tool in TOOLS:
        pin = pins["kubelab_versions"]["toolchain"][tool]
        path = artifacts / tool / pin["version"] / Path(pin["linux_amd64"]["url"]).name
        path.parent.mkdir(parents=True)
        path.write_text("a pinned file stands here\n")
    (base / "docker").mkdir()  # the engine's data root
    (base / "bin").mkdir()
    (base / "bin" / "docker").symlink_to(DOUBLES / "docker-double")
    extra = {"toolchain_artifact_dir": str(artifacts), "toolchain_arch": "amd64",
             "host_prep_sysctls": {k: int(Path("/proc/sys", *k.split(".")).read_text()) for k in SYSCTLS}}
    env = {"PATH": "%s:%s" % (base / "bin", os.environ["PATH"]), "DOCKER_DOUBLE_ROOT": str(base / "docker")}
    return extra, env


def _this_machine(base):
    """This machine as it is, but for one sysctl minimum above the kernel's value: a day would need root to raise
    it (preflight's become check), which make check must not try. Root is not become to itself, so become nobody."""
    minimums = {"fs.inotify.max_user_watches": 2 ** 31 - 1, "fs.inotify.max_user_instances": 1}
    return 3, ["-e", json.dumps({"host_prep_sysctls": minimums}), "-e", "ansible_become_user=nobody"], {}, \
        "inventories/local"


def _ready(base):
    extra, env = _ready_host(base)
    return 1, ["-e", json.dumps(extra)], env, "inventories/local"


def _caches(base):
    """Day 1's images: busybox, nginxinc/nginx-unprivileged, postgres (Docker Hub) and registry.k8s.io's agnhost.
    Both caches run and hold the same repositories (the double has one catalog): Docker Hub's, official images
    under library/ as a cache stores them, so only agnhost is missing."""
    extra, env = _ready_host(base)
    extra["kubelab_registry_caches"] = True
    env["DOCKER_DOUBLE_PS"] = "kubelab-cache-docker-io docker.io\nkubelab-cache-registry-k8s-io registry.k8s.io"
    env["DOCKER_DOUBLE_CATALOG"] = json.dumps(
        {"repositories": ["library/busybox", "library/postgres", "nginxinc/nginx-unprivileged"]})
    return 1, ["-e", json.dumps(extra)], env, "inventories/local"


def _unreachable(base):
    """A Docker host nobody can reach (SSH to a closed port: refused at once)."""
    inventory = base / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"kubelab": {"children": {
        "kind_hosts": {"hosts": {"gone": {"ansible_host": "127.0.0.1", "ansible_port": 1,
                                          "ansible_connection": "ssh"}}},
        "kubelab_clusters": {}}}}}}))
    return 1, [], {}, str(inventory)


SCENARIOS = {"this_machine": _this_machine, "ready": _ready, "caches": _caches, "unreachable": _unreachable}


@pytest.fixture(scope="module")
def checks(tmp_path_factory):
    """Runs `make check` once per scenario, all at once (each waits mostly on Ansible's per-task overhead), each
    in its own copy of the project; {scenario: (result, check.json, files the run added or changed in the copy,
    sudo calls, the class board's index.html or None)}. Every process started here is stopped before the fixture returns."""
    runs = {}
    try:
        for name, setup in SCENARIOS.items():
            base = tmp_path_factory.mktemp(name)
            day, extra, env, inventory = setup(base)
            project = base / "project"
            shutil.copytree(ROOT, project, ignore=shutil.ignore_patterns(".git", ".venv", "build", "__pycache__",
                                                                         ".pytest_cache"))
            args = ["-e", "ansible_become_exe=%s" % (DOUBLES / "sudo-double"), *extra]
            # -o venv: use the project's own venv as it is (never pip install from a test).
            cmd = ["make", "-C", str(project), "-o", "venv", "check", "VENV=%s" % Path(ROOT, ".venv"),
                   "DAY=%s" % day, "INVENTORY=%s" % inventory, "ARGS=%s" % shlex.join(args)]
            full_env = dict(os.environ, ANSIBLE_NOCOLOR="1", PYTHONDONTWRITEBYTECODE="1",
                            SUDO_DOUBLE_LOG=str(base / "sudo.log"), **env)
            before = _mtimes(project)
            process = subprocess.Popen(cmd, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            runs[name] = (base, project, before, process)
        results = {}
        for name, (base, project, before, process) in runs.items():
            out, _ = process.communicate(timeout=600)
            after = _mtimes(project)
            board = project / "build" / "board" / "check.json"
            page = project / "build" / "board" / "index.html"
            sudo_log = base / "sudo.log"
            results[name] = (subprocess.CompletedProcess(process.args, process.returncode, out, ""),
                             json.loads(board.read_text()) if board.exists() else None,
                             sorted(f for f in after if before.get(f) != after[f]),
                             sudo_log.read_text().splitlines() if sudo_log.exists() else [],
                             page.read_text() if page.exists() else None)
        return results
    finally:
        for _base, _project, _before, process in runs.values():
            if process.poll() is None:
                process.kill()
                process.wait()


def _rows(report, item):
    return [row for row in report["rows"] if row["item"] == item]


WRITTEN = ["build/board/check.json", "build/board/index.html"]


def _board_shows(page, report, out):
    """The class board make check left: its verdict, every row of check.json with its status (NOT READY in red),
    the class's students without records, and the board's path in the run's summary."""
    assert page is not None, "make check wrote no class board"
    assert '<p id="check-verdict">Verdict: <strong>%s</strong> (day %s, checked %s)</p>' % (
        report["verdict"], report["day"], report["checked_at"]) in page
    for row in report["rows"]:
        cell = {"OK": "pass", "NOT READY": "fail"}.get(row["status"], "none")
        assert "<td>%s</td><td>%s</td>" % (html.escape(row["item"]), html.escape(row["host"])) in page, row
        assert '<td class="%s">%s</td></tr>' % (cell, row["status"]) in page, row
    assert page.count('<td class="fail">NOT READY</td>') == len(
        [row for row in report["rows"] if row["status"] == "NOT READY"])
    # No day ran in the copy (build/ is not copied): the class is listed, without records yet.
    assert '<p id="missing">No record yet: ' in page and "no record (no run has reported on her cluster yet)" in out
    assert "Class board: " in out and "build/board/index.html" in out


@pytest.mark.skipif(CGROUP_V2, reason="this test is about a host on cgroup v1, as the project's machines are")
def test_this_machine_is_not_ready_and_nothing_changes(checks):
    result, report, touched, calls, page = checks["this_machine"]
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[-3000:]
    assert touched == WRITTEN, "the check wrote outside build/board: %s" % touched
    assert calls == [], "make check called sudo: %s" % calls
    # One table: a header, then every row of check.json, each with its status.
    table = out.split("OK / NOT READY", 1)[1].split("TASK [", 1)[0]
    for row in report["rows"]:
        assert any(row["item"] in line and line.rstrip().endswith(row["status"]) for line in table.splitlines()), row
    assert report["verdict"] == "NOT READY"
    assert "NOT READY for day 3:" in out
    (cgroup,) = _rows(report, "cgroup")
    assert cgroup["value"].startswith("v1") and cgroup["status"] == "NOT READY"
    assert "cgroup on localhost (v1" in out
    docker_answers = subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
    (docker,) = _rows(report, "Docker engine")
    assert docker["status"] == ("OK" if docker_answers else "NOT READY")
    # The class's numbers, from preflight's capacity estimate, against the host's.
    (capacity,) = _rows(report, "capacity")
    assert "1 cluster(s), 4 nodes" in capacity["needed"] and " MiB" in capacity["value"]
    (watches,) = _rows(report, "fs.inotify.max_user_watches")
    assert watches["status"] == "NOT READY" and watches["needed"].startswith(">= 2147483647"), watches
    for item in ("inventory", "host reachable", "disk", "ports", *SYSCTLS, *TOOLS):
        assert len(_rows(report, item)) == 1, item
    # The board was written before the verdict stopped the run.
    _board_shows(page, report, out)
    assert out.index("Class board: ") < out.index("NOT READY for day 3:")
    # "v1" from docker info where an engine answers, "v1 (the host; ...)" where none does.
    assert '<td>cgroup</td><td>localhost</td><td>v1' in page


def test_a_ready_host_gives_a_ready_verdict(checks):
    result, report, touched, calls, page = checks["ready"]
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert report["verdict"] == "READY" and "READY for day 1" in out
    assert [row for row in report["rows"] if row["status"] != "OK"] == []
    assert _rows(report, "cgroup")[0]["value"] == "v2"
    assert touched == WRITTEN and calls == []
    _board_shows(page, report, out)


def test_images_missing_from_the_registry_caches_are_not_ready(checks):
    result, report, _touched, _calls, page = checks["caches"]
    assert result.returncode == 2, (result.stdout + result.stderr)[-3000:]
    (caches,) = _rows(report, "registry caches")
    assert caches["status"] == "NOT READY"
    assert caches["value"] == "1 of 5 images not cached: registry.k8s.io/e2e-test-images/agnhost:2.53", caches
    assert "make warm DAY=1" in caches["needed"]
    assert [row["item"] for row in report["rows"] if row["status"] != "OK"] == ["registry caches"]
    _board_shows(page, report, result.stdout)
    assert "1 of 5 images not cached: registry.k8s.io/e2e-test-images/agnhost:2.53" in page


def test_an_unreachable_docker_host_is_a_row_not_a_crash(checks):
    """The unreachable host is one NOT READY row; the table and the verdict still come."""
    result, report, touched, calls, page = checks["unreachable"]
    out = result.stdout + result.stderr
    assert result.returncode == 2, out[-3000:]
    (reachable,) = _rows(report, "host reachable")
    assert reachable["host"] == "gone" and reachable["status"] == "NOT READY", reachable
    assert "refused" in reachable["value"].lower(), reachable
    assert _rows(report, "inventory")[0]["status"] == "OK"
    assert "host reachable on gone" in out
    assert touched == WRITTEN and calls == []
    _board_shows(page, report, out)
