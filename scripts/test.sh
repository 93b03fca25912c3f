#!/usr/bin/env bash
# The whole suite: system tools first, then lint and pytest (real MLflow, SMTP, webhook, Prometheus).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
.venv/bin/ruff check services tests bench scripts
.venv/bin/mypy services scripts
.venv/bin/python -m pytest --durations=30 "$@"  # the slowest 30: where the suite's time goes
