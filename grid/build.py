"""Build a county workspace from real inputs, offline: OSM, the official code lists, a boundary.

``build_workspace`` is the path a real county takes with its own files, and the way the
embedded default is made (``scripts/build_default.sh``). Steps: read and check the code
lists; read the boundary (any supported CRS, GCJ-02 included) or fall back to the OSM
extent; clip the OSM file to it; match OSM names to official names; keep real township
polygons; derive the missing cells (``grid.cells``); number the buildings; attach the
responsible persons (demonstration ones, labelled 演示数据); write everything in one atomic
write.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from core.clock import now_local
from core.errors import InputError
from grid import admin, cells, demo, names, osm
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
Progress = Callable[[str], None]


@dataclass
class BuildSummary:
    """What a build produced and what it could not place."""

    county_code: str
    county_name: str
    metric_crs: str
    counts: dict[str, int] = field(default_factory=dict)
    derived: dict[str, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)
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


def _anchors(features: gpd.GeoDataFrame, real: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    """Match named places to official townships and communities; one anchor per code."""
    named = features[features["name"].notna()]
    is_anchor = (
        named["place"].isin(ANCHOR_PLACES)
        | (named["landuse"] == "residential")
        | (named["amenity"] == "townhall")
        | named["name"].str.endswith(("人民政府", "办事处", "居委会", "居民委员会", "村委会"))
    )
    candidates = named[is_anchor & (named["boundary"] != "administrative")].to_crs(ctx.metric_crs)
    candidates = candidates.set_geometry(_rep_points(candidates))
    candidates = candidates[candidates.within(ctx.county_m)]
    towns = ctx.divisions[ctx.divisions["level"] == "township"]
    communities = ctx.divisions[ctx.divisions["level"] == "community"]
    real_by_code = dict(zip(real["code"], real.geometry, strict=True))
    rows = []
    county_core = names.core_name(ctx.county_name)
    for feature in candidates.itertuples():
        if names.core_name(feature.name) == county_core:
            continue  # the county's own seat, not a township or community
        inside = next((code for code, poly in real_by_code.items() if poly.contains(feature.geometry)), None)
        township_level = _township_like(feature.name)
        officials = towns if township_level else communities
        match = names.match_name(feature.name, officials, prefixes=(ctx.county_name,), preferred_parent=inside)
        rows.append(
            {
                "osm_type": feature.osm_type,
                "osm_id": feature.osm_id,
                "name": feature.name,
                "kind": _first_text(feature.place, feature.landuse, feature.amenity),
                "level": "township" if township_level else "community",
                "code": match.code,
                "official_name": match.official_name,
                "match_method": match.method,
                "match_confidence": match.confidence,
                "note": match.note,
                "geometry": feature.geometry,
            }
        )
    places = (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=ctx.metric_crs)
        if rows
        else gpd.GeoDataFrame(
            {c: pd.Series([], dtype=object) for c in ("osm_type", "osm_id", "name", "kind", "level", "code",
                                                       "official_name", "match_method", "note")}
            | {"match_confidence": pd.Series([], dtype=float)},
            geometry=[],
            crs=ctx.metric_crs,
        )
    )
    return _resolve_anchors(places, real_by_code, ctx)


def _resolve_anchors(
    places: gpd.GeoDataFrame, real_by_code: dict[str, BaseGeometry], ctx: _Context
) -> gpd.GeoDataFrame:
    """Keep the best feature per official code; drop anchors that contradict a real polygon."""
    places = places.copy()
    places["used_as_anchor"] = False
    for row in places[places["code"].isna()].itertuples():
        ctx.summary.unmatched.append(f"{row.level} {row.name} (OSM {row.osm_type} {row.osm_id}): {row.note}")
    matched = places[places["code"].notna()].sort_values(["match_confidence", "osm_id"], ascending=[False, True])
    for code, group in matched.groupby("code", sort=False):
        best = group.index[0]
        for other in group.index[1:]:
            places.loc[other, "note"] = f"{code} already anchored by {places.loc[best, 'name']}"
        township = str(code)[:9]
        point = places.loc[best, "geometry"]
        holder = next((c for c, poly in real_by_code.items() if poly.contains(point)), None)
        if holder is not None and holder != township:
            ctx.summary.warnings.append(
                f"{places.loc[best, 'name']} matches {code} but lies in township {holder}'s polygon; not used"
            )
            places.loc[best, "note"] = f"lies in township {holder}, not {township}"
            continue
        if township in real_by_code and holder is None:
            ctx.summary.warnings.append(
                f"{places.loc[best, 'name']} matches {code} but lies outside its township's polygon; not used"
            )
            places.loc[best, "note"] = "outside its township's polygon"
            continue
        places.loc[best, "used_as_anchor"] = True
    return places


def _partition_townships(
    real: gpd.GeoDataFrame, anchors: gpd.GeoDataFrame, buildings: gpd.GeoSeries, ctx: _Context
) -> gpd.GeoDataFrame:
    used = anchors[anchors["used_as_anchor"]].copy()
    used["township"] = used["code"].str[:9]
    free = used[~used["township"].isin(set(real["code"]))]
    remainder = cells._clean(ctx.county_m.difference(shapely.union_all(list(real.geometry))))
    derived = cells.voronoi_partition(remainder, free, label="township")
    if remainder.area > 1.0 and not derived:
        ctx.summary.warnings.append(
            f"{remainder.area / 1e6:.2f} km² of the county have no located township; they stay a gap"
        )
    fixed = dict(zip(real["code"], real.geometry, strict=True))
    snapped = cells.snap_to_buildings({**fixed, **derived}, buildings, movable=set(derived))
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
    townships: gpd.GeoDataFrame, anchors: gpd.GeoDataFrame, buildings: gpd.GeoSeries, ctx: _Context
) -> gpd.GeoDataFrame:
    used = anchors[anchors["used_as_anchor"] & (anchors["level"] == "community")]
    rows = []
    for township in townships.itertuples():
        mine = used[(used["code"].str[:9] == township.code) & used.within(township.geometry)]
        if mine.empty:  # kept whole, so that every point still has one answer (docs/grid-cells.md)
            ctx.summary.warnings.append(
                f"township {township.code}: none of its communities could be located; its "
                f"{township.geometry.area / 1e6:.2f} km² are one cell {township.code}{WHOLE_TOWNSHIP_SUFFIX} "
                "(未分社区) until they can be"
            )
            rows.append({"code": f"{township.code}{WHOLE_TOWNSHIP_SUFFIX}", "geometry_source": "township-whole",
                         "geometry": township.geometry})
            continue
        parts = cells.voronoi_partition(township.geometry, mine, label="code")
        parts = cells.snap_to_buildings(parts, buildings)
        rows += [{"code": code, "geometry_source": "derived-voronoi", "geometry": geom} for code, geom in parts.items()]
    return (
        gpd.GeoDataFrame(rows, geometry="geometry", crs=ctx.metric_crs)
        if rows
        else gpd.GeoDataFrame({"code": [], "geometry_source": []}, geometry=[], crs=ctx.metric_crs)
    )


def _buildings(features: gpd.GeoDataFrame, ctx: _Context) -> gpd.GeoDataFrame:
    frame = features[features["building"].notna() & features.geom_type.isin(["Polygon", "MultiPolygon"])].to_crs(
        ctx.metric_crs
    )
    frame = frame[_rep_points(frame).within(ctx.county_m)]
    compounds = features[
        (features["landuse"] == "residential")
        & features["name"].notna()
        & features.geom_type.isin(["Polygon", "MultiPolygon"])
    ].to_crs(ctx.metric_crs)
    compound = pd.Series(pd.NA, index=frame.index, dtype=object)
    for row in compounds.itertuples():
        compound[_rep_points(frame).within(row.geometry)] = row.name
    return (
        gpd.GeoDataFrame(
            {
                "osm_id": frame["osm_id"].astype("int64"),
                "osm_name": frame["name"],
                "building_type": frame["building"].astype(str),
                "levels": frame["building:levels"],
                "compound": compound,
                "geometry": frame.geometry.map(shapely.make_valid),
            },
            geometry="geometry",
            crs=ctx.metric_crs,
        )
        .sort_values("osm_id")
        .reset_index(drop=True)
    )


def _number_buildings(buildings: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give each building its community and a 16-digit code: community code + 4-digit number."""
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
) -> BuildSummary:
    """Build a workspace file from real inputs and return what it holds and what it missed.

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
    ctx = _Context(divisions, county_code, name, county_m, metric_crs, summary)
    with tempfile.TemporaryDirectory() as tmp:
        step("clipping the OSM data to the county")
        region = gpd.GeoSeries([county_m.buffer(CLIP_BUFFER_M)], crs=metric_crs).to_crs(DISPLAY_CRS).iloc[0]
        xml = osm.clip_osm(Path(osm_path), region, Path(tmp) / "clipped.osm", on_nodes=on_nodes)
        step("reading OSM features")
        features = osm.read_features(xml)
        step("reading the road network")
        road_nodes, road_edges = osm.read_roads(xml, outline)
    return _assemble(
        features,
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
    buildings = _buildings(features, ctx)
    real = _real_townships(features, ctx)
    anchors = _anchors(features, real, ctx)
    townships = _partition_townships(real, anchors, buildings.geometry, ctx)
    if townships.empty:
        official = int((ctx.divisions["level"] == "township").sum())
        msg = (
            f"none of the {official} official townships of {ctx.county_name} ({ctx.county_code}) could be located: "
            f"the OSM file has no township boundary (admin_level 8) and no place name, office or residents' "
            f"committee that matches the official list ({len(anchors)} named places were tried). Use an extract "
            "that has place names (place=town/village/suburb…), or one with township boundaries."
        )
        raise InputError(msg)
    communities = _partition_communities(townships, anchors, buildings.geometry, ctx)
    buildings = _number_buildings(buildings, communities)
    unassigned = buildings[buildings["parent_code"] == ""]
    if not unassigned.empty:
        ctx.summary.warnings.append(f"{len(unassigned)} buildings lie in no community cell")
    layers = {
        "county": _county(ctx, source),
        "townships": _finish_level(_attach_matches(townships, anchors), "township", ctx),
        "communities": _finish_level(_attach_matches(communities, anchors), "community", ctx),
        "buildings": _finish_level(buildings, "building", ctx),
    }
    layers["divisions"] = _divisions_table(ctx, layers["townships"], layers["communities"])
    layers["places"] = anchors.to_crs(DISPLAY_CRS)
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
