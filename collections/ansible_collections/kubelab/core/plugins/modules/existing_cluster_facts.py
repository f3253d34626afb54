#!/usr/bin/python
# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Read what preflight checks on an existing cluster, in one call; changes nothing."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: existing_cluster_facts
short_description: Read an existing cluster's version, permissions, zones, storage classes and Helm releases
description:
  - Read-only. Returns the server version, whether the credentials may do each access in O(access)
    (SelfSubjectAccessReview, as C(kubectl auth can-i)), the nodes with their C(topology.kubernetes.io/zone)
    label, the default StorageClasses and the newest revision of every Helm release (Helm 3 release Secrets).
  - Fails, naming the kubeconfig and context, when the API does not answer.
options:
  kubeconfig: {type: path, required: true, description: The kubeconfig file.}
  context: {type: str, default: "", description: "Its context; empty: the current context."}
  access:
    type: list
    elements: dict
    default: []
    description: "Accesses to review: [{verb, resource, group}] (group empty for the core group)."
author: kubelab maintainers
"""

EXAMPLES = r"""
- name: Read the existing cluster
  kubelab.core.existing_cluster_facts:
    kubeconfig: "{{ cluster_existing_kubeconfig }}"
    context: "{{ cluster_existing_context }}"
    access: [{verb: create, resource: namespaces, group: ""}]
  register: facts
"""

RETURN = r"""
version: {description: The server's gitVersion., returned: success, type: str}
access: {description: "Each reviewed access with allowed: true/false.", returned: success, type: list, elements: dict}
nodes: {description: "[{name, zone, ready}].", returned: success, type: list, elements: dict}
default_storage_classes: {description: Names of the default StorageClasses., returned: success, type: list, elements: str}
helm_releases: {description: "[{name, namespace, chart, chart_version, status, revision}].", returned: success, type: list, elements: dict}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kubelab.core.plugins.module_utils.existing_cluster import (
    DEFAULT_CLASS_ANNOTATIONS,
    ZONE_LABEL,
    latest_releases,
)

try:
    from kubernetes import config, dynamic
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False


def gather(api, access):
    """The facts, through the dynamic client (plain dicts, no typed models: kubernetes.core reads the same way)."""
    def items(api_version, kind, **kwargs):
        return api.resources.get(api_version=api_version, kind=kind).get(**kwargs).to_dict()["items"]

    version = api.version["kubernetes"]["gitVersion"]
    review_api = api.resources.get(api_version="authorization.k8s.io/v1", kind="SelfSubjectAccessReview")
    reviews = []
    for item in access:
        attrs = {"verb": item["verb"], "resource": item["resource"], "group": item.get("group") or ""}
        answer = review_api.create(body={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                         "spec": {"resourceAttributes": attrs}}).to_dict()
        reviews.append(dict(attrs, allowed=bool((answer.get("status") or {}).get("allowed"))))
    nodes = []
    for node in items("v1", "Node"):
        ready = [c.get("status") for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"]
        nodes.append({"name": node["metadata"]["name"], "zone": (node["metadata"].get("labels") or {}).get(ZONE_LABEL, ""),
                      "ready": ready == ["True"]})
    classes = [sc["metadata"]["name"] for sc in items("storage.k8s.io/v1", "StorageClass")
               if any((sc["metadata"].get("annotations") or {}).get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)]
    return {"version": version, "access": reviews, "nodes": nodes, "default_storage_classes": classes,
            "helm_releases": latest_releases(items("v1", "Secret", label_selector="owner=helm"))}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kubeconfig=dict(type="path", required=True),
            context=dict(type="str", default=""),
            access=dict(type="list", elements="dict", default=[]),
        ),
        supports_check_mode=True,
    )
    if not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"))
    params = module.params
    try:
        api_client = config.new_client_from_config(config_file=params["kubeconfig"], context=params["context"] or None)
        facts = gather(dynamic.DynamicClient(api_client), params["access"])
    except Exception as err:  # noqa: BLE001 - any failure to reach or read the API is the same message
        module.fail_json(msg="cluster_existing_kubeconfig/cluster_existing_context: the API of %s (context %s) does "
                             "not answer: %s. Check the file, the context (`kubectl --kubeconfig %s config "
                             "get-contexts`) and that the cluster is reachable from this machine. Nothing was changed."
                             % (params["kubeconfig"], params["context"] or "current", str(err).splitlines()[0][:300],
                                params["kubeconfig"]))
    module.exit_json(changed=False, **facts)


if __name__ == "__main__":
    main()
