"""A double of an enforcing CNI for one kind of pod: a wget client that runs to completion.

With --workload-pods, a bare pod whose `restartPolicy` is `Never` and whose every container runs
`wget ... http://<service>.<namespace>.svc[.cluster.local][:<port>]/...` ends at once: `Succeeded` (exit 0) when the
name resolves through cluster DNS and the connection reaches a Running, Ready backend of the Service, else `Failed`
(exit 1). Any other pod stays Running, as before. Nothing is sent: whether the server answers is assumed.

A connection is allowed when NetworkPolicy allows it on both ends: egress of the client, ingress of the server.
The semantics follow the API's own description (k8s.io/api networking/v1/types.go: NetworkPolicySpec,
NetworkPolicyIngressRule/EgressRule, NetworkPolicyPeer, NetworkPolicyPort). Not modelled: ipBlock peers never
match (pods have no IPs here; ipBlock is meant for traffic from outside the cluster), the node's own traffic, Service
types other than a ClusterIP with a selector, and an implementation's extras (Calico/Cilium policy kinds).
"""

from __future__ import annotations

import re

# The Service's DNS name, and the port (default 80) the client connects to.
_WGET = re.compile(r"\bwget\b.*?https?://([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?(?::(\d+))?(?:[/\s\"']|$)")


def run_to_completion(store, pod: dict) -> None:
    """Replace a new wget client pod's Running status with how it ended."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    targets = [_WGET.search(" ".join(str(a) for a in (c.get("command") or []) + (c.get("args") or []))) for c in containers]
    if spec.get("restartPolicy") != "Never" or not containers or not all(targets):
        return
    codes = [0 if _resolves(store, pod) and _connects(store, pod, m.group(2), m.group(1), int(m.group(3) or 80), "TCP")
             else 1 for m in targets]
    phase = "Succeeded" if not any(codes) else "Failed"
    pod["status"] = {
        "phase": phase,
        "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Initialized", "status": "True"},
                       {"type": "ContainersReady", "status": "False", "reason": "PodCompleted"},
                       {"type": "Ready", "status": "False", "reason": "PodCompleted"}],
        "containerStatuses": [{"name": c.get("name"), "ready": False, "restartCount": 0, "started": False,
                               "image": c.get("image"), "imageID": c.get("image") or "",
                               "state": {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error"}}}
                              for c, code in zip(containers, codes)],
    }


def _resolves(store, client: dict) -> bool:
    """The name is looked up in cluster DNS (kube-system/kube-dns, UDP 53), itself a connection policy may block."""
    return _connects(store, client, "kube-system", "kube-dns", 53, "UDP")


def _connects(store, client: dict, namespace: str, service: str, port: int, protocol: str) -> bool:
    """Through the Service's ClusterIP to one Running backend, if NetworkPolicy allows it."""
    found = backend(store, namespace, service, port, protocol)
    return found is not None and allowed(store, client, found[0], found[1], protocol)


def backend(store, namespace: str, service: str, port, protocol: str) -> tuple[dict, int] | None:
    """The pod and container port a connection to the Service's port (a number or the port's name) reaches: its
    first Running backend (kube-proxy picks one at random; the double takes the first by name, so backends that
    differ in policy answer alike here and by chance on a cluster). Only a Ready pod is an endpoint (EndpointSlice
    conditions.ready). None: no such port, or no such backend."""
    svc = store.objects.get(("", "services", namespace, service))
    spec = (svc or {}).get("spec") or {}
    svc_port = next((p for p in spec.get("ports") or [] if port in (p.get("port"), p.get("name"))
                     and p.get("protocol", "TCP") == protocol), None)
    if svc_port is None or not spec.get("selector"):
        return None
    for pod in store.stored("", "pods", namespace):
        labels = pod["metadata"].get("labels") or {}
        status = pod.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        if status.get("phase") != "Running" or not ready or not spec["selector"].items() <= labels.items():
            continue
        target = _container_port(pod, svc_port.get("targetPort", svc_port["port"]), protocol)
        return None if target is None else (pod, target)
    return None


def allowed(store, source: dict, destination: dict, port: int, protocol: str = "TCP") -> bool:
    """Whether NetworkPolicy lets source open a connection to destination's port: egress of one, ingress of the other."""
    return (_admits(store, source, "Egress", destination, destination, port, protocol)
            and _admits(store, destination, "Ingress", source, destination, port, protocol))


def _admits(store, pod: dict, direction: str, peer: dict, destination: dict, port: int, protocol: str) -> bool:
    """A pod is isolated in a direction when a policy of its namespace selects it with that direction in its
    policyTypes; an isolated pod's traffic must match a rule of one of those policies (rules add up)."""
    namespace = pod["metadata"]["namespace"]
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolated = False
    for (group, plural, ns, _name), policy in sorted(store.objects.items()):
        spec = policy.get("spec") or {}
        if (group, plural, ns) != ("networking.k8s.io", "networkpolicies", namespace) \
                or direction not in _policy_types(spec) or not selects(spec.get("podSelector") or {}, pod):
            continue
        isolated = True
        for rule in spec.get(rules_key) or []:
            if _peers_match(store, rule.get(peers_key), namespace, peer) \
                    and _ports_match(rule.get("ports"), destination, port, protocol):
                return True
    return not isolated


def _policy_types(spec: dict) -> list[str]:
    """Unset policyTypes: Ingress always, Egress when the policy has egress rules."""
    return spec.get("policyTypes") or ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _peers_match(store, peers, policy_namespace: str, pod: dict) -> bool:
    """Empty or missing: every peer. podSelector alone: pods of the policy's namespace; namespaceSelector alone: every
    pod of the namespaces it selects; both: the pods podSelector selects in those namespaces. ipBlock: never here."""
    if not peers:
        return True
    pod_ns = pod["metadata"]["namespace"]
    ns_obj = store.objects.get(("", "namespaces", "", pod_ns)) or {"metadata": {}}
    for peer in peers:
        if "ipBlock" in peer:
            continue
        if "namespaceSelector" in peer:
            in_namespace = selects(peer["namespaceSelector"] or {}, ns_obj)
        else:
            in_namespace = pod_ns == policy_namespace
        if in_namespace and ("podSelector" not in peer or selects(peer["podSelector"] or {}, pod)):
            return True
    return False


def _ports_match(ports, destination: dict, port: int, protocol: str) -> bool:
    """Empty or missing: every port. Else a number (up to endPort) or a name of the destination pod's ports."""
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, int) and wanted <= port <= entry.get("endPort", wanted):
            return True
        if isinstance(wanted, str) and _container_port(destination, wanted, protocol) == port:
            return True
    return False


def _container_port(pod: dict, port, protocol: str) -> int | None:
    """A port as a number: a number as is, a name looked up in the pod's container ports (None: no such port)."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return next((p.get("containerPort") for c in (pod.get("spec") or {}).get("containers") or []
                 for p in c.get("ports") or [] if p.get("name") == port and p.get("protocol", "TCP") == protocol), None)


def selects(selector: dict, obj: dict) -> bool:
    """A metav1.LabelSelector (matchLabels and matchExpressions: In, NotIn, Exists, DoesNotExist) on obj's labels;
    an empty selector selects everything."""
    labels = obj["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and key in labels and labels[key] in values) \
                or (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True
