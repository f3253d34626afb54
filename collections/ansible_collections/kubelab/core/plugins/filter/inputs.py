# Copyright: kubelab contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Input hygiene filters for preflight: misspelled variables and the students CSV."""

from __future__ import annotations

import csv
import difflib
import glob
import io
import re

from ansible_collections.kubelab.core.plugins.module_utils.errors import InputError, filters
from ansible_collections.kubelab.core.plugins.module_utils.names import check_label


def variables_in(patterns, prefix="kubelab_"):
    """Every name with the prefix mentioned in the files matching the glob patterns (defaults, READMEs, docs)."""
    names = set()
    for pattern in patterns:
        for path in glob.glob(pattern):
            with open(path, encoding="utf-8") as handle:
                names.update(re.findall(r"\b%s[a-z0-9_]+" % re.escape(prefix), handle.read()))
    return sorted(names)


def unknown_variables(names, known, prefix="kubelab_"):
    """The names with the prefix that are not known, each as {name, nearest} (nearest: closest known or '')."""
    known = sorted(set(known))
    # Compared without the shared prefix, which would make every name look close to every other.
    tails = {k[len(prefix):]: k for k in known if k.startswith(prefix)}
    unknown = []
    for name in sorted(set(names)):
        if name.startswith(prefix) and name not in known:
            nearest = difflib.get_close_matches(name[len(prefix):], list(tails), n=1, cutoff=0.6)
            unknown.append({"name": name, "nearest": tails[nearest[0]] if nearest else ""})
    return unknown


def roster_csv(text, path):
    """Rows of a students CSV (header line with a 'name' column), cells trimmed, blank lines skipped.

    Every error names the file and the line, e.g. 'students.csv line 4: ...'.
    """
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    header = [(cell or "").strip() for cell in (reader.fieldnames or [])]
    if "name" not in header:
        raise InputError("kubelab_students_csv: %s line 1: the header %r has no 'name' column; the first line must be "
                        "name[,other columns]" % (path, ",".join(header)))
    reader.fieldnames = header
    rows, seen = [], {}
    for row in reader:
        line = reader.line_num
        if None in row:
            raise InputError("kubelab_students_csv: %s line %d: more cells than the header has columns (%s)"
                            % (path, line, ",".join(header)))
        row = {key: (value or "").strip() for key, value in row.items()}
        if not any(row.values()):
            continue
        check_label(row["name"], "kubelab_students_csv: %s line %d" % (path, line), "student name")
        if row["name"] in seen:
            raise InputError("kubelab_students_csv: %s line %d: student %r is already on line %d; student names must "
                            "be unique" % (path, line, row["name"], seen[row["name"]]))
        seen[row["name"]] = line
        rows.append(row)
    if not rows:
        raise InputError("kubelab_students_csv: %s has no student: add one name per line under the 'name' header"
                        % path)
    return rows


class FilterModule:
    """kubelab input filters."""

    def filters(self):
        return filters({
            "unknown_variables": unknown_variables,
            "variables_in": variables_in,
            "roster_csv": roster_csv,
        })
