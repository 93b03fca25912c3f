#!/usr/bin/env bash
# The whole suite: system tools first, then lint and pytest (real MLflow, SMTP, webhook, Prometheus).
# The drills (marker `drill`: the local outage drill and the two container drills) spend most of their time
# waiting on real time (alert `for:` windows, the Docker engine), so they run beside the rest of the suite
# at a lower CPU priority (a Docker engine they start inherits it), with a few long self-contained tests
# (marker `second_lane`) to even the two lanes; their report follows the suite's, and either failing fails
# `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
.venv/bin/ruff check services tests bench scripts
.venv/bin/mypy services scripts

drills_log="$(mktemp -t churnguard-drills.XXXXXX.log)"
nice -n 5 .venv/bin/python -m pytest -m "drill or second_lane" --basetemp=/tmp/churnguard-drills-tmp --durations=5 "$@" \
  >"$drills_log" 2>&1 &
drills=$!
status=0
.venv/bin/python -m pytest -m "not drill and not second_lane" --durations=30 "$@" || status=$?  # the slowest 30: where time goes
drills_status=0
wait "$drills" || drills_status=$?
echo "================ the drills (run beside the suite above) ================"
cat "$drills_log"
rm -f "$drills_log"
if [ "$drills_status" -ne 0 ] && [ "$drills_status" -ne 5 ]; then  # 5: no drill among the tests asked for
  status=$drills_status
fi
exit "$status"
