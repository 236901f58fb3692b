"""Hotspots: our pipeline against esda's Gi* computed independently, planted and absent hotspots."""

from __future__ import annotations

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import Queen, lat2W

from core.settings import load_risk_settings as load_settings
from layers import hotspots
from store import open_store

TODAY = pd.Timestamp("2026-11-20", tz="Asia/Shanghai")


def _clues(points: gpd.GeoSeries, days_ago: np.ndarray) -> gpd.GeoDataFrame:
    received = [(TODAY - pd.Timedelta(days=float(d))).isoformat(timespec="minutes") for d in days_ago]
    return gpd.GeoDataFrame({"received_at": received}, geometry=points.to_crs(4326).to_numpy(), crs=4326)


def test_recency_weights_halve_every_half_life() -> None:
    received = pd.Series(["2026-11-20T09:00+08:00", "2026-10-21T23:59+08:00", "2026-11-25T09:00+08:00"])
    w = hotspots.clue_weights(received, TODAY, 30)
    assert w[0] == pytest.approx(0.5 ** (15 / 24 / 30), rel=1e-6)
    assert w[1] == pytest.approx(0.5, abs=0.01)
    assert w[2] == 0.0  # after the reference day: not counted


def test_cell_gi_star_agrees_with_esda(guixi_build: tuple) -> None:
    ws = open_store(guixi_build[0])
    metric = ws.meta()["metric_crs"]
    cells = ws.read("communities").to_crs(metric)
    rng = np.random.default_rng(7)
    buildings = ws.read("buildings").to_crs(metric).geometry.representative_point()
    points = buildings.iloc[rng.integers(0, len(buildings), 80)].reset_index(drop=True)
    days = rng.uniform(0, 120, 80)
    clues = _clues(points, days)
    settings = load_settings().hotspots
    weights = hotspots.clue_weights(clues["received_at"], TODAY, settings.half_life_days)
    ours = hotspots.cell_hotspots(cells, clues, weights, window_start=TODAY, settings=settings)
    # independently: sum weights per cell with a plain point-in-polygon, Queen weights from libpysal
    y = np.array([weights[points.within(geom).to_numpy()].sum() for geom in cells.geometry])
    np.testing.assert_allclose(ours["weighted"], y.round(4), atol=1e-4)
    w = Queen.from_dataframe(cells.reset_index(drop=True), use_index=False, silence_warnings=True)
    gi = esda.G_Local(y, w, transform="B", star=True, permutations=settings.permutations, seed=settings.seed,
                      n_jobs=1)
    # identical up to one permutation: summing in another order can flip an exact tie
    np.testing.assert_allclose(ours["p_value"], gi.p_sim, atol=1.01 / (settings.permutations + 1))
    np.testing.assert_allclose(ours["gi_z"], gi.z_sim, atol=1e-3)
    cutoff = esda.fdr(gi.p_sim, settings.alpha)
    assert list(ours["label"] == "hot") == list((gi.p_sim <= cutoff) & (gi.z_sim > 0))


def test_lattice_neighbours_match_libpysal() -> None:
    rows, cols = 5, 7
    c, r = np.meshgrid(np.arange(cols), np.arange(rows))
    ours = hotspots.lattice_weights(c.ravel(), r.ravel())
    theirs = lat2W(rows, cols, rook=False)
    assert {i: sorted(n) for i, n in ours.neighbors.items()} == {i: sorted(n) for i, n in theirs.neighbors.items()}


def _surface(points: gpd.GeoSeries, extent: object) -> gpd.GeoDataFrame:
    settings = load_settings().hotspots
    clues = _clues(points, np.zeros(len(points))).to_crs(points.crs)
    return hotspots.surface(extent, clues, np.ones(len(points)), metric_crs=str(points.crs), settings=settings)


def test_planted_hotspot_is_found_and_uniform_noise_is_not() -> None:
    from shapely.geometry import box

    rng = np.random.default_rng(3)
    extent = box(500_000, 3_100_000, 505_000, 3_105_000)
    noise = gpd.GeoSeries(gpd.points_from_xy(rng.uniform(500_000, 505_000, 150),
                                             rng.uniform(3_100_000, 3_105_000, 150)), crs="EPSG:4548")
    flat = _surface(noise, extent)
    assert (flat["label"] == "hot").sum() <= 2  # FDR keeps false alarms rare
    cluster = gpd.GeoSeries(gpd.points_from_xy(rng.normal(502_600, 120, 60), rng.normal(3_102_600, 120, 60)),
                            crs="EPSG:4548")
    planted = _surface(pd.concat([noise, cluster], ignore_index=True), extent)
    hot = planted[planted["label"] == "hot"].to_crs("EPSG:4548")
    assert len(hot) >= 3
    assert hot.union_all().distance(gpd.points_from_xy([502_600], [3_102_600])[0]) == 0
    peak = planted.to_crs("EPSG:4548").sort_values("density").iloc[-1].geometry.centroid
    assert peak.distance(gpd.points_from_xy([502_600], [3_102_600])[0]) < 400
