"""Provider existing applied end to end on stand-ins: day 3 in namespace tenancy on a cluster kubelab did not
create (the API double, through a kubeconfig), again (kubelab's own Helm releases are upgraded in place, not
refused), then the class teardown, which removes the students' namespaces and leaves the cluster and the
add-ons' releases. The workspace is conftest.Workspace with the inventory switched to the existing provider."""

import sys

import pytest
import yaml
from kubesim.testing import running

from conftest import STUDENTS, Workspace


@pytest.fixture(scope="class")
def existing(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e-existing")
    ws = Workspace(base, "namespace", label="existing")
    try:
        # A school's cluster: its workloads run, and it has a default StorageClass of its own (k3s's local-path).
        with running(base / "school-cluster", "--bare", "--workload-pods") as sim:
            sim.request("POST", "/apis/storage.k8s.io/v1/storageclasses", {
                "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "provisioner": "rancher.io/local-path",
                "metadata": {"name": "local-path", "annotations": {DEFAULT_CLASS: "true"}}})
            group_vars = ws.inventory / "group_vars" / "kubelab" / "main.yml"
            settings = yaml.safe_load(group_vars.read_text())
            settings.update(kubelab_provider="existing", cluster_existing_kubeconfig=str(sim.kubeconfig))
            group_vars.write_text(yaml.safe_dump(settings))
            localhost = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
            (ws.inventory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"kubelab": {"children": {
                "controller": {"hosts": {"localhost": localhost}}, "kubelab_clusters": {}}}}}}))
            yield ws, sim
    finally:
        ws.close()


DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def default_classes(sim):
    classes = sim.request("GET", "/apis/storage.k8s.io/v1/storageclasses")[1]["items"]
    return sorted(c["metadata"]["name"] for c in classes if c["metadata"].get("annotations", {}).get(DEFAULT_CLASS) == "true")


def student_namespaces(sim):
    return sorted(n["metadata"]["name"] for n in
                  sim.request("GET", "/api/v1/namespaces?labelSelector=kubelab.dev/student")[1]["items"])


def releases(sim):
    secrets = sim.request("GET", "/api/v1/secrets?labelSelector=owner=helm,status=deployed")[1]["items"]
    return sorted(s["metadata"]["labels"]["name"] for s in secrets)


@pytest.mark.usefixtures("existing")
class TestExistingCluster:
    def test_day3_applies_in_namespace_tenancy(self, existing):
        ws, sim = existing
        ws.play("day3", "day3.yml")
        assert ws.clusters() == [], "no kind cluster is created"
        assert set(STUDENTS) <= set(student_namespaces(sim))
        assert {"ingress-nginx", "kube-prometheus-stack", "metrics-server", "vault"} <= set(releases(sim))
        assert "calico" not in releases(sim), "the cluster's own network: no CNI is installed"
        assert default_classes(sim) == ["standard"], "the school's default class is demoted, kubelab's hostpath one is the default"

    def test_day3_again_takes_over_only_its_own_releases(self, existing):
        ws, sim = existing
        before = releases(sim)
        recap = ws.play("day3-again", "day3.yml")
        assert releases(sim) == before
        assert {h: r["changed"] for h, r in recap.items() if r["changed"]} == {}, "a second run changes nothing"

    def test_teardown_leaves_the_cluster_and_the_addons(self, existing):
        ws, sim = existing
        before = releases(sim)
        ws.play("teardown", "teardown.yml", "-e", "confirm=yes")
        assert student_namespaces(sim) == []
        assert releases(sim) == before
        assert sim.request("GET", "/api/v1/nodes")[0] == 200
        assert ws.written_outside_build() == []
