# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Plan artifacts: write a rendered file under a cluster's plan directory and keep its index.json.

Shared by the plan_artifact module and its action plugin (which runs it in-process on the controller,
where plans always live, to spare one Python process per artifact).
"""

from __future__ import annotations

import json
import os
import re
import tempfile

from ansible_collections.kubelab.core.plugins.module_utils.errors import ArtifactError

try:
    import yaml

    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

INDEX = "index.json"
SAFE_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


# libyaml's emitter when PyYAML has it: the same text as the pure-Python one (tests/unit/test_plan_artifact.py
# compares them), about five times faster, and a class renders every file once per cluster.
_BASE_DUMPER = (getattr(yaml, "CSafeDumper", yaml.SafeDumper) if HAS_YAML else object)


class _Dumper(_BASE_DUMPER):
    """Block-style YAML with multi-line strings as literal blocks, so rendered files stay readable."""


def _str_representer(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


if HAS_YAML:
    _Dumper.add_representer(str, _str_representer)


def to_yaml(documents):
    return yaml.dump_all(documents, Dumper=_Dumper, default_flow_style=False, sort_keys=False,
                         allow_unicode=True, explicit_start=len(documents) > 1)


def render_text(params):
    """The artifact's text from exactly one of content, data, documents."""
    given = [k for k in ("content", "data", "documents") if params.get(k) is not None]
    if len(given) != 1:
        raise ArtifactError("give exactly one of content, data, documents (got %s)" % (", ".join(given) or "none"))
    if params.get("content") is not None:
        return params["content"]
    if params.get("data") is not None:
        return to_yaml([params["data"]])
    return to_yaml([d for d in params["documents"] if d is not None])


def entry_for(params):
    entry = {"path": params["path"], "role": params["role"], "type": params["type"]}
    if params["type"] == "helm-release":
        if not params.get("helm"):
            raise ArtifactError("type helm-release needs helm: {repo, chart, version, release, namespace}")
        entry.update({k: params["helm"][k] for k in ("repo", "chart", "version", "release", "namespace")})
    elif params.get("helm"):
        raise ArtifactError("helm is only for type helm-release")
    if params.get("docker_host"):
        if params["type"] != "kind-config":
            raise ArtifactError("docker_host is only for type kind-config")
        # Where the cluster runs: a class may be spread over several Docker hosts.
        entry["docker_host"] = params["docker_host"]
    return entry


def artifacts_of(params):
    """The artifacts a call writes: the one given by path, or each item of artifacts (type and mode default to the
    call's own), every one with role."""
    if params.get("artifacts") is None:
        return [params]
    items = []
    for item in params["artifacts"]:
        item = dict(item, role=params["role"])
        for key in ("type", "mode"):
            if item.get(key) is None:
                item[key] = params.get(key)
        items.append(item)
    return items


def write_if_changed(dest, text, mode, check_mode):
    """Write text to dest atomically when it differs; returns whether it changed."""
    current = None
    if os.path.exists(dest):
        with open(dest, encoding="utf-8") as handle:
            current = handle.read()
    wanted_mode = int(mode, 8)
    mode_differs = current is not None and (os.stat(dest).st_mode & 0o7777) != wanted_mode
    if current == text and not mode_differs:
        return False
    if check_mode:
        return True
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, wanted_mode)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def upsert_index(plan_dir, cluster, entries):
    """The index text with entries added or replaced (one entry per path, sorted by path)."""
    index_path = os.path.join(plan_dir, INDEX)
    index = {"cluster": cluster, "artifacts": []}
    if os.path.exists(index_path):
        with open(index_path, encoding="utf-8") as handle:
            index = json.load(handle)
        if index.get("cluster") != cluster:
            raise ArtifactError("%s belongs to cluster %r, not %r" % (index_path, index.get("cluster"), cluster))
    paths = {entry["path"] for entry in entries}
    artifacts = [a for a in index.get("artifacts", []) if a.get("path") not in paths]
    artifacts.extend(entries)
    index["artifacts"] = sorted(artifacts, key=lambda a: a["path"])
    return index_path, json.dumps(index, indent=2, sort_keys=True) + "\n"


TYPES = ["kind-config", "kubeadm-config", "manifest", "helm-release", "file"]
HELM_OPTIONS = dict(
    repo=dict(type="str", required=True),
    chart=dict(type="str", required=True),
    version=dict(type="str", required=True),
    release=dict(type="str", required=True),
    namespace=dict(type="str", required=True),
)
# What one artifact is: the module's own options, and each item of artifacts: (where type and mode default to
# the call's, and path is required).
ARTIFACT_OPTIONS = dict(
    type=dict(type="str", choices=TYPES),
    content=dict(type="str"),
    data=dict(type="raw"),
    documents=dict(type="list", elements="raw"),
    helm=dict(type="dict", options=HELM_OPTIONS),
    docker_host=dict(type="str"),
)
ARGUMENT_SPEC = dict(
    plan_dir=dict(type="path"),
    cluster=dict(type="str"),
    # The same artifacts in the plan of each of these clusters ({name, plan_dir, ...}: a class plan's clusters):
    # templated once for a class, written once per cluster.
    clusters=dict(type="list", elements="dict"),
    path=dict(type="str"),
    role=dict(type="str", required=True),
    mode=dict(type="str", default="0644"),
    # Several artifacts of one role in one call (one task instead of one per file).
    artifacts=dict(type="list", elements="dict",
                   options=dict(path=dict(type="str", required=True), mode=dict(type="str"), **ARTIFACT_OPTIONS)),
    **ARTIFACT_OPTIONS,
)
MUTUALLY_EXCLUSIVE = [("content", "data", "documents", "artifacts"), ("path", "artifacts"), ("plan_dir", "clusters"),
                      ("cluster", "clusters")]
REQUIRED_ONE_OF = [("path", "artifacts"), ("cluster", "clusters")]
REQUIRED_TOGETHER = [("plan_dir", "cluster")]


def run(params, check_mode):
    """Write the artifacts and their index entries; returns the result dict. Raises ArtifactError/OSError.

    Every artifact is checked and rendered before anything is written, so a bad one never leaves a half-written
    plan. An empty artifacts list writes nothing (not even index.json).
    """
    items = artifacts_of(params)
    if not items:
        return dict(changed=False, dests=[], file_changed=False, index_changed=False)
    rendered = []
    for item in items:
        path = item["path"]
        if not SAFE_PATH.match(path) or ".." in path.split("/") or path == INDEX:
            raise ArtifactError("path %r must be a relative path of plain names inside the plan directory" % path)
        if not item.get("type"):
            raise ArtifactError("artifact %s needs a type" % path)
        if not re.match(r"^0?[0-7]{3}$", item["mode"]):
            raise ArtifactError("mode %r must be an octal string such as '0644'" % item["mode"])
        rendered.append((item, render_text(item), entry_for(item)))
    paths = [item["path"] for item in items]
    twice = sorted({path for path in paths if paths.count(path) > 1})
    if twice:
        raise ArtifactError("artifacts name a path more than once: %s" % ", ".join(twice))
    targets = params.get("clusters")
    if targets is None:
        targets = [{"name": params["cluster"], "plan_dir": params["plan_dir"]}]
    for target in targets:
        if not target.get("name") or not target.get("plan_dir"):
            raise ArtifactError("every item of clusters needs a name and a plan_dir, got %r" % sorted(target))
    # Check every index before writing anything, so a bad index never leaves a half-written plan.
    indexes = [upsert_index(os.path.abspath(target["plan_dir"]), target["name"], [entry for _, _, entry in rendered])
               for target in targets]
    dests = []
    file_changed = index_changed = False
    for target, (index_path, index_text) in zip(targets, indexes):
        plan_dir = os.path.abspath(target["plan_dir"])
        for item, text, _ in rendered:
            dest = os.path.join(plan_dir, item["path"])
            dests.append(dest)
            file_changed = write_if_changed(dest, text, item["mode"], check_mode) or file_changed
        index_changed = write_if_changed(index_path, index_text, "0644", check_mode) or index_changed
    result = dict(changed=file_changed or index_changed, file_changed=file_changed, index_changed=index_changed)
    if params.get("artifacts") is None and params.get("clusters") is None:
        result["dest"] = dests[0]
    else:
        result["dests"] = dests
    return result
