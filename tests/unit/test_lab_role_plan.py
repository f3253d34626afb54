"""The lab role's filters (kubelab.core: plugins/filter/lab_plan.py): loading, tenancy rewriting, Secrets."""

import base64
import copy
import os

import pytest
import yaml

from ansible_collections.kubelab.core.plugins.filter import lab_plan

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LABS_DIR = os.path.join(ROOT, "labs")

SHARED = ["default", "kube-system", "argocd", "velero", "vault", "monitoring", "ingress-nginx"]
GIT_URL = "http://git-server.argocd.svc.cluster.local/platform-manifests.git"


def write_lab(tmp_path, lab, manifests):
    lab_dir = tmp_path / lab["id"]
    (lab_dir / "manifests").mkdir(parents=True)
    (lab_dir / "lab.yml").write_text(yaml.safe_dump(lab))
    for name, docs in manifests.items():
        (lab_dir / "manifests" / name).write_text(yaml.safe_dump_all(docs))
    return str(tmp_path)


def mini_lab(**extra):
    lab = {"id": "w9d9-mini", "day": 3, "addons": ["cni"], "namespaces": ["shop"], "manifests": ["00-ns.yaml", "10-app.yaml"],
           "checks": [{"id": "app-ready", "description": "app", "needs_real_cluster": False,
                       "resource": {"api_version": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "app"},
                       "expect": [{"path": "status.readyReplicas", "op": ">=", "value": 1}]},
                      {"id": "ns-labelled", "description": "ns", "needs_real_cluster": False,
                       "resource": {"api_version": "v1", "kind": "Namespace", "label_selectors": ["tier=shop"]},
                       "expect": [{"op": "count", "value": 1}]}]}
    lab.update(extra)
    return lab


NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop", "labels": {"tier": "shop"}}}
APP = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "shop"},
       "spec": {"replicas": 2, "template": {"spec": {"containers": [
           {"name": "app", "image": "busybox:1.36.1",
            "env": [{"name": "DB", "value": "db.shop.svc.cluster.local"}, {"name": "OTHER", "value": "db.shopping.svc"},
                    {"name": "HOST", "value": "shop.kubelab.local"}]}]}}}}
IDLE = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "load", "namespace": "shop"}, "spec": {"replicas": 0}}
POLICY = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "shop"},
          "spec": {"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}},
                                         {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]}]}}
INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"rules": [{"host": "shop.kubelab.local"}]}}
BINDING = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b", "namespace": "shop"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
           "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]}


@pytest.fixture()
def mini(tmp_path):
    labs_dir = write_lab(tmp_path, mini_lab(), {"00-ns.yaml": [NS], "10-app.yaml": [APP, IDLE, POLICY, INGRESS, BINDING]})
    return lab_plan.lab_load(labs_dir, "w9d9-mini")


def test_known_labs_are_the_directories_with_a_lab_yml():
    known = lab_plan.lab_known(LABS_DIR)
    assert "w2d3-ecommerce" in known and "w2d3-banking" in known
    assert known == sorted(known)
    assert all(os.path.isfile(os.path.join(LABS_DIR, k, "lab.yml")) for k in known)


def test_an_unknown_lab_names_the_known_ones():
    with pytest.raises(lab_plan.LabError) as err:
        lab_plan.lab_load(LABS_DIR, "nope")
    assert "unknown lab 'nope'" in str(err.value)
    assert "w2d3-ecommerce" in str(err.value)


def test_a_missing_manifest_file_is_an_error(tmp_path):
    labs_dir = write_lab(tmp_path, mini_lab(), {"00-ns.yaml": [NS]})
    with pytest.raises(lab_plan.LabError, match="10-app.yaml, which does not exist"):
        lab_plan.lab_load(labs_dir, "w9d9-mini")


def test_cluster_tenancy_keeps_the_manifests_and_lists_what_to_wait_for(mini):
    (inst,) = lab_plan.lab_instances(mini, "cluster", ["kim"])
    assert inst["student"] is None and inst["students"] == ["kim"]
    assert [a["path"] for a in inst["artifacts"]] == ["lab/w9d9-mini/00-ns.yaml", "lab/w9d9-mini/10-app.yaml"]
    assert inst["artifacts"][1]["documents"] == [APP, IDLE, POLICY, INGRESS, BINDING]
    # The Deployment scaled to 0 has nothing to wait for.
    assert inst["workloads"] == [{"api_version": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "app"}]
    assert inst["owned_namespaces"] == ["shop"] and inst["namespaces"] == [NS]
    assert inst["report"] == "w9d9-mini.json" and inst["secrets_subdir"] == "w9d9-mini"
    assert inst["checks"] == mini["lab"]["checks"]


def test_namespace_tenancy_gives_each_student_a_prefixed_copy(mini):
    before = copy.deepcopy(mini)
    kim, lee = lab_plan.lab_instances(mini, "namespace", ["kim", {"name": "lee"}], shared_namespaces=SHARED)
    assert mini == before, "the loaded lab is not modified"
    assert lee["student"] == "lee" and lee["students"] == ["lee"] and lee["report"] == "w9d9-mini.lee.json"
    assert [a["path"] for a in kim["artifacts"]] == ["lab/w9d9-mini/kim/00-ns.yaml", "lab/w9d9-mini/kim/10-app.yaml"]
    ns, = kim["artifacts"][0]["documents"]
    assert ns["metadata"] == {"name": "kim-shop", "labels": {"tier": "shop", "kubelab.dev/student": "kim"}}
    app, idle, policy, ingress, binding = kim["artifacts"][1]["documents"]
    assert {d["metadata"]["namespace"] for d in (app, idle, policy, ingress, binding)} == {"kim-shop"}
    env = {e["name"]: e["value"] for e in app["spec"]["template"]["spec"]["containers"][0]["env"]}
    # Only <svc>.<owned namespace>.svc changes; a namespace that merely starts the same does not.
    assert env == {"DB": "db.kim-shop.svc.cluster.local", "OTHER": "db.shopping.svc", "HOST": "kim.shop.kubelab.local"}
    peers = policy["spec"]["ingress"][0]["from"]
    assert [p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for p in peers] == ["kim-shop", "ingress-nginx"]
    assert ingress["spec"]["rules"][0]["host"] == "kim.shop.kubelab.local"
    assert binding["subjects"][0]["namespace"] == "kim-shop"
    assert kim["owned_namespaces"] == ["kim-shop"]
    assert kim["workloads"][0]["namespace"] == "kim-shop"
    checks = {c["id"]: c["resource"] for c in kim["checks"]}
    assert checks["app-ready"]["namespace"] == "kim-shop"
    # The students role's NetworkPolicies, quota and RBAC in kim-shop carry her label: a check never counts them.
    assert checks["app-ready"]["label_selectors"] == ["!kubelab.dev/student"]
    assert checks["ns-labelled"]["label_selectors"] == ["tier=shop", "kubelab.dev/student=kim"]


def test_replacements_apply_in_every_tenancy(tmp_path):
    app = copy.deepcopy(APP)
    app["spec"]["template"]["spec"]["containers"][0]["env"].append({"name": "REPO", "value": GIT_URL})
    labs_dir = write_lab(tmp_path, mini_lab(), {"00-ns.yaml": [NS], "10-app.yaml": [app]})
    loaded = lab_plan.lab_load(labs_dir, "w9d9-mini")
    for tenancy in ("cluster", "namespace"):
        for inst in lab_plan.lab_instances(loaded, tenancy, ["kim"], replacements={GIT_URL: "git://g/x.git"}):
            env = inst["artifacts"][1]["documents"][0]["spec"]["template"]["spec"]["containers"][0]["env"]
            assert env[-1]["value"] == "git://g/x.git"


@pytest.mark.parametrize("doc,problem", [
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "c"}}, "cluster-wide object ClusterRole c"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "argocd"}}, "does not create"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}, "has no metadata.namespace"),
])
def test_namespace_tenancy_refuses_what_students_would_share(tmp_path, doc, problem):
    labs_dir = write_lab(tmp_path, mini_lab(), {"00-ns.yaml": [NS], "10-app.yaml": [APP, doc]})
    loaded = lab_plan.lab_load(labs_dir, "w9d9-mini")
    problems = lab_plan.lab_tenancy_problems(loaded, SHARED)
    assert len(problems) == 1 and problem in problems[0]
    with pytest.raises(lab_plan.LabError, match="cannot run in namespace tenancy"):
        lab_plan.lab_instances(loaded, "namespace", ["kim"], shared_namespaces=SHARED)
    assert lab_plan.lab_instances(loaded, "cluster", ["kim"], shared_namespaces=SHARED)


def test_the_committed_labs_in_namespace_tenancy():
    refused = {lab_id for lab_id in lab_plan.lab_known(LABS_DIR)
               if lab_plan.lab_tenancy_problems(lab_plan.lab_load(LABS_DIR, lab_id), SHARED)}
    # The GitOps lab keeps its ApplicationSet in argocd and its Schedule in velero; the others can be copied.
    assert refused == {"w2d4-gitops-backup"}


def test_gitops_lab_owns_only_the_namespace_it_creates():
    (inst,) = lab_plan.lab_instances(lab_plan.lab_load(LABS_DIR, "w2d4-gitops-backup"), "cluster", ["kim"],
                                     replacements={GIT_URL: "git://g/x.git"}, shared_namespaces=SHARED)
    assert inst["owned_namespaces"] == ["backup-demo"]
    argo = [d for a in inst["artifacts"] for d in a["documents"] if d["kind"] == "ApplicationSet"][0]
    assert argo["spec"]["template"]["spec"]["source"]["repoURL"] == "git://g/x.git"
    assert argo["spec"]["template"]["metadata"]["name"] == "platform-{{.region}}", "Go templates are left alone"


def test_reset_lists_what_the_guides_leave_behind():
    (gitops,) = lab_plan.lab_instances(lab_plan.lab_load(LABS_DIR, "w2d4-gitops-backup"), "cluster", ["kim"],
                                       shared_namespaces=SHARED)
    deleted = {(r["kind"], r.get("namespace"), r["name"]) for r in gitops["reset"]["delete"]}
    assert {("Namespace", None, "platform-zone-%s" % z) for z in "abc"} <= deleted
    assert ("Restore", "velero", "drill-restore") in deleted
    assert [b["name"] for b in gitops["reset"]["velero_backups"]] == ["drill-backup"]
    (shop,) = lab_plan.lab_instances(lab_plan.lab_load(LABS_DIR, "w1d2-online-shop"), "cluster", ["kim"],
                                     shared_namespaces=SHARED)
    assert shop["reset"]["uncordon_nodes"] == ["topology.kubernetes.io/zone=zone-a,!node-role.kubernetes.io/control-plane"]


def test_reset_objects_follow_the_students_namespaces(tmp_path):
    lab = mini_lab(reset={"delete": [{"api_version": "v1", "kind": "Namespace", "name": "shop"},
                                     {"api_version": "v1", "kind": "ConfigMap", "namespace": "shop", "name": "made-by-guide"},
                                     {"api_version": "v1", "kind": "Namespace", "name": "not-owned"}]})
    loaded = lab_plan.lab_load(write_lab(tmp_path, lab, {"00-ns.yaml": [NS], "10-app.yaml": [APP]}), "w9d9-mini")
    kim, lee = lab_plan.lab_instances(loaded, "namespace", ["kim", "lee"], shared_namespaces=SHARED)
    assert [(r.get("namespace"), r["name"]) for r in kim["reset"]["delete"]] == [
        (None, "kim-shop"), ("kim-shop", "made-by-guide"), (None, "not-owned")]
    assert lee["reset"]["delete"][1]["namespace"] == "lee-shop"
    assert kim["reset"]["uncordon_nodes"] == [] and kim["reset"]["velero_backups"] == []


def test_too_long_namespace_names_are_refused(mini):
    with pytest.raises(lab_plan.LabError, match="longer than 63"):
        lab_plan.lab_instances(mini, "namespace", ["s" * 60], shared_namespaces=SHARED)


def test_secret_objects_group_keys_and_type_tls():
    generated = [{"namespace": "a", "secret": "db", "key": "password", "kind": "password"},
                 {"namespace": "a", "secret": "db", "key": "token", "kind": "token"},
                 {"namespace": "b", "secret": "web-tls", "key": "tls.crt", "kind": "tls"}]
    b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
    values = {"a/db/password": {"value": b64("p")}, "a/db/token": {"value": b64("t")},
              "b/web-tls/tls.crt": {"crt": b64("CRT"), "key": b64("KEY")}}
    db, tls = lab_plan.lab_secret_objects(generated, values)
    assert db["type"] == "Opaque" and db["data"] == {"password": b64("p"), "token": b64("t")}
    assert db["metadata"]["namespace"] == "a" and db["metadata"]["name"] == "db"
    assert tls["type"] == "kubernetes.io/tls" and tls["data"] == {"tls.crt": b64("CRT"), "tls.key": b64("KEY")}
    with pytest.raises(lab_plan.LabError, match="no generated value"):
        lab_plan.lab_secret_objects(generated, {})


def test_a_check_whose_objects_could_not_be_read_fails_with_the_reason():
    results = [{"id": "a", "passed": False, "skipped": False, "detail": "no matching object found"},
               {"id": "b", "passed": True, "skipped": False, "detail": "ok"},
               {"id": "c", "passed": None, "skipped": True, "detail": "skipped"}]
    fetched = {"a": {"failed": False, "msg": "Failed to find exact match for argoproj.io/v1alpha1.Application"},
               "b": {"resources": [{}]}}
    out = lab_plan.lab_fetch_failures(results, fetched)
    assert out[0] == {"id": "a", "passed": False, "skipped": False,
                      "detail": "could not read the objects: Failed to find exact match for argoproj.io/v1alpha1.Application"}
    assert out[1:] == results[1:]


def test_the_table_has_one_line_per_check():
    lines = lab_plan.lab_table([{"id": "a", "passed": True, "skipped": False, "detail": "ok"},
                                {"id": "bb", "passed": False, "skipped": False, "detail": "count: 0 == 3 is false"},
                                {"id": "c", "passed": None, "skipped": True, "detail": "skipped"}])
    assert [line.split()[0] for line in lines] == ["PASS", "FAIL", "SKIP"]
    assert "count: 0 == 3 is false" in lines[1]
