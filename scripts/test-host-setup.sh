#!/usr/bin/env bash
# Prepares this machine to run the `host` Molecule scenarios (systemd containers on a local Docker engine).
#
# Idempotent and non-interactive; safe to run again and again (`make molecule-host` runs it every time).
# Needs root on Debian 12. What it does, each step skipped when already done:
#   1. apt: debootstrap, jq, dropbear-bin, openssh-client, openssh-sftp-server and, unless a Docker engine
#      already answers `docker info`, docker.io (one `apt-get update`, only when something is missing). A
#      working engine is left alone: GitHub's runners ship docker-ce, and installing docker.io over it would
#      swap the engine (and containerd) mid-job;
#   2. where every process lacks CAP_SYS_RESOURCE (Firecracker CI VMs), a runc wrapper that drops that
#      capability from container specs, registered as Docker's default runtime (else privileged
#      containers fail with "unable to apply caps: operation not permitted");
#   3. a running Docker engine (systemd unit if systemd runs this machine, else dockerd started by hand,
#      logging to /var/log/kubelab-dockerd.log);
#   4. the test image (default kubelab/debian12-systemd:test): debootstrap minbase bookworm + `docker import`,
#      the rootfs tarball cached under KUBELAB_CACHE_DIR so a lost image is rebuilt in seconds;
#   5. the keys of an SSH server on the loopback, so a scenario can reach this machine as a class reaches a
#      second Docker host: a dropbear host key and a client key pair under KUBELAB_CACHE_DIR/ssh (root only),
#      the public key in root's authorized_keys (once, without port, agent or X11 forwarding). The scenario
#      that needs the server starts it and stops it (roles/registry_cache/molecule/default); no system
#      service is installed or enabled.
# Environment: KUBELAB_CACHE_DIR (/var/cache/kubelab), KUBELAB_TEST_IMAGE, KUBELAB_DEBIAN_MIRROR
# (default: the mirror apt uses), KUBELAB_DOCKERD_LOG.
set -euo pipefail

cache_dir="${KUBELAB_CACHE_DIR:-/var/cache/kubelab}"
image="${KUBELAB_TEST_IMAGE:-kubelab/debian12-systemd:test}"
dockerd_log="${KUBELAB_DOCKERD_LOG:-/var/log/kubelab-dockerd.log}"
wrapper=/usr/local/libexec/kubelab/runc-wrapper
wrapper_runtime=kubelab-runc
daemon_json=/etc/docker/daemon.json
# The docker 28.x client some images carry in /usr/local/bin cannot use BuildKit against Docker 20.10.
export DOCKER_BUILDKIT=0 DEBIAN_FRONTEND=noninteractive

# Packages inside the test image. Changing this list (or the customisation below) changes the recipe id,
# which rebuilds the image and its cached rootfs.
image_packages="systemd,systemd-sysv,dbus,python3,sudo,iproute2,procps,kmod,ca-certificates"
image_recipe_version=1

# The packages of step 1 that are missing, one per line.
packages_needed() {
  local pkg
  for pkg in docker.io debootstrap jq dropbear-bin openssh-client openssh-sftp-server; do
    if [ "$pkg" = docker.io ] && docker info >/dev/null 2>&1; then continue; fi
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$'; then
      echo "$pkg"
    fi
  done
}
# Sourced (tests/unit/test_workflows.py checks the decision above): define, do nothing.
[ "${BASH_SOURCE[0]}" = "$0" ] || return 0

t0=$(date +%s)
step_start=$t0
log() { echo "[test-host-setup] $*"; }
step_done() {
  local now
  now=$(date +%s)
  log "$1: $((now - step_start)) s"
  step_start=$now
}

if [ "$(id -u)" -ne 0 ]; then
  echo "test-host-setup.sh must run as root (it installs packages and runs dockerd)" >&2
  exit 1
fi

# --- 1. packages -------------------------------------------------------------------------------------------
mapfile -t missing < <(packages_needed)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]}"
  # Keep the package scripts from starting dockerd before its daemon.json exists (no-op under systemd
  # when a policy already exists; ours is removed again right after).
  own_policy=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=true
  fi
  trap '[ "$own_policy" = true ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [ "$own_policy" = true ]; then rm -f /usr/sbin/policy-rc.d; fi
  trap - EXIT
fi
step_done "packages"

# --- 2. runc wrapper (only where the capability bounding set lacks CAP_SYS_RESOURCE) -------------------------
cap_bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
daemon_restart=false
if (((0x$cap_bnd >> 24) & 1)); then
  log "CAP_SYS_RESOURCE is in the bounding set: no runc wrapper needed"
else
  runc_bin=$(command -v runc || true)
  [ -n "$runc_bin" ] || runc_bin=/usr/sbin/runc
  mkdir -p "$(dirname "$wrapper")" /etc/docker
  wrapper_tmp=$(mktemp)
  cat >"$wrapper_tmp" <<EOF
#!/bin/sh
# kubelab test hosts only (installed by scripts/test-host-setup.sh). This machine runs every process without
# CAP_SYS_RESOURCE in its bounding set; Docker asks runc for all capabilities for privileged containers and
# runc then fails. Drop that one capability from the container spec (create/run: --bundle DIR/config.json)
# and from exec process specs (--process FILE), then hand over to the real runc.
strip='walk(if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)'
fix() { [ -f "\$1" ] && jq "\$strip" "\$1" >"\$1.kubelab" && mv "\$1.kubelab" "\$1"; }
prev=""
for arg in "\$@"; do
  case "\$prev" in
    --bundle|-b) fix "\$arg/config.json" ;;
    --process|-p) fix "\$arg" ;;
  esac
  case "\$arg" in
    --bundle=*) fix "\${arg#--bundle=}/config.json" ;;
    --process=*) fix "\${arg#--process=}" ;;
  esac
  prev="\$arg"
done
exec $runc_bin "\$@"
EOF
  if ! cmp -s "$wrapper_tmp" "$wrapper"; then
    install -m 0755 "$wrapper_tmp" "$wrapper"
    log "installed $wrapper"
  fi
  rm -f "$wrapper_tmp"
  current='{}'
  [ -s "$daemon_json" ] && current=$(cat "$daemon_json")
  desired=$(jq --arg name "$wrapper_runtime" --arg path "$wrapper" \
    '.runtimes[$name] = {path: $path} | ."default-runtime" = $name' <<<"$current")
  if [ "$(jq -S . <<<"$current")" != "$(jq -S . <<<"$desired")" ]; then
    printf '%s\n' "$desired" >"$daemon_json"
    daemon_restart=true
    log "registered $wrapper_runtime as Docker's default runtime in $daemon_json"
  fi
fi
step_done "runc wrapper"

# --- 3. Docker engine --------------------------------------------------------------------------------------
systemd_host=false
[ -d /run/systemd/system ] && systemd_host=true
dockerd_pid() { [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null && cat /var/run/docker.pid; }
start_dockerd() {
  if [ "$systemd_host" = true ]; then
    systemctl restart docker
  else
    log "starting dockerd by hand (log: $dockerd_log)"
    setsid dockerd >>"$dockerd_log" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "dockerd did not answer within 30 s; see $dockerd_log (or journalctl -u docker)" >&2
  tail -n 20 "$dockerd_log" >&2 || true
  exit 1
}
if docker info >/dev/null 2>&1; then
  if [ "$daemon_restart" = true ]; then
    log "restarting the Docker engine to load $daemon_json"
    if [ "$systemd_host" = false ] && pid=$(dockerd_pid); then
      kill -TERM "$pid"
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    start_dockerd
  fi
else
  if [ "$systemd_host" = false ] && pid=$(dockerd_pid); then
    echo "dockerd (pid $pid) runs but does not answer; see $dockerd_log" >&2
    exit 1
  fi
  start_dockerd
fi
if [ -x "$wrapper" ] && ! docker info --format '{{.DefaultRuntime}}' | grep -qx "$wrapper_runtime"; then
  echo "Docker's default runtime is not $wrapper_runtime; restart dockerd to load $daemon_json" >&2
  exit 1
fi
step_done "docker engine"

# --- 4. systemd test image ---------------------------------------------------------------------------------
recipe_id=$(printf '%s|%s|bookworm|%s' "$image_packages" "$image_recipe_version" "$(dpkg --print-architecture)" |
  sha256sum | cut -c1-12)
current_recipe=$(docker image inspect --format '{{index .Config.Labels "org.kubelab.recipe"}}' "$image" 2>/dev/null || true)
if [ "$current_recipe" = "$recipe_id" ]; then
  log "image $image is up to date (recipe $recipe_id)"
else
  rootfs_tar="$cache_dir/debian12-systemd-$recipe_id.tar"
  mkdir -p "$cache_dir"
  if [ ! -s "$rootfs_tar" ]; then
    mirror="${KUBELAB_DEBIAN_MIRROR:-}"
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
      mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
      mirror=$(awk '/^deb / && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    mirror="${mirror:-http://deb.debian.org/debian}"
    rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
    log "debootstrap bookworm from $mirror (about a minute)"
    if ! debootstrap --variant=minbase --include="$image_packages" bookworm "$rootfs" "$mirror" \
      >"$cache_dir/debootstrap.log" 2>&1; then
      echo "debootstrap failed; see $cache_dir/debootstrap.log" >&2
      tail -n 20 "$cache_dir/debootstrap.log" >&2
      rm -rf "$rootfs"
      exit 1
    fi
    # systemd in a container: an empty machine-id is generated at boot; no consoles to run gettys on
    # (otherwise the system ends "degraded").
    : >"$rootfs/etc/machine-id"
    rm -f "$rootfs/var/lib/dbus/machine-id"
    for unit in getty.target getty@tty1.service console-getty.service; do
      ln -sf /dev/null "$rootfs/etc/systemd/system/$unit"
    done
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -cf "$rootfs_tar.tmp" .
    mv "$rootfs_tar.tmp" "$rootfs_tar"
    rm -rf "$rootfs"
    step_done "debootstrap"
  else
    log "using cached rootfs $rootfs_tar"
  fi
  # `docker import` (Docker 20.10) takes no STOPSIGNAL: containers are started with --stop-signal SIGRTMIN+3.
  docker import \
    --change 'ENV container=docker' \
    --change "LABEL org.kubelab.recipe=$recipe_id" \
    --change 'CMD ["/lib/systemd/systemd"]' \
    - "$image" <"$rootfs_tar" >/dev/null
  log "imported $image (recipe $recipe_id)"
fi
step_done "test image"

# --- 5. SSH keys (this machine as a second Docker host) -----------------------------------------------------
ssh_dir="$cache_dir/ssh"
mkdir -p "$ssh_dir" /root/.ssh
chmod 0700 "$ssh_dir" /root/.ssh
[ -s "$ssh_dir/host_ed25519" ] || dropbearkey -t ed25519 -f "$ssh_dir/host_ed25519" >/dev/null 2>&1
[ -s "$ssh_dir/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C kubelab-test-host -f "$ssh_dir/client_ed25519"
authorized="no-port-forwarding,no-agent-forwarding,no-X11-forwarding $(cat "$ssh_dir/client_ed25519.pub")"
touch /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
grep -qxF "$authorized" /root/.ssh/authorized_keys || echo "$authorized" >>/root/.ssh/authorized_keys
step_done "ssh keys"
log "ready in $(($(date +%s) - t0)) s: $(docker version --format 'Docker {{.Server.Version}}'), image $image"
