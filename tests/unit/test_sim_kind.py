"""The kind CLI test double (tests/sim/bin/kind): real kind validates the config, an API double is the cluster."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KIND = ROOT / "tests" / "sim" / "bin" / "kind"

CONFIG = """kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
nodes:
  - role: control-plane
    labels: {topology.kubernetes.io/zone: zone-a, topology.kubernetes.io/region: region-1}
  - role: worker
    labels: {topology.kubernetes.io/zone: zone-b}
  - role: worker
    labels: {topology.kubernetes.io/zone: zone-c}
"""


@pytest.fixture(scope="module")
def real_kind():
    out = subprocess.run(["bash", str(ROOT / "scripts" / "e2e-setup.sh")], capture_output=True, text=True, timeout=300,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


@pytest.fixture
def kind(tmp_path, real_kind):
    env = dict(os.environ, KUBELAB_KIND_SIM_DIR=str(tmp_path / "state"), KUBELAB_KIND_REAL=real_kind,
               KUBELAB_KIND_SIM_WATCH_PID=str(os.getpid()))

    def run(*args):
        return subprocess.run([sys.executable, str(KIND), *args], capture_output=True, text=True, env=env, timeout=60)

    try:
        yield run
    finally:
        for name in run("get", "clusters").stdout.split():
            run("delete", "cluster", f"--name={name}")


def write(tmp_path, text):
    path = tmp_path / "kind-config.yaml"
    path.write_text(text)
    return path


def test_create_registers_one_node_per_config_node_with_its_labels(kind, tmp_path):
    kubeconfig = tmp_path / "kc"
    res = kind("create", "cluster", "--name=k1", f"--config={write(tmp_path, CONFIG)}", f"--kubeconfig={kubeconfig}")
    assert res.returncode == 0, res.stderr
    assert kind("get", "clusters").stdout.split() == ["k1"]
    assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
    assert yaml.safe_load(kind("get", "kubeconfig", "--name=k1").stdout)["current-context"] == "kind-k1"
    out = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "yaml"], capture_output=True,
                         text=True, check=True, timeout=30).stdout
    nodes = {n["metadata"]["name"]: n["metadata"]["labels"] for n in yaml.safe_load(out)["items"]}
    assert sorted(nodes) == ["k1-control-plane", "k1-worker", "k1-worker2"]
    assert nodes["k1-control-plane"]["node-role.kubernetes.io/control-plane"] == ""
    assert nodes["k1-control-plane"]["topology.kubernetes.io/region"] == "region-1"
    assert nodes["k1-worker2"] == {"kubernetes.io/hostname": "k1-worker2", "kubernetes.io/os": "linux",
                                   "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": "zone-c"}


def test_real_kind_refuses_an_invalid_config_and_nothing_starts(kind, tmp_path):
    bad = CONFIG.replace("disableDefaultCNI: true", "disableDefaultCNI: true\n  podSubnet: not-a-cidr")
    res = kind("create", "cluster", "--name=k2", f"--config={write(tmp_path, bad)}")
    assert res.returncode == 1
    assert "invalid pod subnet" in res.stderr
    assert kind("get", "clusters").stdout == ""


def test_real_kind_refuses_an_unknown_field(kind, tmp_path):
    res = kind("create", "cluster", "--name=k3", f"--config={write(tmp_path, CONFIG.replace('role: worker', 'rol: worker', 1))}")
    assert res.returncode == 1
    assert "field rol not found" in res.stderr


def test_delete_stops_the_api_double_and_forgets_the_cluster(kind, tmp_path):
    assert kind("create", "cluster", "--name=k4", f"--config={write(tmp_path, CONFIG)}").returncode == 0
    pid = int((tmp_path / "state" / "clusters" / "k4" / "sim" / "kubesim.pid").read_text())
    assert kind("create", "cluster", "--name=k4", f"--config={write(tmp_path, CONFIG)}").returncode == 1
    assert kind("delete", "cluster", "--name=k4").returncode == 0
    assert kind("get", "clusters").stdout == ""
    assert not (tmp_path / "state" / "clusters" / "k4").exists()
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert kind("get", "kubeconfig", "--name=k4").returncode == 1


def test_the_port_mapped_to_a_nodes_port_80_answers_as_ingress_nginx_and_a_taken_one_fails(kind, tmp_path):
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mapped = CONFIG.replace("  - role: control-plane\n", "  - role: control-plane\n    extraPortMappings:\n"
                            f"      - {{containerPort: 80, hostPort: {port}, listenAddress: 127.0.0.1, protocol: TCP}}\n", 1)
    assert kind("create", "cluster", "--name=k1", f"--config={write(tmp_path, mapped)}").returncode == 0
    with pytest.raises(urllib.error.HTTPError) as answer:  # no ingress-nginx controller runs yet
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10)
    assert answer.value.code == 502
    res = kind("create", "cluster", "--name=k2", f"--config={write(tmp_path, mapped)}")
    assert res.returncode == 1 and "did not start" in res.stderr
    assert kind("get", "clusters").stdout.split() == ["k1"]
