"""Access sheets (build/students/<name>/endpoints.md): Korean first, then English; 0600; every kubectl command on
the sheet is one the student may run; no secret of anyone else.

Runs the students role in apply mode against the Kubernetes API test double, as test_class_secrets.py does (its
run_students helper and fixture are reused). In namespace tenancy each command is judged by the can-i
evaluator of test_tenancy.py over the RBAC objects the same run rendered (build/plan/<cluster>/students/tenancy.yaml).
In cluster tenancy the student's kubeconfig is the cluster's admin (kind's kubernetes-admin, group
system:masters), which the test asserts instead.
"""

import os
import re
import shlex
import stat

import pytest
import yaml

from test_class_secrets import run_students, sim  # noqa: F401 (sim: fixture)
from test_tenancy import can_i

PASSWORD = "fixture-grafana-pw-5d1e"
ADDONS = ["ingress", "prometheus", "argocd", "vault"]
ADDON_NAMESPACES = ["ingress-nginx", "monitoring", "argocd", "vault"]
HANGUL = re.compile(r"[\uac00-\ud7a3]")
# What `kubectl get` accepts on the sheets -> resource as test_tenancy.can_i names it; None: cluster-scoped.
RESOURCES = {"pods": "pods", "services": "services", "resourcequota": "resourcequotas",
             "limitrange": "limitranges", "nodes": None}


def api_requests(command, default_namespace):
    """[(verb, resource, namespace)] the API server authorizes for one kubectl command line of a sheet."""
    args = shlex.split(command)[1:]
    namespace, all_namespaces, words = default_namespace, False, []
    while args:
        arg = args.pop(0)
        if arg in ("-n", "--namespace"):
            namespace = args.pop(0)
        elif arg in ("-A", "--all-namespaces"):
            all_namespaces = True
        elif arg == "-L":
            args.pop(0)  # a label column: no request of its own
        else:
            words.append(arg)
    verb = words[0]
    if verb == "get":
        requests = []
        for name in words[1].split(","):
            assert name in RESOURCES, "teach this test what `kubectl get %s` asks the API server for" % name
            scoped = RESOURCES[name] is not None and not all_namespaces
            requests.append(("list", RESOURCES[name] or name, namespace if scoped else None))
        return requests
    if verb == "port-forward":
        assert words[1].startswith("svc/"), command
        return [("get", "services", namespace), ("list", "pods", namespace), ("create", "pods/portforward", namespace)]
    raise AssertionError("teach this test what `kubectl %s` asks the API server for" % verb)


def sheet_commands(sheet):
    """Every kubectl command on a sheet: lines of code blocks and `inline code`, comments stripped."""
    commands = [line.split("#")[0].strip() for line in sheet.splitlines() if line.startswith("kubectl ")]
    commands += re.findall(r"`(kubectl [^`]+)`", sheet)
    return commands


@pytest.fixture(scope="module", ids=["namespace", "cluster"],
                params=[("namespace", "shared", ["alice", "bob", "carol"]), ("cluster", "dave", ["dave"])])
def sheets(request, sim, tmp_path_factory):  # noqa: F811 (sim: the imported fixture)
    tenancy, name, students = request.param
    build, result = run_students(tmp_path_factory.mktemp("sheets-" + tenancy), sim, tenancy, name, students, PASSWORD,
                                 ADDONS, ADDON_NAMESPACES, ["w2d3-ecommerce"])
    assert result.returncode == 0, result.stdout[-4000:]
    rbac = []
    if tenancy == "namespace":
        with open(build / "plan" / "kubelab-shared" / "students" / "tenancy.yaml", encoding="utf-8") as handle:
            rbac = [d for d in yaml.safe_load_all(handle) if d]
    with open(sim, encoding="utf-8") as handle:
        admin = yaml.safe_load(handle)["users"][0]["user"]
    return {"tenancy": tenancy, "dir": build / "students", "students": students, "rbac": rbac, "admin": admin}


def read(sheets, student, name="endpoints.md"):
    return (sheets["dir"] / student / name).read_text(encoding="utf-8")


def test_the_sheet_is_korean_first_then_english_and_private(sheets):
    for student in sheets["students"]:
        sheet = read(sheets, student)
        first = sheet.splitlines()[0]
        assert HANGUL.search(first) and first.index(student) < HANGUL.search(first).start(), first
        korean, _, english = sheet.partition("## English")
        assert english and "## 한국어" in korean, "a Korean section, then an English one"
        assert len(HANGUL.findall(korean)) > 100 and not HANGUL.search(english.replace(student, ""))
        # The guides (labs/*/guide.ko.md) point at these English lines.
        if sheets["tenancy"] == "namespace":
            assert "| Your namespaces |" in english and "Lab namespaces are yours with your name in front" in english
        assert "| Ingress (HTTP / HTTPS) |" in english
        for private in ("endpoints.md", "credentials", "kubeconfig"):
            assert stat.S_IMODE(os.stat(sheets["dir"] / student / private).st_mode) == 0o600, private


def test_every_kubectl_command_on_the_sheet_is_allowed_to_its_student(sheets):
    for student in sheets["students"]:
        sheet = read(sheets, student)
        kubeconfig = yaml.safe_load(read(sheets, student, "kubeconfig"))
        commands = sheet_commands(sheet)
        assert len(commands) >= 4, commands  # the start blocks of both sections
        context_ns = kubeconfig["contexts"][0]["context"]["namespace"]
        if sheets["tenancy"] == "cluster":
            assert kubeconfig["users"][0]["user"] == sheets["admin"], "cluster tenancy: the admin kubeconfig"
            assert any("port-forward" in c for c in commands), "cluster tenancy: add-on UIs by port-forward"
        for command in commands:
            for verb, resource, namespace in api_requests(command, context_ns):
                if sheets["tenancy"] == "namespace":
                    assert can_i(sheets["rbac"], student, verb, resource, namespace), (
                        "%s's sheet says `%s`, but she may not %s %s in %s" % (student, command, verb, resource,
                                                                              namespace or "the cluster scope"))


def test_namespace_students_reach_grafana_through_the_ingress_and_the_rest_is_the_instructors(sheets):
    if sheets["tenancy"] == "cluster":
        sheet = read(sheets, "dave")
        assert "| Grafana | http://grafana.kubelab-dave.127.0.0.1.nip.io:20001/ (user admin" in sheet
        assert "`kubectl -n argocd port-forward svc/argocd-server 8080:80`" in sheet
        return
    for student in sheets["students"]:
        sheet = read(sheets, student)
        assert "| Grafana | http://grafana.kubelab-shared.127.0.0.1.nip.io:20001/ (shared by the class" in sheet
        assert "| Argo CD | 강사가 운영하는 공유 화면" in sheet and "| Vault | shared, run by your" in sheet


def test_no_sheet_holds_a_secret_of_anyone_else(sheets):
    tokens = {s: yaml.safe_load(read(sheets, s, "kubeconfig"))["users"][0]["user"]["token"] for s in sheets["students"]}
    for student in sheets["students"]:
        others = [t for s, t in tokens.items() if s != student]
        if sheets["tenancy"] == "namespace":
            others += [sheets["admin"]["token"], PASSWORD]  # the shared add-ons' password stays the instructor's
        for name in ("endpoints.md", "credentials", "kubeconfig"):
            text = read(sheets, student, name)
            leaked = [secret for secret in others if secret in text]
            assert not leaked, "%s's %s holds another's secret" % (student, name)
