"""Plan mode renders the kind config and index.json, and touches neither Docker nor any cluster."""

import json
import os

import jsonschema
import pytest
import yaml

from conftest import ROOT, load_index, run_playbook

KIND_SCHEMA = json.load(open(os.path.join(os.path.dirname(__file__), "schemas", "kind-v1alpha4.json"), encoding="utf-8"))
ZONE = "topology.kubernetes.io/zone"
NO_DOCKER = {"DOCKER_HOST": "unix:///nonexistent/kubelab-no-docker.sock", "PATH": "/nonexistent-docker-free:" + os.environ["PATH"]}


def kind_config(build_dir, cluster="kubelab-instructor"):
    with open(os.path.join(build_dir, "plan", cluster, "cluster_kind", "kind-config.yaml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.parametrize("control_planes", [1, 3])
def test_kind_config_spreads_nodes_over_three_zones(tmp_path_factory, plan_day, control_planes):
    build_dir = plan_day(tmp_path_factory, 3, "-e", "kubelab_control_planes=%d" % control_planes)
    config = kind_config(build_dir)
    jsonschema.validate(config, KIND_SCHEMA)
    roles = [n["role"] for n in config["nodes"]]
    assert roles.count("control-plane") == control_planes
    cp_zones = [n["labels"][ZONE] for n in config["nodes"] if n["role"] == "control-plane"]
    worker_zones = [n["labels"][ZONE] for n in config["nodes"] if n["role"] == "worker"]
    assert len(set(cp_zones)) == control_planes, "one control plane per zone"
    assert set(worker_zones) == {"zone-a", "zone-b", "zone-c"}, "at least one worker per zone"
    assert all(n["labels"]["topology.kubernetes.io/region"] == "region-1" for n in config["nodes"])
    assert config["networking"]["disableDefaultCNI"] is True
    assert all("@sha256:" in n["image"] for n in config["nodes"])


def test_index_lists_the_kind_config(tmp_path_factory, plan_day):
    build_dir = plan_day(tmp_path_factory, 3)
    index = load_index(build_dir, "kubelab-instructor")
    assert index["cluster"] == "kubelab-instructor"
    entry = next(a for a in index["artifacts"] if a["type"] == "kind-config")
    assert entry == {"path": "cluster_kind/kind-config.yaml", "role": "cluster_kind", "type": "kind-config",
                     "docker_host": "localhost"}
    for artifact in index["artifacts"]:
        assert os.path.isfile(os.path.join(build_dir, "plan", "kubelab-instructor", artifact["path"])), artifact
        if artifact["type"] == "helm-release":
            assert artifact["repo"] and artifact["chart"] and artifact["version"], artifact


def test_plan_mode_works_without_docker_and_is_idempotent(tmp_path):
    first = run_playbook("playbooks/day3.yml", str(tmp_path), "-e", "kubelab_mode=plan", env=NO_DOCKER)
    assert first.returncode == 0, first.stdout[-3000:]
    second = run_playbook("playbooks/day3.yml", str(tmp_path), "-e", "kubelab_mode=plan", env=NO_DOCKER)
    assert second.returncode == 0, second.stdout[-3000:]
    recap = [line for line in second.stdout.splitlines() if "changed=" in line]
    assert recap and all("changed=0" in line for line in recap), "\n".join(recap)


def test_apply_without_docker_stops_in_preflight_and_changes_nothing(tmp_path):
    build_dir = tmp_path / "build"
    result = run_playbook("playbooks/day3.yml", str(build_dir), env=NO_DOCKER)
    assert result.returncode != 0
    assert "No Docker engine is reachable" in result.stdout
    assert "Nothing was changed" in result.stdout
    assert not build_dir.exists(), "preflight must stop before anything is written"


@pytest.mark.parametrize("extra,message", [
    ({"kubelab_zones": ["zone-a", "zone-b"]}, "kubelab_zones"),
    ({"kubelab_zones": ["zone-a", "zone_b", "zone-c"]}, "kubelab_zones[1]"),
    ({"kubelab_workers": 2}, "kubelab_workers"),
    ({"kubelab_cluster_prefix": "Kubelab"}, "kubelab_cluster_prefix"),
    ({"kubelab_students": [{"name": "kim"}, {"name": "kim"}]}, "appears twice"),
    ({"kubelab_addons": ["cni", "nginx-mesh"]}, "unknown add-on(s) nginx-mesh"),
    ({"kubelab_versions": {"kubernetes": "latest", "kind_node_image": "x@sha256:1"}}, "kubelab_versions.kubernetes"),
])
def test_bad_input_fails_in_preflight_naming_the_variable(tmp_path, extra, message):
    build_dir = tmp_path / "build"
    result = run_playbook("playbooks/day3.yml", str(build_dir), "-e", "kubelab_mode=plan", "-e", json.dumps(extra))
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert not build_dir.exists()


def test_a_busy_host_port_fails_preflight(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run_playbook("tests/render/playbooks/port_check.yml", str(tmp_path), "-e", "kubelab_port_base=%d" % port,
                              env=NO_DOCKER)
    assert result.returncode != 0
    assert "Host port(s) already in use: kubelab-instructor api:%d" % port in result.stdout, result.stdout[-3000:]
    assert "kubelab_port_base" in result.stdout


def test_free_host_ports_pass_preflight(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_playbook("tests/render/playbooks/port_check.yml", str(tmp_path), "-e", "kubelab_port_base=%d" % port,
                          env=NO_DOCKER)
    assert result.returncode == 0, result.stdout[-3000:]
