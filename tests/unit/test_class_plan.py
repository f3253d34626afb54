"""The class plan: students and shape in, clusters out; bad input fails naming the variable."""

import pytest

from ansible_collections.kubelab.core.plugins.module_utils.class_plan import (
    capacity_estimate,
    class_plan,
    cluster_ports,
    play_clusters,
)
from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError, PlanError
from ansible_collections.kubelab.core.plugins.module_utils.kind_config import kind_config

IMAGE = "kindest/node:v1.35.8@sha256:" + "0" * 64


def students(*names):
    return [{"name": n} for n in names]


def test_one_cluster_per_student_with_distinct_ports_and_paths():
    clusters = class_plan(students("kim", "lee", "park"), build_dir="/b")
    assert [c["name"] for c in clusters] == ["kubelab-kim", "kubelab-lee", "kubelab-park"]
    ports = [p for c in clusters for _, p in cluster_ports(c)]
    assert len(ports) == len(set(ports)) == 9
    assert len({c["kubeconfig"] for c in clusters}) == 3
    assert clusters[1]["plan_dir"] == "/b/plan/kubelab-lee"


def test_namespace_tenancy_shares_one_cluster():
    clusters = class_plan(students("kim", "lee"), tenancy="namespace")
    assert len(clusters) == 1
    assert clusters[0]["name"] == "kubelab-shared"
    assert clusters[0]["students"] == ["kim", "lee"]


@pytest.mark.parametrize("control_planes,expected_cp_zones", [(1, ["zone-a"]), (3, ["zone-a", "zone-b", "zone-c"])])
def test_nodes_cover_every_zone(control_planes, expected_cp_zones):
    (cluster,) = class_plan(students("kim"), control_planes=control_planes, workers=3)
    cps = [n["zone"] for n in cluster["nodes"] if n["role"] == "control-plane"]
    workers = [n["zone"] for n in cluster["nodes"] if n["role"] == "worker"]
    assert cps == expected_cp_zones
    assert sorted(workers) == ["zone-a", "zone-b", "zone-c"]


def test_extra_workers_are_spread_round_robin():
    (cluster,) = class_plan(students("kim"), workers=5)
    workers = [n["zone"] for n in cluster["nodes"] if n["role"] == "worker"]
    assert workers == ["zone-a", "zone-b", "zone-c", "zone-a", "zone-b"]


@pytest.mark.parametrize("kwargs,variable", [
    ({"zones": ["zone-a", "zone-b"]}, "kubelab_zones"),
    ({"zones": ["zone-a", "Zone_B", "zone-c"]}, "kubelab_zones[1]"),
    ({"zones": ["zone-a", "zone-a", "zone-c"]}, "kubelab_zones"),
    ({"workers": 2}, "kubelab_workers"),
    ({"control_planes": 2}, "kubelab_control_planes"),
    ({"control_planes": 5}, "kubelab_control_planes"),
    ({"tenancy": "vcluster"}, "kubelab_tenancy"),
    ({"provider": "minikube"}, "kubelab_provider"),
    ({"prefix": "Lab"}, "kubelab_cluster_prefix"),
    ({"pod_subnet": "10.96.0.0/12"}, "kubelab_pod_subnet"),
    ({"pod_subnet": "not-a-cidr"}, "kubelab_pod_subnet"),
    ({"port_base": 65530}, "kubelab_port_base"),
    ({"port_stride": 2}, "kubelab_port_stride"),
])
def test_bad_shape_names_the_variable(kwargs, variable):
    # InputError: PlanError's base, which the name rules (names.check_label) raise.
    with pytest.raises(InputError) as err:
        class_plan(students("kim", "lee"), **kwargs)
    assert variable in str(err.value)


@pytest.mark.parametrize("roster,fragment", [
    (students("kim", "kim"), "appears twice"),
    (students("kim", "Lee"), "kubelab_students[2].name"),
    (students("kim", "-x"), "kubelab_students[2].name"),
    ([], "at least one student"),
    ([{"nom": "kim"}], "kubelab_students[1].name"),
    (students("a" * 60), "cluster name"),
])
def test_bad_roster_is_rejected(roster, fragment):
    with pytest.raises(InputError) as err:
        class_plan(roster)
    assert fragment in str(err.value)


def test_two_clusters_with_one_name_are_rejected():
    # A cluster is named after its student, so two clusters with one name means a repeated student.
    with pytest.raises(PlanError, match="appears twice.*names a cluster"):
        class_plan(students("kim", "lee", "kim"))


def test_kind_config_labels_every_node_with_zone_and_region():
    (cluster,) = class_plan(students("kim"), control_planes=3)
    config = kind_config(cluster, node_image=IMAGE)
    assert config["networking"]["disableDefaultCNI"] is True
    assert config["networking"]["podSubnet"] == cluster["pod_subnet"]
    labels = [n["labels"] for n in config["nodes"]]
    assert all(lbl["topology.kubernetes.io/region"] == "region-1" for lbl in labels)
    assert {lbl["topology.kubernetes.io/zone"] for lbl in labels} == {"zone-a", "zone-b", "zone-c"}
    assert all(n["image"] == IMAGE for n in config["nodes"])


def test_kind_config_refuses_an_image_without_digest():
    (cluster,) = class_plan(students("kim"))
    with pytest.raises(PlanError, match="kind_node_image"):
        kind_config(cluster, node_image="kindest/node:v1.35.8")


def test_kind_config_wires_registry_caches_and_api_address():
    (cluster,) = class_plan(students("kim"), api_address="192.0.2.10")
    config = kind_config(cluster, node_image=IMAGE, registry_config_dir="/srv/certs.d", api_listen_address="0.0.0.0")
    assert all(n["extraMounts"][0]["containerPath"] == "/etc/containerd/certs.d" for n in config["nodes"])
    # kind node images since v0.27 read /etc/containerd/certs.d already; a CRI v1 patch would be wrong on
    # containerd 2.x, so none is written.
    assert "containerdConfigPatches" not in config
    assert "192.0.2.10" in config["kubeadmConfigPatches"][0]


def test_capacity_grows_with_students_and_addons():
    footprints = {"control_plane": {"cpu_m": 250, "memory_mib": 1200}, "worker": {"cpu_m": 100, "memory_mib": 400},
                  "addons": {"cni": {"cpu_m": 150, "memory_mib": 400}}}
    one = capacity_estimate(class_plan(students("a")), ["cni"], footprints)
    three = capacity_estimate(class_plan(students("a", "b", "c")), ["cni"], footprints)
    assert one["memory_mib"] == 1200 + 3 * 400 + 400
    assert three["memory_mib"] == 3 * one["memory_mib"]
    assert three["nodes"] == 12
    with pytest.raises(PlanError, match="no footprint for velero"):
        capacity_estimate(class_plan(students("a")), ["velero"], footprints)


def test_play_clusters_are_each_hosts_cluster_in_play_order():
    clusters = class_plan(students("ann", "bob"))
    hostvars = {c["name"]: {"kubelab_cluster": c} for c in clusters}
    hostvars["localhost"] = {}
    assert play_clusters(["kubelab-bob", "kubelab-ann"], hostvars) == [clusters[1], clusters[0]]


def test_play_clusters_of_one_host_without_a_cluster_take_its_name_and_the_plan_dir_given():
    assert play_clusters(["kubelab-molecule-csi"], {"kubelab-molecule-csi": {}}, "/state/plan") == [
        {"name": "kubelab-molecule-csi", "plan_dir": "/state/plan"}]
    assert play_clusters(["kubelab-molecule-csi"], {"kubelab-molecule-csi": {}}) == [{"name": "kubelab-molecule-csi"}]


def test_play_clusters_refuse_several_hosts_without_their_clusters():
    with pytest.raises(PlanError, match="no kubelab_cluster host variable"):
        play_clusters(["a", "b"], {"a": {}, "b": {}}, "/plan")
