"""The toolchain role without internet (issue 16): the download error names toolchain_artifact_dir and the layout
it expects, instead of only the resolver's error."""

import json
import os

from conftest import run_playbook

PLAYBOOK = os.path.join("tests", "render", "playbooks", "toolchain.yml")


def test_a_failed_download_names_toolchain_artifact_dir_and_its_layout(tmp_path):
    # Nothing listens on port 9 here: the download fails the way an offline host's does, at once.
    kind = {"version": "v0.31.0", "linux_amd64": {"url": "https://127.0.0.1:9/kind-linux-amd64", "sha256": "0" * 64}}
    result = run_playbook(PLAYBOOK, str(tmp_path / "build"), "-e", json.dumps({"toolchain_kind": kind}),
                          "-e", "toolchain_arch=amd64")
    assert result.returncode != 0
    failure = result.stdout.split("Fail with the way to install without internet: kind")[1]
    assert "Could not install kind from https://127.0.0.1:9/kind-linux-amd64 on localhost" in failure
    assert "<dir>/<tool>/<version>/<file name of the URL> (here <dir>/kind/v0.31.0/kind-linux-amd64" in failure
    assert "set toolchain_artifact_dir to <dir>" in failure
    assert not (tmp_path / "build" / "bin" / "kind").exists()
