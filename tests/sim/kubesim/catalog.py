"""Built-in resource types served by the Kubernetes API test double.

Each entry describes one resource as discovery reports it. Only what kubectl, the python client and
kubernetes.core need is here: group, version, plural, kind, scope, short names, and whether the
resource has a status subresource (then the main endpoint ignores `status` and a controller fills it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update"]


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    status: bool = False
    categories: tuple[str, ...] = ()
    # Fields that cannot change after creation (dotted paths below the object root).
    immutable: tuple[str, ...] = ()
    # Names of the CRD that registered it (None for built-ins).
    crd: str | None = None
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def discovery(self) -> list[dict]:
        entries = [
            {
                "name": self.plural,
                "singularName": self.singular,
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": VERBS,
                **({"shortNames": list(self.short_names)} if self.short_names else {}),
                **({"categories": list(self.categories)} if self.categories else {}),
            }
        ]
        if self.status:
            entries.append(
                {
                    "name": f"{self.plural}/status",
                    "singularName": "",
                    "namespaced": self.namespaced,
                    "kind": self.kind,
                    "verbs": ["get", "patch", "update"],
                }
            )
        return entries


def _r(group, version, plural, kind, namespaced, short=(), status=False, immutable=(), categories=()):
    return ResourceType(group, version, plural, kind, namespaced, tuple(short), status, tuple(categories), tuple(immutable))


_WORKLOAD_SELECTOR = ("spec.selector",)

BUILTIN: list[ResourceType] = [
    _r("", "v1", "namespaces", "Namespace", False, ["ns"], status=True),
    _r("", "v1", "nodes", "Node", False, ["no"], status=True),
    _r("", "v1", "pods", "Pod", True, ["po"], status=True, categories=["all"]),
    _r("", "v1", "services", "Service", True, ["svc"], status=True, categories=["all"]),
    _r("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    _r("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    _r("", "v1", "secrets", "Secret", True),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"]),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], status=True),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], status=True),
    _r("", "v1", "events", "Event", True, ["ev"]),
    _r("", "v1", "limitranges", "LimitRange", True, ["limits"]),
    _r("", "v1", "resourcequotas", "ResourceQuota", True, ["quota"], status=True),
    _r("apps", "v1", "deployments", "Deployment", True, ["deploy"], status=True, immutable=_WORKLOAD_SELECTOR, categories=["all"]),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], status=True,
       immutable=_WORKLOAD_SELECTOR + ("spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"), categories=["all"]),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], status=True, immutable=_WORKLOAD_SELECTOR, categories=["all"]),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], status=True, immutable=_WORKLOAD_SELECTOR, categories=["all"]),
    _r("batch", "v1", "jobs", "Job", True, status=True, categories=["all"]),
    _r("batch", "v1", "cronjobs", "CronJob", True, ["cj"], status=True, categories=["all"]),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False, immutable=("roleRef",)),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, immutable=("roleRef",)),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"],
       immutable=("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")),
    _r("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, immutable=("spec.attachRequired",)),
    _r("storage.k8s.io", "v1", "csinodes", "CSINode", False),
    _r("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, status=True),
    _r("storage.k8s.io", "v1", "csistoragecapacities", "CSIStorageCapacity", True),
    _r("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False, ["crd", "crds"], status=True),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, ["ing"], status=True),
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], status=True),
    _r("coordination.k8s.io", "v1", "leases", "Lease", True),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ["pc"], immutable=("value",)),
    _r("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"], status=True, categories=["all"]),
    # Registered by charts that serve an aggregated API (metrics-server, prometheus-adapter); nothing is proxied.
    _r("apiregistration.k8s.io", "v1", "apiservices", "APIService", False, status=True),
    _r("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
    _r("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
    # The students role's guardrails in namespace tenancy (GA since Kubernetes 1.30); stored, never enforced.
    _r("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", False, status=True),
    _r("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", False),
    # Create-only: the server answers a review (server.py, _access_review) and stores nothing.
    _r("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
]

# "Can I?" answers: everything is allowed, except what this ConfigMap's `deny` lists, one
# "<verb> <resource>[.<group>]" per line (kubectl auth can-i's spelling), e.g. "create clusterroles.rbac.authorization.k8s.io".
ACCESS_DENY_CONFIGMAP = ("kube-system", "kubesim-access-deny")

# The namespaces a fresh cluster has.
SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage"]
