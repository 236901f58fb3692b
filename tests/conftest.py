"""Shared fixtures: workspaces built from the real inputs shipped in data/sources/."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from core.settings import load_patrol_settings
from grid.build import BuildSummary, build_workspace
from store import Store
from tests.helpers import on_backend

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
        actor="test-build",
    )


@pytest.fixture(scope="session")
def guixi_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildSummary]:
    out = tmp_path_factory.mktemp("guixi") / "guixi.gpkg"
    return out, build_guixi(out)


@pytest.fixture
def guixi_copy(guixi_build: tuple[Path, BuildSummary], tmp_path: Path) -> Store:
    """A private copy of the built workspace that a test may change."""
    target = tmp_path / "ws.gpkg"
    shutil.copy2(guixi_build[0], target)
    return on_backend(target)


@pytest.fixture(scope="session", autouse=True)
def postgres_server(tmp_path_factory: pytest.TempPathFactory):
    """The PostgreSQL server the PostGIS tests use: ``$PATROL_TEST_POSTGRES_URL``, or one started here."""
    if os.environ.get("PATROL_TEST_POSTGRES_URL"):
        yield os.environ["PATROL_TEST_POSTGRES_URL"]
        return
    base = Path(tempfile.mkdtemp(prefix="patrol-pg."))
    base.chmod(0o755)  # the server runs as the postgres user when the tests run as root
    folder = base / "cluster"
    port = str(55500 + os.getpid() % 400)
    script = ROOT / "scripts" / "postgres.sh"
    started = subprocess.run(["bash", str(script), "start", str(folder), port], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"could not start PostgreSQL for the tests: {started.stderr.strip()}", pytrace=False)
    os.environ["PATROL_TEST_POSTGRES_URL"] = started.stdout.strip()
    try:
        yield os.environ["PATROL_TEST_POSTGRES_URL"]
    finally:
        from store.postgis import dispose_engines

        dispose_engines()
        subprocess.run(["bash", str(script), "stop", str(folder)], capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)
        del os.environ["PATROL_TEST_POSTGRES_URL"]


@pytest.fixture(autouse=True)
def private_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test has its own data home and routing cache, so no test depends on what a user did in the
    app or on what an earlier run left in a cache."""
    home = tmp_path / "patrol-home"
    monkeypatch.setenv("PATROL_HOME", str(home))
    monkeypatch.setenv("PATROL_CACHE", str(home / "cache"))  # never the developer's own routing cache
    return home


@pytest.fixture(scope="session", autouse=True)
def shipped_workspaces_stay_untouched():
    """Fail the run if any test wrote to the embedded workspaces in data/ (tests use copies)."""
    before = {p: p.read_bytes() for p in (ROOT / "data").glob("*.gpkg")}
    yield
    changed = [p.name for p, content in before.items() if p.read_bytes() != content]
    assert not changed, f"a test wrote to the shipped workspace(s) {changed}; use a copy"


SHIPPED = ROOT / "data" / "guixi_360681.gpkg"


@pytest.fixture
def guixi_ws(tmp_path: Path) -> Store:
    """A private copy of the shipped 贵溪 workspace (with demo teams) on the backend under test."""
    target = tmp_path / "guixi.gpkg"
    shutil.copy2(SHIPPED, target)
    return on_backend(target)


@pytest.fixture(scope="session")
def settings() -> dict:
    return load_patrol_settings()
