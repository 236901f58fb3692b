"""Where clues concentrate: Getis-Ord Gi* hot cells and a smooth recency-weighted surface.

Each clue weighs ``0.5 ** (age_days / half_life_days)``, so recent clues count more. Two
views are computed, as in ArcGIS's optimized hot-spot analysis:

* per community cell of the grid (the unit a responsible person answers for), with Queen
  contiguity;
* on a square lattice over the built-up area, with each lattice cell's 8 neighbours.

On both, Gi* (``esda.G_Local`` with ``star=True`` and binary weights) gives a z-score and a
pseudo p-value from conditional permutations with a fixed seed. A cell is *hot*
only if its z is positive and its p-value passes the Benjamini–Hochberg false-discovery-rate cut-off
(``esda.fdr``) — raw counts alone do not make a hotspot. The lattice also carries a Gaussian
kernel density of the weighted clues: the smooth surface shown on the map.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from libpysal.weights import Queen, W

from core.clock import TIMEZONE, local_day
from core.settings import HotspotSettings
from grid.crs import DISPLAY_CRS


@dataclass(frozen=True)
class GiResult:
    """Gi* per observation and the false-discovery-rate cut-off used."""

    z: np.ndarray
    p: np.ndarray
    cutoff: float
    label: np.ndarray  # "hot" or ""


def clue_weights(received_at: pd.Series, today: pd.Timestamp, half_life_days: float) -> np.ndarray:
    """Recency weight of each clue: 1 today, 0.5 one half-life ago; clues after ``today`` weigh 0."""
    times = pd.to_datetime(received_at, utc=True, format="ISO8601").dt.tz_convert(TIMEZONE)
    end_of_day = local_day(today) + pd.Timedelta(days=1)
    age = (end_of_day - times).dt.total_seconds().to_numpy() / 86400.0
    weights = np.power(0.5, np.clip(age, 0, None) / half_life_days)
    weights[age < 0] = 0.0
    return weights


def gi_star(values: np.ndarray, weights: W, *, permutations: int, seed: int, alpha: float,
            min_events: float = 0) -> GiResult:
    """Gi* with binary weights including the focal cell, FDR-corrected at ``alpha``.

    The z-score is the one standardised by the permutations (``z_sim``), so that it agrees with
    the pseudo p-value. With fewer than ``min_events`` (the sum of ``values``) nothing is tested.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 3 or values.sum() <= 0 or np.count_nonzero(values) < min_events:
        return GiResult(np.zeros(n), np.ones(n), alpha / max(n, 1), np.full(n, "", dtype=object))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gi = esda.G_Local(values, weights, transform="B", star=True, permutations=permutations,
                          seed=seed, n_jobs=1, keep_simulations=True)
    z = np.nan_to_num(np.asarray(gi.z_sim, dtype=float))
    p = np.asarray(gi.p_sim, dtype=float)
    cutoff = float(esda.fdr(p, alpha))
    # Only hot cells are labelled: on zero-inflated clue counts, "cold" cells are just empty ones.
    label = np.where((p <= cutoff) & (z > 0), "hot", "").astype(object)
    return GiResult(z, p, cutoff, label)


def queen_weights(cells: gpd.GeoDataFrame) -> W:
    """Queen contiguity of polygons, ids 0..n-1 in row order."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Queen.from_dataframe(cells.reset_index(drop=True), use_index=False, silence_warnings=True)


def lattice_weights(columns: np.ndarray, rows: np.ndarray) -> W:
    """The 8 surrounding lattice cells of each cell (ids 0..n-1 in the order given)."""
    position = {(int(c), int(r)): i for i, (c, r) in enumerate(zip(columns, rows, strict=True))}
    neighbours: dict[int, list[int]] = {}
    for (c, r), i in position.items():
        neighbours[i] = [position[(c + dc, r + dr)] for dc in (-1, 0, 1) for dr in (-1, 0, 1)
                         if (dc or dr) and (c + dc, r + dr) in position]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return W(neighbours, silence_warnings=True)


def cell_hotspots(cells: gpd.GeoDataFrame, clues: gpd.GeoDataFrame, weights: np.ndarray, *,
                  window_start: pd.Timestamp, settings: HotspotSettings) -> gpd.GeoDataFrame:
    """Per community cell: clue counts, recency-weighted sum, Gi* z and p, hot/cold label."""
    metric = cells.crs
    located = clues.assign(_w=weights)[clues.geometry.notna()].to_crs(metric)
    joined = gpd.sjoin(located, cells[["code", "geometry"]], how="inner", predicate="within")
    joined = joined[~joined.index.duplicated()]
    recent = pd.to_datetime(joined["received_at"], utc=True, format="ISO8601") >= window_start
    out = cells[["code", "name", "geometry"]].reset_index(drop=True).copy()
    out["clues"] = out["code"].map(joined.groupby("code").size()).fillna(0).astype(int)
    out["clues_recent"] = out["code"].map(joined[recent].groupby("code").size()).fillna(0).astype(int)
    weighted = out["code"].map(joined.groupby("code")["_w"].sum()).fillna(0.0).to_numpy(dtype=float)
    out["weighted"] = weighted.round(4)
    result = gi_star(weighted, queen_weights(out), permutations=settings.permutations,
                     seed=settings.seed, alpha=settings.alpha, min_events=settings.min_clues)
    out["gi_z"], out["p_value"], out["label"] = result.z.round(3), result.p, result.label
    out["fdr_cutoff"] = result.cutoff
    return out.to_crs(DISPLAY_CRS)


def lattice(extent: shapely.Geometry, size_m: float) -> gpd.GeoDataFrame:
    """Square cells of side ``size_m`` covering ``extent`` (metric CRS), with column/row numbers.

    Cells are aligned on multiples of ``size_m``, so column ``c`` starts at ``c * size_m``.
    """
    minx, miny, maxx, maxy = extent.bounds
    minx, miny = np.floor(minx / size_m) * size_m, np.floor(miny / size_m) * size_m
    first_col, first_row = int(minx / size_m), int(miny / size_m)
    cols = np.arange(int(np.ceil((maxx - minx) / size_m)))
    rows = np.arange(int(np.ceil((maxy - miny) / size_m)))
    col_grid, row_grid = np.meshgrid(cols, rows)
    cc, rr = col_grid.ravel(), row_grid.ravel()
    boxes = shapely.box(minx + cc * size_m, miny + rr * size_m, minx + (cc + 1) * size_m, miny + (rr + 1) * size_m)
    frame = gpd.GeoDataFrame({"col": cc + first_col, "row": rr + first_row}, geometry=boxes)
    return frame[frame.intersects(extent)].reset_index(drop=True)


def surface(extent: shapely.Geometry, clues_metric: gpd.GeoDataFrame, weights: np.ndarray, *, metric_crs: str,
            settings: HotspotSettings) -> gpd.GeoDataFrame:
    """The lattice with kernel density (weighted clues per km²) and Gi* of weighted counts."""
    grid = lattice(extent, settings.lattice_m).set_crs(metric_crs)
    located = clues_metric.geometry.notna().to_numpy()
    points = clues_metric.geometry[located]
    w = weights[located]
    centres = grid.geometry.centroid
    cx, cy = centres.x.to_numpy(), centres.y.to_numpy()
    px, py = points.x.to_numpy(), points.y.to_numpy()
    h = float(settings.bandwidth_m)
    d2 = (cx[:, None] - px[None, :]) ** 2 + (cy[:, None] - py[None, :]) ** 2
    density = (np.exp(-d2 / (2 * h * h)) * w[None, :]).sum(axis=1) / (2 * np.pi * h * h) * 1e6
    size = float(settings.lattice_m)
    col, row = np.floor(px / size).astype(int), np.floor(py / size).astype(int)
    index = {(int(c), int(r)): i for i, (c, r) in enumerate(zip(grid["col"], grid["row"], strict=True))}
    counts = np.zeros(len(grid))
    for c, r, weight in zip(col, row, w, strict=True):
        i = index.get((int(c), int(r)))
        if i is not None:
            counts[i] += weight
    result = gi_star(counts, lattice_weights(grid["col"].to_numpy(), grid["row"].to_numpy()),
                     permutations=settings.permutations, seed=settings.seed, alpha=settings.alpha,
                     min_events=settings.min_clues)
    grid["weighted"] = counts.round(4)
    grid["density"] = density.round(4)
    grid["gi_z"], grid["p_value"], grid["label"] = result.z.round(3), result.p, result.label
    grid["fdr_cutoff"] = result.cutoff
    return grid.to_crs(DISPLAY_CRS)


def count_hot_lattice(cells: gpd.GeoDataFrame, surface: gpd.GeoDataFrame, metric: str) -> pd.Series:
    """Number of hot lattice cells whose centre lies in each community cell (indexed like ``cells``)."""
    hot = surface[surface["label"] == "hot"]
    if hot.empty:
        return pd.Series(0, index=cells.index, dtype=int)
    centres = gpd.GeoDataFrame(geometry=hot.to_crs(metric).geometry.centroid, crs=metric)
    joined = gpd.sjoin(centres, cells.to_crs(metric)[["geometry"]], how="inner", predicate="within")
    return joined.groupby("index_right").size().reindex(cells.index, fill_value=0).astype(int)
