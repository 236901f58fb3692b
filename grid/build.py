"""Build a county workspace from real inputs, offline: OSM, the official code lists, a boundary.

``build_workspace`` is the path a real county takes with its own files, and the way the
embedded default is made (``scripts/build_default.sh``). Steps: read and check the code
lists; read the boundary (any supported CRS, GCJ-02 included) or fall back to the OSM
extent; clip the OSM file to it; repair the building outlines (``grid.repair``); match OSM
names to official names, refusing a match that lies away from its township; keep real township
and community polygons; derive the missing cells (``grid.cells``); number the buildings; attach
the responsible persons (demonstration ones, labelled 演示数据); write everything in one atomic
write. Every repair and refusal is listed in the returned :class:`BuildSummary`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from core.clock import now_local
from core.errors import InputError
from core.settings import BuildSettings, load_patrol_settings
from grid import admin, cells, demo, names, osm, repair
from grid.crs import DISPLAY_CRS, metric_crs_for, to_wgs84
from store import create_workspace

OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL 1.0)"
SCHEMA_VERSION = "1"
CLIP_BUFFER_M = 300.0
ANCHOR_PLACES = {
    "suburb",
    "town",
    "township",
    "village",
    "hamlet",
    "quarter",
    "neighbourhood",
    "locality",
    "isolated_dwelling",
}
TOWNSHIP_MARKERS = ("街道", "镇", "乡", "办事处")
COMMUNITY_ADMIN_LEVELS = ("9", "10")  # OSM boundary relations of 社区/村 (居委会 polygons), where mapped
SHOWN_REPAIRS = 20  # ids shown per kind of repair in the summary's lines (BuildSummary.repairs holds all)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RefusedMatch:
    """An OSM name that matches an official division but lies where its township is not (not used)."""

    name: str
    osm: str  # "node/123"
    code: str
    official_name: str
    distance_m: float | None  # from the township's evidence (its polygon, or its other located places)
    reason: str  # "中文 / English"

    def line(self) -> str:
        """Return the refusal as one printable line."""
        return f"{self.name} (OSM {self.osm}) → {self.official_name} ({self.code}): {self.reason}"


@dataclass
class BuildSummary:
    """What a build produced, what it repaired or refused, and what it could not place."""

    county_code: str
    county_name: str
    metric_crs: str
    counts: dict[str, int] = field(default_factory=dict)
    derived: dict[str, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
    refused: list[RefusedMatch] = field(default_factory=list)
    repairs: dict[str, list[str]] = field(default_factory=dict)  # kind (grid.repair) → "way/123 (detail)"
    unplaced: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Return the summary as printable lines."""
        out = [f"workspace for {self.county_name} ({self.county_code}), metric CRS {self.metric_crs}"]
        for level, count in self.counts.items():
            derived = self.derived.get(level)
            extra = f" ({derived} derived)" if derived else ""
            out.append(f"  {level}: {count} cells{extra}")
        for level, count in self.unplaced.items():
            out.append(f"  official {level} with no location in the inputs: {count}")
        out.append(f"unmatched OSM names ({len(self.unmatched)}):")
        out += [f"  - {u}" for u in self.unmatched]
        out.append(f"名称匹配被拒，地点与其乡镇不符 / refused name matches, the place lies away from its township "
                   f"({len(self.refused)}):")
        out += [f"  - {r.line()}" for r in self.refused]
        total = sum(len(items) for items in self.repairs.values())
        out.append(f"楼栋轮廓修复 / building outline repairs ({total}):")
        for kind, items in self.repairs.items():
            shown = ", ".join(items[:SHOWN_REPAIRS])
            more = f" … 共 {len(items)} 处 / {len(items)} in all" if len(items) > SHOWN_REPAIRS else ""
            out.append(f"  - {repair.REPAIR_LABELS[kind]} ({len(items)}): {shown}{more}")
        out.append(f"warnings ({len(self.warnings)}):")
        out += [f"  - {w}" for w in self.warnings]
        return out


def read_boundary(path: Path, crs: str | None, warnings: list[str] | None = None) -> BaseGeometry:
    """Read a county boundary file and return its outline in WGS84 (one geometry)."""
    try:
        frame = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        msg = f"cannot read boundary {path}: {exc}"
        raise InputError(msg) from exc
    if frame.empty:
        msg = f"boundary {path} holds no features."
        raise InputError(msg)
    frame = to_wgs84(frame, crs)
    broken = [shapely.is_valid_reason(g) for g in frame.geometry if g is not None and not g.is_valid]
    if broken and warnings is not None:
        warnings.append(f"boundary {Path(path).name} was not a valid outline ({broken[0]}); repaired with make_valid")
    outline = shapely.make_valid(frame.union_all())
    polygons = [g for g in shapely.get_parts(outline) if g.geom_type == "Polygon"]
    if not polygons:
        msg = f"boundary {path} holds no polygon; give the county outline as (Multi)Polygon."
        raise InputError(msg)
    return shapely.union_all(polygons)


def _rep_points(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    return frame.geometry.representative_point()


def _first_text(*values: object) -> str:
    return next((str(v) for v in values if isinstance(v, str) and v), "")


def _township_like(name: str) -> bool:
    return any(marker in str(name) for marker in TOWNSHIP_MARKERS) and not str(name).endswith(
        ("社区", "村", "居委会", "居民委员会", "村民委员会")
    )


@dataclass
class _Context:
    divisions: pd.DataFrame
    county_code: str
    county_name: str
    county_m: BaseGeometry
    metric_crs: str
    summary: BuildSummary
    settings: BuildSettings = field(default_factory=BuildSettings)


def _real_townships(features: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """Complete admin_level 8 polygons in the OSM data, matched to official townships."""
    towns = ctx.divisions[ctx.divisions["level"] == "township"]
    admin8 = features[
        (features["boundary"] == "administrative")
        & (features["admin_level"].astype(str) == "8")
        & features.geom_type.isin(["Polygon", "MultiPolygon"])
        & features["name"].notna()
    ].to_crs(ctx.metric_crs)
    rows = []
    for feature in admin8.itertuples():
        match = names.match_name(feature.name, towns, prefixes=(ctx.county_name,))
        if match.code is None:
            ctx.summary.unmatched.append(f"township polygon {feature.name} (OSM {feature.osm_id}): {match.note}")
            continue
        clipped = feature.geometry.intersection(ctx.county_m)
        lost = 1 - clipped.area / feature.geometry.area
        if lost > 0.01:
            ctx.summary.warnings.append(
                f"township {match.official_name}: {lost:.1%} of its OSM polygon lies outside the county boundary "
                "and was cut off"
            )
        rows.append(
            {
                "code": match.code,
                "osm_name": feature.name,
                "osm_id": feature.osm_id,
                "match_method": match.method,
                "match_confidence": match.confidence,
                "geometry_source": "osm-relation",
                "geometry": cells._clean(clipped),
            }
        )
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=ctx.metric_crs) if rows else None
    if frame is None:
        return gpd.GeoDataFrame({"code": []}, geometry=[], crs=ctx.metric_crs)
    return frame.drop_duplicates("code")


def _community_polygons(features: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """Named admin_level 9–10 boundaries (社区/村 polygons) cut to the county; geometry = a point inside."""
    frame = features[
        (features["boundary"] == "administrative")
        & features["admin_level"].astype(str).isin(COMMUNITY_ADMIN_LEVELS)
        & features.geom_type.isin(["Polygon", "MultiPolygon"])
        & features["name"].notna()
    ].to_crs(ctx.metric_crs)
    polygons = gpd.GeoSeries([cells._clean(g.intersection(ctx.county_m)) for g in frame.geometry],
                             index=frame.index, crs=ctx.metric_crs)
    frame = frame.assign(polygon=polygons.to_numpy())[~polygons.is_empty.to_numpy()]
    return frame.set_geometry(gpd.GeoSeries(shapely.point_on_surface(frame["polygon"].to_numpy()),
                                            index=frame.index, crs=ctx.metric_crs))


def _anchors(features: gpd.GeoDataFrame, real: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """Match named places and community polygons to official townships and communities; one anchor per code."""
    named = features[features["name"].notna()]
    is_anchor = (
        named["place"].isin(ANCHOR_PLACES)
        | (named["landuse"] == "residential")
        | (named["amenity"] == "townhall")
        | named["name"].str.endswith(("人民政府", "办事处", "居委会", "居民委员会", "村委会"))
    )
    candidates = named[is_anchor & (named["boundary"] != "administrative")].to_crs(ctx.metric_crs)
    candidates = candidates.set_geometry(_rep_points(candidates))
    candidates = candidates[candidates.within(ctx.county_m)].assign(polygon=None)
    polygons = _community_polygons(features, ctx)
    if not polygons.empty:
        candidates = pd.concat([candidates, polygons])
    towns = ctx.divisions[ctx.divisions["level"] == "township"]
    communities = ctx.divisions[ctx.divisions["level"] == "community"]
    real_by_code = dict(zip(real["code"], real.geometry, strict=True))
    rows = []
    county_core = names.core_name(ctx.county_name)
    for feature in candidates.itertuples():
        if names.core_name(feature.name) == county_core:
            continue  # the county's own seat, not a township or community
        inside = next((code for code, poly in real_by_code.items() if poly.contains(feature.geometry)), None)
        is_polygon = isinstance(feature.polygon, BaseGeometry)
        township_level = _township_like(feature.name) and not is_polygon  # 9–10 polygons are communities
        officials = towns if township_level else communities
        match = names.match_name(feature.name, officials, prefixes=(ctx.county_name,), preferred_parent=inside)
        kind = f"admin_level={feature.admin_level}" if is_polygon else _first_text(
            feature.place, feature.landuse, feature.amenity)
        rows.append(
            {
                "osm_type": feature.osm_type,
                "osm_id": feature.osm_id,
                "name": feature.name,
                "kind": kind,
                "level": "township" if township_level else "community",
                "code": match.code,
                "official_name": match.official_name,
                "match_method": match.method,
                "match_confidence": match.confidence,
                "note": match.note,
                "polygon": feature.polygon if is_polygon else None,
                "geometry": feature.geometry,
            }
        )
    places = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=ctx.metric_crs)
        if rows
        else gpd.GeoDataFrame(
            {c: pd.Series([], dtype=object) for c in ("osm_type", "osm_id", "name", "kind", "level", "code",
                                                       "official_name", "match_method", "note", "polygon")}
            | {"match_confidence": pd.Series([], dtype=float)},
            geometry=[],
            crs=ctx.metric_crs,
        )
    )
    return _resolve_anchors(places, real_by_code, ctx)


def _official_name(ctx: _Context, code: str | None) -> str:
    match = ctx.divisions.loc[ctx.divisions["code"] == code, "name"]
    return str(match.iloc[0]) if len(match) else str(code)


#: How a community's place is judged against its township (docs/grid-cells.md, step 3).
FAR_REACH = 2.5  # refused beyond this many township radii from its township's centre …
NEARER_BY = 2.0  # … or when this many times nearer (in radii) another township's centre than its own
MIN_SPREAD_UNITS = 3  # a township's own spread counts from this many located divisions on
NEAREST_TOWNSHIPS = 16  # other townships' centres compared per place: the nearest, by a k-d tree


def _evidence_shapes(places: gpd.GeoDataFrame) -> np.ndarray:
    """Each place's shape as evidence: its polygon (admin_level 9–10) where it has one, else its point."""
    polygons = places["polygon"].to_numpy()
    return np.where(pd.notna(polygons), polygons, places.geometry.to_numpy())


def _leave_one_out_median(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """For each value, the median of the other values of its group (NaN where it is alone); O(n log n)."""
    out = np.full(len(values), np.nan)
    if not len(values):
        return out
    order = np.lexsort((values, groups))
    v, g = values[order], groups[order]
    starts = np.r_[0, np.flatnonzero(g[1:] != g[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(g)])
    start, others = np.repeat(starts, sizes), np.repeat(sizes, sizes) - 1
    rank = np.arange(len(v)) - start

    def pick(j: np.ndarray) -> np.ndarray:  # the j-th smallest of the others (the value itself skipped)
        return v[np.minimum(start + j + (j >= rank), len(v) - 1)]

    lo, hi = np.maximum((others - 1) // 2, 0), np.maximum(others // 2, 0)
    out[order] = np.where(others > 0, (pick(lo) + pick(hi)) / 2, np.nan)
    return out


def _expected_radius(real_by_code: dict[str, BaseGeometry], ctx: _Context) -> float:
    """The radius of a circle the size of an average official township without an OSM polygon."""
    free = max(int((ctx.divisions["level"] == "township").sum()) - len(real_by_code), 1)
    area = ctx.county_m.difference(shapely.union_all(list(real_by_code.values()))).area
    return max(float(np.sqrt(area / free / np.pi)), 1.0)  # a county all of real polygons: no division by 0


@dataclass
class _Evidence:
    """Each matched place's own township centre and radius; every township's centre and radius."""

    distance: np.ndarray  # per place: from its shape to its township's centre, its own code left out (NaN: none)
    radius: np.ndarray  # per place: its township's radius, its own code left out
    towns: np.ndarray  # township codes, derived ones (with located places) and real ones
    centres: np.ndarray  # (n, 2): the median of a derived township's divisions, a real polygon's centroid
    town_radius: np.ndarray  # spread or expected radius; a real polygon's equal-area radius


def _evidence(matched: gpd.GeoDataFrame, township: np.ndarray, judged: np.ndarray, shapes: np.ndarray,
              real_by_code: dict[str, BaseGeometry], expected: float) -> _Evidence:
    """Locate each derived township by its evidence: one point per official code, the medians of them."""
    codes = matched["code"].astype(str).to_numpy()
    xy = shapely.get_coordinates(matched.geometry.to_numpy())
    units = (pd.DataFrame({"code": codes[judged], "town": township[judged], "x": xy[judged, 0],
                           "y": xy[judged, 1]})
             .groupby("code", sort=True).agg(town=("town", "first"), x=("x", "median"), y=("y", "median")))
    group, uniques = pd.factorize(units["town"])
    size = np.bincount(group, minlength=len(uniques)) if len(units) else np.zeros(0, dtype=int)
    centre = units.groupby("town", sort=False)[["x", "y"]].median().reindex(uniques)
    x, y = units["x"].to_numpy(), units["y"].to_numpy()
    spread = np.hypot(x - centre["x"].to_numpy()[group], y - centre["y"].to_numpy()[group])
    unit_spread = np.where(size[group] - 1 >= MIN_SPREAD_UNITS, _leave_one_out_median(spread, group), 0.0)
    town_spread = pd.Series(spread).groupby(group).median().reindex(range(len(uniques))).to_numpy()
    town_spread = np.where(size >= MIN_SPREAD_UNITS, town_spread, 0.0)
    units = units.assign(cx=_leave_one_out_median(x, group), cy=_leave_one_out_median(y, group),
                         r=np.maximum(unit_spread, expected))
    towns = centre.assign(r=np.maximum(town_spread, expected))
    # a place whose code has no located division left (in another's polygon) is judged by the whole township
    own = units.reindex(codes)[["cx", "cy", "r"]].to_numpy()
    whole = towns.reindex(township)[["x", "y", "r"]].to_numpy()
    own = np.where(np.isin(codes, units.index)[:, None], own, whole)
    real = list(real_by_code.values())
    known = ~np.isnan(own[:, 0])
    distance = np.full(len(matched), np.nan)
    distance[known] = shapely.distance(shapely.points(own[known, :2]), shapes[known])
    return _Evidence(
        distance=distance, radius=own[:, 2],
        towns=np.array([*towns.index, *real_by_code], dtype=object),
        centres=np.vstack([towns[["x", "y"]].to_numpy(), shapely.get_coordinates(shapely.centroid(real))]
                          if real else [towns[["x", "y"]].to_numpy()]).reshape(-1, 2),
        town_radius=np.r_[towns["r"].to_numpy(), np.sqrt(shapely.area(real) / np.pi) if real else []],
    )


@dataclass
class _Verdict:
    """Why one matched place is refused, with the figures its reason gives."""

    kind: str  # "outside" its own real polygon, "inside" another's, "far" from its centre, "nearer" another's
    distance: float | None = None  # from its own township's polygon or centre
    other: str | None = None  # the township whose polygon holds it, or whose centre it lies nearer
    other_distance: float | None = None
    reach: float | None = None
    own_polygon: bool = False  # its own township has a real polygon


def _check_places(places: gpd.GeoDataFrame, real_by_code: dict[str, BaseGeometry], ctx: _Context) -> pd.Series:
    """Which matched places lie where their township is (docs/grid-cells.md, step 3); list the others.

    A township with a real polygon: the place must lie in it; a place lying in another township's real
    polygon is refused as well. Otherwise a community's place is judged against its township's evidence
    as a whole: the located places of its seat and of its other communities, one point per official code
    (the median of that code's places), its own code left out. The township's *centre* is their
    coordinate-wise median; its *radius* the median distance of them from the centre (counted from
    ``MIN_SPREAD_UNITS`` of them on) or the expected radius of an official township, whichever is larger.
    A place more than ``match_distance_m`` from that centre is refused when it lies more than
    ``FAR_REACH`` radii from it, or ``NEARER_BY`` times nearer (in radii) another township's centre.
    With no other evidence at all a match stands. One pass: medians need no rounds of refusals.
    """
    ok = pd.Series(True, index=places.index)
    matched = places[places["code"].notna()]
    if matched.empty:
        return ok
    limit = ctx.settings.match_distance_m
    township = np.array([str(c)[:9] for c in matched["code"]], dtype=object)
    holder = np.full(len(matched), None, dtype=object)
    if real_by_code:
        keys = list(real_by_code)
        hit, poly = shapely.STRtree([real_by_code[k] for k in keys]).query(matched.geometry.to_numpy(),
                                                                           predicate="within")
        holder[hit] = [keys[j] for j in poly]
    shapes = _evidence_shapes(matched)
    own_real = np.isin(township, list(real_by_code))
    in_other = pd.notna(holder) & (holder != township)
    judged = ~own_real & ~in_other  # the places of derived townships: their townships' evidence
    evidence = _evidence(matched, township, judged, shapes, real_by_code, _expected_radius(real_by_code, ctx))
    d_own, radius = evidence.distance, evidence.radius
    verdicts: dict[int, _Verdict] = {}
    for i in np.flatnonzero(own_real & (holder != township)).tolist():  # the refused only: a short list
        verdicts[i] = _Verdict("inside" if in_other[i] else "outside",
                               float(shapes[i].distance(real_by_code[township[i]])), holder[i], own_polygon=True)
    for i in np.flatnonzero(~own_real & in_other).tolist():
        verdicts[i] = _Verdict("inside", None if np.isnan(d_own[i]) else float(d_own[i]), holder[i])
    reach = np.maximum(limit, FAR_REACH * radius)
    community = (matched["level"] == "community").to_numpy()
    candidate = judged & community & (np.nan_to_num(d_own, nan=0.0) > limit)
    far = candidate & (d_own > reach)
    for i in np.flatnonzero(far).tolist():
        verdicts[i] = _Verdict("far", float(d_own[i]), reach=float(reach[i]))
    rest = np.flatnonzero(candidate & ~far)
    if len(rest):
        k = min(NEAREST_TOWNSHIPS, len(evidence.towns))
        _, near = cKDTree(evidence.centres).query(shapely.get_coordinates(matched.geometry.to_numpy()[rest]), k=k)
        near = np.asarray(near).reshape(len(rest), k)
        metres = shapely.distance(shapely.points(evidence.centres[near]), shapes[rest][:, None])
        scaled = np.where(evidence.towns[near] == township[rest][:, None], np.inf,
                          metres / evidence.town_radius[near])
        best = np.argmin(scaled, axis=1)
        rows = np.arange(len(rest))
        for j in np.flatnonzero(d_own[rest] / radius[rest] > NEARER_BY * scaled[rows, best]).tolist():
            i, other = int(rest[j]), near[j, best[j]]
            verdicts[i] = _Verdict("nearer", float(d_own[i]), str(evidence.towns[other]), float(metres[j, best[j]]))
    for i in sorted(verdicts):
        idx, verdict = matched.index[i], verdicts[i]
        ok[idx] = False
        reason, note = _refusal(ctx, str(township[i]), verdict)
        places.loc[idx, "note"] = note
        ctx.summary.refused.append(RefusedMatch(
            str(places.at[idx, "name"]), f"{places.at[idx, 'osm_type']}/{places.at[idx, 'osm_id']}",
            str(places.at[idx, "code"]), str(places.at[idx, "official_name"]),
            None if verdict.distance is None else round(verdict.distance, 1), reason,
        ))
    return ok


def _metres(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _refusal(ctx: _Context, own: str, verdict: _Verdict) -> tuple[str, str]:
    """The summary's reason and the places layer's note for one refused match, both "中文 / English"."""
    town, d = _official_name(ctx, own), _metres(verdict.distance)
    other, code = _official_name(ctx, verdict.other), verdict.other
    if verdict.kind == "far":
        reach = _metres(verdict.reach)
        reason = (f"距{town}已定位地点的中心 {d} 米，超出该乡镇的范围 {reach} 米 / {d} m from the centre of the "
                  f"located places of its township {town}, beyond its reach of {reach} m")
        note = (f"拒绝：距乡镇 {own} 的地点中心 {d} 米，超出 {reach} 米 / refused: {d} m from the centre of "
                f"township {own}'s places, beyond {reach} m")
    elif verdict.kind == "nearer":
        o = _metres(verdict.other_distance)
        reason = (f"距{town}已定位地点的中心 {d} 米，距{other}的仅 {o} 米 / {d} m from the centre of the located "
                  f"places of its township {town}, only {o} m from {other}'s")
        note = (f"拒绝：更近乡镇 {code}（{o} 米）而非 {own}（{d} 米）/ refused: nearer township {code} ({o} m) "
                f"than its own {own} ({d} m)")
    elif verdict.kind == "inside":
        zh_from, en_from = ("的边界", "the polygon") if verdict.own_polygon else (
            "已定位地点的中心", "the centre of the located places")
        zh, en = f"位于{other}的 OSM 边界内", f"lies in {other}'s OSM polygon"
        if verdict.distance is not None:
            zh, en = f"{zh}，距{town}{zh_from} {d} 米", f"{en}, {d} m from {en_from} of its township {town}"
        reason = f"{zh} / {en}"
        note = f"拒绝：位于乡镇 {code} 内，而非 {own} / refused: lies in township {code}, not {own}"
    else:
        reason = f"在{town}的 OSM 边界外 {d} 米 / {d} m outside the OSM polygon of its township {town}"
        note = f"拒绝：在其乡镇 {own} 的 OSM 边界外 / refused: outside its township {own}'s OSM polygon"
    return reason, note


def _resolve_anchors(
    places: gpd.GeoDataFrame, real_by_code: dict[str, BaseGeometry], ctx: _Context
) -> gpd.GeoDataFrame:
    """Refuse matches that lie away from their township; keep the best remaining place per official code.

    A community polygon (admin_level 9–10) is better evidence than any point and wins; then the
    higher name confidence; then the lower OSM id.
    """
    places = places.copy()
    places["used_as_anchor"] = False
    for row in places[places["code"].isna()].itertuples():
        ctx.summary.unmatched.append(f"{row.level} {row.name} (OSM {row.osm_type} {row.osm_id}): {row.note}")
    sane = _check_places(places, real_by_code, ctx)
    matched = places[places["code"].notna() & sane].assign(has_polygon=lambda f: f["polygon"].notna())
    matched = matched.sort_values(["has_polygon", "match_confidence", "osm_id"], ascending=[False, False, True])
    for code, group in matched.groupby("code", sort=False):
        best = group.index[0]
        for other in group.index[1:]:
            places.loc[other, "note"] = f"{code} already anchored by {places.loc[best, 'name']}"
        places.loc[best, "used_as_anchor"] = True
    return places


def _community_cells(anchors: gpd.GeoDataFrame, real: gpd.GeoDataFrame, ctx: _Context) -> dict[str, BaseGeometry]:
    """The used community polygons (admin_level 9–10) by code, cut to their township where it is real.

    A polygon keeps only its part inside its own township's OSM polygon where there is one, and
    outside every other township's OSM polygon (real borders never move); where two community
    polygons overlap, the lower code keeps the shared part. A cut of more than 1% is a warning.
    """
    used = anchors[anchors["used_as_anchor"] & anchors["polygon"].notna()].sort_values("code")
    real_by_code = dict(zip(real["code"], real.geometry, strict=True))
    others = shapely.union_all(list(real.geometry))
    out: dict[str, BaseGeometry] = {}
    taken: BaseGeometry = shapely.Polygon()
    for row in used.itertuples():
        town = str(row.code)[:9]
        inside = row.polygon.intersection(real_by_code[town]) if town in real_by_code else row.polygon.difference(
            others)
        geom = cells._clean(shapely.difference(inside, taken))
        lost = 1 - geom.area / row.polygon.area
        if lost > 0.01:
            where = "outside its township's OSM polygon" if town in real_by_code else "in other townships' OSM polygons"
            ctx.summary.warnings.append(f"community {row.code}: {lost:.1%} of its OSM polygon (OSM {row.osm_type} "
                                        f"{row.osm_id}) lies {where} or another community's and was cut off")
        if not geom.is_empty:
            out[str(row.code)] = geom
            taken = shapely.union_all([taken, geom])
    return out


def _partition_townships(
    real: gpd.GeoDataFrame,
    anchors: gpd.GeoDataFrame,
    polygons: dict[str, BaseGeometry],
    buildings: gpd.GeoSeries,
    ctx: _Context,
) -> gpd.GeoDataFrame:
    used = anchors[anchors["used_as_anchor"]].copy()
    used["township"] = used["code"].str[:9]
    free = used[~used["township"].isin(set(real["code"]))]
    real_union = shapely.union_all(list(real.geometry))
    # community polygons of derived townships are fixed parts of them (real borders never move)
    own: dict[str, list[BaseGeometry]] = {}
    for code, geom in polygons.items():
        if code[:9] not in set(real["code"]):
            own.setdefault(code[:9], []).append(geom)
    fixed_parts = {t: shapely.union_all(parts) for t, parts in own.items()}
    remainder = cells._clean(ctx.county_m.difference(shapely.union_all([real_union, *fixed_parts.values()])))
    derived = cells.voronoi_partition(remainder, free, label="township")
    if remainder.area > 1.0 and not derived:
        ctx.summary.warnings.append(
            f"{remainder.area / 1e6:.2f} km² of the county have no located township; they stay a gap"
        )
    for town, part in fixed_parts.items():
        derived[town] = cells._clean(shapely.union_all([derived.get(town, shapely.Polygon()), part]))
    fixed = dict(zip(real["code"], real.geometry, strict=True))
    snapped = cells.snap_to_buildings({**fixed, **derived}, buildings, movable=set(derived))
    for town, part in fixed_parts.items():  # snapping moves no piece of a community polygon to another township
        for other in derived:
            snapped[other] = (cells._clean(shapely.union_all([snapped[other], part])) if other == town
                              else cells._clean(snapped[other].difference(part)))
    rows = [
        {"code": code, "geometry_source": "derived-voronoi", "geometry": geom}
        for code, geom in snapped.items()
        if code in derived
    ]
    derived_frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=ctx.metric_crs) if rows else None
    real = real.assign(geometry=[snapped[c] for c in real["code"]])
    frames = [real] + ([derived_frame] if derived_frame is not None else [])
    return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry="geometry", crs=ctx.metric_crs)


def _partition_communities(
    townships: gpd.GeoDataFrame,
    anchors: gpd.GeoDataFrame,
    polygons: dict[str, BaseGeometry],
    buildings: gpd.GeoSeries,
    ctx: _Context,
) -> gpd.GeoDataFrame:
    used = anchors[anchors["used_as_anchor"] & (anchors["level"] == "community")]
    rows = []
    for township in townships.itertuples():
        fixed = {c: g for c, g in polygons.items() if c[:9] == township.code}
        rows += [{"code": c, "geometry_source": "osm-relation", "geometry": g} for c, g in fixed.items()]
        rest = cells._clean(township.geometry.difference(shapely.union_all(list(fixed.values())))) if fixed \
            else township.geometry
        if rest.area <= 1.0:  # slivers of floating-point noise
            continue
        mine = used[(used["code"].str[:9] == township.code) & ~used["code"].isin(set(fixed))
                    & used.within(rest)]
        if mine.empty:  # kept whole, so that every point still has one answer (docs/grid-cells.md)
            what = "outside its OSM community polygons" if fixed else "none of its communities could be located; its"
            ctx.summary.warnings.append(
                f"township {township.code}: {what} {rest.area / 1e6:.2f} km² are one cell "
                f"{township.code}{WHOLE_TOWNSHIP_SUFFIX} (未分社区) until they can be"
            )
            rows.append({"code": f"{township.code}{WHOLE_TOWNSHIP_SUFFIX}",
                         "geometry_source": "township-rest" if fixed else "township-whole", "geometry": rest})
            continue
        parts = cells.voronoi_partition(rest, mine, label="code")
        snapped = cells.snap_to_buildings({**fixed, **parts}, buildings, movable=set(parts))
        rows += [{"code": code, "geometry_source": "derived-voronoi", "geometry": snapped[code]} for code in parts]
    return (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=ctx.metric_crs)
        if rows
        else gpd.GeoDataFrame({"code": [], "geometry_source": []}, geometry=[], crs=ctx.metric_crs)
    )


def _buildings(features: gpd.GeoDataFrame, faults: pd.DataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """The county's buildings, their outlines repaired (``grid.repair``; each repair listed in the summary)."""
    tagged = features[features["building"].notna()].to_crs(ctx.metric_crs)
    frame, repairs = repair.repair_buildings(tagged, faults, ctx.county_m,
                                             duplicate_iou=ctx.settings.duplicate_iou)
    ctx.summary.repairs.update(repairs)
    compounds = features[
        (features["landuse"] == "residential")
        & features["name"].notna()
        & features.geom_type.isin(["Polygon", "MultiPolygon"])
    ].to_crs(ctx.metric_crs)
    joined = gpd.sjoin(frame.set_geometry(_rep_points(frame))[["geometry"]],
                       compounds[["name", "geometry"]].reset_index(drop=True), how="inner", predicate="within")
    joined = joined.sort_values("index_right")  # where compounds overlap, the last one read names it
    compound = pd.Series(pd.NA, index=frame.index, dtype=object)
    last = joined[~joined.index.duplicated(keep="last")]
    compound[last.index] = last["name"].to_numpy()
    return (
        gpd.GeoDataFrame(
            {
                "osm_type": frame["osm_type"],  # for the summary's references only; not written
                "osm_id": frame["osm_id"].astype("int64"),
                "osm_name": frame["name"],
                "building_type": frame["building"].astype(str),
                "levels": frame["building:levels"],
                "compound": compound,
                "geometry": frame.geometry,
            },
            geometry="geometry",
            crs=ctx.metric_crs,
        )
        .sort_values("osm_id", kind="stable")
        .reset_index(drop=True)
    )


def _number_buildings(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """Give each building its community and a 16-digit code: community code + 4-digit number.

    A building whose representative point lies in a community but which crosses its border (a real
    OSM border or the county's: derived borders were snapped around buildings) is cut at it.
    """
    joined = gpd.sjoin(
        buildings.set_geometry(_rep_points(buildings)),
        communities[["code", "geometry"]],
        how="left",
        predicate="within",
    )
    joined = joined[~joined.index.duplicated()]
    out = buildings.copy()
    out["parent_code"] = joined["code"].fillna("").astype(str)
    out["seq"] = out.groupby("parent_code").cumcount() + 1
    out["code"] = [
        f"{p}{s:04d}" if p else f"unassigned-{o}"
        for p, s, o in zip(out["parent_code"], out["seq"], out["osm_id"], strict=True)
    ]
    out["name"] = [
        n if isinstance(n, str) and n else f"楼栋 {c[-4:]}" for n, c in zip(out["osm_name"], out["code"], strict=True)
    ]
    placed = out["parent_code"] != ""
    cell = out.loc[placed, "parent_code"].map(dict(zip(communities["code"], communities.geometry, strict=True)))
    geoms = out.loc[placed].geometry.to_numpy()
    outside = shapely.area(shapely.difference(geoms, cell.to_numpy()))
    cut = outside > repair.OVERLAP_M2
    if cut.any():
        index = out.index[placed][cut]
        out.loc[index, "geometry"] = repair.polygonal_array(shapely.intersection(geoms[cut], cell.to_numpy()[cut]))
        ctx.summary.repairs.setdefault(repair.CUT_AT_BORDER, []).extend(
            f"{repair.osm_ref(t, o)} (−{m:,.1f} m², {p})"
            for t, o, m, p in zip(out.loc[index, "osm_type"], out.loc[index, "osm_id"], outside[cut],
                                  out.loc[index, "parent_code"], strict=True)
        )
    return out.drop(columns="seq")


#: A township whose communities OSM does not locate is one community-level cell, code township + "000"
#: (no official community code ends in 000), named "…（未分社区）".
WHOLE_TOWNSHIP_SUFFIX = "000"


def _finish_level(frame: gpd.GeoDataFrame, level: str, ctx: _Context) -> gpd.GeoDataFrame:
    """Add names, parents, areas and (demonstration) responsible persons; return in WGS84."""
    official = ctx.divisions.set_index("code")
    out = frame.copy()
    if level in ("township", "community"):
        out["name"] = out["code"].map(official["name"])
        out["parent_code"] = out["code"].map(official["parent_code"])
        whole = out["code"].str.endswith(WHOLE_TOWNSHIP_SUFFIX) & (out["code"].str.len() == 12)
        out.loc[whole, "parent_code"] = out.loc[whole, "code"].str[:9]
        out.loc[whole, "name"] = out.loc[whole, "parent_code"].map(official["name"]).fillna("") + "（未分社区）"
    out["level"] = level
    out["area_m2"] = out.geometry.area.round(1)
    people = demo.demo_people(out["code"].tolist(), level=level, seed=int(ctx.county_code))
    out = out.merge(people, on="code", how="left")
    first = ["code", "name", "level", "parent_code"]
    out = out[first + [c for c in out.columns if c not in first and c != "geometry"] + ["geometry"]]
    return gpd.GeoDataFrame(out, geometry="geometry", crs=ctx.metric_crs).to_crs(DISPLAY_CRS)


def _attach_matches(frame: gpd.GeoDataFrame, anchors: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    used = anchors[anchors["used_as_anchor"]].set_index("code")
    out = frame.copy()
    for column, source in (
        ("osm_name", "name"),
        ("match_method", "match_method"),
        ("match_confidence", "match_confidence"),
    ):
        mapped = out["code"].map(used[source])
        out[column] = out[column].fillna(mapped) if column in out else mapped
    return out


def _divisions_table(ctx: _Context, townships: pd.DataFrame, communities: pd.DataFrame) -> pd.DataFrame:
    table = ctx.divisions.copy()
    placed = set(townships["code"]) | set(communities["code"])
    table["placed"] = table["code"].isin(placed).map({True: "yes", False: "no"})
    for level, count in table[table["placed"] == "no"].groupby("level").size().items():
        ctx.summary.unplaced[str(level)] = int(count)
    return table


def _county(ctx: _Context, source: str) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(
        {"code": [ctx.county_code], "name": [ctx.county_name], "parent_code": [""], "geometry_source": [source]},
        geometry=[ctx.county_m],
        crs=ctx.metric_crs,
    )
    return _finish_level(frame, "county", ctx)


def _pois(features: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """Schools, hotels, offices and other points of interest inside the county (WGS84)."""
    kinds = (
        features["amenity"]
        .fillna(features["tourism"])
        .fillna(features["office"].map(lambda v: "office" if isinstance(v, str) else v))
    )
    frame = features[kinds.notna() & features["building"].isna()].copy()
    frame["kind"] = kinds[frame.index]
    frame = frame[_rep_points(frame.to_crs(ctx.metric_crs)).within(ctx.county_m).to_numpy()]
    return frame[["osm_type", "osm_id", "name", "kind", "geometry"]].reset_index(drop=True)


def build_workspace(
    *,
    osm_path: Path,
    streets_path: Path,
    villages_path: Path,
    out_path: str | Path,
    actor: str,
    replace: bool = False,
    boundary_path: Path | None = None,
    boundary_crs: str | None = None,
    county_name: str | None = None,
    progress: Progress | None = None,
    on_nodes: osm.Counter | None = None,
    settings: BuildSettings | None = None,
) -> BuildSummary:
    """Build a workspace file from real inputs and return what it holds, repaired, refused and missed.

    ``settings`` default to the ``[build]`` section of the patrol settings (``settings/patrol.toml``).

    Raises
    ------
    InputError
        For unreadable or inconsistent inputs, naming the file, line and fix.
    """
    step = progress or (lambda _label: None)
    step("reading the official code lists")
    divisions = admin.read_divisions(Path(streets_path), Path(villages_path))
    county_code = str(divisions.loc[divisions["level"] == "township", "parent_code"].iloc[0])
    step("reading the county boundary")
    osm.osm_format(Path(osm_path))
    boundary_warnings: list[str] = []
    if boundary_path is not None:
        outline, source = read_boundary(Path(boundary_path), boundary_crs, boundary_warnings), "boundary-file"
    else:
        outline, source = osm.osm_extent(Path(osm_path)), "osm-extent"
    centre = outline.centroid
    metric_crs = metric_crs_for(centre.x, centre.y)
    name = county_name or admin.county_name_for(county_code, [Path(streets_path).parent]) or f"县区{county_code}"
    county_m = gpd.GeoSeries([outline], crs=DISPLAY_CRS).to_crs(metric_crs).iloc[0]
    summary = BuildSummary(county_code, name, metric_crs)
    summary.warnings.extend(boundary_warnings)
    if source == "osm-extent":
        summary.warnings.append("no --boundary given: the county cell is the OSM data's bounding box")
    ctx = _Context(divisions, county_code, name, county_m, metric_crs, summary,
                   settings or load_patrol_settings().build)
    with tempfile.TemporaryDirectory() as tmp:
        step("clipping the OSM data to the county")
        region = gpd.GeoSeries([county_m.buffer(CLIP_BUFFER_M)], crs=metric_crs).to_crs(DISPLAY_CRS).iloc[0]
        xml = osm.clip_osm(Path(osm_path), region, Path(tmp) / "clipped.osm", on_nodes=on_nodes)
        step("reading OSM features")
        features = osm.read_features(xml)
        faults = osm.building_ring_faults(xml)
        step("reading the road network")
        road_nodes, road_edges = osm.read_roads(xml, outline)
    return _assemble(
        features,
        faults,
        road_nodes,
        road_edges,
        ctx,
        source,
        out_path,
        step,
        actor=actor,
        replace=replace,
        inputs=[osm_path, streets_path, villages_path, boundary_path],
    )


def _assemble(
    features: gpd.GeoDataFrame,
    faults: pd.DataFrame,
    road_nodes: gpd.GeoDataFrame,
    road_edges: gpd.GeoDataFrame,
    ctx: _Context,
    source: str,
    out_path: str | Path,
    step: Progress,
    *,
    actor: str,
    replace: bool,
    inputs: list[object],
) -> BuildSummary:
    step("matching names and deriving cells")
    buildings = _buildings(features, faults, ctx)
    real = _real_townships(features, ctx)
    anchors = _anchors(features, real, ctx)
    polygons = _community_cells(anchors, real, ctx)
    townships = _partition_townships(real, anchors, polygons, buildings.geometry, ctx)
    if townships.empty:
        official = int((ctx.divisions["level"] == "township").sum())
        msg = (
            f"none of the {official} official townships of {ctx.county_name} ({ctx.county_code}) could be located: "
            f"the OSM file has no township boundary (admin_level 8) and no place name, office or residents' "
            f"committee that matches the official list ({len(anchors)} named places were tried). Use an extract "
            "that has place names (place=town/village/suburb…), or one with township boundaries."
        )
        raise InputError(msg)
    communities = _partition_communities(townships, anchors, polygons, buildings.geometry, ctx)
    buildings = _number_buildings(buildings, communities, ctx)
    unassigned = buildings[buildings["parent_code"] == ""]
    if not unassigned.empty:
        ctx.summary.warnings.append(f"{len(unassigned)} buildings lie in no community cell")
    layers = {
        "county": _county(ctx, source),
        "townships": _finish_level(_attach_matches(townships, anchors), "township", ctx),
        "communities": _finish_level(_attach_matches(communities, anchors), "community", ctx),
        "buildings": _finish_level(buildings.drop(columns="osm_type"), "building", ctx),
    }
    layers["divisions"] = _divisions_table(ctx, layers["townships"], layers["communities"])
    layers["places"] = anchors.drop(columns="polygon").to_crs(DISPLAY_CRS)
    layers["pois"] = _pois(features, ctx)
    layers["road_nodes"], layers["road_edges"] = road_nodes, road_edges
    ctx.summary.counts = {
        lvl: len(layers[key])
        for lvl, key in (
            ("county", "county"),
            ("township", "townships"),
            ("community", "communities"),
            ("building", "buildings"),
        )
    }
    ctx.summary.derived = {
        lvl: int((layers[key]["geometry_source"] == "derived-voronoi").sum())
        for lvl, key in (("township", "townships"), ("community", "communities"))
    }
    layers["meta"] = _meta(ctx, source, inputs)
    step("writing the workspace")
    detail = "; ".join(ctx.summary.lines()[:6])
    create_workspace(out_path, layers, county=ctx.county_code, actor=actor, action="build-workspace", detail=detail,
                     replace=replace)
    return ctx.summary


def _meta(ctx: _Context, source: str, inputs: list[object]) -> pd.DataFrame:
    values = {
        "schema_version": SCHEMA_VERSION,
        "county_code": ctx.county_code,
        "county_name": ctx.county_name,
        "metric_crs": ctx.metric_crs,
        "display_crs": DISPLAY_CRS,
        "boundary_source": source,
        "built_at": now_local(),
        "inputs": "; ".join(Path(str(p)).name for p in inputs if p is not None),
        "attribution": OSM_ATTRIBUTION,
        "responsible_persons": demo.DEMO_LABEL,
    }
    return pd.DataFrame({"key": list(values), "value": list(values.values())})
