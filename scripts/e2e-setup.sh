#!/usr/bin/env bash
# Prepares this machine for tests/e2e (the whole-day test on doubles); tests/e2e/conftest.py runs it.
# Idempotent, non-interactive, nothing from the internet at large:
#   1. the REAL kind binary the kind double validates configs with: Debian's kind package (sid), fetched from
#      the Debian mirror apt uses, checked against its pinned sha256 and unpacked (not installed) into
#      $KUBELAB_CACHE_DIR/kind-<version>/kind;
#   2. kubectl (Debian's kubectl package) when /usr/bin/kubectl is missing (needs root).
# Prints the path of the kind binary on its last line.
# Environment: KUBELAB_CACHE_DIR (default ~/.cache/kubelab), KUBELAB_DEBIAN_MIRROR (default: apt's mirror).
set -euo pipefail

kind_deb_version=0.33.0-1
kind_deb_sha256=083ba7cd94d8e5c468edd2324392cc75395b4973ed2cb7a75e313fe5cc0b0f68
cache_dir="${KUBELAB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kubelab}"
kind_dir="$cache_dir/kind-$kind_deb_version"

if [ ! -x "$kind_dir/kind" ]; then
  mirror="${KUBELAB_DEBIAN_MIRROR:-}"
  if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  mirror="${mirror:-http://deb.debian.org/debian}"
  deb="$cache_dir/kind_${kind_deb_version}_amd64.deb"
  mkdir -p "$kind_dir"
  if ! echo "$kind_deb_sha256  $deb" | sha256sum --check --status 2>/dev/null; then
    curl -fsS --retry 3 -o "$deb.tmp" "${mirror%/}/pool/main/k/kind/kind_${kind_deb_version}_amd64.deb"
    echo "$kind_deb_sha256  $deb.tmp" | sha256sum --check --quiet
    mv "$deb.tmp" "$deb"
  fi
  unpacked=$(mktemp -d)
  dpkg-deb -x "$deb" "$unpacked"
  mv "$unpacked/usr/bin/kind" "$kind_dir/kind.tmp"
  rm -rf "$unpacked"
  mv "$kind_dir/kind.tmp" "$kind_dir/kind"
fi

if [ ! -x /usr/bin/kubectl ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y kubectl >&2 \
    || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y kubectl >&2; }
fi

echo "$kind_dir/kind"
