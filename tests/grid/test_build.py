from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import osmium
import pytest
from geopandas.testing import assert_geodataframe_equal

from core.errors import InputError, SchemaError, WorkspaceError
from grid.build import BuildSummary, build_workspace
from grid.check import check_workspace
from grid.demo import DEMO_LABEL
from store import GRID_LAYERS, open_store
from tests.conftest import GUIXI_OSM, HAIDIAN_OSM, SOURCES, build_guixi


def test_default_county_builds_all_four_levels(guixi_build: tuple[Path, BuildSummary]) -> None:
    path, summary = guixi_build
    assert summary.county_name == "贵溪市"
    assert summary.metric_crs == "EPSG:4548"
    assert summary.counts["county"] == 1
    assert summary.counts["township"] >= 4
    assert summary.counts["community"] >= 12
    assert summary.counts["building"] == 165
    ws = open_store(path)
    assert ws.meta()["county_code"] == "360681"
    assert "OpenStreetMap" in ws.meta()["attribution"]


def test_default_county_passes_check(guixi_build: tuple[Path, BuildSummary]) -> None:
    assert check_workspace(open_store(guixi_build[0])) == []


def test_real_township_polygon_is_kept_and_others_are_derived(guixi_build: tuple[Path, BuildSummary]) -> None:
    townships = open_store(guixi_build[0]).read("townships").set_index("code")
    assert townships.loc["360681003", "geometry_source"] == "osm-relation"  # 东门街道
    assert townships.loc["360681001", "geometry_source"] == "derived-voronoi"  # 花园街道


def test_default_county_build_gives_the_shipped_cells(guixi_build: tuple[Path, BuildSummary], tmp_path: Path) -> None:
    import shutil

    shipped = open_store(Path(shutil.copy2(SOURCES.parents[0] / "guixi_360681.gpkg", tmp_path / "shipped.gpkg")))
    built = open_store(guixi_build[0])
    for layer in GRID_LAYERS:
        left, right = (s.read(layer).to_crs(4548).set_index("code").sort_index() for s in (shipped, built))
        assert list(left.index) == list(right.index), layer
        for column in ("name", "parent_code", "geometry_source"):
            if column in left:
                assert left[column].fillna("").equals(right[column].fillna("")), (layer, column)
        moved = left.geometry.symmetric_difference(right.geometry, align=True).area
        assert moved.max() < 0.01, (layer, moved.idxmax())  # m²: the same cells, to rounding
    refused = [r.name for r in guixi_build[1].refused]
    assert refused == ["贵溪市滨江镇人民政府"]  # the seat of 滨江镇 lies in 东门街道's OSM polygon


def test_osm_names_are_matched_to_official_names(guixi_build: tuple[Path, BuildSummary]) -> None:
    path, summary = guixi_build
    communities = open_store(path).read("communities").set_index("code")
    assert communities.loc["360681003010", "name"] == "筲箕山居民委员会"
    assert communities.loc["360681003010", "osm_name"] == "烧箕山社区"
    assert communities.loc["360681003010", "match_method"] == "homophone"
    assert any("炼厂社区" in line for line in summary.unmatched)


def test_every_cell_has_a_demo_person_labelled_as_such(guixi_build: tuple[Path, BuildSummary]) -> None:
    ws = open_store(guixi_build[0])
    for layer in GRID_LAYERS:
        frame = ws.read(layer)
        assert frame["responsible_name"].str.len().gt(0).all()
        assert (frame["responsible_source"] == DEMO_LABEL).all()


def test_every_building_has_exactly_one_community(guixi_build: tuple[Path, BuildSummary]) -> None:
    ws = open_store(guixi_build[0])
    buildings = ws.read("buildings")
    assert buildings["code"].is_unique
    assert buildings["parent_code"].isin(ws.read("communities")["code"]).all()


def test_build_is_recorded_in_the_audit_log(guixi_build: tuple[Path, BuildSummary]) -> None:
    log = open_store(guixi_build[0]).audit_log()
    assert list(log["action"]) == ["build-workspace"]
    assert log["time"].iloc[0].endswith("+08:00")


def _xml_to_pbf(sources: list[Path], out: Path) -> Path:
    """Write the OSM files as one PBF, nodes first, then ways, then relations."""
    with osmium.SimpleWriter(str(out), overwrite=True) as writer:
        for kind in (osmium.osm.NODE, osmium.osm.WAY, osmium.osm.RELATION):
            for source in sources:
                for obj in osmium.FileProcessor(str(source), kind):
                    writer.add(obj)
    return out


def _assert_same_workspace(a: Path, b: Path) -> None:
    for layer in (*GRID_LAYERS, "road_edges", "places", "pois"):
        left, right = open_store(a).read(layer), open_store(b).read(layer)
        assert_geodataframe_equal(left, right, check_less_precise=True, normalize=True)


def test_pbf_of_the_same_export_gives_the_same_workspace(
    guixi_build: tuple[Path, BuildSummary], tmp_path: Path
) -> None:
    pbf = _xml_to_pbf([GUIXI_OSM], tmp_path / "guixi.osm.pbf")
    build_guixi(tmp_path / "from_pbf.gpkg", pbf)
    _assert_same_workspace(guixi_build[0], tmp_path / "from_pbf.gpkg")


def test_larger_pbf_is_clipped_to_the_county(guixi_build: tuple[Path, BuildSummary], tmp_path: Path) -> None:
    # 贵溪 and 海淀 in one file, as a provincial extract holds many counties.
    pbf = _xml_to_pbf([GUIXI_OSM, HAIDIAN_OSM], tmp_path / "both.osm.pbf")
    build_guixi(tmp_path / "from_big.gpkg", pbf)
    _assert_same_workspace(guixi_build[0], tmp_path / "from_big.gpkg")


def test_haidian_sample_builds(tmp_path: Path) -> None:
    summary = build_workspace(
        osm_path=HAIDIAN_OSM,
        streets_path=SOURCES / "admin" / "streets_110108.csv",
        villages_path=SOURCES / "admin" / "villages_110108.csv",
        boundary_path=SOURCES / "boundaries" / "county_110108_fastgeocn_wgs84.geojson",
        out_path=tmp_path / "haidian.gpkg", actor="tester",
    )
    assert summary.county_name == "海淀区"
    assert summary.counts["building"] > 500
    assert summary.counts["community"] >= 3
    # Wudaokou's own outlines overlap (a 975 m² block drawn over two smaller ones): repaired, listed, checked
    assert any(item.startswith("way/226671435 ") for item in summary.repairs["overlap"])
    assert check_workspace(open_store(tmp_path / "haidian.gpkg")) == []


def _write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_gbk_encoded_code_lists_are_read(tmp_path: Path) -> None:
    streets = (SOURCES / "admin" / "streets_360681.csv").read_text(encoding="utf-8")
    villages = (SOURCES / "admin" / "villages_360681.csv").read_text(encoding="utf-8")
    summary = build_workspace(
        osm_path=GUIXI_OSM,
        streets_path=_write_csv(tmp_path / "streets.csv", streets, "gbk"),
        villages_path=_write_csv(tmp_path / "villages.csv", villages, "gbk"),
        boundary_path=SOURCES / "boundaries" / "county_360681_cnmaps_amap_gcj02.geojson",
        boundary_crs="gcj02", county_name="贵溪市", out_path=tmp_path / "ws.gpkg", actor="tester",
    )
    assert summary.counts["community"] >= 12


@pytest.mark.parametrize(
    ("streets", "message"),
    [
        ("code,title,areaCode\n360681001,花园街道,360681\n", "missing column 'name'"),
        ("code,name,areaCode\n360681001,花园街道,360681\n360681001,雄石街道,360681\n",
         "360681001 appears more than once"),
        ("code,name,areaCode\n36068100X,花园街道,360681\n", "line 2: code '36068100X'"),
        ("code,name,areaCode\n360681001,花园街道,360681\n360682001,某镇,360682\n", "several counties"),
    ],
)
def test_bad_code_lists_are_rejected_naming_the_line(tmp_path: Path, streets: str, message: str) -> None:
    villages = "code,name,streetCode\n360681001001,白果居民委员会,360681001\n"
    with pytest.raises(SchemaError, match=message):
        build_workspace(
            osm_path=GUIXI_OSM, streets_path=_write_csv(tmp_path / "s.csv", streets),
            villages_path=_write_csv(tmp_path / "v.csv", villages), out_path=tmp_path / "ws.gpkg", actor="tester",
        )
    assert not (tmp_path / "ws.gpkg").exists()


def test_boundary_without_polygon_is_rejected(tmp_path: Path) -> None:
    line = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(["LINESTRING (117 28, 117.3 28.3)"]), crs=4326)
    line.to_file(tmp_path / "line.geojson")
    with pytest.raises(InputError, match="no polygon"):
        build_workspace(
            osm_path=GUIXI_OSM, streets_path=SOURCES / "admin" / "streets_360681.csv",
            villages_path=SOURCES / "admin" / "villages_360681.csv",
            boundary_path=tmp_path / "line.geojson", out_path=tmp_path / "ws.gpkg", actor="tester",
        )


def test_unknown_osm_file_type_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown OSM file type"):
        build_workspace(
            osm_path=tmp_path / "roads.shp", streets_path=SOURCES / "admin" / "streets_360681.csv",
            villages_path=SOURCES / "admin" / "villages_360681.csv", out_path=tmp_path / "ws.gpkg", actor="tester",
        )


def _stripped(tmp_path: Path, name: str, pattern: str) -> Path:
    """The 贵溪 extract with the tags matching ``pattern`` removed, as extracts without names come."""
    import re

    text = re.sub(pattern, "", GUIXI_OSM.read_text(encoding="utf-8"))
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _build(tmp_path: Path, osm: Path, boundary: Path | None = None, crs: str | None = "gcj02") -> BuildSummary:
    return build_workspace(
        osm_path=osm, streets_path=SOURCES / "admin" / "streets_360681.csv",
        villages_path=SOURCES / "admin" / "villages_360681.csv",
        boundary_path=boundary or SOURCES / "boundaries" / "county_360681_cnmaps_amap_gcj02.geojson",
        boundary_crs=crs if boundary is None else None, out_path=tmp_path / "ws.gpkg", actor="tester",
    )


def test_an_extract_with_only_roads_and_buildings_is_refused_in_one_sentence(tmp_path: Path) -> None:
    osm = _stripped(tmp_path, "bare.osm", r'\s*<tag k="(place|boundary|admin_level|name[^"]*|office|amenity|landuse)"'
                                          r' v="[^"]*"\s*/>')
    with pytest.raises(InputError, match=r"none of the 33 official townships of 贵溪市 .* could be located"):
        _build(tmp_path, osm)
    assert not (tmp_path / "ws.gpkg").exists()


def test_townships_without_located_communities_are_kept_whole_and_pass_check(tmp_path: Path) -> None:
    osm = _stripped(tmp_path, "towns.osm", r'\s*<tag k="(place" v="(quarter|village|neighbourhood|hamlet|locality)'
                                           r'|landuse" v="residential)"\s*/>')
    summary = _build(tmp_path, osm)
    ws = open_store(tmp_path / "ws.gpkg")
    assert check_workspace(ws) == []
    communities = ws.read("communities")
    assert summary.counts["community"] == len(communities) >= 1
    assert communities["code"].str.endswith("000").all() and communities["name"].str.endswith("（未分社区）").all()
    assert any("are one cell" in w for w in summary.warnings)
    assert (ws.read("buildings")["parent_code"] != "").all()  # every building has one answer


@pytest.mark.parametrize(("case", "message"), [
    ("empty", "is empty"),
    ("truncated", "cannot be read .*cut off"),
])
def test_broken_osm_files_are_named_with_the_problem(tmp_path: Path, case: str, message: str) -> None:
    osm = tmp_path / f"{case}.osm"
    osm.write_bytes(b"" if case == "empty" else GUIXI_OSM.read_bytes()[:300_000])
    with pytest.raises(InputError, match=f"{case}.osm {message}"):
        _build(tmp_path, osm)
    assert not list(tmp_path.glob("*.gpkg")) and not list(tmp_path.glob(".*"))


def test_a_boundary_of_another_county_is_refused_and_a_broken_one_repaired(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not overlap the OSM file"):
        _build(tmp_path, GUIXI_OSM, SOURCES / "boundaries" / "county_110108_fastgeocn_wgs84.geojson")
    assert not (tmp_path / "ws.gpkg").exists()
    bowtie = gpd.GeoDataFrame(geometry=gpd.GeoSeries.from_wkt(
        ["POLYGON ((117.1 28.2, 117.3 28.4, 117.3 28.2, 117.1 28.4, 117.1 28.2))"]), crs=4326)
    bowtie.to_file(tmp_path / "bowtie.geojson")
    summary = _build(tmp_path, GUIXI_OSM, tmp_path / "bowtie.geojson")
    assert any("repaired with make_valid" in w for w in summary.warnings)
    assert check_workspace(open_store(tmp_path / "ws.gpkg")) == []


def test_a_rebuild_never_overwrites_casework_unless_told(tmp_path: Path) -> None:
    import shutil

    import pandas as pd

    from tests.helpers import replace_layers

    target = Path(shutil.copy2(SOURCES.parents[0] / "guixi_360681.gpkg", tmp_path / "ws.gpkg"))
    replace_layers(open_store(target), {"plans": pd.DataFrame({"plan_id": ["P1"], "date": ["2026-11-23"]})})
    with pytest.raises(WorkspaceError, match="already holds plans"):
        _build(tmp_path, GUIXI_OSM)
    assert open_store(target).has_layer("plans")
    build_workspace(osm_path=GUIXI_OSM, streets_path=SOURCES / "admin" / "streets_360681.csv",
                    villages_path=SOURCES / "admin" / "villages_360681.csv", out_path=target, actor="tester",
                    replace=True)
    assert not open_store(target).has_layer("plans")
