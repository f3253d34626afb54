"""Plan mode of the add-on roles argocd, vault and velero: what they render, and what their checks refuse.

Runs the real day playbook in plan mode (no Docker, no cluster) with csi + these three add-ons, then reads the
rendered values the way Helm would receive them. Labs are left out: they need add-ons of other roles.
"""

import glob
import json
import os
import secrets

import kubernetes_validate
import pytest
import yaml
from addon_plans import CLUSTER, ROOT, run_day, values
from ansible_collections.kubelab.core.plugins.filter import lab_plan
from ansible_collections.kubelab.core.plugins.filter.lab_platform import lab_platform

ADDONS = ["csi", "argocd", "vault", "velero"]
# No lab runs here, so argocd gets the repository the GitOps lab declares (what preflight would collect).
_LABS = os.path.join(ROOT, "labs")
GITOPS_REPOS = ("-e", json.dumps({"argocd_git_repos": lab_platform(
    {"w2d4-gitops-backup": lab_plan.lab_load(_LABS, "w2d4-gitops-backup")}, "cluster", [], _LABS)["argocd"]["git_repos"]}))


def pins():
    with open(os.path.join(ROOT, "playbooks/group_vars/all/versions.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["kubelab_versions"]


def defaults(role):
    with open(os.path.join(ROOT, "roles", role, "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """One plan of day 4, with secret files of an earlier apply already on disk (they must stay out of the plan)."""
    build_dir = str(tmp_path_factory.mktemp("build"))
    secret_dir = os.path.join(build_dir, "secrets", CLUSTER)
    os.makedirs(secret_dir, mode=0o700)
    planted = {"argocd-admin-password": secrets.token_urlsafe(18),
               "vault-kv.json": json.dumps({"banking/payment-processor": {"api_key": secrets.token_hex(16)}}),
               "velero-s3-credentials.json": json.dumps({"access_key_id": secrets.token_hex(10).upper(),
                                                         "secret_access_key": secrets.token_urlsafe(30)})}
    for name, content in planted.items():
        with open(os.path.join(secret_dir, name), "w", encoding="utf-8") as handle:
            handle.write(content)
    result = run_day(build_dir, ADDONS, "-v", *GITOPS_REPOS)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    plan = os.path.join(build_dir, "plan", CLUSTER)
    with open(os.path.join(plan, "index.json"), encoding="utf-8") as handle:
        index = json.load(handle)
    return {"plan": plan, "index": index, "planted": planted}



def test_index_lists_every_release_with_repo_chart_and_pinned_version(planned):
    releases = {a["release"]: a for a in planned["index"]["artifacts"] if a["type"] == "helm-release"}
    expected = {
        "argocd": ("argocd", "https://argoproj.github.io/argo-helm", "argo-cd", "argocd", pins()["argocd"]["chart"]),
        "vault": ("vault", "https://helm.releases.hashicorp.com", "vault", "vault", pins()["vault"]["chart"]),
        "velero": ("velero", "https://vmware-tanzu.github.io/helm-charts", "velero", "velero", pins()["velero"]["chart"]),
    }
    for name, (role, repo, chart, namespace, version) in expected.items():
        entry = releases[name]
        assert (entry["role"], entry["repo"], entry["chart"], entry["namespace"], entry["version"]) == \
            (role, repo, chart, namespace, version)
        assert os.path.isfile(os.path.join(planned["plan"], entry["path"]))


def test_velero_plugin_matches_velero_in_the_compatibility_matrix(planned):
    rendered = values(planned, "velero/velero-values.yaml")
    velero_minor = ".".join(rendered["image"]["tag"].lstrip("v").split(".")[:2])
    plugin = rendered["initContainers"][0]["image"]
    assert plugin.startswith("velero/velero-plugin-for-aws:v")
    plugin_minor = ".".join(plugin.split(":v")[1].split(".")[:2])
    matrix = defaults("velero")["velero_aws_plugin_compatibility"]
    assert matrix[velero_minor] == plugin_minor


def test_velero_bsl_is_s3_compatible_with_csi_and_an_existing_secret(planned):
    rendered = values(planned, "velero/velero-values.yaml")
    [bsl] = rendered["configuration"]["backupStorageLocation"]
    assert bsl["provider"] == "aws" and bsl["default"] is True
    assert bsl["config"]["s3ForcePathStyle"] == "true"
    assert bsl["config"]["s3Url"] == "http://seaweedfs.velero.svc.cluster.local:8333"
    assert bsl["config"]["checksumAlgorithm"] == ""
    assert bsl["config"]["region"]
    assert rendered["configuration"]["features"] == "EnableCSI"
    assert rendered["configuration"]["volumeSnapshotLocation"] == []
    assert rendered["credentials"] == {"useSecret": True, "existingSecret": "velero-s3-credentials"}
    # The chart's CRD-upgrade hook Job needs an image that is no longer published: off (CRDs come from crds/).
    assert rendered["upgradeCRDs"] is False


def test_vault_is_standalone_not_dev_with_the_injector(planned):
    rendered = values(planned, "vault/vault-values.yaml")
    assert rendered["server"]["dev"]["enabled"] is False
    assert rendered["server"]["standalone"]["enabled"] is True
    assert 'storage "file"' in rendered["server"]["standalone"]["config"]
    assert rendered["server"]["dataStorage"]["enabled"] is True
    assert rendered["injector"]["enabled"] is True
    assert "devRootToken" not in json.dumps(rendered)


def test_argocd_admin_secret_is_not_created_by_the_chart(planned):
    rendered = values(planned, "argocd/argo-cd-values.yaml")
    assert rendered["configs"]["secret"]["createSecret"] is False
    assert "argocdServerAdminPassword" not in json.dumps(rendered)
    assert rendered["applicationSet"]["replicas"] == 1


def test_git_server_ships_the_gitops_lab_files(planned):
    docs = [d for d in yaml.safe_load_all(open(os.path.join(planned["plan"], "argocd/git-server.yaml"))) if d]
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    volume = next(v for v in deploy["spec"]["template"]["spec"]["volumes"] if v["name"] == "repo-platform-manifests")
    served = {i["path"]: config_map["data"][i["key"]] for i in volume["configMap"]["items"]}
    src = os.path.join(ROOT, "labs/w2d4-gitops-backup/gitops")
    wanted = {os.path.relpath(p, src): open(p, encoding="utf-8").read()
              for p in glob.glob(os.path.join(src, "**", "*"), recursive=True) if os.path.isfile(p)}
    assert served == wanted


def test_gitops_lab_gets_the_git_server_url():
    """One project variable is the GitOps repository URL: the argocd add-on serves it, the lab role writes it
    over the lab manifests' placeholder URL."""
    with open(os.path.join(ROOT, "playbooks/group_vars/all/main.yml"), encoding="utf-8") as handle:
        url = yaml.safe_load(handle)["kubelab_git_repo_url"]
    argocd = defaults("argocd")
    with open(os.path.join(ROOT, "labs/w2d4-gitops-backup/lab.yml"), encoding="utf-8") as handle:
        repo = yaml.safe_load(handle)["platform"]["argocd"]["git_repos"][0]["name"]
    served = "git://%s.%s.svc.cluster.local/%s.git" % (argocd["argocd_git_server_name"], argocd["argocd_namespace"], repo)
    assert url == served == "git://git-server.argocd.svc.cluster.local/platform-manifests.git"
    replacements = defaults("lab")["lab_replacements"]
    placeholders = [k for k, v in replacements.items() if v == "{{ kubelab_git_repo_url }}"]
    lab = open(os.path.join(ROOT, "labs/w2d4-gitops-backup/manifests/20-argocd.yaml"), encoding="utf-8").read()
    assert placeholders and all(p in lab for p in placeholders)


def test_rendered_manifests_are_valid_kubernetes_1_35(planned):
    checked = 0
    for entry in planned["index"]["artifacts"]:
        if entry["role"] in ("argocd", "vault", "velero") and entry["type"] == "manifest":
            for doc in yaml.safe_load_all(open(os.path.join(planned["plan"], entry["path"]))):
                if doc:
                    kubernetes_validate.validate(doc, "1.35.0", strict=True)
                    checked += 1
    assert checked >= 8


def test_no_secret_in_any_plan_file(planned):
    needles = [planned["planted"]["argocd-admin-password"]]
    needles += [v for d in json.loads(planned["planted"]["vault-kv.json"]).values() for v in d.values()]
    needles += list(json.loads(planned["planted"]["velero-s3-credentials.json"]).values())
    for path in glob.glob(os.path.join(planned["plan"], "**", "*"), recursive=True):
        if os.path.isfile(path):
            text = open(path, encoding="utf-8", errors="replace").read()
            for needle in needles:
                assert needle not in text, path


@pytest.mark.parametrize("extra, addons, message", [
    (["-e", "velero_aws_plugin_version=v1.12.0"], ADDONS,
     "velero-plugin-for-aws v1.12.0 does not match Velero v1.17.1: Velero 1.17 needs plugin 1.13.x"),
    ([], ["velero"],
     "velero_csi_snapshots is true, but 'csi' is not in kubelab_addons"),
    (["-e", "argocd_chart_version=latest"], ADDONS, "argocd_chart_version 'latest' is not a pinned chart version"),
    (["-e", json.dumps({"vault_kubernetes_roles": [{"name": "x", "bound_service_account_names": ["a"],
                                                    "bound_service_account_namespaces": ["b"], "policies": ["nope"]}]})],
     ADDONS, "vault_kubernetes_roles: role x grants policies ['nope']"),
    (["-e", "argocd_git_server_name=gitd", *GITOPS_REPOS], ADDONS,
     "kubelab_git_repo_url is git://git-server.argocd.svc.cluster.local/platform-manifests.git, but the argocd "
     "add-on's git server serves git://gitd.argocd.svc.cluster.local/platform-manifests.git"),
])
def test_checks_refuse_bad_variables_before_anything_changes(tmp_path, extra, addons, message):
    result = run_day(str(tmp_path), addons, *extra)
    assert result.returncode != 0
    assert message in " ".join((result.stdout + result.stderr).split())
    assert not os.path.exists(os.path.join(str(tmp_path), "plan", CLUSTER, "velero"))
