"""Plan mode of the add-on roles cni, metrics_server, ingress and prometheus: what they render.

Runs the real day playbook in plan mode (no Docker, no cluster) with only these four add-ons, then reads the
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

ADDONS = ["cni", "metrics_server", "ingress", "prometheus"]


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """One plan of day 4 with a non-default pod subnet, and a Grafana password file already on disk."""
    build_dir = str(tmp_path_factory.mktemp("build"))
    password = secrets.token_urlsafe(18)
    secret_dir = os.path.join(build_dir, "secrets", CLUSTER)
    os.makedirs(secret_dir, mode=0o700)
    with open(os.path.join(secret_dir, "grafana-admin-password"), "w", encoding="utf-8") as handle:
        handle.write(password)
    result = run_day(build_dir, ADDONS, "-e", "kubelab_pod_subnet=10.123.0.0/16", "-v")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    plan = os.path.join(build_dir, "plan", CLUSTER)
    with open(os.path.join(plan, "index.json"), encoding="utf-8") as handle:
        index = json.load(handle)
    return {"plan": plan, "index": index, "password": password, "output": result.stdout + result.stderr}



def test_index_lists_every_release_with_a_pinned_chart(planned):
    releases = {a["release"]: a for a in planned["index"]["artifacts"] if a["type"] == "helm-release"}
    expected = {
        "calico": ("cni", "https://docs.tigera.io/calico/charts", "tigera-operator", "tigera-operator"),
        "metrics-server": ("metrics_server", "https://kubernetes-sigs.github.io/metrics-server/", "metrics-server",
                           "kube-system"),
        "ingress-nginx": ("ingress", "https://kubernetes.github.io/ingress-nginx", "ingress-nginx", "ingress-nginx"),
        "kube-prometheus-stack": ("prometheus", "https://prometheus-community.github.io/helm-charts",
                                  "kube-prometheus-stack", "monitoring"),
        "prometheus-adapter": ("prometheus", "https://prometheus-community.github.io/helm-charts",
                               "prometheus-adapter", "monitoring"),
    }
    assert set(releases) == set(expected)
    with open(os.path.join(ROOT, "playbooks/group_vars/all/versions.yml"), encoding="utf-8") as handle:
        pins = yaml.safe_load(handle)["kubelab_versions"]
    pin_of = {"calico": "calico_chart", "metrics-server": "metrics_server_chart", "ingress-nginx": "ingress_nginx_chart",
              "kube-prometheus-stack": "kube_prometheus_stack_chart", "prometheus-adapter": "prometheus_adapter_chart"}
    for name, (role, repo, chart, namespace) in expected.items():
        entry = releases[name]
        assert (entry["role"], entry["repo"], entry["chart"], entry["namespace"]) == (role, repo, chart, namespace)
        assert entry["version"] == str(pins[pin_of[name]]), name
        assert entry["path"].startswith(role + "/") and os.path.isfile(os.path.join(planned["plan"], entry["path"]))


def test_calico_ip_pool_is_the_cluster_pod_subnet(planned):
    pools = values(planned, "cni/calico-values.yaml")["installation"]["calicoNetwork"]["ipPools"]
    assert len(pools) == 1
    assert pools[0]["cidr"] == "10.123.0.0/16"
    assert pools[0]["encapsulation"] in ("VXLAN", "VXLANCrossSubnet")
    assert pools[0]["nodeSelector"] == "all()"
    assert pools[0]["blockSize"] == 26  # an integer, as the Installation CRD wants
    kind = values(planned, "cluster_kind/kind-config.yaml")
    assert kind["networking"]["podSubnet"] == pools[0]["cidr"]
    assert kind["networking"]["disableDefaultCNI"] is True


def test_metrics_server_skips_kubelet_tls_on_kind(planned):
    assert "--kubelet-insecure-tls" in values(planned, "metrics_server/metrics-server-values.yaml")["args"]


def test_ingress_controller_binds_the_kind_mapped_node(planned):
    controller = values(planned, "ingress/ingress-nginx-values.yaml")["controller"]
    assert controller["hostPort"] == {"enabled": True, "ports": {"http": 80, "https": 443}}
    assert controller["nodeSelector"]["ingress-ready"] == "true"
    assert {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"} \
        in controller["tolerations"]
    assert controller["replicaCount"] == 1
    assert controller["updateStrategy"]["rollingUpdate"]["maxSurge"] == 0
    assert controller["service"]["type"] != "LoadBalancer"
    # The node that carries ingress-ready=true is the one whose ports 80/443 kind maps to the host.
    kind = values(planned, "cluster_kind/kind-config.yaml")
    labelled = [n for n in kind["nodes"] if n.get("labels", {}).get("ingress-ready") == "true"]
    assert len(labelled) == 1 and labelled[0]["role"] == "control-plane"
    assert sorted(m["containerPort"] for m in labelled[0]["extraPortMappings"]) == [80, 443]


def test_adapter_serves_http_requests_per_second_from_the_counter(planned):
    adapter = values(planned, "prometheus/prometheus-adapter-values.yaml")
    assert adapter["rules"]["default"] is False
    rules = [r for r in adapter["rules"]["custom"] if r["name"]["as"] == "http_requests_per_second"]
    assert len(rules) == 1
    rule = rules[0]
    assert rule["seriesQuery"].startswith("http_requests_total{")
    assert rule["name"]["matches"] == "^http_requests_total$"
    assert rule["resources"]["overrides"] == {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    assert "rate(<<.Series>>{<<.LabelMatchers>>}[2m])" in rule["metricsQuery"]
    assert "by (<<.GroupBy>>)" in rule["metricsQuery"]
    assert "resource" not in adapter["rules"], "metrics.k8s.io stays with metrics-server"
    stack = values(planned, "prometheus/kube-prometheus-stack-values.yaml")
    assert adapter["prometheus"]["url"] == "http://%s-prometheus.monitoring.svc" % stack["fullnameOverride"]


def test_grafana_uses_an_existing_secret_and_the_ingress(planned):
    stack = values(planned, "prometheus/kube-prometheus-stack-values.yaml")
    grafana = stack["grafana"]
    assert grafana["admin"]["existingSecret"] == "grafana-admin"
    assert "adminPassword" not in grafana
    assert grafana["ingress"]["enabled"] is True
    assert grafana["ingress"]["hosts"] == ["grafana.%s.127.0.0.1.nip.io" % CLUSTER]
    # kind binds control-plane metrics to 127.0.0.1: no ServiceMonitor that would be falsely down.
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert stack[component]["enabled"] is False, component


def test_no_password_in_any_plan_file_or_in_the_log(planned):
    files = [f for f in glob.glob(os.path.join(planned["plan"], "**"), recursive=True) if os.path.isfile(f)]
    assert len(files) >= 7
    for path in files:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert planned["password"] not in text, path
        assert "prom-operator" not in text, path  # the chart's well-known default password
    assert planned["password"] not in planned["output"]


def test_rendered_manifests_are_valid_kubernetes_1_35(planned):
    manifests = [a for a in planned["index"]["artifacts"] if a["type"] == "manifest" and a["role"] in ADDONS]
    assert manifests, "the prometheus role renders its namespace"
    for artifact in manifests:
        with open(os.path.join(planned["plan"], artifact["path"]), encoding="utf-8") as handle:
            for doc in yaml.safe_load_all(handle):
                kubernetes_validate.validate(doc, "1.35.0", strict=True)


@pytest.mark.parametrize("extra, message", [
    # Choices: the argument spec of each role's check entry point, which preflight validates.
    (["-e", "cni_plugin=flannel"], "value of cni_plugin must be one of: calico, cilium, got: flannel"),
    (["-e", json.dumps({"prometheus_stack_enabled": False})], "prometheus_adapter_enabled is true but prometheus_stack_enabled is false"),
    (["-e", "ingress_expose=loadbalancer"], "value of ingress_expose must be one of: hostport, nodeport, hostnetwork, got: loadbalancer"),
])
def test_preflight_rejects_bad_addon_variables(tmp_path, extra, message):
    result = run_day(str(tmp_path), ADDONS, *extra)
    assert result.returncode != 0
    assert message in result.stdout
    assert not os.path.exists(os.path.join(str(tmp_path), "plan", CLUSTER, "cni")), "nothing rendered after a failed check"


def test_alternatives_cilium_nodeport_control_plane_scraping_without_adapter(tmp_path):
    """The non-default choices render what their READMEs promise (one plan run for all of them)."""
    build_dir = str(tmp_path)
    result = run_day(build_dir, ADDONS, "-e", json.dumps({
        "cni_plugin": "cilium", "ingress_expose": "nodeport", "prometheus_scrape_control_plane": True,
        "prometheus_adapter_enabled": False, "metrics_server_kubelet_insecure_tls": False}))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    plan = os.path.join(build_dir, "plan", CLUSTER)
    with open(os.path.join(plan, "index.json"), encoding="utf-8") as handle:
        paths = {a["path"]: a for a in json.load(handle)["artifacts"]}
    assert "cni/calico-values.yaml" not in paths and "prometheus/prometheus-adapter-values.yaml" not in paths
    assert (paths["cni/cilium-values.yaml"]["chart"], paths["cni/cilium-values.yaml"]["namespace"]) == ("cilium", "kube-system")
    assert paths["cni/cilium-values.yaml"]["repo"] == "https://helm.cilium.io"

    def load(path):
        with open(os.path.join(plan, path), encoding="utf-8") as handle:
            return yaml.safe_load(handle)

    cilium = load("cni/cilium-values.yaml")
    assert cilium["ipam"]["mode"] == "kubernetes"
    assert cilium["kubeProxyReplacement"] is False
    controller = load("ingress/ingress-nginx-values.yaml")["controller"]
    assert controller["service"] == {"type": "NodePort", "nodePorts": {"http": 30080, "https": 30443}}
    assert "hostPort" not in controller and "ingress-ready" not in controller.get("nodeSelector", {})
    stack = load("prometheus/kube-prometheus-stack-values.yaml")
    for component in ("kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"):
        assert stack[component]["enabled"] is True, component
    assert stack["kubeEtcd"]["service"]["targetPort"] == 2381
    assert load("metrics_server/metrics-server-values.yaml")["args"] == []
