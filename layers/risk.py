"""Risk scores of sites and cells, each with its reasons in plain Chinese.

``analyse`` derives every analysis layer from the workspace (and, during an import, from the
frames about to be written), so derived layers are always written in the same transaction as
the data they come from. The formula is documented in ``docs/risk.md`` and its weights live in
``settings/risk.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from access.roles import Permission, Principal, authorize
from core.clock import local_day
from core.settings import RiskSettings, load_risk_settings
from core.visits import VisitKind, visit_ids
from grid.crs import DISPLAY_CRS
from layers import hotspots
from layers.importer import ImportResult, import_file
from layers.places import PLACE_LABELS, high_risk_places, nearest_school, schools
from layers.schema import CLUE_COLUMNS, INSTITUTION_COLUMNS, label
from store import Store

ANALYSIS_LAYERS = ("risk_places", "hotspot_cells", "hotspot_surface", "risk_sites", "risk_cells")


def empty_layer(columns: list[str]) -> gpd.GeoDataFrame:
    """An empty point layer with ``columns`` (for a workspace without institutions or clues yet)."""
    return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in columns}, geometry=[], crs=DISPLAY_CRS)


def _reasons(parts: list[tuple[float, str]]) -> str:
    return "；".join(text for weight, text in sorted(parts, key=lambda p: -p[0]) if weight > 0)


def _score(factors: dict[str, float], weights: Mapping[str, float]) -> float:
    total = sum(weights.values())
    return round(sum(weights[k] * factors.get(k, 0.0) for k in weights) / total, 4)


def analyse(ws: Store, *, institutions: gpd.GeoDataFrame | None = None, clues: gpd.GeoDataFrame | None = None,
            today: str | pd.Timestamp | None = None, settings: RiskSettings | None = None,
            ) -> dict[str, pd.DataFrame]:
    """Compute the analysis layers (see :data:`ANALYSIS_LAYERS`) as of ``today`` (Asia/Shanghai)."""
    settings = settings or load_risk_settings(store=ws)
    day = local_day(today)
    metric = ws.meta()["metric_crs"]
    if institutions is None:
        institutions = ws.read("institutions") if ws.has_layer("institutions") else empty_layer(INSTITUTION_COLUMNS)
    if clues is None:
        clues = ws.read("clues") if ws.has_layer("clues") else empty_layer(CLUE_COLUMNS)
    buildings, pois = ws.read("buildings"), ws.read("pois")
    communities = ws.read("communities").to_crs(metric)
    hs = settings.hotspots
    weights = hotspots.clue_weights(clues["received_at"], day, hs.half_life_days) if len(clues) else np.zeros(0)
    window = settings.clue_window_days
    window_start = (day - pd.Timedelta(days=window - 1)).normalize()
    cells = hotspots.cell_hotspots(communities, clues, weights, window_start=window_start, settings=hs)
    clues_m = clues.to_crs(metric)
    extent_parts = pd.concat([buildings.to_crs(metric).geometry.centroid, clues_m.geometry.dropna()])
    extent = extent_parts.union_all().convex_hull.buffer(hs.bandwidth_m).intersection(
        ws.read("county").to_crs(metric).geometry.iloc[0])
    surface = hotspots.surface(extent, clues_m, weights, metric_crs=metric, settings=hs)
    cells["hot_lattice_cells"] = hotspots.count_hot_lattice(cells, surface, metric)
    places = high_risk_places(buildings, pois, institutions, metric_crs=metric,
                              school_radius_m=settings.near_school_radius_m)
    sites = _site_scores(institutions, places, clues_m, cells, surface, pois, day=day, window_start=window_start,
                         metric=metric, settings=settings)
    cell_scores = _cell_scores(cells, sites, settings)
    as_of = day.date().isoformat()
    out = {"risk_places": places, "hotspot_cells": cells, "hotspot_surface": surface, "risk_sites": sites,
           "risk_cells": cell_scores}
    for frame in out.values():
        frame["as_of"] = as_of
    return out


def _site_frame(institutions: gpd.GeoDataFrame, places: gpd.GeoDataFrame, metric: str) -> gpd.GeoDataFrame:
    inst = institutions[institutions.geometry.notna()]
    a = pd.DataFrame({
        "site_id": visit_ids(VisitKind.INSTITUTION, inst["institution_id"]), "site_type": "institution",
        "name": inst["name"],
        "status": inst["status"], "kind": inst["kind"], "building_code": inst["building_code"].fillna(""),
        "last_inspected": inst["last_inspected"].fillna(""), "place_kinds": "", "geometry": inst.geometry,
    })
    b = pd.DataFrame({
        "site_id": visit_ids(VisitKind.PLACE, places["place_id"]), "site_type": "place", "name": places["name"],
        "status": "", "kind": "", "building_code": places["building_code"], "last_inspected": "",
        "place_kinds": places["kinds"], "geometry": places.geometry,
    })
    frame = pd.concat([a, b], ignore_index=True) if len(a) else b.reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=DISPLAY_CRS).to_crs(metric)


def _site_scores(institutions: gpd.GeoDataFrame, places: gpd.GeoDataFrame, clues_m: gpd.GeoDataFrame,
                 cells: gpd.GeoDataFrame, surface: gpd.GeoDataFrame, pois: gpd.GeoDataFrame, *,
                 day: pd.Timestamp, window_start: pd.Timestamp, metric: str, settings: RiskSettings,
                 ) -> gpd.GeoDataFrame:
    site = _site_frame(institutions, places, metric)
    weights = settings.site_weights
    status_f, kind_f, place_f = settings.status_factors, settings.kind_factors, settings.place_factors
    window = settings.clue_window_days
    located = clues_m[clues_m.geometry.notna()]
    recent = located[pd.to_datetime(located["received_at"], utc=True, format="ISO8601") >= window_start]
    cells_m = cells.to_crs(metric)
    in_cell = gpd.sjoin(site[["geometry"]], cells_m[["code", "name", "label", "gi_z", "geometry"]],
                        how="left", predicate="within")
    in_cell = in_cell[~in_cell.index.duplicated()]
    hot_surface = surface[surface["label"] == "hot"].to_crs(metric)
    in_hot_area = site.geometry.intersects(hot_surface.union_all()) if len(hot_surface) else \
        pd.Series(False, index=site.index)
    school_distance, school_names = nearest_school(site.geometry, schools(pois))
    near_r, overdue_days = settings.near_school_radius_m, settings.overdue_days
    scores, reasons, communities = [], [], []
    for i, row in enumerate(site.itertuples()):
        factors: dict[str, float] = {}
        parts: list[tuple[float, str]] = []
        if row.site_type == "institution":
            factors["status"] = status_f.get(row.status, 0.0) * kind_f.get(row.kind, 1.0)
            kind_text = label("kind", row.kind)
            parts.append((weights["status"] * factors["status"], f"{label('status', row.status)}{kind_text}"
                          + ("" if kind_text.endswith("机构") else "机构")))
        n = int((recent.distance(row.geometry) <= settings.clue_radius_m).sum()) if len(recent) else 0
        factors["clues"] = min(1.0, n / settings.clue_saturation) if settings.clue_saturation else 0.0
        parts.append((weights["clues"] * factors["clues"], f"近{window}天附近举报{n}起"))
        cell = in_cell.loc[row.Index]
        communities.append(str(cell["code"]) if isinstance(cell["code"], str) else "")
        if cell["label"] == "hot":
            factors["hot_cell"] = 1.0
            parts.append((weights["hot_cell"], f"位于举报热点网格（{cell['name']}，Gi* z={cell['gi_z']:.1f}）"))
        elif bool(in_hot_area.iloc[i]):
            factors["hot_cell"] = 1.0
            parts.append((weights["hot_cell"], "位于举报热点区域（Gi*显著）"))
        d = float(school_distance[i])
        factors["near_school"] = max(0.0, 1.0 - d / near_r) if near_r else 0.0
        parts.append((weights["near_school"] * factors["near_school"], f"距{school_names[i]}{d:.0f}米"))
        if row.last_inspected:
            days = (day.date() - pd.Timestamp(row.last_inspected).date()).days
            factors["overdue"] = min(1.0, max(0.0, days / overdue_days)) if overdue_days else 0.0
            parts.append((weights["overdue"] * factors["overdue"], f"距上次检查{days}天"))
        else:
            factors["overdue"] = 1.0
            parts.append((weights["overdue"], "无检查记录"))
        kinds = [k for k in str(row.place_kinds).split(";") if k] or ["institution"]
        best = max(kinds, key=lambda k: place_f.get(k, 0.0))
        factors["place"] = place_f.get(best, 0.0)
        if best != "institution":
            parts.append((weights["place"] * factors["place"], PLACE_LABELS[best][0]))
        scores.append(_score(factors, weights))
        reasons.append(_reasons(parts))
    out = site.assign(community_code=communities, risk_score=scores, risk_reasons=reasons)
    return out.to_crs(DISPLAY_CRS).sort_values(["risk_score", "site_id"], ascending=[False, True]).reset_index(
        drop=True)


def _cell_scores(cells: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, settings: RiskSettings) -> pd.DataFrame:
    weights = settings.cell_weights
    window = settings.clue_window_days
    busiest = float(cells["weighted"].max()) if len(cells) else 0.0
    rows = []
    for cell in cells.itertuples():
        inside = sites[sites["community_code"] == cell.code]
        top = inside.iloc[0] if len(inside) else None  # sites are sorted by score
        hot = 1.0 if cell.label == "hot" else min(1.0, cell.hot_lattice_cells / 3)
        factors = {"hot": hot,
                   "clues": float(cell.weighted) / busiest if busiest > 0 else 0.0,
                   "sites": float(top["risk_score"]) if top is not None else 0.0}
        hot_text = f"Gi*热点（z={cell.gi_z:.1f}，p={cell.p_value:.3f}）" if cell.label == "hot" else \
            f"含{cell.hot_lattice_cells}个Gi*显著热点格"
        parts = [(weights["hot"] * factors["hot"], hot_text),
                 (weights["clues"] * factors["clues"], f"近{window}天举报{cell.clues_recent}起，共{cell.clues}起"),
                 (weights["sites"] * factors["sites"],
                  f"最高风险场所：{top['name']}（{top['risk_score']:.2f}）" if top is not None else "")]
        rows.append({"code": cell.code, "name": cell.name, "risk_score": _score(factors, weights),
                     "risk_reasons": _reasons(parts), "sites": len(inside)})
    return pd.DataFrame(rows).sort_values("risk_score", ascending=False).reset_index(drop=True)


def refresh(ws: Store, *, actor: Principal | str, today: str | None = None,
            settings_file: str | None = None) -> dict[str, pd.DataFrame]:
    """Recompute every analysis layer from what the workspace holds now, write them, return them.

    The layers are derived: they are computed from one consistent read, outside any transaction,
    and replaced whole in one short transaction (a later refresh supersedes them).
    """
    actor = authorize(actor, Permission.EDIT_DATA)
    settings = load_risk_settings(settings_file, store=ws)
    layers = analyse(ws, today=today, settings=settings)
    write_analysis(ws, layers, actor=actor, detail=f"as of {local_day(today).date()}; settings {settings.source}")
    return layers


def write_analysis(ws: Store, layers: dict[str, pd.DataFrame], *, actor: str, detail: str,
                   action: str = "analyse", extra: dict[str, pd.DataFrame] | None = None) -> None:
    """Replace the analysis layers (and write ``extra`` layers whole) in one transaction."""
    with ws.transaction(actor=actor, action=action, detail=detail) as tx:
        for name, frame in {**(extra or {}), **layers}.items():
            tx.replace(name, frame)


def import_and_analyse(ws: Store, kind: str, path: str | Path, *, actor: Principal | str, crs: str | None = None,
                       today: str | None = None, settings_file: str | None = None) -> ImportResult:
    """Import ``path``, then recompute every analysis layer if the import changed anything."""
    actor = authorize(actor, Permission.EDIT_DATA)
    settings = load_risk_settings(settings_file, store=ws)
    result = import_file(ws, kind, path, crs=crs, actor=actor)
    if result.added or result.updated or not ws.has_layer("risk_sites"):
        layers = analyse(ws, today=today, settings=settings)
        write_analysis(ws, layers, actor=actor, detail=f"after import of {result.source}: as of "
                       f"{local_day(today).date()}; settings {settings.source}")
    return result
