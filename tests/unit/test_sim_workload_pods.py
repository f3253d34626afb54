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

