"""API double option --workload-pods (the kind double's clusters): workloads get their Running pods at once."""

import pytest
from kubesim.testing import running

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "store", "namespace": "default"},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "store"}},
                   "template": {"metadata": {"labels": {"app": "store"}},
                                "spec": {"containers": [{"name": "s", "image": "chrislusf/seaweedfs:3.80"}]}}}}


@pytest.mark.parametrize("flag", [True, False])
def test_deployment_and_statefulset_get_running_pods_once(tmp_path, flag):
    with running(tmp_path / "sim", *(["--workload-pods"] if flag else [])) as sim:
        sts = {**DEPLOY, "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "default"},
               "spec": {**DEPLOY["spec"], "replicas": 1, "serviceName": "db"}}
        assert sim.request("POST", "/apis/apps/v1/namespaces/default/deployments", DEPLOY)[0] == 201
        assert sim.request("POST", "/apis/apps/v1/namespaces/default/statefulsets", sts)[0] == 201
        patch = {"metadata": {"annotations": {"a": "b"}}}
        sim.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/store", patch, "application/merge-patch+json")
        pods = sim.request("GET", "/api/v1/namespaces/default/pods")[1]["items"]
        if not flag:
            assert pods == []
            return
        assert sorted(p["metadata"]["name"] for p in pods) == ["db-0", "store-pod-0", "store-pod-1"]
        assert all(p["status"]["phase"] == "Running" for p in pods)
        assert {p["metadata"]["labels"]["app"] for p in pods} == {"store"}



def _hpa(min_replicas, max_replicas):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "store-hpa", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "store"},
                     "minReplicas": min_replicas, "maxReplicas": max_replicas,
                     "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                                   "target": {"type": "Utilization", "averageUtilization": 50}}}]}}


@pytest.mark.parametrize("hpa_first", [False, True])
def test_an_hpa_scales_its_target_into_its_bounds_as_the_hpa_controller_does(tmp_path, hpa_first):
    # A lab Deployment without replicas (the HPA owns the count) starts at 1; the HPA raises it to minReplicas.
    unscaled = {**DEPLOY, "spec": {k: v for k, v in DEPLOY["spec"].items() if k != "replicas"}}
    with running(tmp_path / "sim", "--workload-pods") as sim:
        posts = [("/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", _hpa(3, 5)),
                 ("/apis/apps/v1/namespaces/default/deployments", unscaled)]
        for path, body in (posts if hpa_first else posts[::-1]):
            assert sim.request("POST", path, body)[0] == 201
        deploy = sim.request("GET", "/apis/apps/v1/namespaces/default/deployments/store")[1]
        assert deploy["spec"]["replicas"] == 3
        assert deploy["status"]["readyReplicas"] == 3
        # Re-applying the Deployment without replicas keeps the HPA's count.
        sim.request("PATCH", "/apis/apps/v1/namespaces/default/deployments/store", {"metadata": {"labels": {"a": "b"}}},
                    "application/merge-patch+json")
        assert sim.request("GET", "/apis/apps/v1/namespaces/default/deployments/store")[1]["spec"]["replicas"] == 3


def test_a_target_at_zero_replicas_is_left_alone(tmp_path):
    with running(tmp_path / "sim", "--workload-pods") as sim:
        idle = {**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": 0}}
        sim.request("POST", "/apis/apps/v1/namespaces/default/deployments", idle)
        sim.request("POST", "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers", _hpa(2, 4))
        assert sim.request("GET", "/apis/apps/v1/namespaces/default/deployments/store")[1]["spec"]["replicas"] == 0


def test_a_service_gets_an_endpoint_slice_of_its_running_pods(tmp_path):
    with running(tmp_path / "sim", "--workload-pods") as sim:
        svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "store", "namespace": "default"},
               "spec": {"selector": {"app": "store"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
        assert sim.request("POST", "/api/v1/namespaces/default/services", svc)[0] == 201
        assert sim.request("POST", "/apis/apps/v1/namespaces/default/deployments", DEPLOY)[0] == 201
        slices = sim.request("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
                                    "?labelSelector=kubernetes.io/service-name=store")[1]["items"]
        assert len(slices) == 1
        assert sorted(e["targetRef"]["name"] for e in slices[0]["endpoints"]) == ["store-pod-0", "store-pod-1"]
        assert slices[0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
        sim.request("DELETE", "/api/v1/namespaces/default/pods/store-pod-1")
        slices = sim.request("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices")[1]["items"]
        assert [e["targetRef"]["name"] for e in slices[0]["endpoints"]] == ["store-pod-0"]
