#!/usr/bin/env bash
# `make bench`: the side-by-side serving benchmark (bench/results/latest.md), one worker against two
# (bench/results/workers.md); then, when `make up` has left a model cache, model-health tracking on and
# off side by side (bench/results/model-health.md) and the audit log's modes side by side
# (bench/results/audit.md: durable against batched, SQLite against PostgreSQL). The shadow lane's cost needs
# no cache: it trains its own two versions (bench/results/shadow.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
.venv/bin/python bench/compare_serving.py "$@"
.venv/bin/python bench/compare_workers.py  # 1 worker against 2, memory per worker, cold start (issue 15's targets)
.venv/bin/python bench/compare_shadow.py  # the champion with a challenger in shadow against without (bench/results/shadow.md)
if ls var/predictor/model-cache/*/current.json >/dev/null 2>&1; then
  .venv/bin/python bench/compare_model_health.py
  .venv/bin/python bench/compare_audit.py
else
  echo "no model cache (run \`make up\` once): bench/compare_model_health.py and compare_audit.py skipped" >&2
fi
