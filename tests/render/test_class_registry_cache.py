"""registry_cache renders one containerd hosts.toml per upstream registry (plan mode; no Docker needed).

The cache containers themselves (registry image, kind network, volumes) need a Docker engine and the internet;
they run only in apply mode and are exercised in the users' kind CI, not here.
"""

import json
import os
import tomllib

import pytest

from ansible_collections.kubelab.core.plugins.filter import registry_cache
from conftest import ROOT, run_playbook

UPSTREAMS = {
    "docker.io": ("https://registry-1.docker.io", "http://kubelab-cache-docker-io:5000"),
    "registry.k8s.io": ("https://registry.k8s.io", "http://kubelab-cache-registry-k8s-io:5000"),
    "quay.io": ("https://quay.io", "http://kubelab-cache-quay-io:5000"),
    "ghcr.io": ("https://ghcr.io", "http://kubelab-cache-ghcr-io:5000"),
}
PLAYBOOK = """- name: Render the registry caches' hosts.toml files
  hosts: localhost
  gather_facts: false
  vars_files:
    - {root}/playbooks/group_vars/all/main.yml
    - {root}/playbooks/group_vars/all/versions.yml
  tasks:
    - name: Render
      ansible.builtin.include_role:
        name: registry_cache
"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("caches")
    playbook = tmp / "caches.yml"
    playbook.write_text(PLAYBOOK.format(root=ROOT))
    build_dir = tmp / "build"
    args = ("-e", "kubelab_mode=plan", "-e", "registry_cache_enabled=true")
    first = run_playbook(str(playbook), str(build_dir), *args)
    assert first.returncode == 0, first.stdout[-3000:]
    second = run_playbook(str(playbook), str(build_dir), *args)
    assert second.returncode == 0, second.stdout[-3000:]
    return build_dir / "registry" / "certs.d", second


def test_one_hosts_toml_per_upstream_with_server_and_cache_host(rendered):
    certs_d, _ = rendered
    assert sorted(os.listdir(certs_d)) == sorted([*UPSTREAMS, "index.json"])
    for registry, (server, cache) in UPSTREAMS.items():
        with open(certs_d / registry / "hosts.toml", "rb") as handle:
            config = tomllib.load(handle)
        assert config["server"] == server, registry
        assert list(config["host"]) == [cache], registry
        assert config["host"][cache]["capabilities"] == ["pull", "resolve"]
        # A pull-through cache must never be offered as a push target.
        assert "push" not in config["host"][cache]["capabilities"]


def test_index_lists_every_hosts_toml(rendered):
    certs_d, _ = rendered
    with open(certs_d / "index.json", encoding="utf-8") as handle:
        index = json.load(handle)
    assert sorted(index["artifacts"], key=lambda entry: entry["path"]) == [
        {"path": "%s/hosts.toml" % registry, "role": "registry_cache", "type": "file"} for registry in sorted(UPSTREAMS)]


def test_rendering_twice_changes_nothing(rendered):
    _, second = rendered
    recap = [line for line in second.stdout.splitlines() if "changed=" in line]
    assert recap and all("changed=0" in line for line in recap), "\n".join(recap)


def test_caches_off_renders_nothing(tmp_path):
    playbook = tmp_path / "caches.yml"
    playbook.write_text(PLAYBOOK.format(root=ROOT))
    result = run_playbook(str(playbook), str(tmp_path / "build"), "-e", "kubelab_mode=plan")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("upstreams,message", [
    ([{"name": "docker.io", "remote": "http://registry-1.docker.io"}], "must be an https:// URL"),
    ([{"name": "Docker.IO", "remote": "https://x"}], "is not a registry host"),
    ([{"name": "quay.io", "remote": "https://quay.io"}] * 2, "appears twice"),
])
def test_bad_upstreams_fail_with_the_reason(upstreams, message):
    with pytest.raises(Exception) as err:
        registry_cache.registry_cache_plan(upstreams)
    assert message in str(err.value)


def test_custom_prefix_and_port_reach_container_names_and_endpoints():
    plan = registry_cache.registry_cache_plan([{"name": "registry.example.com:5443", "remote": "https://registry.example.com:5443"}],
                                              prefix="class7-cache", port=5001)
    assert plan[0]["container"] == "class7-cache-registry-example-com-5443"
    assert plan[0]["endpoint"] == "http://class7-cache-registry-example-com-5443:5001"
    assert tomllib.loads(plan[0]["hosts_toml"])["server"] == "https://registry.example.com:5443"
