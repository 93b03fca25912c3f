#!/bin/sh
# PostgreSQL for the scale-out stack: one cluster, databases `audit` (the predictors' shared audit log)
# and `mlflow` (the tracker's backend store), owner `churnguard` with POSTGRES_PASSWORD.
set -eu
: "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
data=/var/lib/postgresql/data/cluster
if [ ! -s "$data/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
    "$bin/initdb" -D "$data" -U churnguard -E UTF8 --locale=C.UTF-8 --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm "$pwfile"
    echo "host all all 0.0.0.0/0 scram-sha-256" >> "$data/pg_hba.conf"
    "$bin/pg_ctl" -D "$data" -o "-c listen_addresses= -c unix_socket_directories=/tmp" -w start >/dev/null
    for db in audit mlflow; do "$bin/createdb" -h /tmp -U churnguard "$db"; done
    "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
fi
exec "$bin/postgres" -D "$data" -c listen_addresses='*' -c unix_socket_directories=/tmp -c max_connections=200
