#!/usr/bin/env bash
# `make down`: stop what `make up` started, by PID (data and logs stay under var/).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "nothing to stop (no .venv)"; exit 0; }
if [ -f .env ]; then set -a; . ./.env; set +a; fi
exec .venv/bin/python scripts/stack.py down
