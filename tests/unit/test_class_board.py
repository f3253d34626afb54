"""The class board's Python (kubelab.core module_utils class_board): records, health, the page, the summary."""

from ansible_collections.kubelab.core.plugins.module_utils import class_board as cb

ENTRY = {"student": "kim", "cluster": "kubelab-kim", "tenancy": "cluster", "namespaces": []}
INSTANCE = {"lab": "w2d3-ecommerce", "student": "", "report": "w2d3-ecommerce.json",
            "checks": [{"id": "frontend-ready"}, {"id": "gateway-ready"}, {"id": "spread"}]}


def _node(zone, ready=True):
    return {"metadata": {"labels": {cb.ZONE_LABEL: zone}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_lab_results_read_the_report_and_say_not_checked_without_one():
    report = {"checks": [{"id": "frontend-ready", "passed": True, "detail": "2/2"},
                         {"id": "gateway-ready", "passed": False, "detail": "x" * 200},
                         {"id": "spread", "passed": True, "skipped": True, "detail": "needs a real cluster"}]}
    got = cb.lab_results(INSTANCE, report)
    assert [(c["id"], c["passed"]) for c in got] == [
        ("w2d3-ecommerce/frontend-ready", True), ("w2d3-ecommerce/gateway-ready", False), ("w2d3-ecommerce/spread", None)]
    assert len(got[1]["detail"]) == cb.DETAIL_MAX  # shortened: a detail never carries a whole object
    assert [c["passed"] for c in cb.lab_results(INSTANCE, None)] == [None, None, None]


def test_nodes_ready_per_zone_and_addons_up():
    nodes = [_node("zone-a"), _node("zone-b"), _node("zone-b", ready=False)]
    assert [(i["id"], i["passed"], i["detail"]) for i in cb.node_health(nodes, ["zone-a", "zone-b", "zone-c"])] == [
        ("nodes zone-a", True, "1/1 nodes Ready"), ("nodes zone-b", False, "1/2 nodes Ready"),
        ("nodes zone-c", False, "0/0 nodes Ready")]
    workloads = [
        {"metadata": {"namespace": "kube-system", "labels": {"app.kubernetes.io/name": "metrics-server"}},
         "spec": {"replicas": 2}, "status": {"readyReplicas": 1}},
        {"metadata": {"namespace": "kube-system", "labels": {"k8s-app": "kube-dns"}},
         "spec": {"replicas": 2}, "status": {"readyReplicas": 2}},
        {"metadata": {"namespace": "monitoring"}, "status": {"desiredNumberScheduled": 3, "numberReady": 3}},
    ]
    metrics = cb.addon_workloads(workloads, {"namespaces": ["kube-system"],
                                             "label_selectors": ["app.kubernetes.io/name=metrics-server"]})
    assert cb.addon_health("metrics_server", metrics) == {
        "id": "addon metrics_server", "passed": False, "detail": "0/1 workloads ready"}
    assert cb.addon_health("prometheus", cb.addon_workloads(workloads, {"namespaces": ["monitoring"]}))["passed"] is True
    assert cb.addon_health("vault", cb.addon_workloads(workloads, {"namespaces": ["vault"]}))["passed"] is False


def test_failing_since_is_kept_while_the_same_check_fails_first():
    failing = [{"id": "lab/a", "passed": False, "detail": ""}]
    first = cb.student_record(ENTRY, failing, [], "apply", "2026-01-01 09:00:00", "/b/students/kim/endpoints.md")
    again = cb.student_record(ENTRY, failing, [], "status", "2026-01-01 10:00:00", "/s", first)
    assert again["failing_since"] == "2026-01-01 09:00:00"
    other = cb.student_record(ENTRY, [{"id": "lab/b", "passed": False, "detail": ""}], [], "status",
                              "2026-01-01 11:00:00", "/s", again)
    assert other["failing_since"] == "2026-01-01 11:00:00"
    fixed = cb.student_record(ENTRY, [{"id": "lab/a", "passed": True, "detail": ""}], [], "status", "t", "/s", other)
    assert fixed["failing"] == "" and fixed["failing_since"] == ""


def test_a_re_run_with_the_same_results_is_no_change():
    checks = [{"id": "lab/a", "passed": True, "detail": ""}]
    first = cb.student_record(ENTRY, checks, [], "apply", "2026-01-01 09:00:00", "/s")
    later = cb.student_record(ENTRY, checks, [], "status", "2026-01-01 09:30:00", "/s", first)
    assert cb.same_state(later, first)
    assert cb.state_hash([later], None) == cb.state_hash([first], None)
    worse = cb.student_record(ENTRY, [dict(checks[0], passed=False)], [], "apply", "t", "/s", first)
    assert not cb.same_state(worse, first) and cb.state_hash([worse], None) != cb.state_hash([first], None)


def test_page_escapes_text_links_sheets_relatively_and_names_the_longest_stuck():
    kim = cb.student_record(ENTRY, [{"id": "lab/<a>", "passed": False, "detail": "<script>x</script>"}], [],
                            "status", "2026-01-02 09:00:00", "/b/students/kim/endpoints.md")
    lee = cb.student_record(dict(ENTRY, student="lee", tenancy="namespace", namespaces=["lee-shop"]),
                            [{"id": "lab/<a>", "passed": False, "detail": ""}], [], "status", "2026-01-01 09:00:00",
                            "/b/students/lee/endpoints.md")
    page = cb.render_board([kim, lee], "now", "/b/board", check={"verdict": "NOT READY <cgroup v1>",
                                                                    "rows": [{"item": "docker", "ok": False}]},
                           missing=["park"])
    assert "<script>" not in page and "&lt;script&gt;" in page and "lab/&lt;a&gt;" in page
    assert '<a href="../students/kim/endpoints.md">' in page
    assert page.index("<strong>lee</strong>") < page.index("<strong>kim</strong>")  # lee is failing longer
    assert "<td>kubelab-kim / lee-shop</td>" in page  # namespace tenancy: the cluster and her namespaces
    assert "Verdict: <strong>NOT READY &lt;cgroup v1&gt;</strong>" in page and "No record yet: park" in page


def test_summary_lines_per_student():
    kim = cb.student_record(ENTRY, [{"id": "a", "passed": True, "detail": ""}, {"id": "b", "passed": None,
                                                                                 "detail": ""}],
                            [{"id": "nodes zone-a", "passed": False, "detail": ""}], "apply", "t", "/b/s/kim/e.md")
    lines = cb.summary_lines([kim], missing=["lee"])
    assert lines[0].split() == ["student", "cluster", "/", "namespaces", "passed", "failed", "not", "checked",
                                "access", "sheet"]
    assert lines[1].split() == ["kim", "kubelab-kim", "1", "1", "1", "/b/s/kim/e.md"]
    assert lines[2].startswith("lee ") and "no record" in lines[2]


def _class_report_vars(**extra):
    """class_report's defaults and vars over the project's group_vars, templated as Ansible does (lazily)."""
    import os

    import yaml
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    trusted = {}
    for path in ("playbooks/group_vars/all/main.yml", "roles/class_report/defaults/main.yml",
                 "roles/class_report/vars/main.yml"):
        with open(os.path.join(root, path), encoding="utf-8") as handle:
            trusted.update(yaml.safe_load(handle))
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in trusted.items()}
    templar = Templar(loader=DataLoader(), variables=dict(trusted, **extra))
    return lambda name: templar.template(trust_as_template("{{ %s }}" % name))


def _workload(namespace, labels, ready=True, daemonset=True):
    status = ({"desiredNumberScheduled": 4, "numberReady": 4 if ready else 3} if daemonset
              else {"readyReplicas": 1 if ready else 0})
    return {"metadata": {"namespace": namespace, "labels": labels}, "spec": {"replicas": 1}, "status": status}


# Each workload's metadata labels as upstream's Cilium chart writes them (install/kubernetes/cilium/templates/
# cilium-agent/daemonset.yaml, cilium-envoy/daemonset.yaml, cilium-operator/deployment.yaml), beside kube-system's own.
CILIUM_AGENT = {"k8s-app": "cilium", "app.kubernetes.io/part-of": "cilium", "app.kubernetes.io/name": "cilium-agent"}
CILIUM_ENVOY = {"k8s-app": "cilium-envoy", "app.kubernetes.io/part-of": "cilium", "app.kubernetes.io/name": "cilium-envoy",
                "name": "cilium-envoy"}
CILIUM_OPERATOR = {"io.cilium/app": "operator", "name": "cilium-operator", "app.kubernetes.io/part-of": "cilium",
                   "app.kubernetes.io/name": "cilium-operator"}


def _cni_health(var, workloads):
    """The CNI's health item as class_report's record task hands the role's variables to the module."""
    where = {"namespaces": var("class_report_addon_where_namespaces")["cni"],
             "label_selectors": var("class_report_addon_where_selectors").get("cni")}
    return cb.addon_health("cni", cb.addon_workloads(workloads, where))


def test_cni_health_finds_ciliums_workloads_in_kube_system():
    """With cni_plugin: cilium the CNI's workloads are the chart's in kube-system, not kube-system's others, not
    Calico's namespaces; metrics-server, also in kube-system, keeps its own."""
    kube_system = [_workload("kube-system", {"k8s-app": "kube-dns"}, ready=False, daemonset=False),
                   _workload("kube-system", {"app.kubernetes.io/name": "metrics-server"}, daemonset=False)]
    cilium = [_workload("kube-system", CILIUM_AGENT), _workload("kube-system", CILIUM_ENVOY),
              _workload("kube-system", CILIUM_OPERATOR, daemonset=False)]
    var = _class_report_vars(cni_plugin="cilium")
    assert var("class_report_addon_where_namespaces")["cni"] == ["kube-system"]
    assert _cni_health(var, kube_system + cilium) == {"id": "addon cni", "passed": True, "detail": "3/3 workloads ready"}
    cilium[2] = _workload("kube-system", CILIUM_OPERATOR, ready=False, daemonset=False)
    assert _cni_health(var, kube_system + cilium) == {"id": "addon cni", "passed": False, "detail": "2/3 workloads ready"}
    assert _cni_health(var, kube_system)["detail"] == "0/0 workloads ready"  # Cilium not installed: not up
    where = {"namespaces": var("class_report_addon_where_namespaces")["metrics_server"],
             "label_selectors": var("class_report_addon_where_selectors")["metrics_server"]}
    assert cb.addon_health("metrics_server", cb.addon_workloads(kube_system + cilium, where))["detail"] == \
        "1/1 workloads ready"


def test_cni_health_with_calico_reads_its_own_namespaces():
    """The default plugin (cni_plugin unset: the cni role's calico): every workload of calico-system and
    tigera-operator, none of kube-system."""
    workloads = [_workload("calico-system", {"k8s-app": "calico-node"}),
                 _workload("tigera-operator", {"name": "tigera-operator"}, daemonset=False),
                 _workload("kube-system", CILIUM_AGENT, ready=False)]
    for var in (_class_report_vars(), _class_report_vars(cni_plugin="calico")):
        assert var("class_report_addon_where_namespaces")["cni"] == ["tigera-operator", "calico-system"]
        assert _cni_health(var, workloads) == {"id": "addon cni", "passed": True, "detail": "2/2 workloads ready"}


def test_readiness_section_shows_the_verdict_and_the_not_ready_rows_in_red():
    """make check's check.json as its JSON comes (keys sorted): columns in make check's order, the status coloured."""
    check = {"version": 1, "day": "3", "checked_at": "2026-12-05T07:08:21Z", "verdict": "NOT READY",
             "rows": [{"host": "localhost", "item": "cgroup", "needed": "v2", "status": "NOT READY", "value": "v1"},
                      {"host": "localhost", "item": "ports", "needed": "20000 free", "status": "OK", "value": "free"},
                      {"host": "localhost", "item": "disk", "needed": "16 GiB", "status": "UNKNOWN", "value": "?"}]}
    page = cb.render_board([], "now", "/b/board", check=check, missing=["kim"])
    assert '<p id="check-verdict">Verdict: <strong>NOT READY</strong> (day 3, checked 2026-12-05T07:08:21Z)</p>' in page
    assert "<tr><th>item</th><th>host</th><th>value</th><th>needed</th><th>status</th></tr>" in page
    assert '<tr><td>cgroup</td><td>localhost</td><td>v1</td><td>v2</td><td class="fail">NOT READY</td></tr>' in page
    assert '<td class="pass">OK</td>' in page and '<td class="none">UNKNOWN</td>' in page
    assert cb.summary_lines([], missing=["kim"])[1].split()[:3] == ["kim", "no", "record"]
    # No student record yet (make check before the first day): the readiness comes first; with records, last.
    assert page.index('id="check-verdict"') < page.index("<h2>Stuck longest</h2>")
    kim = cb.student_record(ENTRY, [], [], "status", "t", "/b/students/kim/endpoints.md")
    later = cb.render_board([kim], "now", "/b/board", check=check)
    assert later.index('<table id="board">') < later.index('id="check-verdict"')
