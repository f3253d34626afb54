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
