"""Preflight's input filters (plugins/filter/inputs.py): unknown variables with the nearest known name, and the
students CSV read with file and line in every error."""

import pytest
from ansible_collections.kubelab.core.plugins.filter.inputs import roster_csv, unknown_variables, variables_in
from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError

KNOWN = ["kubelab_workers", "kubelab_zones", "kubelab_students_csv", "kubelab_addons"]


def test_unknown_variables_name_the_nearest_known_one_and_ignore_other_prefixes():
    names = ["kubelab_worker", "kubelab_zones", "kubelab_student_csv", "kubelab_qqq", "ansible_host", "toolchain_x"]
    assert unknown_variables(names, KNOWN) == [
        {"name": "kubelab_qqq", "nearest": ""},
        {"name": "kubelab_student_csv", "nearest": "kubelab_students_csv"},
        {"name": "kubelab_worker", "nearest": "kubelab_workers"},
    ]


def test_variables_in_reads_names_from_the_files(tmp_path):
    (tmp_path / "a.yml").write_text("kubelab_workers: 3\n# see kubelab_zones\nother_var: 1\n")
    (tmp_path / "b.md").write_text("| `kubelab_addons` | x |\n")
    assert variables_in([str(tmp_path / "*.yml"), str(tmp_path / "*.md")]) == [
        "kubelab_addons", "kubelab_workers", "kubelab_zones"]


def test_roster_csv_trims_skips_blank_lines_and_keeps_other_columns():
    text = " name ,lang\n alice , ko\n\n,\n\"bob\",en\n"
    assert roster_csv(text, "s.csv") == [{"name": "alice", "lang": "ko"}, {"name": "bob", "lang": "en"}]


@pytest.mark.parametrize("text,message", [
    ("name\nalice\n\"bo\nb\"\n", "s.csv line 4: 'bo\\nb' is not a valid student name"),
    ("name\nalice\n\nAlice Kim\n", "s.csv line 4: 'Alice Kim' is not a valid student name"),
    ("name\nalice\nbob\nalice\n", "s.csv line 4: student 'alice' is already on line 2"),
    ("Name\nalice\n", "s.csv line 1: the header 'Name' has no 'name' column"),
    ("name\n\n", "s.csv has no student"),
])
def test_roster_csv_errors_name_file_and_line(text, message):
    with pytest.raises(InputError, match="^kubelab_students_csv: "):
        try:
            roster_csv(text, "s.csv")
        except InputError as err:
            assert message in str(err)
            raise
