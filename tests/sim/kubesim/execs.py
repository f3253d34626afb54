"""Exec handlers of the Kubernetes API test double: what a command run in a pod's container answers.

A handler is chosen by the container's image (name prefix, registry and tag ignored) and gets the argv the
client sent. The container's shell is modelled only as far as the roles use it: `env NAME=VALUE... cmd`,
`sh -c SCRIPT NAME ARGS...` with one pipeline (`a | b`) of simple commands, `"$1"`-style positional
arguments, and the builtins `echo` and `printf '%s'`. Everything else exits 127 ("not found").

Program doubles (state in memory, one per pod, for the life of the double's process):
- `weed shell` (seaweedfs): s3.bucket.list and s3.bucket.create read from stdin; see WeedDouble.
Server doubles, reached through the pod proxy (one per container port):
- Vault's HTTP API on port 8200 (hashicorp/vault); see vault.VaultApiDouble.
- Grafana's signed-in user on port 3000 (grafana/grafana), reached through the ingress port; see grafana.py.
None of them is the real program: they keep the state machines and output formats the roles parse.
"""

from __future__ import annotations

import re
import shlex

from .grafana import GrafanaApiDouble
from .vault import VaultApiDouble

NOT_FOUND = 127


class Result:
    def __init__(self, rc: int = 0, stdout: str = "", stderr: str = ""):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


def image_name(image: str) -> str:
    """docker.io/hashicorp/vault:1.21.2@sha256:... -> hashicorp/vault"""
    name = image.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
    return name


# --------------------------------------------------------------------------------------------- the shell
def _split_pipeline(script: str) -> list[list[str]]:
    lexer = shlex.shlex(script, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages, current = [], []
    for token in lexer:
        if token == "|":
            stages.append(current)
            current = []
        else:
            current.append(token)
    stages.append(current)
    if any(not stage for stage in stages):
        raise ValueError("syntax error near unexpected token `|'")
    return stages


class Container:
    """One container's programs: `env`, `sh -c`, echo/printf, and the image's own programs."""

    def __init__(self, programs: dict, servers: dict | None = None):
        self.programs = programs  # name -> callable(argv, env, stdin) -> Result
        self.servers = servers or {}  # port -> object with call(method, path, headers, body) -> (status, body)

    def run(self, argv: list[str], env: dict | None = None, stdin: str = "", shell: bool = False) -> Result:
        env = dict(env or {})
        while argv and argv[0] in ("env", "/usr/bin/env"):
            argv = argv[1:]
            while argv and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", argv[0]):
                key, value = argv[0].split("=", 1)
                env[key] = value
                argv = argv[1:]
        if not argv:
            return Result(0, "".join(f"{k}={v}\n" for k, v in env.items()))
        name = argv[0].rsplit("/", 1)[-1]
        if name == "sh" and len(argv) >= 3 and argv[1] == "-c":
            return self._sh(argv[2], argv[3:], env, stdin)
        if name == "echo":
            return Result(0, " ".join(argv[1:]) + "\n")
        if name == "printf" and len(argv) >= 2:
            if argv[1] != "%s":
                return Result(2, stderr=f"printf: the exec double only knows the format '%s', not {argv[1]!r}\n")
            return Result(0, "".join(argv[2:]))
        if name in self.programs:
            return self.programs[name](argv, env, stdin)
        if shell:
            return Result(NOT_FOUND, stderr=f"sh: {argv[0]}: not found\n")
        return Result(NOT_FOUND, stderr=(f'exec: "{argv[0]}": executable file not found in $PATH '
                                         f"(the exec double has no handler for it in this image)\n"))

    def _sh(self, script: str, args: list[str], env: dict, stdin: str) -> Result:
        positional = args[1:]  # args[0] is $0
        try:
            stages = _split_pipeline(script)
        except ValueError as exc:
            return Result(2, stderr=f"sh: {exc}\n")
        rc, out, err = 0, stdin, ""
        for stage in stages:
            argv = []
            for token in stage:
                match = re.fullmatch(r"\$\{?([0-9])\}?", token)
                if match:
                    index = int(match.group(1))
                    argv.append(positional[index - 1] if 0 < index <= len(positional) else "")
                elif "$" in token:
                    return Result(2, stderr=f"sh: the exec double does not expand {token!r}\n")
                else:
                    argv.append(token)
            result = self.run(argv, env, out, shell=True)
            rc, out, err = result.rc, result.stdout, err + result.stderr
        return Result(rc, out, err)


# --------------------------------------------------------------------------------------------- seaweedfs
class WeedDouble:
    """`weed shell -master=localhost:9333` fed commands on stdin (no tty): the S3 bucket commands only."""

    MASTER = "localhost:9333"

    def __init__(self):
        self.buckets: list[str] = []

    def restart(self) -> None:
        """The buckets live on the store's volume: a restart keeps them."""

    def __call__(self, argv: list[str], env: dict, stdin: str) -> Result:
        if argv[1:2] != ["shell"]:
            return Result(NOT_FOUND, stderr=f"the weed double implements only `weed shell`, not {argv[1:2]}\n")
        options = dict(a.lstrip("-").split("=", 1) for a in argv[2:] if "=" in a)
        if options.get("master", self.MASTER) != self.MASTER:
            return Result(1, stderr=f"connect to master {options['master']}: the weed double's master is {self.MASTER}\n")
        out = []
        for line in stdin.splitlines():
            words = line.split()
            if not words:
                continue
            if words == ["s3.bucket.list"]:
                out += [f"  {b}\tsize:0\tchunk:0" for b in sorted(self.buckets)]
            elif words[0] == "s3.bucket.create" and len(words) == 3 and words[1] == "-name":
                name = words[2]
                if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name):
                    out.append(f"error: invalid bucket name {name}")
                elif name in self.buckets:
                    out.append(f"error: bucket {name} already exists")
                else:
                    self.buckets.append(name)
            else:
                out.append(f"error: the weed double does not implement {line.strip()!r}")
        return Result(0, "".join(f"{line}\n" for line in out))


# Image name (prefix) -> factory of the program doubles one pod's container gets.
PROGRAMS = {
    "chrislusf/seaweedfs": lambda: {"weed": WeedDouble()},
}
# Image name (prefix) -> factory of the server doubles (by port) one pod's container gets, given the container's
# environment as the pod started with it.
SERVERS = {
    "hashicorp/vault": lambda env: {8200: VaultApiDouble()},
    "grafana/grafana": lambda env: {3000: GrafanaApiDouble(env)},
}


class ExecRegistry:
    """Containers keyed by (namespace, pod, container); each made once from PROGRAMS by its image."""

    def __init__(self, programs: dict | None = None, servers: dict | None = None):
        self.programs = PROGRAMS if programs is None else programs
        self.servers = SERVERS if servers is None else servers
        self.containers: dict[tuple, Container] = {}

    def container(self, namespace: str, pod: str, name: str, image: str, env: dict | None = None) -> Container:
        key = (namespace, pod, name)
        if key not in self.containers:
            name_of_image = image_name(image)

            def factory(factories: dict):
                return next((f for prefix, f in factories.items() if name_of_image.startswith(prefix)), None)

            programs, servers = factory(self.programs), factory(self.servers)
            self.containers[key] = Container(programs() if programs else {}, servers(env or {}) if servers else {})
        return self.containers[key]

    def restart(self, namespace: str, pod: str) -> None:
        """A deleted pod's programs keep their data (as on a volume) but restart (Vault comes back sealed)."""
        for key, container in self.containers.items():
            if key[:2] == (namespace, pod):
                for program in [*container.programs.values(), *container.servers.values()]:
                    getattr(program, "restart", lambda: None)()
