"""host_prep with host_prep_install_docker: the engine is installed, running, enabled, usable by the user."""


def test_docker_package_installed(host):
    assert host.package("docker.io").is_installed


def test_docker_service_running_and_enabled(host):
    service = host.service("docker")
    assert service.is_running
    assert service.is_enabled


def test_docker_engine_answers(host):
    result = host.run("docker info --format '{{.ServerVersion}}'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip()


def test_kind_user_in_docker_group(host):
    assert "docker" in host.user("kubelab-student").groups


def test_inotify_limits_still_applied(host):
    # Live only: whether a file is persisted depends on the kernel's values before converge (default scenario).
    assert host.sysctl("fs.inotify.max_user_watches") >= 524288
    assert host.sysctl("fs.inotify.max_user_instances") >= 512
