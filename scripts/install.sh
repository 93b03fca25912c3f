#!/usr/bin/env bash
# Create .venv at the repo root from the pins; install the project (console script `churnguard`).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade "pip>=24"
.venv/bin/python -m pip install --quiet -c constraints.txt -r requirements/dev.txt
.venv/bin/python -m pip install --quiet --no-deps -e .
echo "installed: $(.venv/bin/churnguard --help | head -1)"
