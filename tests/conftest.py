"""Shared pytest setup: the project's collection is importable as ansible_collections.kubelab.core, and the
test doubles' helpers as kubesim.testing."""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "collections"))
# The API and Helm test doubles' helpers: from kubesim.testing import running, helm_wrapper
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))


def pytest_sessionfinish(session, exitstatus):
    """Every test stops what it starts: an API double still serving from this run's temporary directories is a
    leak. Stop it, name it, and fail the run. Under pytest-xdist the controller checks, after every worker has
    ended: the workers' temporary directories are below its own."""
    import signal

    from kubesim.testing import servers_under

    if hasattr(session.config, "workerinput"):
        return
    basetemp = getattr(session.config, "_tmp_path_factory", None)
    if basetemp is None:
        return
    leaks = servers_under(basetemp.getbasetemp())
    for pid, _state in leaks:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if leaks:
        sys.stderr.write("\nLEAK: API doubles still running at the end of the test run (now killed):\n%s\n"
                         % "\n".join("  pid %d  %s" % leak for leak in leaks))
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    """The e2e tests' phase lines (tests/e2e/conftest.py: time and changed tasks of each playbook run), from every
    process that ran tests, once, in the order they arrived."""
    lines = []
    for reports in terminalreporter.stats.values():
        for rep in reports:
            lines += [value for name, value in getattr(rep, "user_properties", ()) if name == "e2e phase"]
    if lines:
        terminalreporter.section("e2e phases (time, changed tasks)")
        for line in dict.fromkeys(lines):
            terminalreporter.write_line(line)
