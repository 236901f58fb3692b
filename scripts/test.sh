#!/usr/bin/env bash
# The whole test run: lint, type check, then the suite on both backends (GeoPackage, then PostGIS),
# with a throwaway PostgreSQL + PostGIS server started for it and stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
mypy
pgdir=$(mktemp -d /tmp/patrol-pg.XXXXXX)
chmod 755 "$pgdir"  # the server runs as postgres when we are root
port=${PATROL_TEST_PG_PORT:-55432}
trap 'bash scripts/postgres.sh stop "$pgdir/cluster"; rm -rf "$pgdir"' EXIT
PATROL_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$pgdir/cluster" "$port")
export PATROL_TEST_POSTGRES_URL
echo "== GeoPackage backend (and the store's own tests on both backends)"
PATROL_TEST_BACKEND=gpkg pytest "$@"
echo "== PostGIS backend (the pages through AppTest; the Chromium walks ran on the GeoPackage above)"
PATROL_TEST_BACKEND=postgis pytest --ignore=tests/store --ignore=tests/app/test_browser.py "$@"
