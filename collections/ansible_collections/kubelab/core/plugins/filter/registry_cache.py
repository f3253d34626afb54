# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Filters of the registry_cache role: one cache per upstream and the containerd hosts.toml that uses it."""

from __future__ import annotations

import re

from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError, filters

REGISTRY_HOST = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]+)?$")


def registry_cache_plan(upstreams, prefix="kubelab-cache", port=5000):
    """[{name, remote, container, volume, endpoint, hosts_toml}] for each upstream registry, in the given order."""
    plan, seen = [], set()
    for position, upstream in enumerate(upstreams):
        name, remote = upstream.get("name"), upstream.get("remote")
        if not isinstance(name, str) or not REGISTRY_HOST.match(name):
            raise InputError("registry_cache_upstreams[%d].name: %r is not a registry host (e.g. docker.io)"
                             % (position, name))
        if not isinstance(remote, str) or not remote.startswith("https://"):
            raise InputError("registry_cache_upstreams[%d].remote: %r must be an https:// URL"
                             % (position, remote))
        if name in seen:
            raise InputError("registry_cache_upstreams: %s appears twice; one cache per upstream" % name)
        seen.add(name)
        container = "%s-%s" % (prefix, re.sub(r"[.:]", "-", name))
        endpoint = "http://%s:%d" % (container, port)
        hosts_toml = (
            "# Managed by kubelab (registry_cache): pull %s images through the cache %s.\n"
            "# containerd tries the cache first and falls back to the upstream server when the cache fails.\n"
            "server = \"%s\"\n"
            "\n"
            "[host.\"%s\"]\n"
            "  capabilities = [\"pull\", \"resolve\"]\n" % (name, container, remote, endpoint)
        )
        plan.append({"name": name, "remote": remote.rstrip("/"), "container": container, "volume": container,
                     "endpoint": endpoint, "hosts_toml": hosts_toml})
    return plan


class FilterModule:
    """Filters of the registry_cache role."""

    def filters(self):
        return filters({"registry_cache_plan": registry_cache_plan})
