"""A double of ingress-nginx's data path: what answers on the cluster's HTTP host port.

On kind the cluster's HTTP port (kubelab http_port) maps to port 80 of the node where the ingress-nginx controller
listens. `kubesim serve --ingress-port PORT` listens on PORT too and routes each request as the controller would:
- no Running pod of the controller image: nothing listens on the node's port 80 (502 here);
- the Ingresses of the IngressClass whose controller is k8s.io/ingress-nginx (or without a class, when that class
  is the default one) are matched: a rule's host exactly (a `*.` wildcard for one label), no host for every host;
  the path by its pathType (k8s.io/api networking/v1 types.go HTTPIngressPath: Exact equal, Prefix element-wise
  by '/'; ImplementationSpecific as nginx's own prefix location, character by character), the longest path first;
- nothing matches: the controller's default backend answers 404;
- a match goes through the backend Service to its first Ready pod (network.backend), if NetworkPolicy lets the
  controller's pod reach it (else the connection times out: 504), to the server double of that container's image on
  the target port (execs.SERVERS); no endpoint: 503, nothing listening there: 502.
Not modelled: TLS, annotations (rewrites, auth, regex paths), defaultBackend of an Ingress, several controllers.
"""

from __future__ import annotations

from . import network
from .execs import image_name

CONTROLLER = "k8s.io/ingress-nginx"
CONTROLLER_IMAGE = "registry.k8s.io/ingress-nginx/controller"


class Answer:
    """Either a backend (pod, container, port) to pass the request to, or the controller's own answer."""

    def __init__(self, status: int = 0, message: str = "", pod: dict | None = None, port: int = 0):
        self.status, self.message, self.pod, self.port = status, message, pod, port


def route(store, host: str, path: str) -> Answer:
    controller = next((pod for pod in store.stored("", "pods") if (pod.get("status") or {}).get("phase") == "Running"
                       and any(image_name(c.get("image", "")) == CONTROLLER_IMAGE
                               for c in (pod.get("spec") or {}).get("containers") or [])), None)
    if controller is None:
        return Answer(502, "nothing listens on the node's port 80: no ingress-nginx controller pod runs")
    matches = []
    for ingress in store.stored("networking.k8s.io", "ingresses"):
        if not _served(store, ingress):
            continue
        for rule in (ingress.get("spec") or {}).get("rules") or []:
            if not _host_matches(rule.get("host"), host):
                continue
            for entry in (rule.get("http") or {}).get("paths") or []:
                if _path_matches(entry.get("pathType", "ImplementationSpecific"), entry.get("path", "/"), path):
                    matches.append((entry.get("pathType") == "Exact", len(entry.get("path", "/")), ingress, entry))
    if not matches:
        return Answer(404, "default backend - 404")
    _exact, _length, ingress, entry = max(matches, key=lambda m: m[:2])
    namespace = ingress["metadata"]["namespace"]
    service = ((entry.get("backend") or {}).get("service") or {})
    port = service.get("port") or {}
    found = network.backend(store, namespace, service.get("name", ""), port.get("number", port.get("name")), "TCP")
    if found is None:
        return Answer(503, f"Service {namespace}/{service.get('name')} has no ready endpoint on that port")
    pod, target = found
    if not network.allowed(store, controller, pod, target):
        return Answer(504, f"NetworkPolicy drops the controller's connection to {namespace}/{pod['metadata']['name']}")
    return Answer(pod=pod, port=target)


def _served(store, ingress: dict) -> bool:
    """The controller serves its own class, and Ingresses without one when its class is the default."""
    name = (ingress.get("spec") or {}).get("ingressClassName")
    classes = [c for c in store.stored("networking.k8s.io", "ingressclasses")
               if (c.get("spec") or {}).get("controller") == CONTROLLER]
    if name:
        return any(c["metadata"]["name"] == name for c in classes)
    return any((c["metadata"].get("annotations") or {}).get("ingressclass.kubernetes.io/is-default-class") == "true"
               for c in classes)


def _host_matches(rule_host: str | None, host: str) -> bool:
    if not rule_host:
        return True
    if rule_host.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == rule_host[2:]
    return rule_host == host


def _path_matches(path_type: str, rule_path: str, path: str) -> bool:
    if path_type == "Exact":
        return path == rule_path
    if path_type == "Prefix":
        wanted = [p for p in rule_path.split("/") if p]
        return [p for p in path.split("/") if p][:len(wanted)] == wanted
    return path.startswith(rule_path)  # ImplementationSpecific: an nginx prefix location, character by character
