"""Plan mode renders the day's labs into build/plan/<cluster>/lab/ with the lab role, and lab ids are checked."""

import glob
import json
import os

import pytest
import yaml

from conftest import ROOT, load_index, run_playbook

LABS_DIR = os.path.join(ROOT, "labs")
CLUSTER = "kubelab-instructor"


def load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_docs(path):
    with open(path, encoding="utf-8") as handle:
        return [d for d in yaml.safe_load_all(handle) if d]


LABS = {os.path.basename(os.path.dirname(p)): load_yaml(p) for p in sorted(glob.glob(os.path.join(LABS_DIR, "*", "lab.yml")))}
DAY3_LABS = sorted(lab_id for lab_id, lab in LABS.items() if lab["day"] == 3)


def day_vars(day):
    return load_yaml(os.path.join(ROOT, "playbooks", "days", "day%s.yml" % day))


def test_the_labs_exist():
    assert set(DAY3_LABS) == {"w2d3-ecommerce", "w2d3-banking"}
    assert len(LABS) >= 6


@pytest.mark.parametrize("lab_id", DAY3_LABS)
def test_day3_plan_renders_each_manifest_of_both_scenarios(tmp_path_factory, plan_day, lab_id):
    build_dir = plan_day(tmp_path_factory, 3)
    lab = LABS[lab_id]
    index = load_index(build_dir, CLUSTER)
    lab_entries = {a["path"]: a for a in index["artifacts"] if a["path"].startswith("lab/%s/" % lab_id)}
    assert sorted(lab_entries) == sorted("lab/%s/%s" % (lab_id, m) for m in lab["manifests"])
    for name in lab["manifests"]:
        entry = lab_entries["lab/%s/%s" % (lab_id, name)]
        assert entry == {"path": "lab/%s/%s" % (lab_id, name), "role": "lab", "type": "manifest"}
        rendered = load_docs(os.path.join(build_dir, "plan", CLUSTER, entry["path"]))
        source = load_docs(os.path.join(LABS_DIR, lab_id, "manifests", name))
        # Cluster tenancy and no placeholder in the Day 3 labs: the plan holds the manifests unchanged.
        assert rendered == source, name


def test_generated_secrets_are_not_in_the_plan(tmp_path_factory, plan_day):
    build_dir = plan_day(tmp_path_factory, 3)
    generated = {(g["namespace"], g["secret"]) for lab_id in DAY3_LABS for g in LABS[lab_id].get("generated_values", [])}
    assert generated, "the Day 3 labs generate Secrets"
    rendered = []
    for path in glob.glob(os.path.join(build_dir, "plan", CLUSTER, "lab", "**", "*.yaml"), recursive=True):
        rendered += load_docs(path)
    secrets = {(d["metadata"].get("namespace"), d["metadata"]["name"]) for d in rendered if d["kind"] == "Secret"}
    assert not secrets & generated
    assert not os.path.exists(os.path.join(build_dir, "secrets")), "plan mode generates no secret"


def test_the_gitops_lab_syncs_from_the_repository_the_argocd_add_on_serves(tmp_path_factory, plan_day):
    """Day 4 renders the git server and the GitOps lab from one variable, kubelab_git_repo_url."""
    build_dir = plan_day(tmp_path_factory, "4")
    url = load_yaml(os.path.join(ROOT, "playbooks", "group_vars", "all", "main.yml"))["kubelab_git_repo_url"]
    plan = os.path.join(build_dir, "plan", CLUSTER)
    sources = [doc["spec"].get("sourceRepos") or [doc["spec"]["template"]["spec"]["source"]["repoURL"]]
               for path in glob.glob(os.path.join(plan, "lab", "w2d4-gitops-backup", "**", "*.yaml"), recursive=True)
               for doc in load_docs(path) if doc["kind"] in ("AppProject", "ApplicationSet")]
    assert sources and all(repos == [url] for repos in sources), sources
    served = [d for d in load_docs(os.path.join(plan, "argocd", "git-server.yaml")) if d["kind"] == "Service"]
    host = url.split("/")[2]
    assert ["%s.%s.svc.cluster.local" % (s["metadata"]["name"], s["metadata"]["namespace"]) for s in served] == [host]


def test_namespace_tenancy_renders_one_copy_per_student(tmp_path_factory, plan_day):
    students = json.dumps({"kubelab_tenancy": "namespace", "kubelab_students": [{"name": "kim"}, {"name": "lee"}]})
    build_dir = plan_day(tmp_path_factory, 3, "-e", students)
    plan = os.path.join(build_dir, "plan", "kubelab-shared", "lab", "w2d3-ecommerce")
    for student in ("kim", "lee"):
        docs = load_docs(os.path.join(plan, student, "00-namespaces.yaml"))
        assert sorted(d["metadata"]["name"] for d in docs) == sorted(
            "%s-%s" % (student, ns) for ns in ("ecommerce-frontend", "ecommerce-backend", "ecommerce-data"))
        assert all(d["metadata"]["labels"]["kubelab.dev/student"] == student for d in docs)
        backend = load_docs(os.path.join(plan, student, "20-backend.yaml"))
        assert {d["metadata"]["namespace"] for d in backend} == {"%s-ecommerce-backend" % student}
        policies = load_docs(os.path.join(plan, student, "40-network-policies.yaml"))
        selected = [peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    for d in policies for rule in d["spec"].get("ingress", []) + d["spec"].get("egress", [])
                    for peer in rule.get("from", []) + rule.get("to", []) if "namespaceSelector" in peer
                    and "kubernetes.io/metadata.name" in peer["namespaceSelector"].get("matchLabels", {})]
        # Other students' namespaces are never selected; add-on namespaces stay as they are.
        assert "%s-ecommerce-backend" % student in selected
        assert "ingress-nginx" in selected
        assert not [s for s in selected if s.startswith("ecommerce-")]
        text = open(os.path.join(plan, student, "20-backend.yaml"), encoding="utf-8").read()
        assert "postgres-primary.%s-ecommerce-data.svc" % student in text


def test_an_unknown_lab_fails_before_anything_is_rendered(tmp_path):
    build_dir = tmp_path / "build"
    result = run_playbook("playbooks/day3.yml", str(build_dir), "-e", "kubelab_mode=plan", "-e", "lab=nope")
    assert result.returncode != 0
    assert "nope" in result.stdout
    # The message lists the labs the run could take.
    assert all(lab_id in result.stdout for lab_id in DAY3_LABS), result.stdout[-3000:]
    assert not (build_dir / "plan").exists()


def test_lab_reset_with_an_unknown_lab_fails_listing_every_known_lab(tmp_path):
    build_dir = tmp_path / "build"
    result = run_playbook("playbooks/lab-reset.yml", str(build_dir), "-e", "lab=nope")
    assert result.returncode != 0
    assert "Unknown lab 'nope'" in result.stdout, result.stdout[-3000:]
    assert all(lab_id in result.stdout for lab_id in LABS), result.stdout[-3000:]
    assert not build_dir.exists(), "nothing may be written or changed"


def test_lab_reset_needs_a_lab(tmp_path):
    result = run_playbook("playbooks/lab-reset.yml", str(tmp_path / "build"))
    assert result.returncode != 0
    assert "Give the lab to reset: -e lab=<id>" in result.stdout, result.stdout[-3000:]


@pytest.mark.parametrize("lab_id", sorted(LABS))
def test_every_lab_runs_on_its_day_with_its_addons(lab_id):
    lab = LABS[lab_id]
    for day in (lab["day"], "all"):
        values = day_vars(day)
        assert lab_id in values["kubelab_labs"], "day%s.yml kubelab_labs lacks %s" % (day, lab_id)
        missing = set(lab["addons"]) - set(values["kubelab_addons"])
        assert not missing, "day%s.yml kubelab_addons lacks %s needed by %s" % (day, sorted(missing), lab_id)


@pytest.mark.parametrize("day", [1, 3, 4])
def test_each_day_runs_only_its_own_labs(day):
    assert sorted(day_vars(day)["kubelab_labs"]) == sorted(i for i, lab in LABS.items() if lab["day"] == day)


def test_lab_reset_for_an_unknown_student_stops_before_touching_a_cluster(tmp_path):
    build_dir = tmp_path / "build"
    result = run_playbook("playbooks/lab-reset.yml", str(build_dir), "-e", "lab=w2d3-banking", "-e", "student=nobody")
    assert result.returncode != 0
    assert "student=nobody is not in the class (instructor)" in result.stdout, result.stdout[-3000:]
    assert not build_dir.exists()
