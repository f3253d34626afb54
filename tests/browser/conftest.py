"""A 3-student fixture class rendered through the real roles (students, class_report) on the API test double,
and a headless Debian chromium driven by Selenium to look at its class board."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from kubesim.testing import running

import board_fixture

from board_fixture import (  # a module name of its own: every test folder's conftest is "conftest"
    CHECKS, GRAFANA_PASSWORD, KUBECTL_DOUBLE, LAB, PACKAGES, PARK_SINCE, ROOT, SCREENSHOT, STUDENTS)

BIN = os.path.dirname(sys.executable)
PLAYBOOK = """- name: Three planned clusters on one API test double
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Add the clusters as preflight would
      ansible.builtin.add_host:
        name: kubelab-{{{{ item.0 }}}}
        groups: [kubelab_clusters]
        ansible_connection: local
        ansible_python_interpreter: "{{{{ ansible_playbook_python }}}}"
        kubelab_cluster:
          name: kubelab-{{{{ item.0 }}}}
          plan_dir: {build}/plan/kubelab-{{{{ item.0 }}}}
          kubeconfig: {kubeconfig}
          tenancy: cluster
          students: ["{{{{ item.0 }}}}"]
          api_address: 127.0.0.1
          api_port: "{{{{ 20000 + item.1 * 10 }}}}"
      loop: '{{{{ {students} | zip(range(3)) | list }}}}'
      changed_when: false
- name: Students, then the class board
  hosts: kubelab_clusters
  gather_facts: false
  vars_files:
    - {root}/playbooks/group_vars/all/main.yml
    - {root}/playbooks/group_vars/all/versions.yml
  environment:
    K8S_AUTH_KUBECONFIG: "{{{{ kubelab_kubeconfig }}}}"
  tasks:
    - name: The lab copy the lab role would have expanded (its report is the test's)
      ansible.builtin.set_fact:
        lab_instances_all: {instances}
    - name: Students
      ansible.builtin.include_role:
        name: students
    - name: Board records
      ansible.builtin.include_role:
        name: class_report
    - name: Board
      ansible.builtin.include_role:
        name: class_report
        tasks_from: board
"""


def _report(student, passed):
    return {"lab": LAB, "cluster": "kubelab-" + student, "students": [student],
            "checks": [{"id": c, "passed": p, "detail": "%s: %s" % (c, "ready" if p else "0/2 replicas ready"),
                        "skipped": False} for c, p in zip(CHECKS, passed)]}


@pytest.fixture(scope="session")
def fixture_class(tmp_path_factory):
    """(build dir, playbook result, secrets) of a class of 3: kim passes everything, lee's gateway fails since
    this run, park's since PARK_SINCE; the cluster has prometheus (ready) and vault (no workload: down)."""
    build = tmp_path_factory.mktemp("board") / "build"
    for student, passed in (("kim", (True, True)), ("lee", (True, False)), ("park", (True, False))):
        reports = build / "reports" / ("kubelab-" + student)
        reports.mkdir(parents=True)
        (reports / (LAB + ".json")).write_text(json.dumps(_report(student, passed)))
        secrets = build / "secrets" / ("kubelab-" + student)
        secrets.mkdir(parents=True)
        (secrets / "grafana-admin-password").write_text(GRAFANA_PASSWORD + "\n")
    records = build / "board" / "students"
    records.mkdir(parents=True)
    (records / "park.json").write_text(json.dumps({"failing": "%s/gateway-ready" % LAB, "failing_since": PARK_SINCE}))
    instances = [{"lab": LAB, "student": "", "students": [], "report": LAB + ".json",
                  "checks": [{"id": c} for c in CHECKS]}]
    with running(tmp_path_factory.mktemp("kubesim")) as sim:
        status, _ = sim.request("POST", "/api/v1/namespaces", {"metadata": {"name": "monitoring"}})
        assert status == 201
        status, _ = sim.request("POST", "/apis/apps/v1/namespaces/monitoring/deployments", {
            "metadata": {"name": "grafana"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "grafana"}},
                     "template": {"metadata": {"labels": {"app": "grafana"}},
                                  "spec": {"containers": [{"name": "grafana", "image": "grafana/grafana:12.0.0"}]}}}})
        assert status == 201
        playbook = build.parent / "board.yml"
        playbook.write_text(PLAYBOOK.format(root=ROOT, kubeconfig=sim.kubeconfig, build=build,
                                            students=json.dumps(STUDENTS), instances=json.dumps(instances)))
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "inventories/local", str(playbook),
               "-e", "kubelab_build_dir=%s" % build, "-e", "kubelab_mode=apply",
               "-e", '{"kubelab_addons": ["prometheus", "vault"], "kubelab_labs": []}',
               "-e", "students_kubectl_binary=%s" % KUBECTL_DOUBLE, "-e", "students_verify_isolation=false"]
        env = dict(os.environ, KUBELAB_PROJECT_DIR=ROOT, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1", PATH=BIN + os.pathsep + os.environ["PATH"])
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        secrets = _generated_secrets(build, sim.kubeconfig)
    return build, result, secrets


def _generated_secrets(build, admin_kubeconfig):
    """Every secret the fixture class holds: the admin token, each student's kubeconfig token and credentials
    file's values, and every file under build/secrets."""
    found = {yaml.safe_load(open(admin_kubeconfig, encoding="utf-8"))["users"][0]["user"]["token"]}
    for student in STUDENTS:
        sheet = build / "students" / student
        found.add(yaml.safe_load((sheet / "kubeconfig").read_text())["users"][0]["user"]["token"])
        for line in (sheet / "credentials").read_text().splitlines():
            value = line.partition(":")[2].strip() or line.partition("=")[2].strip()
            if len(value) >= 12:
                found.add(value)
    for path in (build / "secrets").rglob("*"):
        if path.is_file():
            found.add(path.read_text().strip())
    return sorted(s for s in found if s)


def _install_chromium():
    """Debian's chromium and chromium-driver, from apt (the machine's configured mirror), when missing.
    Returns the reason they are unusable, or None."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return None
    if os.geteuid() != 0:
        return "chromium/chromium-driver missing and not root: apt-get install -y %s" % " ".join(PACKAGES)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *PACKAGES]
    result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:  # a stale package list: update once and retry
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600, check=False)
        result = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0 or not shutil.which("chromedriver"):
        return "apt-get install %s failed: %s" % (" ".join(PACKAGES), (result.stderr or result.stdout)[-500:])
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium through its chromedriver; stopped at the end whatever happens."""
    reason = _install_chromium()
    if reason:
        pytest.skip("no Debian chromium: " + reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def pytest_terminal_summary(terminalreporter):
    """CI logs name the screenshot of this run (pytest -q hides a passing test's prints)."""
    for path in board_fixture.SAVED:
        terminalreporter.write_line("class board screenshot: %s" % path)
