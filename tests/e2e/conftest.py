"""The whole-day test's workspace: a copy of the project, an inventory for a class of two, and the doubles.

Real: the project's playbooks and roles (a copy of this tree, so the test can tell that nothing outside build/
was written), ansible-core, kubernetes.core, kubectl (/usr/bin/kubectl). Doubles (tests/sim): kind (which
validates each config with the real kind binary), the API double behind every cluster, the Helm double. They reach
the roles the way real binaries do: the toolchain role installs them from an artifact directory whose sha256
pins the inventory sets. See tests/e2e/README.md for what runs, what is stood in for, and why.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import yaml
from chart_stand_ins import write_chart_stand_ins
from kubesim.testing import Sim, servers_under

ROOT = Path(__file__).resolve().parents[2]
SIM_BIN = ROOT / "tests" / "sim" / "bin"
STUDENTS = ["kim-minji", "lee-jihoon"]
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)

# Stand-ins the toolchain role installs (sh wrappers around the doubles; the real kubectl behind the kubectl one).
KIND_WRAPPER = '#!/bin/sh\n# TEST DOUBLE installed as kind (tests/e2e)\nexec {py} {kind} "$@"\n'
KUBECTL_WRAPPER = """#!/bin/sh
# TEST DOUBLE installed as kubectl (tests/e2e): the real /usr/bin/kubectl, reporting the pinned client version.
if [ "$1" = version ] && [ "$2" = --client ]; then echo "Client Version: {version}"; exit 0; fi
exec /usr/bin/kubectl "$@"
"""
# Helm keeps its releases in the cluster; the double keeps them in a directory, so one per API server (the
# kubeconfig file itself may be a temporary copy kubernetes.core.helm writes for each call).
HELM_WRAPPER = """#!/bin/sh
# TEST DOUBLE installed as helm (tests/e2e): the Helm double, one release store per cluster (API server).
kc="${{KUBECONFIG:-}}"
prev=""
for a in "$@"; do
  case "$a" in --kubeconfig=*) kc="${{a#--kubeconfig=}}" ;; esac
  [ "$prev" = --kubeconfig ] && kc="$a"
  prev="$a"
done
export KUBELAB_HELM_SIM_VERSION={version}
export KUBELAB_HELM_SIM_CHART_OBJECTS={stand_ins}
server=$(grep -o 'http://127[.]0[.]0[.]1:[0-9]*' "$kc" 2>/dev/null | head -n 1)  # YAML or JSON
[ -n "$server" ] || server=no-cluster  # version, plugin list
export KUBELAB_HELM_SIM_DIR="{state}/$(printf %s "$server" | sha256sum | cut -c1-16)"
exec {py} {helm} "$@"
"""
HELM_DIFF_PLUGIN = 'name: "diff"\nversion: "{version}"\nusage: "TEST DOUBLE of helm-diff (tests/e2e)"\ncommand: "$HELM_PLUGIN_DIR/bin/diff"\n'
# preflight's host checks ask `docker info` for the cgroup version and data root (this host has cgroup v1), and
# `docker ps` for the kind clusters that exist, whose host ports are theirs.
DOCKER_DOUBLE = """#!/bin/sh
# TEST DOUBLE of docker (tests/e2e): answers only what preflight asks: `docker info` (cgroup v2, a data root), and
# `docker ps -a --filter label=io.x-k8s.kind.cluster` with the kind double's clusters (a real engine prints one
# line per node container: the same names, repeated).
[ "$1" = info ] && {{ echo '"2" "{root}"'; exit 0; }}
if [ "$1 $2 $3 $4" = "ps -a --filter label=io.x-k8s.kind.cluster" ]; then
  for kubeconfig in "$KUBELAB_KIND_SIM_DIR"/clusters/*/sim/kubeconfig; do
    [ -e "$kubeconfig" ] && basename "$(dirname "$(dirname "$kubeconfig")")"
  done
  exit 0
fi
echo "docker test double: only 'info' and 'ps' of kind's nodes are implemented" >&2; exit 1
"""
# The students role's kubectl: the API double has no TokenRequest, so `create token` goes to the role's token
# double; everything else (the isolation checks' `auth can-i`) to the real kubectl.
STUDENTS_KUBECTL = """#!/bin/sh
prev=
for arg; do [ "$prev $arg" = "create token" ] && exec {token_double} "$@"; prev=$arg; done
exec kubectl "$@"
"""


def _tar(path: Path, members: dict[str, tuple[str, int]]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, (text, mode) in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            tar.addfile(info, io.BytesIO(data))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _artifacts(base: Path, pins: dict) -> dict:
    """The toolchain artifact directory (<tool>/<version>/<file name of the pinned URL>) and the inventory pins."""
    files = {
        "kind": (KIND_WRAPPER.format(py=sys.executable, kind=SIM_BIN / "kind"), None),
        "kubectl": (KUBECTL_WRAPPER.format(version=pins["kubectl"]["version"]), None),
        "helm": (HELM_WRAPPER.format(version=pins["helm"]["version"], state=base / "helm", py=sys.executable,
                                     helm=SIM_BIN / "helm", stand_ins=base / "chart-stand-ins"), "linux-amd64/helm"),
        "helm_diff": (None, None),
    }
    out = {}
    for tool, (text, member) in files.items():
        pin = pins[tool]
        dest = base / "artifacts" / tool / pin["version"] / Path(pin["linux_amd64"]["url"]).name
        dest.parent.mkdir(parents=True, exist_ok=True)
        if tool == "helm_diff":
            version = pin["version"].lstrip("v")
            _tar(dest, {"diff/plugin.yaml": (HELM_DIFF_PLUGIN.format(version=version), 0o644),
                        "diff/bin/diff": ("#!/bin/sh\nexit 0\n", 0o755)})
        elif member:
            _tar(dest, {member: (text, 0o755)})
        else:
            dest.write_text(text)
            dest.chmod(0o755)
        out[f"toolchain_{tool}"] = {"version": pin["version"],
                                    "linux_amd64": {"url": pin["linux_amd64"]["url"], "sha256": _sha256(dest)}}
    return out



def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of the project copy with its mtime and size."""
    found = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            st = path.lstat()
            found[str(path.relative_to(root))] = (st.st_mtime_ns, st.st_size)
    return found


def _kill_doubles_under(root: Path) -> None:
    """Stop every API double below root (also after a failed or interrupted run): SIGTERM, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, _state in servers_under(root):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while servers_under(root) and time.monotonic() < deadline:
            time.sleep(0.05)


class Workspace:
    def __init__(self, base: Path, tenancy: str, label: str = ""):
        self.base, self.tenancy = base, tenancy
        self.label = label or tenancy  # what the phase lines start with: [e2e <label>]
        self.project = base / "project"
        self.kind_state = base / "kind"
        self.timings: list[tuple[str, float, int]] = []
        self._copy_project()
        real_kind = subprocess.run(["bash", str(ROOT / "scripts" / "e2e-setup.sh")], capture_output=True, text=True,
                                   check=True, timeout=600).stdout.strip().splitlines()[-1]
        bindir = base / "doubles-bin"
        bindir.mkdir()
        (base / "host").mkdir()  # stands for /etc/sysctl.d
        (bindir / "docker").write_text(DOCKER_DOUBLE.format(root=base))
        (bindir / "docker").chmod(0o755)
        (bindir / "students-kubectl").write_text(STUDENTS_KUBECTL.format(
            token_double=base / "project/roles/students/molecule/default/doubles/kubectl-token-double"))
        (bindir / "students-kubectl").chmod(0o755)
        versions = yaml.safe_load((self.project / "playbooks/group_vars/all/versions.yml").read_text())
        group_vars = {
            "kubelab_students": [{"name": s} for s in STUDENTS],
            "kubelab_tenancy": tenancy,
            "kubelab_registry_caches": False,
            "toolchain_artifact_dir": str(base / "artifacts"),
            **_artifacts(base, versions["kubelab_versions"]["toolchain"]),
            # host_prep runs every task, but asks for no more than the kernel has (the limits are global to the
            # machine) and persists them under the workspace instead of /etc/sysctl.d.
            "host_prep_sysctls": {k: int(Path("/proc/sys", *k.split(".")).read_text()) for k in
                                  ("fs.inotify.max_user_watches", "fs.inotify.max_user_instances")},
            "host_prep_sysctl_file": str(base / "host" / "60-kubelab-kind.conf"),
            # Every add-on waits and verifies (the chart stand-ins above report what a running chart would).
            # The CNI's NetworkPolicy probe runs too: the API double ends its wget pods as an enforcing CNI would
            # (tests/sim/kubesim/network.py). The HTTP checks (ingress_verify_http, prometheus_verify_http: on for
            # kind by default) reach the cluster's ingress port, which the kind double's API double serves as
            # ingress-nginx would route it, Grafana's login included (ingress.py).
            "cni_verify_network_policy": True,
            # The ingress ports are real listening ports: each pytest-xdist process gets its own range.
            "kubelab_port_base": 21000 + 1000 * int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0),
            "lab_real_cluster": False,
            # Every lab check the doubles can answer must pass: a failing one stops the day.
            "lab_fail_on_check": True,
            "lab_wait_timeout": 30,
            # Off in a real class (it changes the cluster on every run): here day 4 runs once, and the kind
            # double's clusters run the Velero controllers' double (tests/sim/kubesim/velero.py).
            "velero_run_drill": True,
            # The API double answers `kubectl auth can-i --as` from the stored RBAC (tests/sim/kubesim/rbac.py); it
            # has no TokenRequest, so the students role's kubectl double mints the tokens.
            "students_verify_isolation": True,
            "students_kubectl_binary": str(bindir / "students-kubectl"),
            # The capacity check runs, but the clusters are API doubles: two real ones would not fit 2 CPUs.
            "preflight_capacity_headroom": 4,
        }
        write_chart_stand_ins(base / "chart-stand-ins", self.project, versions["kubelab_versions"])
        self.inventory = base / "inventory"
        (self.inventory / "group_vars" / "kubelab").mkdir(parents=True)
        (self.inventory / "group_vars" / "kubelab" / "main.yml").write_text(yaml.safe_dump(group_vars))
        localhost = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        if not shutil.which("sudo"):
            localhost["ansible_become_method"] = "su"  # root to root (CI runs as root)
        (self.inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"kubelab": {"children": {
            "kind_hosts": {"hosts": {"localhost": localhost}}, "kubelab_clusters": {}}}}}}))
        self.env = dict(
            os.environ,
            # The venv first: the students role's token double runs `python3` and needs the kubernetes client.
            PATH=f"{bindir}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            KUBELAB_PROJECT_DIR=str(self.project),
            ANSIBLE_CONFIG=str(self.project / "ansible.cfg"),
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_NOCOLOR="1",
            KUBELAB_KIND_SIM_DIR=str(self.kind_state),
            KUBELAB_KIND_REAL=real_kind,
            KUBELAB_KIND_SIM_WATCH_PID=str(os.getpid()),
        )
        for var in ("KUBECONFIG", "K8S_AUTH_KUBECONFIG", "KUBELAB_HELM_SIM_DIR"):
            self.env.pop(var, None)
        self.snapshot = _tree(self.project)

    def _copy_project(self) -> None:
        """The working tree (tracked and untracked, not ignored files); KUBELAB_E2E_SOURCE=head: the last commit."""
        self.project.mkdir()
        if os.environ.get("KUBELAB_E2E_SOURCE") == "head":
            archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(self.project, filter="tar")
            return
        files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                               check=True).stdout.decode().split("\0")
        for rel in filter(None, files):
            src = ROOT / rel
            if src.is_file():
                (self.project / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, self.project / rel)

    def play(self, label: str, playbook: str, *args: str, timeout: int = 900, refused: str = "") -> dict[str, dict[str, int]]:
        """Run one playbook; fail with the log's tail unless every host ends with failed=0 and unreachable=0 (with
        refused: unless the run stops with that message and changes nothing)."""
        log = self.base / f"{len(self.timings):02d}-{label}.log"
        started = time.monotonic()
        with open(log, "w") as out:
            res = subprocess.run([sys.executable, "-m", "ansible", "playbook", "-i", str(self.inventory),
                                  f"playbooks/{playbook}", *args], cwd=self.project, env=self.env, stdout=out,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)
        seconds = time.monotonic() - started
        text = log.read_text()
        recap = {m[0]: {"ok": int(m[1]), "changed": int(m[2]), "unreachable": int(m[3]), "failed": int(m[4])}
                 for m in RECAP.findall(text.split("PLAY RECAP", 1)[-1])}
        changed = sum(r["changed"] for r in recap.values())
        self.timings.append((label, seconds, changed))
        report(f"[e2e {self.label}] {label}: {seconds:.1f} s, changed={changed} (log {log})")
        if refused:
            assert res.returncode != 0 and refused in " ".join(text.split()) and changed == 0, text[-6000:]
            return recap
        bad = {h: r for h, r in recap.items() if r["failed"] or r["unreachable"]}
        assert res.returncode == 0 and recap and not bad, f"{label}: rc={res.returncode} {bad}\n" + text[-6000:]
        return recap

    def written_outside_build(self) -> list[str]:
        now = _tree(self.project)
        return sorted(p for p in set(now) | set(self.snapshot)
                      if now.get(p) != self.snapshot.get(p) and not p.startswith("build/") and "__pycache__/" not in p)

    def sim(self, student: str) -> Sim:
        """The API double of a student's cluster (cluster tenancy)."""
        return Sim(self.kind_state / "clusters" / f"kubelab-{student}" / "sim")

    def kind(self, *args: str) -> None:
        """The kind command as a user types it (the double the toolchain role installed)."""
        subprocess.run([str(self.project / "build" / "bin" / "kind"), *args], env=self.env, check=True,
                       capture_output=True, timeout=120)

    def clusters(self) -> list[str]:
        root = self.kind_state / "clusters"
        return sorted(p.name for p in root.iterdir()) if root.is_dir() else []

    def close(self) -> None:
        _kill_doubles_under(self.base)


# Every phase's line, repeated at the end of the run: `pytest -q` (make test) captures the prints. The lines travel
# as the test's user properties ("e2e phase"), which pytest-xdist sends from its worker processes to the one that
# prints the summary (tests/conftest.py).
PHASES: list[str] = []


def report(line: str) -> None:
    PHASES.append(line)
    print("\n" + line)


@pytest.fixture(autouse=True)
def _phases_in_the_summary(request):
    before = len(PHASES)
    yield
    request.node.user_properties.extend(("e2e phase", line) for line in PHASES[before:])


@pytest.fixture(scope="class")
def workspace(request, tmp_path_factory):
    tenancy = request.param
    ws = Workspace(tmp_path_factory.mktemp(f"e2e-{tenancy}"), tenancy)
    try:
        yield ws
    finally:
        ws.close()
        print(f"\n[e2e {tenancy}] phases: " + ", ".join(f"{label} {s:.1f} s" for label, s, _c in ws.timings))
