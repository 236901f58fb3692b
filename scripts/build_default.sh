#!/usr/bin/env bash
# Rebuild the embedded default workspaces from the real inputs in data/sources/
# (copies of ../shared/data). Usage: bash scripts/build_default.sh
set -euo pipefail
cd "$(dirname "$0")/.."
S=data/sources
# The samples in data/ are read-only to the program: build in a scratch folder, then copy them in.
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
patrol build-workspace --osm $S/osm/cn_jiangxi_guixi_county_town.osm \
  --streets $S/admin/streets_360681.csv --villages $S/admin/villages_360681.csv \
  --boundary $S/boundaries/county_360681_cnmaps_amap_gcj02.geojson --boundary-crs gcj02 \
  --out $W/guixi_360681.gpkg
patrol check $W/guixi_360681.gpkg
patrol build-workspace --osm $S/osm/cn_beijing_haidian_wudaokou_pku_tsinghua.osm \
  --streets $S/admin/streets_110108.csv --villages $S/admin/villages_110108.csv \
  --boundary $S/boundaries/county_110108_fastgeocn_wgs84.geojson \
  --out $W/haidian_110108.gpkg
# Demonstration institutions and clues (演示数据), seeded; dated so the shipped file is reproducible.
patrol demo-layers $W/guixi_360681.gpkg --seed 2026 --date 2026-11-20
patrol demo-layers $W/haidian_110108.gpkg --seed 2026 --institutions 20 --clues 60 --date 2026-11-20
# Demonstration teams and inspectors (演示数据), seeded.
patrol demo-teams $W/guixi_360681.gpkg --seed 2026
patrol demo-teams $W/haidian_110108.gpkg --seed 2026 --teams 3 --inspectors 12
cp "$W/guixi_360681.gpkg" "$W/haidian_110108.gpkg" data/
# What a new user's data home gets for the default county: the same county after a simulated month
# of plans, results and clues (演示数据), so that the leaders' page has figures on first start.
cp data/guixi_360681.gpkg "$W/lived-in.gpkg"
patrol simulate "$W/lived-in.gpkg" --from 2026-11-01 --days 30 --seed 2026
mkdir -p data/lived-in
cp "$W/lived-in.gpkg" data/lived-in/guixi_360681.gpkg
