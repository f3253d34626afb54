"""A class of two, kind provider, applied end to end: day 1 (and again), day 3, day 4, a lab reset, teardown of one
student, then of the class. The tests of a class run in order on one workspace (conftest.Workspace)."""

import pytest
from conftest import report

STUDENTS = ["kim-minji", "lee-jihoon"]  # as in conftest.py

# The lab reset: day 4's GitOps lab; in namespace tenancy (where preflight refuses that lab) day 3's banking lab.
LAB = {"cluster": "w2d4-gitops-backup", "namespace": "w2d3-banking"}


@pytest.mark.parametrize("workspace", ["cluster", "namespace"], indirect=True)
class TestDay:
    def test_day1_applies(self, workspace):
        workspace.play("day1", "day1.yml")
        expected = [f"kubelab-{s}" for s in STUDENTS] if workspace.tenancy == "cluster" else ["kubelab-shared"]
        assert workspace.clusters() == expected
        for student in STUDENTS:
            assert (workspace.project / "build" / "students" / student).is_dir()

    def test_day1_again_changes_nothing(self, workspace):
        recap = workspace.play("day1-again", "day1.yml")
        first, again = (next(s for label, s, _c in workspace.timings if label == name) for name in ("day1", "day1-again"))
        # The target (a converged re-run within a third of the first run's time) is a performance target:
        # printed here, judged from the figures, not asserted in a timed test on a shared machine.
        report(f"[e2e {workspace.tenancy}] day1 first run {first:.1f} s, second run {again:.1f} s "
               f"(ratio {again / first:.2f}, target <= 0.33)")
        assert {h: r["changed"] for h, r in recap.items() if r["changed"]} == {}

    def test_day3_applies(self, workspace):
        workspace.play("day3", "day3.yml")

    def test_status_changes_nothing_and_writes_the_board(self, workspace):
        # make status right after day 3: the same checks give the same results, so nothing is reported changed.
        recap = workspace.play("status", "status.yml", "-e", "kubelab_day=3")
        assert {h: r["changed"] for h, r in recap.items() if r["changed"]} == {}
        board = (workspace.project / "build" / "board" / "index.html").read_text()
        assert all(f'id="student-{s}"' in board for s in STUDENTS) and "w2d3-ecommerce/" in board

    def test_day4_applies(self, workspace):
        if workspace.tenancy == "namespace":
            # By design (docs/tenancy.md): the lab uses the shared argocd and velero namespaces.
            workspace.play("day4", "day4.yml", refused="Lab w2d4-gitops-backup cannot run in namespace tenancy")
            return
        workspace.play("day4", "day4.yml")

    def test_a_cluster_deleted_by_hand_is_rebuilt(self, workspace):
        if workspace.tenancy == "namespace":
            pytest.skip("one shared cluster: the cluster tenancy run covers a rebuilt cluster")
        # An instructor deleted a student's broken cluster with kind itself; the day builds it again. Its new
        # Vault is uninitialised, so the old unseal keys are set aside (never reused) and new ones written.
        rebuilt = f"kubelab-{STUDENTS[0]}"
        secrets = workspace.project / "build" / "secrets" / rebuilt
        old_keys = (secrets / "vault-init.json").read_text()
        workspace.kind("delete", "cluster", "--name", rebuilt)
        assert workspace.clusters() == [f"kubelab-{STUDENTS[1]}"]
        workspace.play("day4-rebuild", "day4.yml")
        assert workspace.clusters() == [f"kubelab-{s}" for s in STUDENTS]
        assert (secrets / "vault-init.json.replaced").read_text() == old_keys
        assert (secrets / "vault-init.json").read_text() != old_keys

    def test_lab_reset(self, workspace):
        backup = "/apis/velero.io/v1/namespaces/velero/backups"
        if workspace.tenancy == "cluster":
            # A student followed the guide's backup step: the reset must have Velero delete that backup.
            assert workspace.sim(STUDENTS[0]).request("POST", backup, {"apiVersion": "velero.io/v1", "kind": "Backup",
                "metadata": {"name": "drill-backup"}, "spec": {"includedNamespaces": ["backup-demo"]}})[0] == 201
        workspace.play("lab-reset", "lab-reset.yml", "-e", f"lab={LAB[workspace.tenancy]}")
        if workspace.tenancy == "cluster":
            assert workspace.sim(STUDENTS[0]).request("GET", backup + "/drill-backup")[0] == 404

    def test_teardown_one_student(self, workspace):
        gone, stays = STUDENTS
        workspace.play("teardown-student", "teardown.yml", "-e", f"student={gone}")
        students = workspace.project / "build" / "students"
        assert not (students / gone).exists() and (students / stays).is_dir()
        if workspace.tenancy == "cluster":
            assert workspace.clusters() == [f"kubelab-{stays}"]
            assert not (workspace.project / "build" / "clusters" / f"kubelab-{gone}").exists()
        else:
            assert workspace.clusters() == ["kubelab-shared"]

    def test_teardown_class_leaves_nothing(self, workspace):
        workspace.play("teardown", "teardown.yml", "-e", "confirm=yes")
        build = workspace.project / "build"
        assert workspace.clusters() == []
        assert [p for p in build.rglob("*") if "kubeconfig" in p.name] == []
        assert list((build / "clusters").glob("*")) == []
        assert list((build / "students").glob("*")) == []

    def test_nothing_written_outside_build(self, workspace):
        assert workspace.written_outside_build() == []
