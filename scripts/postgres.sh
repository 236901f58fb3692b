#!/usr/bin/env bash
# A throwaway PostgreSQL + PostGIS server on loopback, for the tests (and for trying the PostGIS backend).
#   bash scripts/postgres.sh start DIR [PORT]   initdb in DIR if new, start on 127.0.0.1:PORT (default 55432),
#                                               create the database patrol_test with PostGIS; prints its URL
#   bash scripts/postgres.sh stop DIR            stop the server of DIR
# As root the server runs as the `postgres` user (through runuser), as PostgreSQL requires.
set -euo pipefail
action=${1:?usage: postgres.sh start|stop DIR [PORT]}
dir=${2:?usage: postgres.sh start|stop DIR [PORT]}
port=${3:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "PostgreSQL server binaries not found; run: bash scripts/install-system-packages.sh" >&2
  exit 1
fi
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "$action" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_owner "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
        || { cat "$dir.initdb.log" >&2; exit 1; }
    fi
    as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
    if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='patrol_test'" | grep -q 1; then
      "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE patrol_test" >/dev/null
    fi
    PGOPTIONS="--client-min-messages=warning" "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d patrol_test -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
    echo "postgresql://postgres@127.0.0.1:$port/patrol_test"
    ;;
  stop)
    [ -f "$dir/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    ;;
  *)
    echo "usage: postgres.sh start|stop DIR [PORT]" >&2; exit 2 ;;
esac
