"""Pod exec on the Kubernetes API double (websocket, channel protocol) and the exec doubles behind it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "sim"))

from kubesim.execs import Container, WeedDouble  # noqa: E402
from kubesim.testing import running  # noqa: E402

WEED = "weed shell -master=localhost:9333"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running(tmp_path_factory.mktemp("sim")) as sim:
        from kubernetes import client, config

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(sim.kubeconfig), client_configuration=cfg, persist_config=False)
        api = client.CoreV1Api(client.ApiClient(configuration=cfg))
        api.create_namespace({"metadata": {"name": "velero"}})
        api.create_namespaced_pod("velero", {"metadata": {"name": "s3-0"}, "spec": {"containers": [
            {"name": "s3", "image": "docker.io/chrislusf/seaweedfs:4.46"},
            {"name": "sidecar", "image": "busybox:1.37"}]}})
        sim.api = api
        yield sim


def pod_exec(api, command, container="s3", pod="s3-0"):
    from kubernetes.stream import stream

    resp = stream(api.connect_get_namespaced_pod_exec, pod, "velero", command=command, container=container,
                  stdout=True, stderr=True, stdin=False, tty=False, _preload_content=False)
    resp.run_forever(timeout=5)
    return resp.returncode, resp.read_stdout(), resp.read_stderr()


def test_exec_streams_stdout_and_the_exit_code_of_the_images_handler(sim):
    rc, out, err = pod_exec(sim.api, ["sh", "-c", f'echo "s3.bucket.create -name lab" | {WEED}'])
    assert (rc, out, err) == (0, "", "")
    rc, out, err = pod_exec(sim.api, ["sh", "-c", f"echo s3.bucket.list | {WEED}"])
    assert (rc, out, err) == (0, "  lab\tsize:0\tchunk:0\n", "")
    rc, out, err = pod_exec(sim.api, ["weed", "shell", "-master=elsewhere:9333"])
    assert (rc, out) == (1, "") and "localhost:9333" in err


def test_unknown_command_exits_127_with_a_clear_stderr(sim):
    rc, out, err = pod_exec(sim.api, ["kubectl", "version"])
    assert (rc, out) == (127, "") and '"kubectl": executable file not found' in err
    # An image without a handler has no programs at all (the sidecar is busybox).
    rc, _, err = pod_exec(sim.api, ["weed", "shell"], container="sidecar")
    assert rc == 127 and '"weed"' in err


def test_exec_into_a_missing_pod_or_container_is_refused(sim):
    from kubernetes.client.exceptions import ApiException

    with pytest.raises((ApiException, Exception)) as missing_pod:
        pod_exec(sim.api, ["true"], pod="s3-9")
    assert "404" in str(missing_pod.value)
    with pytest.raises((ApiException, Exception)) as missing_container:
        pod_exec(sim.api, ["true"], container="nope")
    assert "400" in str(missing_container.value)


def test_k8s_exec_module_returns_rc_stdout_and_stderr(sim, tmp_path):
    """kubernetes.core.k8s_exec itself (what the roles run): a success and a non-zero exit code."""
    playbook = tmp_path / "exec.yml"
    playbook.write_text("""
- hosts: localhost
  gather_facts: false
  tasks:
    - kubernetes.core.k8s_exec:
        namespace: velero
        pod: s3-0
        container: s3
        command: "{{ item }}"
      loop:
        - sh -c 'echo "s3.bucket.list" | grep -c bucket'
        - weed shell -master=elsewhere:9333
      register: out
      failed_when: false
    - ansible.builtin.copy:
        content: "{{ out.results | map(attribute='rc') | zip(out.results | map(attribute='stdout'),
                     out.results | map(attribute='stderr')) | list | to_json }}"
        dest: %s
        mode: "0600"
""" % (tmp_path / "out.json"))
    env = dict(os.environ, KUBECONFIG=str(sim.kubeconfig), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                          "-e", f"ansible_python_interpreter={sys.executable}", str(playbook)],
                         capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    (grep_rc, _, grep_err), (weed_rc, weed_out, weed_err) = json.loads((tmp_path / "out.json").read_text())
    assert grep_rc == 127 and "sh: grep: not found" in grep_err  # the shell model knows no grep
    assert weed_rc == 1 and weed_out == "" and "localhost:9333" in weed_err


# ------------------------------------------------------------------ the weed shell double (no HTTP needed)
def test_weed_shell_lists_and_creates_buckets_once():
    box = Container({"weed": WeedDouble()})
    shell = "weed shell -master=localhost:9333"
    assert box.run(["sh", "-c", f"echo s3.bucket.list | {shell}"]).stdout == ""
    created = box.run(["sh", "-c", f'echo "s3.bucket.create -name velero" | {shell}'])
    assert (created.rc, created.stdout) == (0, "")
    assert box.run(["sh", "-c", f"echo s3.bucket.list | {shell}"]).stdout == "  velero\tsize:0\tchunk:0\n"
    again = box.run(["sh", "-c", f'echo "s3.bucket.create -name velero" | {shell}'])
    assert again.rc == 0 and "error: bucket velero already exists" in again.stdout
    wrong = box.run(["sh", "-c", "echo s3.bucket.list | weed shell -master=seaweedfs:9333"])
    assert wrong.rc == 1 and "localhost:9333" in wrong.stderr
