#!/usr/bin/env bash
# Installs Debian's PostgreSQL if it is missing, starts a cluster on
# 127.0.0.1:5432 and creates what the tests use: database `test`, reachable as
# `postgres://postgres@127.0.0.1:5432/test` (trust for the postgres role on
# loopback TCP only). Safe to run again: every step checks before it acts.
#
#   bash .ci/postgres.sh          # as root (CI, a fresh machine)
set -euo pipefail

port=5432
database=test

if ! command -v pg_ctlcluster >/dev/null || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
cluster=main
if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { found = 1 } END { exit !found }'; then
  pg_createcluster --port "$port" "$version" "$cluster" >/dev/null
fi
conf_dir=/etc/postgresql/$version/$cluster

# Loopback TCP trust for the postgres role, ahead of Debian's scram rules
# (pg_hba.conf is read top-down, first match wins).
hba=$conf_dir/pg_hba.conf
marker="# zerotrace tests: trust the postgres role on loopback"
if ! grep -qF "$marker" "$hba"; then
  tmp=$(mktemp)
  {
    echo "$marker"
    echo "host    all    postgres    127.0.0.1/32    trust"
    echo "host    all    postgres    ::1/128         trust"
    cat "$hba"
  } >"$tmp"
  install -o postgres -g postgres -m 0640 "$tmp" "$hba"
  rm -f "$tmp"
fi

cluster_port=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $3 }')
if [ "$cluster_port" != "$port" ]; then
  echo "postgres.sh: cluster $version/$cluster listens on $cluster_port, the tests need $port" >&2
  exit 1
fi

if pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c && $4 == "online" { found = 1 } END { exit !found }'; then
  pg_ctlcluster "$version" "$cluster" reload
else
  pg_ctlcluster "$version" "$cluster" start
fi

for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "postgres.sh: PostgreSQL not ready on 127.0.0.1:$port" >&2; exit 1; }

psql_pg() { psql -h 127.0.0.1 -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != 1 ]; then
  psql_pg -d postgres -c "CREATE DATABASE $database"
fi
psql_pg -d "$database" -c "SELECT 1" >/dev/null
echo "postgres.sh: PostgreSQL $version ready: postgres://postgres@127.0.0.1:$port/$database"
