"""A whole class in plan mode: one cluster per student or one namespace per student, caches, bad rosters.
The day playbook runs the registry_cache and students roles itself."""

import csv
import os
import tomllib

import pytest
import yaml

from conftest import ROOT, load_index, run_playbook

STUDENTS = ["alice", "bob", "carol"]
# Add-on and lab roles are tested on their own; the class tests need neither (labs need their add-ons).
NO_ADDONS = '{"kubelab_addons": [], "kubelab_labs": []}'
ROSTER = '{"kubelab_addons": [], "kubelab_labs": [], "kubelab_students": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}]}'
DAY3 = "playbooks/day3.yml"


@pytest.fixture(scope="module")
def plan_class(tmp_path_factory):
    cache = {}

    def plan(*extra, inventory="inventories/local"):
        key = (extra, inventory)
        if key not in cache:
            tmp = tmp_path_factory.mktemp("class")
            build_dir = str(tmp / "build")
            result = run_playbook(DAY3, build_dir, "-e", "kubelab_mode=plan", *extra, inventory=inventory)
            assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
            cache[key] = build_dir
        return cache[key]

    return plan


def plan_file(build_dir, cluster, path):
    with open(os.path.join(build_dir, "plan", cluster, path), encoding="utf-8") as handle:
        return list(d for d in yaml.safe_load_all(handle) if d is not None)


def test_cluster_tenancy_renders_three_distinct_clusters(plan_class):
    build_dir = plan_class("-e", ROSTER, "-e", "kubelab_tenancy=cluster")
    clusters = sorted(os.listdir(os.path.join(build_dir, "plan")))
    assert clusters == ["kubelab-alice", "kubelab-bob", "kubelab-carol"]
    ports = []
    for name in clusters:
        config = plan_file(build_dir, name, "cluster_kind/kind-config.yaml")[0]
        assert config["name"] == name
        first = config["nodes"][0]
        ports += [config["networking"]["apiServerPort"]] + [m["hostPort"] for m in first["extraPortMappings"]]
        access = plan_file(build_dir, name, "students/access.yaml")[0]["students"]
        student = name.removeprefix("kubelab-")
        assert [(a["student"], a["tenancy"], a["context"]) for a in access] == [(student, "cluster", "%s@%s" % (student, name))]
        assert access[0]["server"] == "https://127.0.0.1:%d" % config["networking"]["apiServerPort"]
        assert not os.path.exists(os.path.join(build_dir, "plan", name, "students", "tenancy.yaml"))
    assert len(ports) == 9 and len(set(ports)) == 9, "API, HTTP and HTTPS host ports must all differ: %s" % ports


def test_a_class_is_rendered_once_not_once_per_cluster(tmp_path):
    """Day 3 with its add-ons and labs for three students: the first cluster's worker renders every cluster, so
    the other clusters run only the Clusters play's three includes (kind, and the kubeadm and existing ones it
    skips), yet each gets its own complete plan."""
    roster = '{"kubelab_students": [{"name": "alice"}, {"name": "bob"}, {"name": "carol"}]}'
    build_dir = str(tmp_path / "build")
    result = run_playbook(DAY3, build_dir, "-e", "kubelab_mode=plan", "-e", roster, "-e", "kubelab_tenancy=cluster")
    assert result.returncode == 0, result.stdout[-4000:]
    recap = {line.split()[0]: dict(f.split("=") for f in line.split()[2:])
             for line in result.stdout.split("PLAY RECAP")[-1].splitlines() if line.startswith("kubelab-")}
    for name in ("kubelab-bob", "kubelab-carol"):
        assert int(recap[name]["ok"]) + int(recap[name]["skipped"]) <= 3, recap[name]
    assert int(recap["kubelab-alice"]["ok"]) > 10
    first = load_index(build_dir, "kubelab-alice")["artifacts"]
    for name in ("kubelab-bob", "kubelab-carol"):
        index = load_index(build_dir, name)
        assert index["cluster"] == name
        assert [a["path"] for a in index["artifacts"]] == [a["path"] for a in first]
        assert len(first) > 15


def test_cluster_tenancy_kubeconfig_paths_differ():
    from ansible_collections.kubelab.core.plugins.module_utils.class_plan import class_plan

    plan = class_plan([{"name": s} for s in STUDENTS], build_dir="/b", tenancy="cluster")
    assert len({c["kubeconfig"] for c in plan}) == 3
    assert len({c["plan_dir"] for c in plan}) == 3


def test_namespace_tenancy_renders_three_namespaces_and_contexts_on_one_cluster(plan_class):
    build_dir = plan_class("-e", ROSTER, "-e", "kubelab_tenancy=namespace")
    assert os.listdir(os.path.join(build_dir, "plan")) == ["kubelab-shared"]
    docs = plan_file(build_dir, "kubelab-shared", "students/tenancy.yaml")
    homes = sorted(d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"
                   and d["metadata"]["name"] == d["metadata"]["labels"]["kubelab.dev/student"])
    assert homes == STUDENTS
    access = plan_file(build_dir, "kubelab-shared", "students/access.yaml")[0]["students"]
    assert [a["context"] for a in access] == ["alice@kubelab-shared", "bob@kubelab-shared", "carol@kubelab-shared"]
    assert [a["namespace"] for a in access] == STUDENTS
    assert [a["user"] for a in access] == ["system:serviceaccount:%s:%s" % (s, s) for s in STUDENTS]
    index = load_index(build_dir, "kubelab-shared")
    assert {"path": "students/tenancy.yaml", "role": "students", "type": "manifest"} in index["artifacts"]
    # Plan mode renders no secret: no access sheets, no kubeconfig anywhere under build/.
    assert not os.path.exists(os.path.join(build_dir, "students"))
    assert not [f for _, _, files in os.walk(build_dir) for f in files if f == "kubeconfig"]


def test_classroom_with_caches_mounts_certs_d_into_every_node(plan_class):
    build_dir = plan_class("-e", NO_ADDONS, inventory="inventories/classroom")
    with open(os.path.join(ROOT, "inventories", "classroom", "students.csv"), encoding="utf-8") as handle:
        roster = [row["name"] for row in csv.DictReader(handle)]
    assert sorted(os.listdir(os.path.join(build_dir, "plan"))) == sorted("kubelab-%s" % s for s in roster)
    certs_d = os.path.join(build_dir, "registry", "certs.d")
    for student in roster:
        config = plan_file(build_dir, "kubelab-%s" % student, "cluster_kind/kind-config.yaml")[0]
        for node in config["nodes"]:
            assert {"hostPath": certs_d, "containerPath": "/etc/containerd/certs.d", "readOnly": True} in node["extraMounts"]
        # kind node images since v0.27 already point containerd's config_path at /etc/containerd/certs.d.
        assert "containerdConfigPatches" not in config
        # The students reach the API at the classroom host's address, which the certificate must name.
        assert "192.0.2.10" in config["kubeadmConfigPatches"][0]
        assert config["networking"]["apiServerAddress"] == "0.0.0.0"
    # What the nodes mount exists: one hosts.toml per upstream registry. containerd looks up
    # <config_path>/<registry host>/hosts.toml only, so the plan's index.json beside them is inert.
    registries = ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"]
    assert sorted(os.listdir(certs_d)) == sorted(registries + ["index.json"])
    assert all(os.path.isdir(os.path.join(certs_d, r)) for r in registries)
    with open(os.path.join(certs_d, "docker.io", "hosts.toml"), "rb") as handle:
        assert tomllib.load(handle)["server"] == "https://registry-1.docker.io"


@pytest.mark.parametrize("roster,message", [
    ('[{"name": "Alice"}]', "'Alice' is not a valid student name"),
    ('[{"name": "bob"}, {"name": "bob"}]', "student 'bob' appears twice"),
    ('[{"name": "-x"}]', "'-x' is not a valid student name"),
])
def test_bad_roster_list_fails_in_preflight_and_leaves_build_untouched(tmp_path, roster, message):
    build_dir = tmp_path / "build"
    result = run_playbook(DAY3, str(build_dir), "-e", "kubelab_mode=plan",
                          "-e", '{"kubelab_addons": [], "kubelab_labs": [], "kubelab_students": %s}' % roster)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert not build_dir.exists(), "preflight failed, yet something was written under build/"


# Errors name the file and its line (blank lines count), not a list index.
@pytest.mark.parametrize("rows,message", [
    ("name\nalice\nbob\n\nalice\n", "line 5: student 'alice' is already on line 2"),
    ("name\nalice\nBob Smith\n", "line 3: 'Bob Smith' is not a valid student name"),
    ("student\nalice\n", "line 1: the header 'student' has no 'name' column"),
    ("name\nalice,extra\n", "line 2: more cells than the header has columns"),
])
def test_bad_roster_csv_fails_in_preflight_and_leaves_build_untouched(tmp_path, rows, message):
    roster = tmp_path / "students.csv"
    roster.write_text(rows)
    build_dir = tmp_path / "build"
    result = run_playbook(DAY3, str(build_dir), "-e", "kubelab_mode=plan",
                          "-e", NO_ADDONS, "-e", "kubelab_students_csv=%s" % roster)
    assert result.returncode != 0
    assert "%s %s" % (roster, message) in result.stdout, result.stdout[-3000:]
    assert not build_dir.exists(), "preflight failed, yet something was written under build/"


def test_roster_csv_cells_are_trimmed_and_blank_lines_skipped(tmp_path):
    roster = tmp_path / "students.csv"
    roster.write_text(" name , lang\n  alice ,ko\n\n , \nbob\t, en \n")
    build_dir = tmp_path / "build"
    result = run_playbook(DAY3, str(build_dir), "-e", "kubelab_mode=plan",
                          "-e", NO_ADDONS, "-e", "kubelab_students_csv=%s" % roster)
    assert result.returncode == 0, result.stdout[-3000:]
    assert sorted(os.listdir(build_dir / "plan")) == ["kubelab-alice", "kubelab-bob"]
