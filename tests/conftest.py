"""Shared fixtures: workspaces built from the real inputs shipped in data/sources/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grid.build import BuildSummary, build_workspace
from grid.storage import Workspace

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "data" / "sources"
GUIXI_OSM = SOURCES / "osm" / "cn_jiangxi_guixi_county_town.osm"
HAIDIAN_OSM = SOURCES / "osm" / "cn_beijing_haidian_wudaokou_pku_tsinghua.osm"


def build_guixi(out: Path, osm_path: Path = GUIXI_OSM) -> BuildSummary:
    """Build the 贵溪 workspace as scripts/build_default.sh does."""
    return build_workspace(
        osm_path=osm_path,
        streets_path=SOURCES / "admin" / "streets_360681.csv",
        villages_path=SOURCES / "admin" / "villages_360681.csv",
        boundary_path=SOURCES / "boundaries" / "county_360681_cnmaps_amap_gcj02.geojson",
        boundary_crs="gcj02",
        out_path=out,
    )


@pytest.fixture(scope="session")
def guixi_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildSummary]:
    out = tmp_path_factory.mktemp("guixi") / "guixi.gpkg"
    return out, build_guixi(out)


@pytest.fixture
def guixi_copy(guixi_build: tuple[Path, BuildSummary], tmp_path: Path) -> Workspace:
    """A private copy of the built workspace that a test may change."""
    target = tmp_path / "ws.gpkg"
    shutil.copy2(guixi_build[0], target)
    return Workspace(target)


@pytest.fixture(scope="session", autouse=True)
def shipped_workspaces_stay_untouched():
    """Fail the run if any test wrote to the embedded workspaces in data/ (tests use copies)."""
    before = {p: p.read_bytes() for p in (ROOT / "data").glob("*.gpkg")}
    yield
    changed = [p.name for p, content in before.items() if p.read_bytes() != content]
    assert not changed, f"a test wrote to the shipped workspace(s) {changed}; use a copy"
