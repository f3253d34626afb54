"""What later tasks read of what each chart would make: the objects the Helm double creates on install
(`KUBELAB_HELM_SIM_CHART_OBJECTS`, one YAML file per chart), shared by the whole-day test and the rescue test."""

from __future__ import annotations

from pathlib import Path

import yaml


def _crd(group: str, kind: str, plural: str, version: str = "v1", scope: str = "Namespaced", status: bool = False) -> dict:
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.{group}"},
            "spec": {"group": group, "scope": scope,
                     "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
                     "versions": [{"name": version, "served": True, "storage": True,
                                   **({"subresources": {"status": {}}} if status else {}),
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]}}


def _deployment(name: str, labels: dict, image: str) -> dict:
    """A chart's workload; the API double's clusters run its pods, so it reports ready replicas as on a cluster."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "${NAMESPACE}",
                                                                        "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "main", "image": image}]}}}}


def _api_service(name: str, service: str) -> dict:
    """The APIService a chart registers, Available as kube-aggregator reports it once the service answers."""
    version, group = name.split(".", 1)
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": name},
            "spec": {"group": group, "version": version, "groupPriorityMinimum": 100, "versionPriority": 100,
                     "insecureSkipTLSVerify": True, "service": {"name": service, "namespace": "${NAMESPACE}"}},
            "status": {"conditions": [{"type": "Available", "status": "True", "reason": "Passed"}]}}


def _grafana(name: str) -> list[dict]:
    """The grafana subchart's Deployment, Service and Ingress as far as the ingress port's double routes a login
    (grafana chart templates/_pod.tpl: the admin user and password come from admin.existingSecret; service.yaml:
    port 80 to the container's port 3000; ingress.yaml: the hosts of ingress.hosts, path ingress.path, Prefix)."""
    labels = {"app.kubernetes.io/name": "grafana"}
    deployment = _deployment(name, labels, "grafana/grafana")
    secret = "${VALUES:grafana.admin.existingSecret}"
    deployment["spec"]["template"]["spec"]["containers"][0].update({
        "ports": [{"name": "grafana", "containerPort": 3000, "protocol": "TCP"}],
        "env": [{"name": f"GF_SECURITY_ADMIN_{what.upper()}", "valueFrom": {"secretKeyRef": {
            "name": secret, "key": "${VALUES:grafana.admin.%sKey}" % what}}} for what in ("user", "password")]})
    return [
        deployment,
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "${NAMESPACE}"},
         "spec": {"selector": labels, "ports": [{"name": "http-web", "port": 80, "targetPort": 3000, "protocol": "TCP"}]}},
        {"kubelab-stand-in-if": "grafana.ingress.enabled", "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": {"name": name, "namespace": "${NAMESPACE}"},
         "spec": {"ingressClassName": "${VALUES:grafana.ingress.ingressClassName}", "rules": [
             {"host": "${VALUES:grafana.ingress.hosts.0}", "http": {"paths": [
                 {"path": "${VALUES:grafana.ingress.path}", "pathType": "Prefix",
                  "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}},
    ]


def write_chart_stand_ins(dest: Path, project: Path, versions: dict) -> None:
    """What later tasks read of what each chart would make (the Helm double creates it on install): the CRDs the
    labs' custom resources need, and the pods, Deployments and webhook the vault and velero roles wait for or
    talk to. The CRD stand-ins are the lab role's Molecule ones."""
    crds = (yaml.safe_load((project / "roles/lab/molecule/default/files/crds.yaml").read_text())
            + yaml.safe_load((project / "roles/lab/molecule/gitops/files/crds.yaml").read_text()))
    by_group = {g: [c for c in crds if c["spec"]["group"] == g] for g in ("monitoring.coreos.com", "argoproj.io", "velero.io")}
    vault = versions["vault"]
    stand_ins = {
        # What the Tigera operator reports once Calico runs (cluster-scoped TigeraStatus "calico", tigera/operator
        # api/v1/tigerastatus_types.go); the kind double's nodes are Ready from the start.
        "tigera-operator": [
            _crd("operator.tigera.io", "TigeraStatus", "tigerastatuses", scope="Cluster"),
            {"apiVersion": "operator.tigera.io/v1", "kind": "TigeraStatus", "metadata": {"name": "calico"},
             "spec": {}, "status": {"conditions": [{"type": "Available", "status": "True", "reason": "AllObjectsAvailable"},
                                                   {"type": "Progressing", "status": "False"},
                                                   {"type": "Degraded", "status": "False"}]}},
        ],
        "kube-prometheus-stack": by_group["monitoring.coreos.com"],
        "argo-cd": by_group["argoproj.io"],
        "vault": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vault-0", "namespace": "${NAMESPACE}",
                                                             "labels": {"app.kubernetes.io/name": "vault"}},
             "spec": {"containers": [{"name": "vault", "image": vault["image"]}]}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "vault-agent-injector", "namespace": "${NAMESPACE}"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "vault-agent-injector"}},
                      "template": {"metadata": {"labels": {"app.kubernetes.io/name": "vault-agent-injector"}},
                                   "spec": {"containers": [{"name": "sidecar-injector", "image": vault["injector_image"]}]}}}},
            {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
             "metadata": {"name": "vault-agent-injector-cfg"},
             "webhooks": [{"name": "vault.hashicorp.com", "admissionReviewVersions": ["v1"], "sideEffects": "None",
                           "clientConfig": {"service": {"name": "vault-agent-injector-svc", "namespace": "${NAMESPACE}",
                                                        "path": "/mutate"}}}]},
        ],
        "velero": by_group["velero.io"] + [
            {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "backupstoragelocations.velero.io"},
             "spec": {"group": "velero.io", "scope": "Namespaced",
                      "names": {"kind": "BackupStorageLocation", "listKind": "BackupStorageLocationList",
                                "plural": "backupstoragelocations", "singular": "backupstoragelocation"},
                      "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                          "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}},
            {"apiVersion": "velero.io/v1", "kind": "BackupStorageLocation",
             "metadata": {"name": "default", "namespace": "${NAMESPACE}"},
             "spec": {"provider": "aws", "default": True, "objectStorage": {"bucket": "velero"},
                      "config": {"region": "us-east-1", "s3ForcePathStyle": "true", "checksumAlgorithm": "",
                                 "s3Url": "http://seaweedfs.${NAMESPACE}.svc.cluster.local:8333"}},
             "status": {"phase": "Available"}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "velero", "namespace": "${NAMESPACE}"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "velero"}},
                      "template": {"metadata": {"labels": {"app.kubernetes.io/name": "velero"}},
                                   "spec": {"containers": [{"name": "velero", "args": ["server", "--features=EnableCSI"],
                                                            "image": f"velero/velero:{versions['velero']['version']}"}]}}}},
        ],
    }
    stand_ins["kube-prometheus-stack"] += [
        _crd("monitoring.coreos.com", "Prometheus", "prometheuses", status=True),
        _crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors"),
        # The operator reports Available once the Prometheus pods run (prometheus-operator
        # pkg/apis/monitoring/v1/types.go, ConditionType Available).
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "Prometheus",
         "metadata": {"name": "kube-prometheus-stack-prometheus", "namespace": "${NAMESPACE}"}, "spec": {"replicas": 1},
         "status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "Reconciled", "status": "True"}]}},
        *_grafana("kube-prometheus-stack-grafana"),
        # On kind the chart keeps kube-controller-manager, kube-scheduler, etcd and kube-proxy monitors off.
        *({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
           "metadata": {"name": f"kube-prometheus-stack-{name}", "namespace": "${NAMESPACE}"},
           "spec": {"endpoints": [{"port": "https-metrics"}], "selector": {}}} for name in ("apiserver", "kubelet", "coredns")),
    ]
    stand_ins.update({
        "ingress-nginx": [
            _deployment("ingress-nginx-controller", {"app.kubernetes.io/instance": "ingress-nginx",
                                                     "app.kubernetes.io/component": "controller"},
                        "registry.k8s.io/ingress-nginx/controller"),
            {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
             "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
             "spec": {"controller": "k8s.io/ingress-nginx"}},
        ],
        # metrics.k8s.io is an aggregated API in a real cluster; here a CRD of the same group serves what
        # `kubectl top nodes` reads, one NodeMetrics per node.
        "metrics-server": [
            _api_service("v1beta1.metrics.k8s.io", "metrics-server"),
            _crd("metrics.k8s.io", "NodeMetrics", "nodes", version="v1beta1", scope="Cluster"),
            {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics", "metadata": {"name": "${NODE}"},
             "timestamp": "2026-01-01T00:00:00Z", "window": "10s", "usage": {"cpu": "120m", "memory": "512Mi"}},
        ],
        "prometheus-adapter": [_api_service("v1beta1.custom.metrics.k8s.io", "prometheus-adapter")],
    })
    stand_ins["argo-cd"] = stand_ins["argo-cd"] + [
        _deployment(f"argocd-{name}", {"app.kubernetes.io/name": f"argocd-{name}"}, "quay.io/argoproj/argocd")
        for name in ("server", "repo-server", "applicationset-controller")
    ] + [{**_deployment("argocd-application-controller", {"app.kubernetes.io/name": "argocd-application-controller"},
                        "quay.io/argoproj/argocd"), "kind": "StatefulSet"}]
    dest.mkdir()
    for chart, objects in stand_ins.items():
        (dest / f"{chart}.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
