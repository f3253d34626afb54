"""Helpers for tests that need a running API double: start it in a directory, hand out clients, stop it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

SIM_DIR = Path(__file__).resolve().parent.parent
KUBESIM = SIM_DIR / "bin" / "kubesim"
HELM = SIM_DIR / "bin" / "helm"


class Sim:
    def __init__(self, state_dir: Path):
        self.dir = Path(state_dir)
        self.kubeconfig = self.dir / "kubeconfig"
        self.url = f"http://127.0.0.1:{(self.dir / 'kubesim.port').read_text().strip()}"

    def request(self, method: str, path: str, body=None, content_type: str = "application/json", accept: str | None = None):
        """(status, parsed JSON body) of one HTTP request; errors are returned, not raised."""
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers={"Content-Type": content_type})
        if accept:
            req.add_header("Accept", accept)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if raw[:1] in (b"{", b"[") else raw)
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, (json.loads(raw) if raw[:1] == b"{" else raw)

    def dynamic_client(self):
        from kubernetes import client, config, dynamic

        cfg = client.Configuration()
        config.load_kube_config(config_file=str(self.kubeconfig), client_configuration=cfg, persist_config=False)
        return dynamic.DynamicClient(client.ApiClient(configuration=cfg))


def servers_under(root) -> list[tuple[int, str]]:
    """(pid, state dir) of every running API double whose state directory is below root."""
    root = os.path.abspath(str(root))
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "kubesim" in argv and "serve" in argv and "--dir" in argv:
            state = os.path.abspath(argv[argv.index("--dir") + 1])
            if state.startswith(root + os.sep):
                found.append((int(entry), state))
    return found


def kubesim(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(KUBESIM), *args], capture_output=True, text=True, timeout=30, check=False)


def helm_wrapper(path: Path, state_dir: Path) -> Path:
    """An executable at path that runs the Helm double with its release state in state_dir."""
    path = Path(path)
    path.write_text('#!/bin/sh\nexport KUBELAB_HELM_SIM_DIR=%s\nexec %s %s "$@"\n' % (state_dir, sys.executable, HELM))
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def running(state_dir: Path, *extra: str):
    # --watch-pid: should this process die before the finally below runs, the double stops by itself.
    result = kubesim("start", "--dir", str(state_dir), "--watch-pid", str(os.getpid()), *extra)
    if result.returncode != 0:
        raise RuntimeError(f"kubesim start failed: {result.stderr}")
    try:
        yield Sim(state_dir)
    finally:
        kubesim("stop", "--dir", str(state_dir))
