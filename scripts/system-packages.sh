#!/usr/bin/env bash
# Debian packages the tests and `make up` use: Prometheus (prometheus + promtool), Alertmanager
# (prometheus-alertmanager + amtool), wrk, Chromium with its WebDriver (the browser tests), PostgreSQL (the
# shared audit log's tests, pg_dump for backups; the tests start their own clusters as the `postgres` user).
# Each binary is checked by its own name; only the missing packages are installed. As root a missing tool is
# installed (so no test needing it skips); otherwise the warning lists exactly which tests skip or fail.
set -euo pipefail
cd "$(dirname "$0")/.."
declare -A package_of=(
  [prometheus]=prometheus [promtool]=prometheus
  [prometheus-alertmanager]=prometheus-alertmanager [amtool]=prometheus-alertmanager
  [wrk]=wrk [chromium]=chromium [chromedriver]=chromium-driver
)
missing=()
for binary in "${!package_of[@]}"; do
  command -v "$binary" >/dev/null 2>&1 || missing+=("${package_of[$binary]}")
done
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u | sed '/^$/d')
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "warning: not root, so these Debian packages are not installed: ${missing[*]}" >&2
  if [ -x .venv/bin/python ]; then
    echo "the tests that need them (skip outside CI, fail in CI):" >&2
    .venv/bin/python -m pytest --collect-only -q --missing-tools -p no:cacheprovider 2>/dev/null | grep '^will ' >&2 || true
  fi
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
