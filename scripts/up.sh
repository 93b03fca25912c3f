#!/usr/bin/env bash
# `make up`: the whole system as local processes (no Docker needed), settings from .env when present.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f .env ]; then set -a; . ./.env; set +a; fi
# Installs Prometheus and Alertmanager as root; stack.py then stops, naming the package, if one is missing
# (unless CHURNGUARD_LOCAL_ALERTING=false).
bash scripts/system-packages.sh || echo "warning: scripts/system-packages.sh failed (see above)" >&2
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
exec .venv/bin/python scripts/stack.py up
