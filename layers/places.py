"""High-risk places (重点场所) from the workspace's OSM features and institution records."""

from __future__ import annotations

from typing import TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd

from grid.crs import DISPLAY_CRS

BUILDING_KINDS = {
    "commercial": "commercial", "office": "office", "retail": "commercial", "hotel": "hotel",
    "apartments": "residential", "residential": "residential", "dormitory": "residential",
}
POI_KINDS = {"hotel": "hotel", "hostel": "hotel", "guest_house": "hotel", "cafe": "cafe", "office": "office"}
PLACE_LABELS = {
    "office": ("商务楼宇", "office building"), "commercial": ("商业楼宇", "commercial building"),
    "hotel": ("宾馆酒店", "hotel"), "residential": ("居民小区", "residential compound"),
    "cafe": ("咖啡馆", "café"), "former_site": ("已注销机构原址", "former site of a closed institution"),
    "near_school": ("学校周边", "near a school"),
}
SCHOOL_KINDS = ("school", "kindergarten")


class _Place(TypedDict):
    place_id: str
    kinds: list[str]
    name: str
    building_code: str
    reasons: list[str]
    geometry: object


def schools(pois: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Schools and kindergartens among the points of interest."""
    return pois[pois["kind"].isin(SCHOOL_KINDS)].reset_index(drop=True)


def nearest_school(points: gpd.GeoSeries, school_frame: gpd.GeoDataFrame) -> tuple[np.ndarray, list[str]]:
    """Distance (m, metric CRS of ``points``) and name of the nearest school for each point."""
    if school_frame.empty or points.empty:
        return np.full(len(points), np.inf), [""] * len(points)
    targets = school_frame.to_crs(points.crs)
    distances = np.column_stack([points.distance(geom).to_numpy() for geom in targets.geometry])
    best = distances.argmin(axis=1)
    names = targets["name"].fillna("学校").astype(str).to_numpy()
    return distances[np.arange(len(points)), best], [str(names[i]) for i in best]


def high_risk_places(buildings: gpd.GeoDataFrame, pois: gpd.GeoDataFrame, institutions: gpd.GeoDataFrame | None,
                     *, metric_crs: str, school_radius_m: float) -> gpd.GeoDataFrame:
    """One row per place: id, kinds (``;``-joined), name, building, reasons, point (WGS84)."""
    b = buildings.to_crs(metric_crs)
    centres = b.geometry.representative_point()
    rows: dict[str, _Place] = {}

    def add(place_id: str, kind: str, name: str, building: str, reason: str, point: object) -> None:
        row = rows.setdefault(place_id, {"place_id": place_id, "kinds": [], "name": name,
                                         "building_code": building, "reasons": [], "geometry": point})
        if kind not in row["kinds"]:
            row["kinds"].append(kind)
            row["reasons"].append(reason)

    for i, row in b.iterrows():
        kind = BUILDING_KINDS.get(str(row["building_type"]))
        if row.get("compound") and isinstance(row.get("compound"), str):
            kind = kind or "residential"
        if kind:
            add(f"B:{row['code']}", kind, str(row["name"]), str(row["code"]), PLACE_LABELS[kind][0], centres[i])
    school_frame = schools(pois)
    distance, school_names = nearest_school(centres, school_frame)
    for i, (d, school) in enumerate(zip(distance, school_names, strict=True)):
        if d <= school_radius_m:
            row = b.iloc[i]
            add(f"B:{row['code']}", "near_school", str(row["name"]), str(row["code"]),
                f"距{school}{d:.0f}米", centres.iloc[i])
    p = pois.to_crs(metric_crs)
    for _, row in p.iterrows():
        kind = POI_KINDS.get(str(row["kind"]))
        if kind:
            add(f"O:{row['osm_type']}/{row['osm_id']}", kind, str(row["name"] or PLACE_LABELS[kind][0]), "",
                PLACE_LABELS[kind][0], row.geometry.representative_point())
    if institutions is not None and not institutions.empty:
        closed = institutions[(institutions["status"] == "deregistered") & institutions.geometry.notna()]
        closed = closed.to_crs(metric_crs)
        for row in closed.itertuples():
            place_id = f"B:{row.building_code}" if row.building_code else f"F:{row.institution_id}"
            add(place_id, "former_site", str(row.name), str(row.building_code or ""),
                f"已注销机构原址（{row.name}）", row.geometry)
    if not rows:
        return gpd.GeoDataFrame({"place_id": [], "kinds": [], "name": [], "building_code": [], "reasons": []},
                                geometry=[], crs=DISPLAY_CRS)
    frame = pd.DataFrame(rows.values())
    frame["kinds"] = frame["kinds"].map(";".join)
    frame["reasons"] = frame["reasons"].map("；".join)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=metric_crs).to_crs(DISPLAY_CRS).sort_values(
        "place_id").reset_index(drop=True)
