# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Provider `existing`: what preflight must know about a cluster kubelab did not create, and what is wrong with it.

problems() is pure (facts in, messages out) so the rules are unit-tested without a cluster; the module
kubelab.core.existing_cluster_facts gathers the facts (read-only).
"""

from __future__ import annotations

import base64
import gzip
import json
import re

from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError
from ansible_collections.kubelab.core.plugins.module_utils.names import ZONE_LABEL

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")


def decode_helm_release(secret_data_release):
    """The release JSON of a Helm 3 release Secret's data.release (as read from the API: base64 of Helm's own
    base64 of gzipped JSON; helm pkg/storage/driver/util.go encodeRelease)."""
    raw = base64.b64decode(base64.b64decode(secret_data_release))
    return json.loads(gzip.decompress(raw) if raw[:3] == b"\x1f\x8b\x08" else raw)


def latest_releases(secrets):
    """[{name, namespace, chart, chart_version, status, revision}] of the newest revision of each Helm release,
    from Secrets labelled owner=helm (a revision whose data cannot be decoded still counts, chart unknown)."""
    newest = {}
    for secret in secrets:
        meta = secret["metadata"]
        labels = meta.get("labels") or {}
        key = (meta["namespace"], labels.get("name", ""))
        revision = int(labels.get("version", "0") or 0)
        if key in newest and newest[key]["revision"] >= revision:
            continue
        chart, version = "", ""
        try:
            release = decode_helm_release((secret.get("data") or {})["release"])
            chart = release["chart"]["metadata"]["name"]
            version = release["chart"]["metadata"].get("version", "")
        except (KeyError, TypeError, ValueError, OSError):
            pass
        newest[key] = {"name": key[1], "namespace": key[0], "chart": chart, "chart_version": version,
                       "status": labels.get("status", ""), "revision": revision}
    return sorted(newest.values(), key=lambda r: (r["namespace"], r["name"]))


def _version(text):
    found = re.match(r"^v?(\d+)\.(\d+)", str(text))
    return (int(found.group(1)), int(found.group(2))) if found else None


def problems(facts, settings):
    """Messages, one per problem, each naming what to fix. settings: min_version, max_version ("1.33"),
    zones_needed, addons (the day's), addon_releases ({addon: [{chart, release, namespace}]}), skip_addons,
    kubeconfig, context."""
    found = []
    where = "%s (context %s)" % (settings["kubeconfig"], settings.get("context") or "current")
    version = _version(facts.get("version", ""))
    low, high = _version(settings["min_version"]), _version(settings["max_version"])
    if version is None or not low <= version <= high:
        found.append("cluster_existing_kubeconfig: the cluster at %s runs Kubernetes %s; kubelab supports %s to %s. "
                     "Use a cluster in that range (or another context: cluster_existing_context)"
                     % (where, facts.get("version") or "of unknown version", settings["min_version"],
                        settings["max_version"]))
    denied = [a for a in facts.get("access", []) if not a["allowed"]]
    if denied:
        found.append("The credentials of %s may not %s. kubelab creates these for the add-ons and the students' "
                     "namespaces: use a cluster-admin context, or have an administrator grant them (check with "
                     "`kubectl auth can-i <verb> <resource>`)" % (where, ", ".join(
                         "%s %s" % (a["verb"], a["resource"] + ("." + a["group"] if a["group"] else ""))
                         for a in denied)))
    zones = sorted({n["zone"] for n in facts.get("nodes", []) if n.get("zone")})
    if len(zones) < settings["zones_needed"]:
        unlabelled = [n["name"] for n in facts.get("nodes", []) if not n.get("zone")]
        found.append("The nodes of %s span %d zone(s) (%s); the labs spread over %d. Label the nodes by their "
                     "failure domain, e.g. `kubectl label node %s %s=zone-a`, one zone per group of nodes%s"
                     % (where, len(zones), ", ".join(zones) or "no %s label" % ZONE_LABEL, settings["zones_needed"],
                        (unlabelled or ["<node>"])[0], ZONE_LABEL,
                        " (unlabelled: %s)" % ", ".join(unlabelled) if unlabelled else ""))
    if not facts.get("default_storage_classes") and "csi" not in settings["addons"]:
        found.append("%s has no default StorageClass and the day does not install the csi add-on; the labs' "
                     "volumes would stay Pending. Mark one default (`kubectl annotate storageclass <name> "
                     "storageclass.kubernetes.io/is-default-class=true`) or add csi to kubelab_addons" % where)
    for addon in settings["addons"]:
        if addon in settings.get("skip_addons", []):
            continue
        for ours in settings.get("addon_releases", {}).get(addon, []):
            for release in facts.get("helm_releases", []):
                same_place = (release["name"], release["namespace"]) == (ours["release"], ours["namespace"])
                if release["chart"] == ours["chart"] and same_place:
                    continue  # kubelab's own release (an earlier day): upgraded in place
                if release["chart"] == ours["chart"] or same_place:
                    found.append(
                        "add-on %s: the cluster already has Helm release %s/%s (chart %s %s, %s), which kubelab did "
                        "not install as %s/%s; kubelab does not take over or fight another release. Either use it: "
                        "add %s to cluster_existing_skip_addons (the day then skips that add-on), or uninstall it"
                        % (addon, release["namespace"], release["name"], release["chart"] or "unknown",
                           release["chart_version"], release["status"], ours["namespace"], ours["release"], addon))
    return found


def kubeconfig_context(kubeconfig, context=""):
    """The kubeconfig reduced to one context (its cluster and user), made current: what the day's plays use."""
    name = context or kubeconfig.get("current-context", "")
    chosen = [c for c in kubeconfig.get("contexts") or [] if c.get("name") == name]
    if not chosen:
        raise InputError("cluster_existing_context: %r is not a context of the kubeconfig (it has: %s)" % (
            name, ", ".join(c.get("name", "?") for c in kubeconfig.get("contexts") or []) or "none"))
    ctx = chosen[0]["context"]
    return {"apiVersion": "v1", "kind": "Config", "current-context": name, "preferences": {},
            "contexts": chosen,
            "clusters": [c for c in kubeconfig.get("clusters") or [] if c.get("name") == ctx.get("cluster")],
            "users": [u for u in kubeconfig.get("users") or [] if u.get("name") == ctx.get("user")]}


def api_endpoint(kubeconfig, context=""):
    """(address, port) of the context's API server URL (https default port 443)."""
    config = kubeconfig_context(kubeconfig, context)
    server = config["clusters"][0]["cluster"]["server"] if config["clusters"] else ""
    found = re.match(r"^(https?)://(\[[^\]]+\]|[^:/]+)(?::(\d+))?", server)
    if not found:
        raise InputError("cluster_existing_kubeconfig: the context's cluster has no server URL (%r)" % server)
    return found.group(2), int(found.group(3) or (443 if found.group(1) == "https" else 80))
