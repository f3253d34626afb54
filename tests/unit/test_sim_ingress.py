"""API double option --ingress-port: the port kind maps to a node's port 80 answers as ingress-nginx would route it
(kubesim/ingress.py), and the Grafana double behind it checks the admin login (kubesim/grafana.py). The objects are
what the ingress-nginx and grafana charts make (tests/e2e/chart_stand_ins.py)."""

import base64
import json
import socket
import urllib.error
import urllib.request

import pytest
from kubesim.testing import running

GRAFANA = {"app.kubernetes.io/name": "grafana"}
HOST = "grafana.kubelab-kim.127.0.0.1.nip.io"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create(sim, path, body):
    code, answer = sim.request("POST", path, body)
    assert code == 201, answer


def controller(sim, image="registry.k8s.io/ingress-nginx/controller:v1.14.1"):
    create(sim, "/api/v1/namespaces", {"metadata": {"name": "ingress-nginx"}})
    create(sim, "/apis/apps/v1/namespaces/ingress-nginx/deployments", {
        "metadata": {"name": "ingress-nginx-controller"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "ctl"}},
                 "template": {"metadata": {"labels": {"app": "ctl"}}, "spec": {"containers": [{"name": "c", "image": image}]}}}})
    create(sim, "/apis/networking.k8s.io/v1/ingressclasses", {
        "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
        "spec": {"controller": "k8s.io/ingress-nginx"}})


def grafana(sim, ingress_class="nginx", path="/", path_type="Prefix", password="s3cret-pw"):
    """Grafana as the chart makes it with admin.existingSecret: the Secret (the prometheus role's), Deployment,
    Service and Ingress."""
    create(sim, "/api/v1/namespaces", {"metadata": {"name": "monitoring"}})
    create(sim, "/api/v1/namespaces/monitoring/secrets", {"metadata": {"name": "grafana-admin"}, "data": {
        "admin-user": base64.b64encode(b"admin").decode(), "admin-password": base64.b64encode(password.encode()).decode()}})
    env = [{"name": f"GF_SECURITY_ADMIN_{w.upper()}",
            "valueFrom": {"secretKeyRef": {"name": "grafana-admin", "key": f"admin-{w}"}}} for w in ("user", "password")]
    create(sim, "/apis/apps/v1/namespaces/monitoring/deployments", {
        "metadata": {"name": "grafana"},
        "spec": {"replicas": 1, "selector": {"matchLabels": GRAFANA}, "template": {"metadata": {"labels": GRAFANA}, "spec": {
            "containers": [{"name": "grafana", "image": "docker.io/grafana/grafana:12.3.0", "env": env,
                            "ports": [{"name": "grafana", "containerPort": 3000}]}]}}}})
    create(sim, "/api/v1/namespaces/monitoring/services", {
        "metadata": {"name": "grafana"}, "spec": {"selector": GRAFANA, "ports": [{"name": "http-web", "port": 80, "targetPort": 3000}]}})
    spec = {"rules": [{"host": HOST, "http": {"paths": [{"path": path, "pathType": path_type, "backend": {
        "service": {"name": "grafana", "port": {"number": 80}}}}]}}]}
    if ingress_class:
        spec["ingressClassName"] = ingress_class
    create(sim, "/apis/networking.k8s.io/v1/namespaces/monitoring/ingresses", {"metadata": {"name": "grafana"}, "spec": spec})


def get(port, path="/api/user", host=HOST, user="admin", password="s3cret-pw"):
    """(status, body) as the prometheus role's uri task asks: basic auth forced, Host set."""
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Host": host})
    if user is not None:
        req.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.fixture
def cluster(tmp_path):
    port = free_port()
    with running(tmp_path / "sim", "--workload-pods", "--ingress-port", str(port)) as sim:
        yield sim, port


def test_without_a_running_controller_nothing_answers_on_port_80(cluster):
    sim, port = cluster
    controller(sim, image="registry.k8s.io/defaultbackend-amd64:1.5")  # another image: not the controller
    grafana(sim)
    assert get(port)[0] == 502


def test_an_unknown_path_gets_the_default_backend_404(cluster):
    sim, port = cluster
    controller(sim)
    status, body = get(port, "/kubelab-ingress-check", host="127.0.0.1")
    assert status == 404 and "default backend" in body


def test_grafana_logs_the_admin_in_with_the_secrets_password_only(cluster):
    sim, port = cluster
    controller(sim)
    grafana(sim)
    assert get(port) == (200, {"id": 1, "login": "admin", "email": "admin@localhost", "name": "", "isGrafanaAdmin": True})
    assert get(port, password="admin")[0] == 401
    assert get(port, user=None)[0] == 401
    assert get(port, "/api/dashboards")[0] == 404  # the double serves /api/user only


@pytest.mark.parametrize("case", ["other-host", "other-class", "exact-path", "prefix-is-by-element"])
def test_a_request_no_rule_matches_gets_404(cluster, case):
    sim, port = cluster
    controller(sim)
    grafana(sim, **{"other-host": {}, "other-class": {"ingress_class": "traefik"},
                    "exact-path": {"path": "/api", "path_type": "Exact"},
                    "prefix-is-by-element": {"path": "/api/use"}}[case])
    assert get(port, host="prometheus." + HOST if case == "other-host" else HOST)[0] == 404


def test_an_ingress_without_a_class_is_served_by_the_default_class(cluster):
    sim, port = cluster
    controller(sim)
    grafana(sim, ingress_class=None, path="/api", path_type="ImplementationSpecific")
    assert get(port)[0] == 200


def test_a_network_policy_that_isolates_grafana_drops_the_controllers_connection(cluster):
    sim, port = cluster
    controller(sim)
    grafana(sim)
    create(sim, "/apis/networking.k8s.io/v1/namespaces/monitoring/networkpolicies", {
        "metadata": {"name": "deny"}, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    assert get(port)[0] == 504


def test_a_service_whose_pods_are_not_ready_is_503(tmp_path):
    port = free_port()
    with running(tmp_path / "sim", "--workload-pods", "--ingress-port", str(port), "--stall", "Pod/monitoring/*") as sim:
        controller(sim)
        grafana(sim)
        assert get(port)[0] == 503


def test_the_ingress_port_is_refused_when_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match="kubesim exited"):
            with running(tmp_path / "sim", "--ingress-port", str(taken.getsockname()[1])):
                pass
