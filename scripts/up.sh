#!/usr/bin/env bash
# `make up`: the whole system as local processes (no Docker needed), settings from .env when present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh || echo "warning: Prometheus not installed; starting without it" >&2
if [ -f .env ]; then set -a; . ./.env; set +a; fi
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
exec .venv/bin/python scripts/stack.py up
