"""Render-time rules that decide whether a lab works on a real cluster, although every object is valid on its own
(issue 14). Each rule names the upstream behaviour it models:

- Argo CD: a sync applies each resource only if the Application's AppProject permits it
  (argoproj/argo-cd controller/sync.go WithPermissionValidator -> AppProject.IsGroupKindNamePermitted in
  pkg/apis/application/v1alpha1/app_project_types.go): cluster-scoped kinds must be in clusterResourceWhitelist
  (an empty whitelist permits none), namespaced kinds pass unless a namespace whitelist/blacklist says otherwise;
  the destination (server, namespace glob) and the source repository (glob) must be in the project. With
  CreateNamespace=true the destination Namespace is one of those resources.
- Scheduler: a cordoned node carries the node.kubernetes.io/unschedulable taint; with the default
  nodeTaintsPolicy Ignore a zone-spread constraint still counts its zone, so one drained zone leaves pods Pending.
- csi-driver-host-path in its distributed layout keeps snapshots in the node-local state of the node that took them
  (pkg/hostpath: loadFromSnapshot looks only there) and Velero's CSI PVC restore action drops the PVC's
  volume.kubernetes.io/selected-node (vmware-tanzu/velero pkg/restore/actions/csi/pvc_action.go): a restored
  volume comes back only if its pod is pinned to the node (zone, one worker each) that holds the snapshot.
- Reset: what a guide's steps leave outside the lab's own namespaces (a drained node, an object created in an add-on's
  namespace) is declared in lab.yml `reset:`, so lab-reset undoes it.
- Images: every image a guide makes the cluster pull is in the lab's image list (manifests, gitops/ and lab.yml
  `images`), which is what `make warm` pulls into the registry caches before class.
"""

import fnmatch
import re

import pytest
import yaml

import lab_pss as pss
# The lab role's own image list (what `make warm` pulls), so the test and the warm-up cannot disagree.
from ansible_collections.kubelab.core.plugins.filter import lab_plan
from labs_common import LABS, LAB_IDS, ROOT, gitops_docs, load_lab, manifest_docs
from test_lab_schemas import kustomize_build

ZONE = "topology.kubernetes.io/zone"
# The kinds labs could carry that are not namespaced (Argo CD asks discovery; the labs need no more than these).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "StorageClass",
                  "PersistentVolume", "PriorityClass", "IngressClass", "VolumeSnapshotClass"}


# ---- Argo CD projects -----------------------------------------------------------------------------------

def _in_list(group, kind, entries):
    return any(fnmatch.fnmatchcase(group, e.get("group", "")) and fnmatch.fnmatchcase(kind, e.get("kind", ""))
               for e in entries or [])


def kind_permitted(project, group, kind, namespaced):
    """AppProject.IsGroupKindPermitted: see the module docstring."""
    spec = project["spec"]
    if namespaced:
        white = spec.get("namespaceResourceWhitelist")
        allowed = white is None or (len(white) != 0 and _in_list(group, kind, white))
        return allowed and not _in_list(group, kind, spec.get("namespaceResourceBlacklist"))
    return (_in_list(group, kind, spec.get("clusterResourceWhitelist"))
            and not _in_list(group, kind, spec.get("clusterResourceBlacklist")))


def destination_permitted(project, dest):
    return any(fnmatch.fnmatchcase(dest.get("server", ""), d.get("server", "")) and
               fnmatch.fnmatchcase(dest.get("namespace", ""), d.get("namespace", ""))
               for d in project["spec"].get("destinations") or [])


def source_permitted(project, repo):
    return any(fnmatch.fnmatchcase(repo, pattern) for pattern in project["spec"].get("sourceRepos") or [])


def applications(docs):
    """Application specs of the docs, ApplicationSet list-generator templates expanded per element."""
    out = []
    for doc in docs:
        if doc.get("kind") == "Application":
            out.append((doc["metadata"]["name"], doc["spec"]))
        elif doc.get("kind") == "ApplicationSet":
            text = yaml.safe_dump(doc["spec"]["template"])
            for gen in doc["spec"]["generators"]:
                for element in gen["list"]["elements"]:
                    rendered = re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: str(element[m.group(1)]), text)
                    app = yaml.safe_load(rendered)
                    out.append((app["metadata"]["name"], app["spec"]))
    return out


def app_problems(lab_id, docs):
    projects = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "AppProject"}
    problems = []
    for name, spec in applications(docs):
        project = projects.get(spec["project"])
        if project is None:
            problems.append("%s: project %s is not in the lab" % (name, spec["project"]))
            continue
        if not source_permitted(project, spec["source"]["repoURL"]):
            problems.append("%s: source %s not in sourceRepos" % (name, spec["source"]["repoURL"]))
        if not destination_permitted(project, spec["destination"]):
            problems.append("%s: destination %s not permitted" % (name, spec["destination"]))
        sync = spec.get("syncPolicy") or {}
        if "CreateNamespace=true" in (sync.get("syncOptions") or []) and not kind_permitted(project, "", "Namespace", False):
            problems.append("%s: CreateNamespace=true but the project does not permit Namespace" % name)
        path = LABS / lab_id / "gitops" / spec["source"]["path"]
        for res in kustomize_build(path) if (path / "kustomization.yaml").is_file() else []:
            group = res["apiVersion"].rpartition("/")[0]
            if not kind_permitted(project, group, res["kind"], res["kind"] not in CLUSTER_SCOPED):
                problems.append("%s: %s/%s not permitted" % (name, group, res["kind"]))
    return problems


def lab_docs(lab_id):
    return [d for _, d in manifest_docs(lab_id)]


GITOPS_LABS = [lab for lab in LAB_IDS if any(d.get("kind") in ("Application", "ApplicationSet") for d in lab_docs(lab))]


def test_some_lab_uses_argo_cd():
    assert GITOPS_LABS


@pytest.mark.parametrize("lab", GITOPS_LABS)
def test_projects_permit_what_their_applications_sync(lab):
    docs = lab_docs(lab)
    assert applications(docs), "no Application found"
    assert app_problems(lab, docs) == []


def test_project_rule_catches_a_missing_namespace_whitelist():
    docs = lab_docs("w2d4-gitops-backup")
    for d in docs:
        if d.get("kind") == "AppProject":
            d["spec"].pop("clusterResourceWhitelist", None)
    assert any("does not permit Namespace" in p for p in app_problems("w2d4-gitops-backup", docs))


def test_project_rule_catches_a_foreign_destination_and_repo():
    docs = lab_docs("w2d4-gitops-backup")
    for d in docs:
        if d.get("kind") == "AppProject":
            d["spec"]["destinations"][0]["namespace"] = "other-*"
            d["spec"]["sourceRepos"] = ["https://example.invalid/*"]
    problems = " ".join(app_problems("w2d4-gitops-backup", docs))
    assert "destination" in problems and "sourceRepos" in problems


# ---- zone spread survives a drained node ------------------------------------------------------------------

def spread_constraints():
    for lab in LAB_IDS:
        for rel, doc in manifest_docs(lab) + gitops_docs(lab):
            tpl = pss.pod_template(doc) if doc.get("kind") in pss.WORKLOAD_KINDS else None
            for c in (tpl[0].get("topologySpreadConstraints") or []) if tpl else []:
                if c.get("topologyKey") == ZONE:
                    yield "%s/%s:%s" % (lab, rel, doc["metadata"]["name"]), c


SPREAD = list(spread_constraints())


def test_labs_have_zone_spread_workloads():
    assert len(SPREAD) >= 5


@pytest.mark.parametrize("where,constraint", SPREAD, ids=[s[0] for s in SPREAD])
def test_zone_spread_honors_node_taints(where, constraint):
    # Another lab of the day drains a worker (w1d2-online-shop step 3): with the default Ignore, the cordoned
    # node's zone still counts as a domain and this workload's pods stay Pending.
    assert constraint.get("nodeTaintsPolicy") == "Honor", where


# ---- Velero restores of node-local CSI volumes -------------------------------------------------------------

def csi_is_node_local():
    """The csi role runs csi-driver-host-path as a DaemonSet whose provisioner serves its own node only."""
    objects = yaml.safe_load((ROOT / "roles/csi/vars/main.yml").read_text())["csi_hostpath_objects"]
    ds = next(o for o in objects if o["kind"] == "DaemonSet")
    args = [a for c in ds["spec"]["template"]["spec"]["containers"] for a in c.get("args") or []]
    return "--node-deployment=true" in args


def backed_up_namespaces(lab):
    out = set()
    for doc in lab_docs(lab):
        spec = (doc.get("spec") or {}).get("template") if doc.get("kind") == "Schedule" else None
        if doc.get("kind") == "Backup":
            spec = doc.get("spec")
        if spec and spec.get("snapshotVolumes", True):
            out.update(spec.get("includedNamespaces") or [])
    return out


def pinned_zone(spec):
    """The single zone a pod spec is pinned to (nodeSelector or a required node affinity), or None."""
    zone = (spec.get("nodeSelector") or {}).get(ZONE)
    if zone:
        return zone
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    zones = {v for t in terms for e in t.get("matchExpressions") or []
             if e.get("key") == ZONE and e.get("operator") == "In" for v in e.get("values") or []}
    return zones.pop() if len(terms) == 1 and len(zones) == 1 else None


def unpinned_snapshotted_workloads(lab, docs):
    namespaces = backed_up_namespaces(lab)
    out = []
    for doc in docs:
        tpl = pss.pod_template(doc) if doc.get("kind") in pss.WORKLOAD_KINDS else None
        if not tpl or doc["metadata"].get("namespace") not in namespaces:
            continue
        has_pvc = doc["spec"].get("volumeClaimTemplates") or any(
            "persistentVolumeClaim" in v for v in tpl[0].get("volumes") or [])
        if has_pvc and not pinned_zone(tpl[0]):
            out.append(doc["metadata"]["name"])
    return out


VELERO_LABS = [lab for lab in LAB_IDS if backed_up_namespaces(lab)]


def test_csi_driver_is_node_local_and_a_lab_backs_up_volumes():
    # If the driver ever stops being node-local, this rule (and the pin) can go.
    assert csi_is_node_local()
    assert VELERO_LABS


@pytest.mark.parametrize("lab", VELERO_LABS)
def test_snapshotted_workloads_are_pinned_to_one_zone(lab):
    assert unpinned_snapshotted_workloads(lab, lab_docs(lab)) == []


def test_pin_rule_catches_an_unpinned_database():
    docs = lab_docs("w2d4-gitops-backup")
    for d in docs:
        if d.get("kind") == "StatefulSet":
            d["spec"]["template"]["spec"].pop("nodeSelector")
    assert unpinned_snapshotted_workloads("w2d4-gitops-backup", docs) == ["database"]


# ---- reset: what a guide leaves outside the lab is declared -----------------------------------------------

def undeclared_leftovers(lab, text):
    """Guide steps whose effects lab-reset would not undo: a drain/cordon without reset.uncordon_nodes, an
    object created (kubectl create/apply -f - <<EOF) outside the lab's own namespaces and not in reset."""
    reset = load_lab(lab).get("reset") or {}
    owned = {d["metadata"]["name"] for d in lab_docs(lab) if d.get("kind") == "Namespace"}
    declared = {(r["kind"], r.get("namespace"), r["name"]) for r in reset.get("delete", []) + reset.get("velero_backups", [])}
    out = []
    if re.search(r"kubectl (?:drain|cordon)\b", text) and not reset.get("uncordon_nodes"):
        out.append("drains or cordons a node but lab.yml has no reset.uncordon_nodes")
    # Lines of a heredoc inside a quoted box ("> ") lose the quote marks first.
    plain = re.sub(r"^> ?", "", text, flags=re.M)
    for body in re.findall(r"kubectl (?:-n \S+ )?(?:create|apply) -f - <<'?EOF'?\n(.*?)\nEOF", plain, flags=re.S):
        for doc in yaml.safe_load_all(body.replace("${NS_PREFIX}", "")):
            meta = doc["metadata"]
            if meta.get("namespace") in owned or (doc["kind"] == "Namespace" and meta["name"] in owned):
                continue
            if (doc["kind"], meta.get("namespace"), meta["name"]) not in declared:
                out.append("creates %s %s/%s outside the lab's namespaces, not in reset"
                           % (doc["kind"], meta.get("namespace"), meta["name"]))
    return out


@pytest.mark.parametrize("lab", LAB_IDS)
def test_reset_declares_what_the_guide_leaves_outside_the_lab(lab):
    guide = (LABS / lab / "guide.ko.md").read_text(encoding="utf-8")
    assert undeclared_leftovers(lab, guide) == []


def test_leftover_scan_finds_drains_and_created_objects():
    text = ("kubectl drain node-1\n```bash\nkubectl create -f - <<EOF\napiVersion: v1\nkind: ConfigMap\n"
            "metadata:\n  name: stray\n  namespace: velero\nEOF\n```\n")
    found = undeclared_leftovers("w2d1-architecture", text)
    assert len(found) == 2 and "ConfigMap velero/stray" in found[1]
    assert undeclared_leftovers("w2d1-architecture", text.replace("velero", "arch-lab")) == [found[0]]


# ---- images: what the guide pulls is warmed with the lab -------------------------------------------------

def guide_pulled_images(text):
    """Images a guide makes the cluster pull: --image=X, `set image ... c=X` and `image: X` in heredocs."""
    found = re.findall(r"--image=(\S+)", text)
    for args in re.findall(r"set image \S+ ((?:\S+=\S+ ?)+)", text):
        found.extend(a.split("=", 1)[1] for a in args.split())
    found += re.findall(r"^\s*image:\s*[\"']?([^\s\"']+)", text, flags=re.M)
    # The microservices guide's deliberate failed rollout names an image that must never be pulled.
    return {i for i in found if "does-not-exist" not in i}


@pytest.mark.parametrize("lab", LAB_IDS)
def test_every_image_a_guide_uses_is_in_the_lab_image_list(lab):
    guide = (LABS / lab / "guide.ko.md").read_text(encoding="utf-8")
    missing = guide_pulled_images(guide) - set(lab_plan.lab_images(str(LABS), [lab]))
    assert not missing, "add %s to `images:` in labs/%s/lab.yml (so `make warm` pulls them)" % (sorted(missing), lab)


def test_the_image_list_has_every_manifest_gitops_and_listed_image():
    images = lab_plan.lab_images(str(LABS), ["w2d4-gitops-backup", "w1d2-online-shop"])
    assert {"postgres:17-alpine", "registry.k8s.io/e2e-test-images/agnhost:2.53",   # manifests, gitops/
            "nginxinc/nginx-unprivileged:1.29.4-alpine", "busybox:1.36.1"} <= set(images)
    assert images == sorted(set(images))


def test_guide_image_scan_finds_set_image_run_and_heredocs():
    text = ("kubectl -n x set image deployment/web web=a:1 side=b:2\nkubectl run t --image=c:3 -- sh\n"
            "  image: d:4\nkubectl set image deployment/api api=e:0.0.0-does-not-exist\n")
    assert guide_pulled_images(text) == {"a:1", "b:2", "c:3", "d:4"}
