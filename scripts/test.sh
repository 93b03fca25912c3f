#!/usr/bin/env bash
# The whole suite: system tools first, then lint and pytest (real MLflow, SMTP, webhook, Prometheus).
# The drills (marker `drill`) spend most of their time waiting on real time (alert `for:` windows, the Docker
# engine), so they run beside the rest of the suite at a lower CPU priority (a Docker engine they start
# inherits it), in two lanes of their own: the container drills (marker `docker`), and the local-process
# drills with a few long self-contained tests (marker `second_lane`). Their reports follow the suite's, and
# any lane failing fails `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=false
.venv/bin/ruff check services tests bench scripts
.venv/bin/mypy services scripts

declare -A lanes=(
  [containers]="drill and docker"
  [local-drills]="(drill and not docker) or second_lane"
)
# The image builds are the heaviest CPU work and their lane has the most slack: they yield most.
declare -A niceness=([containers]=10 [local-drills]=5)
declare -A pids logs
for lane in "${!lanes[@]}"; do
  logs[$lane]="$(mktemp -t "churnguard-$lane.XXXXXX.log")"
  nice -n "${niceness[$lane]}" .venv/bin/python -m pytest -m "${lanes[$lane]}" --basetemp="/tmp/churnguard-$lane-tmp" --durations=5 "$@" \
    >"${logs[$lane]}" 2>&1 &
  pids[$lane]=$!
done
status=0
.venv/bin/python -m pytest -m "not drill and not second_lane" --durations=30 "$@" || status=$?  # the slowest 30: where time goes
for lane in "${!lanes[@]}"; do
  lane_status=0
  wait "${pids[$lane]}" || lane_status=$?
  echo "================ $lane (run beside the suite above: ${lanes[$lane]}) ================"
  cat "${logs[$lane]}"
  rm -f "${logs[$lane]}"
  if [ "$lane_status" -ne 0 ] && [ "$lane_status" -ne 5 ]; then  # 5: nothing of this lane among the tests asked for
    status=$lane_status
  fi
done
exit "$status"
