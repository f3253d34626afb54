"""kubelab.core.plan_artifact: writes only on change, keeps index.json consistent, rejects bad input."""

import json
import os

import pytest

from ansible_collections.kubelab.core.plugins.module_utils import plan_artifact as pa


class FakeModule:
    """The validated parameters and check mode, as the module and the action plugin hand them to run()."""

    def __init__(self, check_mode=False, **params):
        base = {"content": None, "data": None, "documents": None, "helm": None, "mode": "0644", "cluster": "c1",
                "role": "csi", "type": "manifest"}
        base.update(params)
        self.params = base
        self.check_mode = check_mode


def run(module):
    return pa.run(module.params, module.check_mode)


def index(plan_dir):
    with open(os.path.join(plan_dir, "index.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_writes_then_reports_no_change(tmp_path):
    module = FakeModule(plan_dir=str(tmp_path), path="csi/sc.yaml", data={"kind": "StorageClass"})
    first = run(module)
    second = run(module)
    assert first["changed"] and first["file_changed"] and first["index_changed"]
    assert not second["changed"]
    assert (tmp_path / "csi/sc.yaml").read_text() == "kind: StorageClass\n"
    assert index(str(tmp_path))["artifacts"] == [{"path": "csi/sc.yaml", "role": "csi", "type": "manifest"}]


def test_multi_document_and_index_sorted_by_path(tmp_path):
    run(FakeModule(plan_dir=str(tmp_path), path="z/b.yaml", documents=[{"a": 1}, None, {"b": 2}]))
    run(FakeModule(plan_dir=str(tmp_path), path="a/a.yaml", content="x: 1\n"))
    assert (tmp_path / "z/b.yaml").read_text() == "---\na: 1\n---\nb: 2\n"
    assert [a["path"] for a in index(str(tmp_path))["artifacts"]] == ["a/a.yaml", "z/b.yaml"]


def test_helm_release_entry_carries_chart_and_version(tmp_path):
    helm = {"repo": "https://charts.example", "chart": "c", "version": "1.2.3", "release": "r", "namespace": "n"}
    run(FakeModule(plan_dir=str(tmp_path), path="cni/values.yaml", type="helm-release", data={"a": 1}, helm=helm))
    (entry,) = index(str(tmp_path))["artifacts"]
    assert entry["version"] == "1.2.3" and entry["chart"] == "c" and entry["repo"] == "https://charts.example"


def test_helm_release_without_helm_is_refused(tmp_path):
    with pytest.raises(ValueError, match="helm-release needs helm"):
        run(FakeModule(plan_dir=str(tmp_path), path="x/v.yaml", type="helm-release", data={}))
    assert not os.path.exists(tmp_path / "x/v.yaml")


@pytest.mark.parametrize("path", ["../escape.yaml", "/abs.yaml", "index.json", "a//b.yaml", "a/../../b"])
def test_paths_outside_the_plan_are_refused(tmp_path, path):
    with pytest.raises(ValueError, match="relative path"):
        run(FakeModule(plan_dir=str(tmp_path), path=path, content="x"))


def test_check_mode_writes_nothing(tmp_path):
    result = run(FakeModule(check_mode=True, plan_dir=str(tmp_path), path="a/b.yaml", content="x"))
    assert result["changed"]
    assert not os.listdir(tmp_path)


def test_index_of_another_cluster_is_refused(tmp_path):
    run(FakeModule(plan_dir=str(tmp_path), path="a/b.yaml", content="x"))
    with pytest.raises(ValueError, match="belongs to cluster"):
        run(FakeModule(plan_dir=str(tmp_path), path="a/c.yaml", content="y", cluster="other"))


def test_mode_is_applied_and_corrected(tmp_path):
    module = FakeModule(plan_dir=str(tmp_path), path="a/secret.txt", content="s", mode="0600")
    run(module)
    assert (os.stat(tmp_path / "a/secret.txt").st_mode & 0o777) == 0o600
    os.chmod(tmp_path / "a/secret.txt", 0o644)
    assert run(module)["file_changed"]
    assert (os.stat(tmp_path / "a/secret.txt").st_mode & 0o777) == 0o600


def test_artifacts_write_several_files_and_one_index_in_one_call(tmp_path):
    helm = {"repo": "https://charts.example", "chart": "c", "version": "1.2.3", "release": "r", "namespace": "n"}
    module = FakeModule(plan_dir=str(tmp_path), type="manifest", artifacts=[
        {"path": "p/ns.yaml", "data": {"kind": "Namespace"}},
        {"path": "p/values.yaml", "type": "helm-release", "data": {"a": 1}, "helm": helm},
        {"path": "p/a.txt", "type": "file", "content": "s", "mode": "0600"},
    ])
    first = run(module)
    second = run(module)
    assert first["changed"] and first["dests"][0] == str(tmp_path / "p/ns.yaml")
    assert not second["changed"]
    assert [(a["path"], a["type"]) for a in index(str(tmp_path))["artifacts"]] == [
        ("p/a.txt", "file"), ("p/ns.yaml", "manifest"), ("p/values.yaml", "helm-release")]
    assert oct(os.stat(tmp_path / "p/a.txt").st_mode & 0o777) == "0o600"


def test_artifacts_render_exactly_what_one_call_per_file_renders(tmp_path):
    items = [{"path": "z/b.yaml", "documents": [{"a": 1}, None, {"b": 2}]}, {"path": "a/a.yaml", "content": "x: 1\n"}]
    for item in items:
        run(FakeModule(plan_dir=str(tmp_path / "one"), **item))
    run(FakeModule(plan_dir=str(tmp_path / "list"), artifacts=items))
    for name in ("z/b.yaml", "a/a.yaml", "index.json"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "list" / name).read_bytes()


def test_a_bad_artifact_writes_none_of_them(tmp_path):
    with pytest.raises(ValueError, match="helm-release needs helm"):
        run(FakeModule(plan_dir=str(tmp_path), artifacts=[
            {"path": "a/ok.yaml", "content": "x"}, {"path": "a/v.yaml", "type": "helm-release", "data": {}}]))
    with pytest.raises(ValueError, match="more than once"):
        run(FakeModule(plan_dir=str(tmp_path), artifacts=[
            {"path": "a/ok.yaml", "content": "x"}, {"path": "a/ok.yaml", "content": "y"}]))
    assert not os.listdir(tmp_path)


def test_no_artifacts_write_nothing(tmp_path):
    assert not run(FakeModule(plan_dir=str(tmp_path), artifacts=[]))["changed"]
    assert not os.listdir(tmp_path)


def test_libyaml_emitter_writes_what_the_python_emitter_writes():
    """to_yaml uses libyaml's emitter when there is one; the rendered text must not depend on that."""
    import yaml

    class PythonDumper(yaml.SafeDumper):
        pass

    PythonDumper.add_representer(str, pa._str_representer)
    documents = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {"a": "true", "b": "1"}},
         "data": {"script": "#!/bin/sh\nset -eu\necho 'done'\n", "empty": "", "yes": "yes", "unicode": "Zürich ✓",
                  "long": "word " * 40, "colon": "a: b", "star": "*", "null": None, "num": 1.5, "list": []}},
        {"spec": {"containers": [{"name": "c", "args": ["--a=1", "-b"], "ports": [{"containerPort": 80}]}]}},
    ]
    for docs in (documents, documents[:1]):
        expected = yaml.dump_all(docs, Dumper=PythonDumper, default_flow_style=False, sort_keys=False,
                                 allow_unicode=True, explicit_start=len(docs) > 1)
        assert pa.to_yaml(docs) == expected


def test_clusters_get_the_same_files_each_in_its_own_plan(tmp_path):
    """A render that is the same for every cluster of a class: templated once, written into every plan."""
    clusters = [{"name": "kubelab-%s" % n, "plan_dir": str(tmp_path / n), "students": [n]} for n in ("ann", "bob")]
    call = FakeModule(cluster=None, clusters=clusters, artifacts=[
        {"path": "csi/a.yaml", "data": {"kind": "A"}}, {"path": "csi/b.yaml", "content": "b\n"}])
    first, second = run(call), run(call)
    assert first["changed"] and not second["changed"]
    assert first["dests"] == [str(tmp_path / n / p) for n in ("ann", "bob") for p in ("csi/a.yaml", "csi/b.yaml")]
    for name in ("ann", "bob"):
        assert (tmp_path / name / "csi/a.yaml").read_text() == "kind: A\n"
        assert index(str(tmp_path / name))["cluster"] == "kubelab-%s" % name
        # Byte for byte what a call per cluster writes.
        single = tmp_path / "single" / name
        run(FakeModule(plan_dir=str(single), cluster="kubelab-%s" % name, artifacts=call.params["artifacts"]))
        for rel in ("csi/a.yaml", "csi/b.yaml", "index.json"):
            assert (single / rel).read_bytes() == (tmp_path / name / rel).read_bytes()


def test_clusters_with_a_foreign_index_write_nothing(tmp_path):
    run(FakeModule(plan_dir=str(tmp_path / "bob"), cluster="someone-else", path="a/b.yaml", content="x"))
    clusters = [{"name": "kubelab-ann", "plan_dir": str(tmp_path / "ann")},
                {"name": "kubelab-bob", "plan_dir": str(tmp_path / "bob")}]
    with pytest.raises(ValueError, match="belongs to cluster"):
        run(FakeModule(cluster=None, clusters=clusters, path="csi/a.yaml", content="a"))
    assert not (tmp_path / "ann").exists()
    with pytest.raises(ValueError, match="needs a name and a plan_dir"):
        run(FakeModule(cluster=None, clusters=[{"name": "kubelab-ann"}], path="csi/a.yaml", content="a"))
