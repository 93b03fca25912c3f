#!/usr/bin/env bash
# The scale-out stack (docker-compose.yml + deploy/compose/scale.yml) on this machine's own Docker engine:
# PostgreSQL, the tracker on it, three predictor replicas behind HAProxy with TLS, the watchdog and
# Prometheus. `scripts/scale.sh up` prints the addresses; `scripts/scale.sh down` stops it all (volumes kept).
# POSTGRES_PASSWORD is generated into var/scale/postgres-password at the first start unless set.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-up}
engine=/tmp/churnguard-docker
export DOCKER_HOST="unix://$engine/docker.sock"
compose=(docker-compose -p churnguard-scale -f docker-compose.yml -f deploy/compose/scale.yml)
mkdir -p var/scale
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  [ -s var/scale/postgres-password ] || (umask 077; python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > var/scale/postgres-password)
  POSTGRES_PASSWORD=$(cat var/scale/postgres-password)
fi
export POSTGRES_PASSWORD
case "$action" in
  up)
    bash scripts/docker-engine.sh start "$engine" >/dev/null
    bash scripts/docker-engine.sh base "$engine"
    export BASE_IMAGE=${BASE_IMAGE:-churnguard-base:bookworm} INFRA_BASE_IMAGE=${INFRA_BASE_IMAGE:-churnguard-base:bookworm}
    export PROMETHEUS_BASE_IMAGE=${PROMETHEUS_BASE_IMAGE:-churnguard-base:bookworm}
    "${compose[@]}" up -d --build
    "${compose[@]}" exec -T lb cat /certs/lb.crt > var/scale/lb.crt
    echo "predictors (TLS, load-balanced): https://127.0.0.1:${LB_PORT:-8443}  (trust var/scale/lb.crt)"
    echo "load balancer stats: http://127.0.0.1:${LB_STATS_PORT:-8404}/stats   Prometheus: http://127.0.0.1:${PROMETHEUS_PORT:-9090}"
    echo "watchdog: http://127.0.0.1:${MONITOR_PORT:-9100}   tracker: http://127.0.0.1:${TRACKER_PORT:-5000}"
    ;;
  down)
    "${compose[@]}" down -t 5
    bash scripts/docker-engine.sh stop "$engine"
    ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
