#!/usr/bin/python
# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Write rendered artifacts of a cluster's plan and record them in the plan's index.json."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: plan_artifact
short_description: Write rendered artifacts under a cluster's plan directory and index them
description:
  - Writes a file under O(plan_dir) only when its content differs, atomically.
  - Upserts one entry for it in C(<plan_dir>/index.json), the list of everything a cluster's plan holds.
  - With O(artifacts), writes several files of one role in one call (one task instead of one per file, which
    matters when a class of thirty clusters renders them all); every artifact is checked before any is written.
  - With O(clusters), writes the same artifacts into the plan of each of several clusters, so a render that is
    the same for every cluster of a class is templated once instead of once per cluster.
  - The same module serves plan mode and apply mode; apply mode applies the files this module wrote.
options:
  plan_dir:
    description:
      - The cluster's plan directory, e.g. C(build/plan/kubelab-instructor).
      - With O(cluster); exactly one of O(cluster) and O(clusters).
    type: path
  cluster:
    description: The cluster's name, recorded at the top of index.json.
    type: str
  clusters:
    description:
      - Several clusters, each of which gets the same artifacts in its own plan.
      - Each item needs C(name) (recorded at the top of its index.json) and C(plan_dir); other keys, such as the
        rest of a class plan's cluster, are ignored.
    type: list
    elements: dict
  path:
    description:
      - The artifact's path relative to O(plan_dir); its first part names the role, e.g. C(csi/crds.yaml).
      - Exactly one of O(path) and O(artifacts).
    type: str
  role:
    description: The role that renders the artifact(s).
    type: str
    required: true
  type:
    description: What the artifact is. Required with O(path); the default type of the items of O(artifacts).
    type: str
    choices: [kind-config, kubeadm-config, manifest, helm-release, file]
  content:
    description: The file's text. With O(path), exactly one of O(content), O(data), O(documents).
    type: str
  data:
    description: One YAML document.
    type: raw
  documents:
    description: Several YAML documents, written as one multi-document file.
    type: list
    elements: raw
  helm:
    description: For O(type=helm-release), the release the values file belongs to.
    type: dict
    suboptions:
      repo: {type: str, required: true, description: Chart repository URL (https or oci).}
      chart: {type: str, required: true, description: Chart name.}
      version: {type: str, required: true, description: Pinned chart version.}
      release: {type: str, required: true, description: Release name.}
      namespace: {type: str, required: true, description: Release namespace.}
  docker_host:
    description: For O(type=kind-config), the Docker host that runs the cluster (kept in the index entry).
    type: str
  mode:
    description: File mode (and the default mode of the items of O(artifacts)).
    type: str
    default: "0644"
  artifacts:
    description:
      - Several artifacts of the role O(role), written in one call; an empty list writes nothing.
      - Each item takes O(path), O(type) (default the call's O(type)), exactly one of O(content), O(data),
        O(documents), O(helm) and O(mode) (default the call's O(mode)), as for a single artifact.
    type: list
    elements: dict
    suboptions:
      path: {type: str, required: true, description: The artifact's path relative to O(plan_dir).}
      type:
        type: str
        choices: [kind-config, kubeadm-config, manifest, helm-release, file]
        description: What the artifact is (default the call's O(type)).
      content: {type: str, description: The file's text.}
      data: {type: raw, description: One YAML document.}
      documents: {type: list, elements: raw, description: Several YAML documents.}
      helm:
        type: dict
        description: For type helm-release, the release the values file belongs to.
        suboptions:
          repo: {type: str, required: true, description: Chart repository URL (https or oci).}
          chart: {type: str, required: true, description: Chart name.}
          version: {type: str, required: true, description: Pinned chart version.}
          release: {type: str, required: true, description: Release name.}
          namespace: {type: str, required: true, description: Release namespace.}
      docker_host: {type: str, description: "For type kind-config, the Docker host that runs the cluster."}
      mode: {type: str, description: File mode (default the call's O(mode)).}
author: kubelab maintainers
"""

EXAMPLES = r"""
- name: Render the kind config
  kubelab.core.plan_artifact:
    plan_dir: "{{ kubelab_plan_dir }}"
    cluster: "{{ inventory_hostname }}"
    path: cluster_kind/kind-config.yaml
    role: cluster_kind
    type: kind-config
    data: "{{ kubelab_cluster | kubelab.core.kind_config }}"

- name: Render the metrics-server values once for every cluster of the play
  kubelab.core.plan_artifact:
    clusters: "{{ ansible_play_hosts | kubelab.core.play_clusters(hostvars, kubelab_plan_dir) }}"
    path: metrics_server/metrics-server-values.yaml
    role: metrics_server
    type: file
    data: {replicas: 1}
  run_once: true

- name: Render the csi manifests (one task, several files)
  kubelab.core.plan_artifact:
    plan_dir: "{{ kubelab_plan_dir }}"
    cluster: "{{ inventory_hostname }}"
    role: csi
    type: manifest
    artifacts:
      - {path: csi/snapshot-crds.yaml, documents: "{{ crds }}"}
      - {path: csi/storage-classes.yaml, documents: "{{ classes }}"}
"""

RETURN = r"""
dest:
  description: Absolute path of the written file.
  returned: with O(path)
  type: str
dests:
  description: Absolute paths of the written files, in the order of O(artifacts) (for each of O(clusters) in turn).
  returned: with O(artifacts) or O(clusters)
  type: list
  elements: str
file_changed:
  description: Whether the content (or mode) of a file changed.
  returned: always
  type: bool
index_changed:
  description: Whether index.json changed.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kubelab.core.plugins.module_utils.plan_artifact import (
    ARGUMENT_SPEC,
    HAS_YAML,
    MUTUALLY_EXCLUSIVE,
    REQUIRED_ONE_OF,
    REQUIRED_TOGETHER,
    run,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE,
                           required_one_of=REQUIRED_ONE_OF, required_together=REQUIRED_TOGETHER,
                           supports_check_mode=True)
    if not HAS_YAML:
        module.fail_json(msg="PyYAML is required by kubelab.core.plan_artifact")
    try:
        module.exit_json(**run(module.params, module.check_mode))
    except (ValueError, OSError) as err:
        module.fail_json(msg="plan_artifact %s: %s" % (module.params["path"] or "artifacts", err))


if __name__ == "__main__":
    main()
