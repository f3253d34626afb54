"""Command line of the Kubernetes API test double.

  kubesim start --dir DIR [--nodes N] [--bare] [--watch-pid PID] [--workload-pods] [--velero] [--stall KIND/NS/NAME]...
                [--ingress-port PORT]
                                                  start in the background on a free port; writes
                                                  DIR/kubeconfig, DIR/kubesim.pid, DIR/kubesim.port, DIR/kubesim.log;
                                                  with --watch-pid it exits by itself once PID is gone (a test run
                                                  killed before its finalizers leaves no double behind)
  kubesim stop --dir DIR                          stop it (SIGTERM, then wait) and remove the pid file
  kubesim serve --dir DIR ...                     run in the foreground (what `start` launches)
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
  - name: kubesim
    cluster:
      server: {server}
contexts:
  - name: kubesim
    context:
      cluster: kubesim
      user: kubesim
      namespace: default
current-context: kubesim
users:
  - name: kubesim
    user:
      token: kubesim-test-double
"""


def write_kubeconfig(path: Path, server: str) -> None:
    path.write_text(KUBECONFIG.format(server=server))
    path.chmod(0o600)


def serve(args) -> int:
    from aiohttp import web

    from .server import ApiServer
    from .store import Store

    state = Path(args.dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.address, args.port))
    port = sock.getsockname()[1]
    socks = [sock]
    if args.ingress_port:  # as kind's port mapping would, it fails when the port is taken ("port is already allocated")
        ingress_sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ingress_sock.bind((args.address, args.ingress_port))
        socks.append(ingress_sock)
    server = ApiServer(Store(nodes=args.nodes, kind_profile=not args.bare, workload_pods=args.workload_pods,
                             velero=args.velero, stall=args.stall), ingress_port=args.ingress_port)

    async def announce(_app):
        write_kubeconfig(state / "kubeconfig", f"http://{args.address}:{port}")
        tmp = state / "kubesim.port.tmp"
        tmp.write_text(str(port))
        tmp.rename(state / "kubesim.port")

    server.app.on_startup.append(announce)
    if args.watch_pid:
        server.app.on_startup.append(lambda app: _exit_when_gone(app, args.watch_pid))
    web.run_app(server.app, sock=socks, print=None, handle_signals=True, access_log=None, shutdown_timeout=0.2)
    return 0


async def _exit_when_gone(app, pid: int) -> None:
    """Stop serving once the watched process (the test run that started us) has ended."""
    import asyncio

    async def watch():
        while _alive(pid):
            await asyncio.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    app["kubesim.watch"] = asyncio.get_running_loop().create_task(watch())


def _alive(pid: int) -> bool:
    """True while the process runs; an exited process waiting for its parent to reap it (zombie) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def start(args) -> int:
    started = time.monotonic()
    state = Path(args.dir)
    state.mkdir(parents=True, exist_ok=True)
    pid_file, port_file = state / "kubesim.pid", state / "kubesim.port"
    if pid_file.exists() and _alive(int(pid_file.read_text())):
        print(f"kubesim already running (pid {pid_file.read_text().strip()}), kubeconfig {state / 'kubeconfig'}")
        return 0
    port_file.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "kubesim", "serve", "--dir", str(state), "--nodes", str(args.nodes), "--port", str(args.port),
           "--address", args.address]
    if args.bare:
        cmd.append("--bare")
    if args.workload_pods:
        cmd.append("--workload-pods")
    if args.velero:
        cmd.append("--velero")
    for pattern in args.stall:
        cmd += ["--stall", pattern]
    if args.ingress_port:
        cmd += ["--ingress-port", str(args.ingress_port)]
    if args.watch_pid:
        cmd += ["--watch-pid", str(args.watch_pid)]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    with open(state / "kubesim.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    pid_file.write_text(str(proc.pid))
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"kubesim exited with {proc.returncode} while starting; see {state / 'kubesim.log'}", file=sys.stderr)
            pid_file.unlink(missing_ok=True)
            return 1
        if port_file.exists():
            port = int(port_file.read_text())
            try:
                with urllib.request.urlopen(f"http://{args.address}:{port}/readyz", timeout=1) as resp:
                    if resp.status == 200:
                        print(f"kubesim pid {proc.pid} on http://{args.address}:{port} kubeconfig {state / 'kubeconfig'} "
                              f"started in {time.monotonic() - started:.2f} s")
                        return 0
            except OSError:
                pass
        time.sleep(0.02)
    print(f"kubesim did not become ready within {args.timeout} s; see {state / 'kubesim.log'}", file=sys.stderr)
    os.kill(proc.pid, signal.SIGTERM)
    return 1


def stop(args) -> int:
    state = Path(args.dir)
    pid_file = state / "kubesim.pid"
    if not pid_file.exists():
        print("kubesim not running (no pid file)")
        return 0
    pid = int(pid_file.read_text())
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    (state / "kubesim.port").unlink(missing_ok=True)
    print(f"kubesim pid {pid} stopped")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="kubesim", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("start", "serve", "stop"):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True, help="state directory (kubeconfig, pid, port and log files)")
        if name != "stop":
            p.add_argument("--nodes", type=int, default=4, help="simulated nodes (first is the control plane)")
            p.add_argument("--port", type=int, default=0, help="TCP port (0: a free one)")
            p.add_argument("--address", default="127.0.0.1",
                           help="address to listen on and to put in the kubeconfig (containers: the Docker bridge's)")
            p.add_argument("--bare", action="store_true", help="no kind extras (local-path-storage, StorageClass standard, coredns)")
            p.add_argument("--watch-pid", type=int, default=0, help="exit once this process is gone (0: never)")
            p.add_argument("--workload-pods", action="store_true", help="Deployments and StatefulSets get Running pods")
            p.add_argument("--velero", action="store_true", help="Backups, Restores, DeleteBackupRequests complete (velero.py)")
            p.add_argument("--stall", action="append", default=[], metavar="KIND/NAMESPACE/NAME",
                           help="objects matching this glob never progress (rescue paths; '*' stalls all); repeatable")
            p.add_argument("--ingress-port", type=int, default=0,
                           help="also serve PORT as ingress-nginx's data path (ingress.py; 0: no)")
        if name == "start":
            p.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    return {"start": start, "serve": serve, "stop": stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
