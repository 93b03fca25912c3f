#!/usr/bin/env bash
# `make bench`: the side-by-side serving benchmark; writes bench/results/latest.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-packages.sh
exec .venv/bin/python bench/compare_serving.py "$@"
