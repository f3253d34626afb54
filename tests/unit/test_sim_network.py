"""API double option --workload-pods: a wget client pod ends as an enforcing CNI lets it (kubesim/network.py), and the
kind profile has cluster DNS (coredns) to resolve the Service through."""

import pytest
from kubesim.testing import running

NETPOL = "/apis/networking.k8s.io/v1/namespaces/{}/networkpolicies"


def namespace(sim, name, **labels):
    assert sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}})[0] == 201


def server(sim, ns, running_pod=True):
    """The cni role's probe server: a pod with the named port http (8080) behind the Service server:8080."""
    namespace(sim, ns)
    if running_pod:
        pod = {"metadata": {"name": "server", "labels": {"app": "server"}},
               "spec": {"containers": [{"name": "httpd", "image": "busybox:1.37.0",
                                        "ports": [{"name": "http", "containerPort": 8080}]}]}}
        assert sim.request("POST", f"/api/v1/namespaces/{ns}/pods", pod)[0] == 201
    svc = {"metadata": {"name": "server"},
           "spec": {"selector": {"app": "server"}, "ports": [{"port": 8080, "targetPort": "http"}]}}
    assert sim.request("POST", f"/api/v1/namespaces/{ns}/services", svc)[0] == 201


def policy(sim, ns, spec, name="policy"):
    body = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}
    assert sim.request("POST", NETPOL.format(ns), body)[0] == 201


def probe(sim, ns, name, url="http://server.probe.svc:8080/", restart="Never", **labels):
    """Start a client as the cni role does; (phase, exit code or None while it runs)."""
    pod = {"metadata": {"name": name, "labels": labels},
           "spec": {"restartPolicy": restart,
                    "containers": [{"name": "wget", "image": "busybox:1.37.0", "command": ["sh", "-c"],
                                    "args": [f"sleep 5; wget -T 5 -qO- {url}"]}]}}
    code, body = sim.request("POST", f"/api/v1/namespaces/{ns}/pods", pod)
    assert code == 201, body
    status = sim.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")[1]["status"]
    state = status["containerStatuses"][0]["state"]
    return status["phase"], state.get("terminated", {}).get("exitCode")


@pytest.fixture
def sim(tmp_path):
    with running(tmp_path / "sim", "--workload-pods") as double:
        yield double


def test_the_kind_profile_has_coredns_ready_behind_kube_dns(tmp_path):
    with running(tmp_path / "kind", "--workload-pods") as sim:
        deploy = sim.request("GET", "/apis/apps/v1/namespaces/kube-system/deployments/coredns")[1]
        assert deploy["metadata"]["labels"] == {"k8s-app": "kube-dns"}
        assert deploy["status"]["readyReplicas"] == 2
        assert sim.request("GET", "/api/v1/namespaces/kube-system/services/kube-dns")[1]["spec"]["clusterIP"] == "10.96.0.10"
        pods = sim.request("GET", "/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns")[1]["items"]
        assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]
        slices = sim.request("GET", "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices")[1]["items"]
        assert [len(s["endpoints"]) for s in slices] == [2]
    with running(tmp_path / "bare", "--bare", "--workload-pods") as sim:
        assert sim.request("GET", "/apis/apps/v1/namespaces/kube-system/deployments/coredns")[0] == 404
        server(sim, "probe")
        assert probe(sim, "probe", "no-dns") == ("Failed", 1), "no cluster DNS: the name does not resolve"


def test_without_a_policy_the_client_reaches_the_server(sim):
    server(sim, "probe")
    assert probe(sim, "probe", "open") == ("Succeeded", 0)
    assert probe(sim, "probe", "fqdn", url="http://server.probe.svc.cluster.local:8080/index.html") == ("Succeeded", 0)
    pod = sim.request("GET", "/api/v1/namespaces/probe/pods/open")[1]
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "False"


def test_a_deny_all_ingress_policy_blocks_the_client(sim):
    server(sim, "probe")
    assert probe(sim, "probe", "before") == ("Succeeded", 0)
    # The role's own policy: podSelector {} and policyTypes [Ingress], no rules.
    policy(sim, "probe", {"podSelector": {}, "policyTypes": ["Ingress"]}, name="deny-all-ingress")
    assert probe(sim, "probe", "after") == ("Failed", 1)
    # Unset policyTypes default to Ingress; a policy selecting other pods leaves the server open.
    sim.request("DELETE", NETPOL.format("probe") + "/deny-all-ingress")
    policy(sim, "probe", {"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["other"]}]}})
    assert probe(sim, "probe", "other-selected") == ("Succeeded", 0)
    policy(sim, "probe", {"podSelector": {"matchLabels": {"app": "server"}}}, name="defaulted-types")
    assert probe(sim, "probe", "defaulted") == ("Failed", 1)


def test_a_pod_selector_peer_admits_its_pods_of_the_policys_namespace_only(sim):
    server(sim, "probe")
    policy(sim, "probe", {"podSelector": {"matchLabels": {"app": "server"}},
                          "ingress": [{"from": [{"podSelector": {"matchLabels": {"role": "client"}}}]}]})
    assert probe(sim, "probe", "client", role="client") == ("Succeeded", 0)
    assert probe(sim, "probe", "stranger") == ("Failed", 1)
    namespace(sim, "elsewhere")
    assert probe(sim, "elsewhere", "client", role="client") == ("Failed", 1)


def test_a_namespace_selector_peer_admits_the_namespaces_it_selects(sim):
    server(sim, "probe")
    namespace(sim, "team-a", team="a")
    namespace(sim, "team-b", team="b")
    policy(sim, "probe", {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}]}]})
    assert probe(sim, "team-a", "any") == ("Succeeded", 0)
    assert probe(sim, "team-b", "any") == ("Failed", 1)
    assert probe(sim, "probe", "own-namespace") == ("Failed", 1), "the policy's namespace is not selected"
    # Both selectors in one peer: the selected pods of the selected namespaces.
    sim.request("DELETE", NETPOL.format("probe") + "/policy")
    policy(sim, "probe", {"podSelector": {}, "ingress": [{"from": [{
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}},
        "podSelector": {"matchLabels": {"role": "client"}}}]}]})
    assert probe(sim, "team-a", "client", role="client") == ("Succeeded", 0)
    assert probe(sim, "team-a", "other") == ("Failed", 1)
    assert probe(sim, "team-b", "client", role="client") == ("Failed", 1)


@pytest.mark.parametrize("ports, expect", [
    ([{"port": 9090}], ("Failed", 1)),
    ([{"port": 8080, "protocol": "UDP"}], ("Failed", 1)),
    ([{"port": "metrics"}], ("Failed", 1)),
    ([{"port": 8080}], ("Succeeded", 0)),
    ([{"port": "http"}], ("Succeeded", 0)),
    ([{"port": 8000, "endPort": 8100}], ("Succeeded", 0)),
    ([{"protocol": "TCP"}], ("Succeeded", 0)),
])
def test_a_rules_ports_must_match_the_servers_port(sim, ports, expect):
    server(sim, "probe")
    policy(sim, "probe", {"podSelector": {}, "ingress": [{"ports": ports}]})
    assert probe(sim, "probe", "client") == expect


def test_without_a_running_backend_or_service_port_the_client_fails(sim):
    server(sim, "probe", running_pod=False)
    assert probe(sim, "probe", "no-endpoints") == ("Failed", 1)
    # A pod that has ended is no endpoint, though its labels and port match.
    ended = {"metadata": {"name": "ended", "labels": {"app": "server"}},
             "spec": {"restartPolicy": "Never", "containers": [{
                 "name": "httpd", "image": "busybox:1.37.0", "ports": [{"name": "http", "containerPort": 8080}],
                 "command": ["sh", "-c", "wget -qO- http://nothing.probe.svc/"]}]}}
    assert sim.request("POST", "/api/v1/namespaces/probe/pods", ended)[0] == 201
    assert probe(sim, "probe", "ended-endpoint") == ("Failed", 1)
    server(sim, "served")
    assert probe(sim, "served", "wrong-port", url="http://server.served.svc:9999/") == ("Failed", 1)
    assert probe(sim, "served", "no-service", url="http://nothing.served.svc:8080/") == ("Failed", 1)
    assert probe(sim, "served", "reaches", url="http://server.served.svc:8080/") == ("Succeeded", 0)


def test_egress_policies_of_the_client_count_dns_included(sim):
    server(sim, "probe")
    namespace(sim, "client")
    policy(sim, "client", {"podSelector": {}, "policyTypes": ["Egress"]}, name="deny-egress")
    assert probe(sim, "client", "denied") == ("Failed", 1)
    to_server = {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "probe"}}}],
                 "ports": [{"port": 8080}]}
    policy(sim, "client", {"podSelector": {}, "egress": [to_server]}, name="to-server")
    assert probe(sim, "client", "no-dns") == ("Failed", 1), "the name lookup is egress too"
    dns = {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
           "ports": [{"port": 53, "protocol": "UDP"}]}
    policy(sim, "client", {"podSelector": {}, "egress": [dns]}, name="to-dns")
    assert probe(sim, "client", "allowed") == ("Succeeded", 0)


def test_other_pods_keep_running(tmp_path, sim):
    server(sim, "probe")
    assert probe(sim, "probe", "restarting", restart="Always") == ("Running", None)
    pod = {"metadata": {"name": "sleeper"}, "spec": {"restartPolicy": "Never", "containers": [
        {"name": "main", "image": "busybox:1.37.0", "command": ["sleep", "3600"]}]}}
    sim.request("POST", "/api/v1/namespaces/probe/pods", pod)
    assert sim.request("GET", "/api/v1/namespaces/probe/pods/sleeper")[1]["status"]["phase"] == "Running"
    with running(tmp_path / "plain") as plain:  # without --workload-pods nothing runs to completion
        server(plain, "probe")
        assert probe(plain, "probe", "client") == ("Running", None)
