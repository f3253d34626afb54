"""What converge left on this machine's Docker engine: one cache container per upstream, running the pinned
(here: double) image on the scenario's network, with its volume, restart policy and proxy settings, and the
containerd hosts.toml files that point kind's nodes at them."""

import json
import os
from pathlib import Path

import pytest

PREFIX = "kubelab-molecule-cache"
NETWORK = "kubelab-molecule-kind"
UPSTREAMS = {"docker.io": "https://registry-1.docker.io", "registry.k8s.io": "https://registry.k8s.io",
             "quay.io": "https://quay.io", "ghcr.io": "https://ghcr.io"}


def inspect(host, kind, name):
    out = host.run("docker %s inspect %s", kind, name)
    assert out.rc == 0, out.stderr
    return json.loads(out.stdout)[0]


@pytest.mark.parametrize("registry", sorted(UPSTREAMS))
def test_one_cache_per_upstream(host, registry):
    name = "%s-%s" % (PREFIX, registry.replace(".", "-"))
    container = inspect(host, "container", name)
    assert container["State"]["Running"] is True
    assert container["Config"]["Image"] == "kubelab/registry-double:test"
    assert container["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert list(container["NetworkSettings"]["Networks"]) == [NETWORK]
    assert container["Config"]["Labels"]["kubelab.dev/upstream"] == registry
    env = dict(e.split("=", 1) for e in container["Config"]["Env"])
    assert env["REGISTRY_PROXY_REMOTEURL"] == UPSTREAMS[registry]
    assert env["REGISTRY_HTTP_ADDR"] == ":5000"
    assert "REGISTRY_PROXY_PASSWORD" not in env, "no Docker Hub account given: anonymous pulls"
    mounts = {m["Destination"]: m for m in container["Mounts"]}
    assert mounts["/var/lib/registry"]["Type"] == "volume" and mounts["/var/lib/registry"]["Name"] == name
    # What a kind node on the same network asks: the cache by its container name.
    ping = host.run("docker exec %s wget -q -O /dev/null http://%s:5000/v2/", name, name)
    assert ping.rc == 0, ping.stderr


def test_the_network_has_kinds_bridge_options(host):
    network = inspect(host, "network", NETWORK)
    assert network["Driver"] == "bridge"
    assert network["Options"]["com.docker.network.bridge.enable_ip_masquerade"] == "true"
    assert network["Options"]["com.docker.network.driver.mtu"] == "1500"


@pytest.mark.parametrize("registry", sorted(UPSTREAMS))
def test_hosts_toml_points_at_the_cache(registry):
    text = (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "certs.d" / registry / "hosts.toml").read_text()
    assert 'server = "%s"' % UPSTREAMS[registry] in text
    assert '[host."http://%s-%s:5000"]' % (PREFIX, registry.replace(".", "-")) in text
