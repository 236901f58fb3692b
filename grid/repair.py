"""Repair OpenStreetMap's own building-outline errors, so that every point has at most one building.

OSM holds broken rings (unclosed ways, ways of fewer than three points, self-intersecting
"bow-ties"), the same building drawn twice, and outlines drawn over each other. ``patrol who``
answers "whose building is this?" for a point, which needs exactly one answer, so
``repair_buildings`` applies one rule per fault, in this order (docs/grid-cells.md), and
returns what it did so that the build summary lists every repair:

1. **Broken rings.** An unclosed way is closed (its last node joined to its first); a ring that
   is not a valid polygon is repaired with shapely's ``make_valid``, keeping only its polygonal
   parts; a ring with fewer than three distinct points, or one with nothing polygonal left
   (under ``MIN_AREA_M2``), is dropped.
2. **Duplicates.** Outlines whose intersection over union is at least ``duplicate_iou`` are one
   building drawn twice (or more): the one with the lowest OSM id is kept, with any tag it lacks
   (name, levels) taken from the dropped copies.
3. **Overlaps.** Where two outlines overlap by more than ``OVERLAP_M2``, the larger gives up the
   part the smaller covers (equal areas: the higher OSM id gives it up). A building drawn inside
   another (a block inside its compound's outline) stays a building of its own and the outer
   one gets a hole; an outline wholly covered by smaller ones is dropped. One pass suffices:
   each outline loses the original outlines of all smaller ones it overlaps.

Everything is vectorised (STRtree queries, shapely array operations); nothing compares all
pairs of buildings. Work is in the county's metric CRS.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry.base import BaseGeometry

from grid import osm

MIN_AREA_M2 = 0.01  # an outline (or what is left of one) smaller than a 10 cm square is no building
OVERLAP_M2 = 0.01  # overlaps under this are rounding noise of shared edges, left alone
TAG_COLUMNS = ("name", "building:levels")  # taken from a dropped duplicate when the kept one lacks them

# The kinds of repair, as the build summary names them (Chinese, then English).
DUPLICATE = "duplicate"
INVALID = osm.INVALID
UNCLOSED = osm.UNCLOSED
TOO_FEW_POINTS = osm.TOO_FEW_POINTS
NOTHING_POLYGONAL = "nothing-polygonal"
OVERLAP = "overlap"
COVERED = "covered"
CUT_AT_BORDER = "cut-at-border"
REPAIR_LABELS = {
    DUPLICATE: "重复轮廓已删除，保留 OSM 编号最小者 / duplicate outlines dropped, the lowest OSM id kept",
    INVALID: "无效轮廓（自相交等）已用 make_valid 修复 / invalid outlines, e.g. self-intersecting, repaired "
             "with make_valid",
    UNCLOSED: "未闭合轮廓已闭合 / unclosed outlines closed",
    TOO_FEW_POINTS: "点数不足三个的轮廓已删除 / outlines of fewer than 3 points dropped",
    NOTHING_POLYGONAL: "修复后无面状部分的轮廓已删除 / outlines with nothing polygonal left after repair dropped",
    OVERLAP: "重叠已消除：较大者让出被较小者覆盖的部分 / overlaps resolved: the larger outline gives up the part "
             "the smaller covers",
    COVERED: "被较小楼栋完全覆盖的轮廓已删除 / outlines wholly covered by smaller buildings dropped",
    CUT_AT_BORDER: "跨越所属社区边界的楼栋已按边界裁剪 / buildings crossing their community's border (a real OSM "
                   "border or the county's, which never move) cut at it",
}
Repairs = dict[str, list[str]]


def osm_ref(osm_type: object, osm_id: object) -> str:
    """``way/123``: an OSM object as osm.org addresses it."""
    return f"{osm_type}/{int(osm_id)}"  # type: ignore[call-overload]


def polygonal_array(geoms: np.ndarray) -> np.ndarray:
    """``polygonal`` of each geometry; valid polygons of a sensible size pass untouched (the common case)."""
    geoms = np.asarray(geoms, dtype=object)
    plain = (shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON) & shapely.is_valid(geoms)
    plain &= shapely.area(geoms) >= MIN_AREA_M2
    out = geoms.copy()
    out[~plain] = [polygonal(g) for g in geoms[~plain]]
    return out


def polygonal(geom: BaseGeometry | None) -> BaseGeometry:
    """The polygonal parts of ``geom`` (made valid), without parts under ``MIN_AREA_M2``; empty if none."""
    if geom is None or geom.is_empty:
        return shapely.Polygon()
    geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and g.area >= MIN_AREA_M2]
    if not parts:
        return shapely.Polygon()
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _record(repairs: Repairs, kind: str, items: list[str]) -> None:
    if items:
        repairs.setdefault(kind, []).extend(items)


def _fix_rings(frame: gpd.GeoDataFrame, faults: gpd.GeoDataFrame, repairs: Repairs) -> gpd.GeoDataFrame:
    """Close unclosed ways, keep the polygonal parts of repaired rings, drop what has none."""
    ways = frame["osm_type"] == "way"
    by_fault = {kind: set(faults.loc[faults["fault"] == kind, "osm_id"]) for kind in (UNCLOSED, INVALID)}
    unclosed = ways & frame["osm_id"].isin(by_fault[UNCLOSED]) & (frame.geom_type == "LineString")
    geometry = frame.geometry.copy()
    geometry[unclosed] = [shapely.Polygon([*line.coords, line.coords[0]]) for line in frame.geometry[unclosed]]
    faulty = unclosed | (ways & frame["osm_id"].isin(by_fault[INVALID]))
    outlines = faulty | frame.geom_type.isin(["Polygon", "MultiPolygon", "GeometryCollection"])
    fixed = gpd.GeoSeries(polygonal_array(geometry[outlines].to_numpy()), index=geometry[outlines].index,
                          crs=frame.crs)
    empty = fixed.is_empty
    refs = pd.Series([osm_ref(t, i) for t, i in zip(frame["osm_type"], frame["osm_id"], strict=True)],
                     index=frame.index)
    reasons = dict(zip(faults["osm_id"], faults["reason"], strict=True))
    ok = fixed.index[~empty]
    _record(repairs, UNCLOSED, [refs[i] for i in ok if unclosed[i]])
    _record(repairs, INVALID, [f"{refs[i]} ({_short(reasons.get(frame.at[i, 'osm_id'], ''))})"
                               for i in ok if faulty[i] and not unclosed[i]])
    _record(repairs, NOTHING_POLYGONAL, [refs[i] for i in fixed.index[empty]])
    out = frame.loc[ok].copy()
    out["geometry"] = fixed[ok]
    return out


def _short(reason: str) -> str:
    return re.sub(r"\[.*\]$", "", reason) or "invalid"


def _pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of intersecting outlines and the area they share."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    return left, right, shared


def _drop_duplicates(frame: gpd.GeoDataFrame, duplicate_iou: float, repairs: Repairs) -> gpd.GeoDataFrame:
    frame = frame.sort_values(["osm_id", "osm_type"]).reset_index(drop=True)
    geoms = frame.geometry.to_numpy()
    left, right, shared = _pairs(geoms)
    areas = shapely.area(geoms)
    union = areas[left] + areas[right] - shared
    same = shared >= duplicate_iou * union
    if not same.any():
        return frame
    n = len(frame)
    graph = coo_matrix((np.ones(int(same.sum())), (left[same], right[same])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    label = pd.Series(label, index=frame.index)
    first = pd.Series(frame.index, index=frame.index).groupby(label).transform("min")  # its lowest OSM id
    for column in TAG_COLUMNS:
        if column in frame:
            frame[column] = frame[column].groupby(label).transform("first")
    refs = [osm_ref(t, i) for t, i in zip(frame["osm_type"], frame["osm_id"], strict=True)]
    dropped = frame.index[first != frame.index]
    _record(repairs, DUPLICATE, [f"{refs[i]} (= {refs[first[i]]})" for i in dropped])
    return frame.drop(index=dropped).reset_index(drop=True)


def _resolve_overlaps(frame: gpd.GeoDataFrame, repairs: Repairs) -> gpd.GeoDataFrame:
    geoms = frame.geometry.to_numpy()
    left, right, shared = _pairs(geoms)
    real = shared > OVERLAP_M2
    left, right = left[real], right[real]
    if not len(left):
        return frame
    order = np.lexsort((frame["osm_id"].to_numpy(), shapely.area(geoms)))  # by area, then OSM id
    rank = np.empty(len(frame), dtype=int)
    rank[order] = np.arange(len(frame))
    left_loses = rank[left] > rank[right]
    loser = np.where(left_loses, left, right)
    winner = np.where(left_loses, right, left)
    pieces = gpd.GeoDataFrame({"loser": loser, "winner": winner}, geometry=list(geoms[winner]), crs=frame.crs)
    covers = pieces.dissolve(by="loser", aggfunc={"winner": list})
    losers = covers.index.to_numpy()
    left_over = polygonal_array(shapely.difference(geoms[losers], covers.geometry.to_numpy()))
    lost_m2 = shapely.area(geoms[losers]) - shapely.area(left_over)
    refs = [osm_ref(t, i) for t, i in zip(frame["osm_type"], frame["osm_id"], strict=True)]
    gone = shapely.is_empty(left_over)
    for i, lost, winners, empty in zip(losers, lost_m2, covers["winner"], gone, strict=True):
        under = ", ".join(refs[w] for w in sorted(winners))
        if empty:
            _record(repairs, COVERED, [f"{refs[i]} (under {under})"])
        else:
            _record(repairs, OVERLAP, [f"{refs[i]} (−{lost:,.1f} m², under {under})"])
    out = frame.copy()
    out.loc[losers, "geometry"] = left_over
    return out.drop(index=losers[gone]).reset_index(drop=True)


def repair_buildings(
    frame: gpd.GeoDataFrame, faults: pd.DataFrame, county: BaseGeometry, *, duplicate_iou: float
) -> tuple[gpd.GeoDataFrame, Repairs]:
    """Repair the building outlines whose representative point lies in ``county``; list every repair.

    Parameters
    ----------
    frame
        Every OSM feature with a ``building`` tag (metric CRS), with ``osm_type``, ``osm_id`` and
        tag columns, as ``grid.osm.read_features`` reads them.
    faults
        ``grid.osm.building_ring_faults`` of the same data (WGS84).
    county
        The county outline, same CRS as ``frame``.
    duplicate_iou
        Outlines at least this alike (intersection over union) are duplicates.

    Returns
    -------
    tuple
        The repaired buildings (Polygon/MultiPolygon, sorted by OSM id) and the repairs, kind →
        list of ``way/123 (detail)`` entries (kinds and labels: ``REPAIR_LABELS``).
    """
    repairs: Repairs = {}
    faults_m = gpd.GeoDataFrame(faults, geometry=gpd.GeoSeries(faults["geometry"], crs=osm.DISPLAY_CRS)).to_crs(
        frame.crs
    )
    few = faults_m[(faults_m["fault"] == TOO_FEW_POINTS) & faults_m.geometry.notna()]
    few = few[~few.geometry.is_empty]
    inside = few[few.geometry.representative_point().within(county)]
    _record(repairs, TOO_FEW_POINTS, [osm_ref("way", i) for i in sorted(inside["osm_id"])])
    in_county = frame[frame.geometry.representative_point().within(county)]
    fixed = _fix_rings(in_county, faults_m, repairs)
    unique = _drop_duplicates(fixed, duplicate_iou, repairs)
    out = _resolve_overlaps(unique, repairs)
    return out.sort_values(["osm_id", "osm_type"]).reset_index(drop=True), repairs
