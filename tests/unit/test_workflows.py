"""The users' GitHub workflows (.github/workflows/), as far as they can be proven on a machine without internet
(issue 11 item 4). Every `run:` step is parsed with `bash -n` after its `${{ }}` expressions are filled in;
every step is either run here for real (RUN_HERE) or listed in NEEDS_RUNNER with the reason it cannot run
here, so a new step forces a decision. Also: `make` targets the workflows call exist, and
scripts/test-host-setup.sh leaves a working Docker engine alone."""

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from kubesim.testing import running
from test_molecule_kind_destroy import BIN, ROOT, assert_destroyed, destroy_on_fresh_clone

WORKFLOWS = os.path.join(ROOT, ".github", "workflows")
DOUBLES = os.path.join(ROOT, "tests", "unit", "doubles")

# Values for the expressions the run: steps use (one matrix value each; the kubeadm inventory writer runs for both).
EXPRESSIONS = {"matrix.role": "csi", "matrix.control_planes": "1"}

SETUP_PYTHON = "needs a runner's Python and PyPI (pip install of the pinned requirements)"
KEYRING_ON_UBUNTU = "apt-get install on an Ubuntu runner (debian-archive-keyring)"
NEEDS_RUNNER = {
    ("kind", "lint", "Lint (yamllint, ansible-lint production profile, workflow schema)"): SETUP_PYTHON,
    ("kind", "unit", "pytest (unit, render, labs, API and Helm doubles)"): SETUP_PYTHON,
    ("kind", "molecule-cluster", "Create the virtualenv with the pinned dependencies and test tools"): SETUP_PYTHON,
    ("kind", "molecule-cluster", "Raise the inotify limits kind needs for a multi-node cluster"):
        "sudo sysctl -w changes the machine's own kernel (fs.inotify is not namespaced); no sudo here",
    ("kind", "molecule-cluster", "Molecule scenario of csi on a real kind cluster (kept for the next steps)"):
        "needs Docker with internet: kind node image, pinned kind/kubectl/helm downloads, charts",
    ("kind", "molecule-cluster", "Other cluster Molecule scenarios of csi on a real kind cluster"):
        "needs Docker with internet: kind node image, pinned kind/kubectl/helm downloads, charts",
    ("kind", "molecule-host", "Keyring debootstrap needs to verify a Debian bookworm bootstrap on Ubuntu"):
        KEYRING_ON_UBUNTU,
    ("kind", "molecule-host", "Host Molecule scenarios (systemd containers)"):
        "runs as root with a Docker engine for minutes; run here as `make molecule-host`",
    ("kubeadm", "node-prep", "Keyring debootstrap needs to verify a Debian bookworm bootstrap on Ubuntu"):
        KEYRING_ON_UBUNTU,
    ("kubeadm", "node-prep", "Virtualenv with the test tools, Docker engine and the Debian 12 systemd test image"):
        SETUP_PYTHON + ", then root: apt, dockerd, debootstrap",
    ("kubeadm", "node-prep", "kubeadm_node scenario with the Kubernetes packages from pkgs.k8s.io"):
        "needs pkgs.k8s.io (internet)",
    ("kubeadm", "cluster", "Keyring debootstrap needs to verify a Debian bookworm bootstrap on Ubuntu"):
        KEYRING_ON_UBUNTU,
    ("kubeadm", "cluster", "Virtualenv, Docker engine and the Debian 12 systemd image"):
        SETUP_PYTHON + ", then root: apt, dockerd, debootstrap",
    ("kubeadm", "cluster", "Turn swap off on the runner (kubelet in a container sees the host's swap)"):
        "swapoff -a changes the machine itself",
    ("kubeadm", "cluster", "Start one privileged systemd container per node on a dedicated network"):
        "privileged containers with kubelet need cgroup v2 and the runner's Docker",
    ("kubeadm", "cluster", "Build the cluster twice; the second run must change nothing"):
        "kubeadm init/join: packages from pkgs.k8s.io and images from registry.k8s.io",
    ("kubeadm", "cluster", "Check the nodes and their zones from the fetched kubeconfig"):
        "needs the cluster the previous steps built",
    ("kubeadm", "cluster", "Tear the cluster down twice; every node is reset, the kubeconfig is gone, the second run "
                           "changes nothing"): "needs the cluster the previous steps built",
    ("kubeadm", "cluster", "Collect node state on failure"): "needs the node containers",
}


def _steps():
    """(workflow, job, step name, rendered script) of every run: step."""
    found = []
    for name in sorted(os.listdir(WORKFLOWS)):
        with open(os.path.join(WORKFLOWS, name), encoding="utf-8") as handle:
            workflow = yaml.safe_load(handle)
        for job_id, job in workflow["jobs"].items():
            for step in job.get("steps", []):
                if "run" in step:
                    step_name = _render(step.get("name", step["run"]))
                    found.append((name.rsplit(".", 1)[0], job_id, step_name, _render(step["run"])))
    return found


def _render(text, values=None):
    values = dict(EXPRESSIONS, **(values or {}))

    def value(match):
        expression = match.group(1).strip()
        assert expression in values, "no value for ${{ %s }}: add one to EXPRESSIONS" % expression
        return values[expression]

    return re.sub(r"\$\{\{(.*?)\}\}", value, text)


def _step(workflow, job, name, values=None):
    with open(os.path.join(WORKFLOWS, workflow + ".yml"), encoding="utf-8") as handle:
        steps = yaml.safe_load(handle)["jobs"][job]["steps"]
    return next(_render(step["run"], values) for step in steps if _render(step.get("name", ""), values) == name)


def _bash(script, cwd, env):
    """Run a step as GitHub does: bash --noprofile --norc -eo pipefail."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env=dict(os.environ, **env), capture_output=True, text=True, timeout=300, check=False)


STEPS = _steps()
RUN_HERE_NAMES = {
    "find": "Find the roles that have a cluster scenario (marker line in molecule.yml)",
    "env": "Molecule's environment and the scenario's state directory",
    "collect": "Collect the cluster's resources, events and the logs of failing pods",
    "destroy": "Delete the kind cluster",
    "inventory": "Write the inventory (docker connection; same groups as inventories/kubeadm)",
}
# The steps the tests below run here for real.
RUN_HERE = {
    ("kind", "scenarios", RUN_HERE_NAMES["find"]),
    ("kind", "molecule-cluster", RUN_HERE_NAMES["env"]),
    ("kind", "molecule-cluster", RUN_HERE_NAMES["collect"]),
    ("kind", "molecule-cluster", RUN_HERE_NAMES["destroy"]),
    ("kubeadm", "cluster", RUN_HERE_NAMES["inventory"]),
    ("kubeadm", "cluster", RUN_HERE_NAMES["collect"]),
}


def test_every_run_step_is_run_here_or_says_why_not():
    keys = [step[:3] for step in STEPS]
    assert len(keys) == len(set(keys)), "two steps of one job share a name"
    unclassified = set(keys) - RUN_HERE - set(NEEDS_RUNNER)
    assert not unclassified, "say whether these run here (RUN_HERE) or why not (NEEDS_RUNNER): %s" % unclassified
    stale = (RUN_HERE | set(NEEDS_RUNNER)) - set(keys)
    assert not stale, "listed but no such step: %s" % stale
    assert not RUN_HERE & set(NEEDS_RUNNER)


@pytest.mark.parametrize("workflow, job, name, script", STEPS, ids=["/".join(step[:3]) for step in STEPS])
def test_every_run_step_is_valid_bash_and_calls_existing_make_targets(workflow, job, name, script):
    parsed = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True, check=False)
    assert parsed.returncode == 0, parsed.stderr
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as handle:
        targets = set(re.findall(r"^([a-z][a-z0-9-]*):", handle.read(), re.M))
    for target in re.findall(r"\bmake ([a-z][a-z0-9-]*)", script):
        assert target in targets, "`make %s` in %s/%s: no such Makefile target" % (target, workflow, job)


def test_the_scenario_finder_lists_every_role_with_a_cluster_scenario(tmp_path):
    output = tmp_path / "github_output"
    result = _bash(_step("kind", "scenarios", RUN_HERE_NAMES["find"]), ROOT, {"GITHUB_OUTPUT": str(output)})
    assert result.returncode == 0, result.stderr
    expected = sorted({path.split(os.sep)[0] for path in _cluster_scenarios()})
    line = output.read_text().strip()
    assert line.startswith("roles=") and json.loads(line[len("roles="):]) == expected
    assert "csi" in expected


def _cluster_scenarios():
    roles = os.path.join(ROOT, "roles")
    for role in os.listdir(roles):
        molecule = os.path.join(roles, role, "molecule")
        for scenario in os.listdir(molecule) if os.path.isdir(molecule) else []:
            path = os.path.join(molecule, scenario, "molecule.yml")
            with open(path, encoding="utf-8") as handle:
                if handle.readline().strip() == "# kubelab-scenario: cluster":
                    yield os.path.relpath(path, roles)


def _molecule_env(tmp_path, workspace):
    """Run the env step as GitHub would and return the variables it exported (GITHUB_ENV) and PATH entries."""
    env_file, path_file = tmp_path / "github_env", tmp_path / "github_path"
    result = _bash(_step("kind", "molecule-cluster", RUN_HERE_NAMES["env"]), ROOT,
                   {"GITHUB_ENV": str(env_file), "GITHUB_PATH": str(path_file), "GITHUB_WORKSPACE": str(workspace),
                    "RUNNER_TEMP": str(tmp_path / "runner")})
    assert result.returncode == 0, result.stderr
    exported = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    return exported, path_file.read_text().split()


def test_the_molecule_steps_share_one_ephemeral_dir_and_destroy_works_before_create(tmp_path):
    exported, paths = _molecule_env(tmp_path, tmp_path / "clone")
    assert exported == {"KUBELAB_PROJECT_DIR": str(tmp_path / "clone"),
                        "ANSIBLE_CONFIG": str(tmp_path / "clone" / "ansible.cfg"),
                        "MOLECULE_EPHEMERAL_DIRECTORY": str(tmp_path / "runner" / "molecule-csi")}
    assert paths == [str(tmp_path / "clone" / ".venv" / "bin")]
    # The workflow's last step, as on a runner whose scenario failed before create: on a fresh clone with the
    # exported environment (the venv's bin stands for the runner's GITHUB_PATH entry).
    script = _step("kind", "molecule-cluster", RUN_HERE_NAMES["destroy"])
    assert_destroyed(*destroy_on_fresh_clone(tmp_path, ["bash", "-eo", "pipefail", "-c", script]))


@pytest.fixture()
def cluster(tmp_path):
    """An API double with a pod that never started and a healthy one (kind's nodes and zones)."""
    from kubernetes import client, config

    with running(tmp_path / "kubesim") as double:
        config.load_kube_config(config_file=str(double.kubeconfig))
        core = client.CoreV1Api()
        for name, status in (("broken", {"phase": "Pending"}),
                             ("healthy", {"phase": "Running", "containerStatuses": [
                                 {"name": "app", "ready": True, "restartCount": 0, "image": "app:1", "imageID": ""}]})):
            core.create_namespaced_pod("default", {"metadata": {"name": name},
                                                   "spec": {"containers": [{"name": "app", "image": "app:1"}]}})
            core.patch_namespaced_pod_status(name, "default", {"status": status})
        yield double


@pytest.mark.skipif(not (shutil.which("kubectl") and shutil.which("jq")), reason="needs kubectl and jq")
def test_the_collect_step_writes_resources_events_and_the_failing_pods_logs(tmp_path, cluster):
    ephemeral = tmp_path / "runner" / "molecule-csi"
    (ephemeral / "cluster").mkdir(parents=True)
    shutil.copy(cluster.kubeconfig, ephemeral / "cluster" / "kubeconfig")
    env = {"MOLECULE_EPHEMERAL_DIRECTORY": str(ephemeral), "RUNNER_TEMP": str(tmp_path / "runner")}
    result = _bash(_step("kind", "molecule-cluster", RUN_HERE_NAMES["collect"]), ROOT, env)
    assert result.returncode == 0, result.stdout + result.stderr
    state = tmp_path / "runner" / "cluster-state"
    resources = (state / "resources.txt").read_text()
    assert "topology.kubernetes.io/zone=zone-c" in resources, resources
    assert "pod/broken" in resources and "pod/healthy" in resources, resources
    assert (state / "events.txt").exists()
    assert sorted(os.listdir(state / "pods")) == ["default_broken.txt"]
    assert "Name:" in (state / "pods" / "default_broken.txt").read_text()
    assert "1 failing pod(s)" in result.stdout


def test_the_collect_step_without_a_cluster_says_so_and_passes(tmp_path):
    workspace = tmp_path / "workspace"  # a checkout where the cluster was never created
    workspace.mkdir()
    (workspace / "scripts").symlink_to(os.path.join(ROOT, "scripts"))
    result = _bash(_step("kubeadm", "cluster", RUN_HERE_NAMES["collect"]), str(workspace),
                   {"RUNNER_TEMP": str(tmp_path / "runner")})
    assert result.returncode == 0, result.stderr
    assert "the cluster was not created" in (tmp_path / "runner" / "cluster-state" / "resources.txt").read_text()


@pytest.mark.parametrize("control_planes", ["1", "3"])
def test_the_kubeadm_ci_inventory_has_the_groups_of_inventories_kubeadm(tmp_path, control_planes):
    script = _step("kubeadm", "cluster", RUN_HERE_NAMES["inventory"], {"matrix.control_planes": control_planes})
    result = _bash(script, str(tmp_path), {})
    assert result.returncode == 0, result.stderr
    listed = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", "build/ci-inventory", "--list"],
                            cwd=tmp_path, capture_output=True, text=True, check=True)
    groups = json.loads(listed.stdout)
    members = {name: set(group.get("hosts", [])) for name, group in groups.items() if isinstance(group, dict)}
    control = members["kubeadm_control_plane"]
    assert len(control) == int(control_planes)
    assert members["kubeadm_workers"] == {"worker-a", "worker-b", "worker-c"}
    for zone in "abc":
        assert "worker-" + zone in members["zone_" + zone]
    zoned = set().union(*(members["zone_" + zone] for zone in "abc"))
    assert zoned == control | members["kubeadm_workers"], "every node in exactly the zone groups"
    host_vars = groups["_meta"]["hostvars"]
    assert all(host_vars[node]["ansible_connection"] == "community.docker.docker" for node in zoned)
    assert ("cluster_kubeadm_ha_endpoint" in host_vars["cp-a"]) == (control_planes == "3")


@pytest.mark.parametrize("docker_works, installed, needed", [
    # GitHub runner: docker-ce answers, docker.io is not installed
    (True, "", ["debootstrap", "jq", "dropbear-bin", "openssh-client", "openssh-sftp-server"]),
    (False, "", ["docker.io", "debootstrap", "jq", "dropbear-bin", "openssh-client", "openssh-sftp-server"]),
    (False, "docker.io debootstrap jq dropbear-bin openssh-client openssh-sftp-server", []),
])
def test_host_setup_leaves_a_working_docker_engine_alone(tmp_path, docker_works, installed, needed):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").symlink_to(os.path.join(DOUBLES, "docker-double"))
    (bin_dir / "dpkg-query").symlink_to(os.path.join(DOUBLES, "dpkg-query-double"))
    env = {"PATH": "%s%s%s" % (bin_dir, os.pathsep, os.environ["PATH"]),
           "DOCKER_DOUBLE_INFO_RC": "0" if docker_works else "1", "DPKG_DOUBLE_INSTALLED": installed}
    # Sourcing a script without its guard would run the whole setup as root: check the guard first.
    with open(os.path.join(ROOT, "scripts", "test-host-setup.sh"), encoding="utf-8") as handle:
        assert '\n[ "${BASH_SOURCE[0]}" = "$0" ] || return 0\n' in handle.read()
    result = _bash("source scripts/test-host-setup.sh && packages_needed", ROOT, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == needed


def test_actions_are_pinned_to_a_version():
    for name in os.listdir(WORKFLOWS):
        with open(os.path.join(WORKFLOWS, name), encoding="utf-8") as handle:
            jobs = yaml.safe_load(handle)["jobs"]
        for job_id, job in jobs.items():
            for step in job.get("steps", []):
                if "uses" in step:
                    assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+\.\d+\.\d+", step["uses"]), (name, job_id, step["uses"])
