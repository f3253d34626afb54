"""host_prep: the inotify limits kind needs are live on the kernel, and persisted for the next boot when converge
had to raise one (prepare.yml records the values before converge)."""

import pytest

SYSCTL_FILE = "/etc/sysctl.d/60-kubelab-kind.conf"
BEFORE_FILE = "/var/tmp/kubelab-sysctl-before"  # written by prepare.yml
MINIMUMS = {
    "fs.inotify.max_user_watches": 524288,
    "fs.inotify.max_user_instances": 512,
}


@pytest.mark.parametrize("name,minimum", sorted(MINIMUMS.items()))
def test_sysctl_live_value_is_at_least_the_minimum(host, name, minimum):
    assert host.sysctl(name) >= minimum


def _before(host):
    """The live values prepare.yml recorded before converge, by name."""
    values = host.file(BEFORE_FILE).content_string.split()
    return dict(zip(["fs.inotify.max_user_watches", "fs.inotify.max_user_instances"], map(int, values)))


def test_sysctl_file_persists_the_live_values_only_when_converge_raised_one(host):
    persisted = host.file(SYSCTL_FILE)
    if all(_before(host)[name] >= minimum for name, minimum in MINIMUMS.items()):
        # Nothing to raise: nothing written, so no root was needed (a laptop without passwordless sudo).
        assert not persisted.exists
        return
    assert persisted.is_file
    assert persisted.user == "root"
    values = {}
    for line in persisted.content_string.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            values[key.strip()] = int(value.strip())
    assert set(values) == set(MINIMUMS)
    for name, minimum in MINIMUMS.items():
        assert values[name] >= minimum
        assert values[name] == host.sysctl(name)


def test_systemd_sysctl_accepts_the_file(host):
    # What runs at boot: systemd-sysctl must parse and apply the file without errors.
    if not host.file(SYSCTL_FILE).exists:
        pytest.skip("converge raised nothing, so wrote no file (the kernel was already high enough)")
    result = host.run("/lib/systemd/systemd-sysctl %s", SYSCTL_FILE)
    assert result.rc == 0, result.stderr
