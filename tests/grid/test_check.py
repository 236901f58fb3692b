"""One broken workspace per kind of problem; ``patrol check`` names the layer, code and fault."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pytest
import shapely
from shapely.affinity import translate

from grid.check import check_workspace
from patrol.cli import main
from store import Store
from tests.helpers import replace_layers

Breaker = Callable[[dict[str, gpd.GeoDataFrame]], None]


def _duplicate_code(layers: dict[str, gpd.GeoDataFrame]) -> None:
    layers["communities"].loc[1, "code"] = layers["communities"].loc[0, "code"]


def _invalid_geometry(layers: dict[str, gpd.GeoDataFrame]) -> None:
    bowtie = shapely.Polygon([(117.2, 28.3), (117.21, 28.31), (117.21, 28.3), (117.2, 28.31)])
    layers["buildings"].loc[0, "geometry"] = bowtie


def _outside_parent(layers: dict[str, gpd.GeoDataFrame]) -> None:
    layers["buildings"].loc[0, "geometry"] = translate(layers["buildings"].loc[0, "geometry"], xoff=0.05)


def _overlap(layers: dict[str, gpd.GeoDataFrame]) -> None:
    communities = layers["communities"]
    communities.loc[0, "geometry"] = communities.loc[0, "geometry"].buffer(0.002)


def _overlapping_buildings(layers: dict[str, gpd.GeoDataFrame]) -> None:
    buildings = layers["buildings"]  # one outline for buildings of two communities: a point would have two
    other = buildings.index[buildings["parent_code"] != buildings.loc[0, "parent_code"]][0]
    buildings.loc[other, "geometry"] = buildings.loc[0, "geometry"]


def _gap(layers: dict[str, gpd.GeoDataFrame]) -> None:
    communities = layers["communities"]
    communities.loc[0, "geometry"] = communities.loc[0, "geometry"].buffer(-0.002)


def _no_person(layers: dict[str, gpd.GeoDataFrame]) -> None:
    layers["townships"].loc[0, "responsible_name"] = ""


def _unknown_parent(layers: dict[str, gpd.GeoDataFrame]) -> None:
    layers["communities"].loc[0, "parent_code"] = "360681999"


CASES: dict[str, tuple[Breaker, str, str]] = {
    "duplicate code": (_duplicate_code, "communities", "codes must be unique"),
    "invalid geometry": (_invalid_geometry, "buildings", "invalid geometry (Self-intersection"),
    "child outside parent": (_outside_parent, "buildings", "lie outside parent"),
    "overlapping siblings": (_overlap, "communities", "overlaps sibling"),
    "overlapping buildings": (_overlapping_buildings, "buildings", "overlaps building"),
    "gap in parent": (_gap, "townships", "not covered by any of its communities"),
    "no responsible person": (_no_person, "townships", "no responsible name"),
    "unknown parent": (_unknown_parent, "communities", "parent '360681999' not found"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_check_reports_each_kind_of_problem(guixi_copy: Store, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    breaker, layer, message = CASES[case]
    layers = {name: guixi_copy.read(name) for name in ("townships", "communities", "buildings")}
    breaker(layers)
    replace_layers(guixi_copy, layers, action="test-break", detail=case)
    problems = check_workspace(guixi_copy)
    assert any(p.layer == layer and message in p.message for p in problems), problems
    assert main(["check", guixi_copy.location]) == 1
    out = capsys.readouterr().out
    assert message in out
    assert out.splitlines()[0].startswith(("county ", "townships ", "communities ", "buildings "))


def test_check_exits_zero_on_a_clean_workspace(guixi_copy: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", guixi_copy.location]) == 0
    assert "clean" in capsys.readouterr().out


def test_check_on_a_missing_file_says_how_to_build_one(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "/nonexistent/ws.gpkg"]) == 2
    assert "patrol build-workspace" in capsys.readouterr().err
