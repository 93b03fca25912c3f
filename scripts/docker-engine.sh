#!/usr/bin/env bash
# Start or stop a private Docker engine (Debian's docker.io) and build the local Debian base image.
# No registry image can be pulled here, so every image is built FROM a base made with debootstrap.
#   scripts/docker-engine.sh start WORKDIR   -> prints DOCKER_HOST=unix://WORKDIR/docker.sock
#   scripts/docker-engine.sh base  WORKDIR   -> builds image churnguard-base:bookworm if missing
#   scripts/docker-engine.sh stop  WORKDIR
set -euo pipefail
action=$1
work=$(mkdir -p "$2" && cd "$2" && pwd)
export DOCKER_HOST="unix://$work/docker.sock"

install_missing() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || { echo "need root to install ${missing[*]}" >&2; return 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

case "$action" in
  start)
    install_missing
    if ! docker info >/dev/null 2>&1; then
      dockerd --data-root "$work/data" --exec-root "$work/exec" --host "$DOCKER_HOST" \
        --pidfile "$work/docker.pid" >"$work/dockerd.log" 2>&1 &
      for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    fi
    if ! docker info >/dev/null 2>&1; then
      echo "the Docker engine did not start; last lines of $work/dockerd.log:" >&2
      tail -n 15 "$work/dockerd.log" >&2 || true
      exit 1
    fi
    echo "DOCKER_HOST=$DOCKER_HOST"
    ;;
  base)
    if docker image inspect churnguard-base:bookworm >/dev/null 2>&1; then exit 0; fi
    # The Debian mirror apt uses here (deb822 .sources or one-line .list files).
    mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
      | grep -oE '^(deb|URIs:)\s+\S+' | awk '{print $2}' | grep -E '/debian/?$' | head -n 1 || true)
    rootfs="$work/rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
      bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1
    # HTTPS from inside builds needs this machine's extra CA certificates.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
      chroot "$rootfs" update-ca-certificates >/dev/null
    fi
    tar -C "$rootfs" -c . | docker import - churnguard-base:bookworm >/dev/null
    rm -rf "$rootfs"
    ;;
  stop)
    if [ -f "$work/docker.pid" ]; then
      kill "$(cat "$work/docker.pid")" 2>/dev/null || true
      for _ in $(seq 20); do [ -f "$work/docker.pid" ] || break; sleep 0.5; done
    fi
    ;;
  *) echo "usage: $0 start|base|stop WORKDIR" >&2; exit 2 ;;
esac
