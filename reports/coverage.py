"""Coverage on the grid: for each cell of a level, its active institutions and how many were
inspected within the rolling window, the inspections it had in a date range, and the days since
it was last visited — counted from the stored results, filtered by shift and team."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from casework.results import current_results, results_from_layer
from core.errors import InputError
from core.visits import VisitRef
from routing.plan import flying_not_done
from store import Store

LEVELS = ("townships", "communities", "buildings")
COLUMNS = ["code", "name", "institutions", "covered", "share", "inspections", "last_visit", "days_since",
           "grid_walks"]


def visits(ws: Store, end: str, *, start: str = "", shift: str | None = None,
           team: str | None = None) -> pd.DataFrame:
    """Visited stops up to ``end`` (from ``start``), with their building, community and township."""
    results = current_results(results_from_layer(ws.read_optional("results")))
    results = results[~results["plan_id"].isin(flying_not_done(ws))]  # a flying check counts once it is over
    day = results["date"].astype(str).str[:10]
    keep = results["visited"].astype(bool) & (day <= end) & (day >= start)
    if shift:
        keep &= results["shift"] == shift
    if team:
        keep &= results["team_id"] == team
    out = results[keep].copy()
    sites = ws.read_optional("risk_sites", columns=["site_id", "building_code"])
    buildings = {} if sites is None else dict(zip(sites["site_id"], sites["building_code"], strict=True))
    out["target"] = [VisitRef.parse(v).target for v in out["visit_id"]]
    out["building_code"] = out["visit_id"].map(buildings).fillna("")
    communities = ws.read("communities", columns=["code", "parent_code"])
    out["township_code"] = out["community_code"].map(dict(zip(communities["code"], communities["parent_code"],
                                                                strict=True))).fillna("")
    return out


def cell_coverage(ws: Store, level: str, start: str, end: str, *, shift: str | None = None,
                  team: str | None = None, window_days: int = 10, within: str | None = None,
                  seen: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
    """Coverage of each cell of ``level`` (see module doc); ``share`` is NaN where a cell has no
    active institution. ``within`` keeps the cells of one parent (a township's communities, a
    community's buildings): the drill-down from the county to the buildings."""
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}.")
    key = {"townships": "township_code", "communities": "community_code", "buildings": "building_code"}[level]
    cells = ws.read(level, columns=["code", "name", "parent_code"])
    if within:
        cells = cells[cells["parent_code"] == within]
    cells = cells.drop(columns="parent_code")
    seen = visits(ws, end, shift=shift, team=team) if seen is None else seen  # ``seen``: visits(…) already read
    in_range = seen[seen["date"].astype(str).str[:10] >= start]
    window_start = (pd.Timestamp(end) - pd.Timedelta(days=window_days - 1)).strftime("%Y-%m-%d")
    recent = set(seen.loc[(seen["kind"] == "institution") & (seen["date"].astype(str) >= window_start), "target"])
    institutions = ws.read_optional("institutions")
    active = (pd.DataFrame(columns=["institution_id", key]) if institutions is None
              else institutions[institutions["status"] != "deregistered"])
    counts = active.groupby(key).size()
    covered = active[active["institution_id"].isin(recent)].groupby(key).size()
    last = seen.groupby(key)["date"].max()
    frame = gpd.GeoDataFrame(cells, geometry="geometry", crs=cells.crs)
    frame["institutions"] = frame["code"].map(counts).fillna(0).astype(int)
    frame["covered"] = frame["code"].map(covered).fillna(0).astype(int)
    frame["share"] = np.where(frame["institutions"] > 0, frame["covered"] / frame["institutions"].clip(lower=1),
                              np.nan)
    frame["inspections"] = frame["code"].map(in_range.groupby(key).size()).fillna(0).astype(int)
    frame["last_visit"] = frame["code"].map(last).fillna("")
    frame["days_since"] = [(pd.Timestamp(end) - pd.Timestamp(d)).days if d else np.nan for d in frame["last_visit"]]
    from casework.field import grid_walks

    walks = grid_walks(ws, start, end)  # the grid's own patrols (一排查一上报), counted apart from the teams'
    if level == "townships":
        communities = ws.read("communities", columns=["code", "parent_code"])
        walks["cell"] = walks["community_code"].map(dict(zip(communities["code"], communities["parent_code"],
                                                             strict=True)))
    else:
        walks["cell"] = walks["community_code"] if level == "communities" else walks["cell_code"]
    frame["grid_walks"] = frame["code"].map(walks.groupby("cell").size()).fillna(0).astype(int)
    return frame[[*COLUMNS, "geometry"]]
