"""Read OpenStreetMap input (``.osm`` XML or ``.osm.pbf``), clipped to the county.

A real county starts from a provincial or national PBF extract. ``clip_osm`` streams it with
pyosmium (never loading it whole): nodes inside the region are kept, with every way that uses
them made complete and every relation that references them, as ``osmium extract
--strategy complete_ways`` does. The clipped data is written as OSM XML, which osmnx reads
for the road graph and the features. XML input goes through the same clip, so an XML export
and a PBF made from it give the same workspace.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmium
import osmnx as ox
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from core.errors import InputError
from grid.crs import DISPLAY_CRS

FEATURE_TAGS: dict[str, bool | str | list[str]] = {
    "building": True,
    "place": True,
    "landuse": ["residential", "commercial", "retail"],
    "amenity": ["school", "kindergarten", "college", "university", "townhall", "hotel", "cafe"],
    "tourism": ["hotel", "hostel", "guest_house"],
    "office": True,
    "boundary": "administrative",
}
KEEP_COLUMNS = [
    "name", "building", "building:levels", "place", "landuse", "amenity", "tourism", "office",
    "shop", "boundary", "admin_level", "addr:street", "addr:housenumber", "height",
]
Counter = Callable[[int], None]


def osm_format(path: Path) -> str:
    """Return ``"pbf"`` or ``"xml"`` from the file name, or raise a clear error."""
    name = path.name.lower()
    if name.endswith(".pbf"):
        return "pbf"
    if name.endswith((".osm", ".xml", ".osm.bz2", ".osm.gz")):
        return "xml"
    msg = f"{path}: unknown OSM file type; give an .osm (XML) or .osm.pbf file."
    raise InputError(msg)


def osm_extent(path: Path) -> BaseGeometry:
    """Return the bounding box of all nodes of an OSM file (WGS84)."""
    xs, ys = [], []
    try:
        for node in osmium.FileProcessor(str(path), osmium.osm.NODE):
            assert isinstance(node, osmium.osm.Node)  # the NODE filter lets only nodes through
            if node.location.valid():
                xs.append(node.location.lon)
                ys.append(node.location.lat)
    except RuntimeError as exc:  # libosmium's parse errors: an empty, truncated or non-OSM file
        msg = f"OSM file {path} cannot be read ({exc}); it may be cut off or not an OSM export — download it again."
        raise InputError(msg) from exc
    if not xs:
        msg = f"{path} holds no nodes with coordinates; is it an OSM export?"
        raise InputError(msg)
    return shapely.box(min(xs), min(ys), max(xs), max(ys))


def clip_osm(src: Path, region: BaseGeometry, out_xml: Path, *, on_nodes: Counter | None = None) -> Path:
    """Write the part of ``src`` inside ``region`` (WGS84) to ``out_xml``, ways complete.

    ``on_nodes`` is called with the number of nodes read so far, every 100,000 nodes.
    """
    osm_format(src)
    if not src.is_file():
        msg = f"OSM file {src} does not exist."
        raise InputError(msg)
    if src.stat().st_size == 0:
        msg = f"OSM file {src} is empty; download the extract again."
        raise InputError(msg)
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    seen = kept = 0
    extent = [180.0, 90.0, -180.0, -90.0]
    writer = osmium.ForwardReferenceWriter(str(out_xml), str(src), overwrite=True)
    try:
        with writer:
            for node in osmium.FileProcessor(str(src), osmium.osm.NODE):
                assert isinstance(node, osmium.osm.Node)  # the NODE filter lets only nodes through
                seen += 1
                if on_nodes is not None and seen % 100_000 == 0:
                    on_nodes(seen)
                loc = node.location
                if not loc.valid():
                    continue
                extent = [min(extent[0], loc.lon), min(extent[1], loc.lat), max(extent[2], loc.lon),
                          max(extent[3], loc.lat)]
                inside = minx <= loc.lon <= maxx and miny <= loc.lat <= maxy
                if inside and shapely.contains_xy(region, loc.lon, loc.lat):
                    writer.add_node(node)
                    kept += 1
    except RuntimeError as exc:  # libosmium's parse errors: an empty, truncated or non-OSM file
        msg = f"OSM file {src} cannot be read ({exc}); it may be cut off or not an OSM export — download it again."
        raise InputError(msg) from exc
    finally:
        scratch = getattr(writer, "tmpdir", None)  # pyosmium keeps its scratch folder when the block fails
        if scratch is not None:
            scratch.cleanup()
    if on_nodes is not None:
        on_nodes(seen)
    if seen == 0:
        msg = f"OSM file {src} holds no nodes; is it an OSM export of the county?"
        raise InputError(msg)
    if kept == 0:
        box = shapely.box(*extent)
        away = shapely.distance(box.centroid, region.centroid) * 111
        msg = (f"the county boundary does not overlap the OSM file {src} (its data lie about {away:,.0f} km away, "
               f"within {extent[0]:.3f}–{extent[2]:.3f}°E, {extent[1]:.3f}–{extent[3]:.3f}°N); give the extract "
               "and the boundary of the same county.")
        raise InputError(msg)
    return out_xml


def _flatten(value: object) -> object:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def read_features(xml: Path) -> gpd.GeoDataFrame:
    """Read buildings, places, admin boundaries, schools and other points of interest.

    Returns a GeoDataFrame in WGS84 with columns ``osm_type``, ``osm_id`` and
    ``KEEP_COLUMNS`` (missing tags as NA).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        features = ox.features_from_xml(xml, tags=FEATURE_TAGS)
    features = features.reset_index()
    out = gpd.GeoDataFrame(
        {
            "osm_type": features["element"].astype(str),
            "osm_id": features["id"].astype("int64"),
            **{col: features.get(col, pd.NA) for col in KEEP_COLUMNS},
        },
        geometry=features.geometry.values,
        crs=DISPLAY_CRS,
    )
    return out.sort_values(["osm_type", "osm_id"]).reset_index(drop=True)


def read_roads(xml: Path, region: BaseGeometry) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read the road network (all highway ways) inside ``region`` as node and edge layers.

    Edges keep ``u``, ``v``, ``key``, ``osmid``, ``highway``, ``name``, ``oneway``,
    ``maxspeed``, ``length`` (metres) and their geometry; list values are joined with ``;``.
    ``osmnx.graph_from_gdfs`` rebuilds the graph from the two layers.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G = ox.graph_from_xml(xml, simplify=True, retain_all=True)
    inside = [n for n, d in G.nodes(data=True) if shapely.contains_xy(region, d["x"], d["y"])]
    G = nx.MultiDiGraph(G.subgraph(inside))
    if G.number_of_edges() == 0:
        return _empty_roads()
    nodes, edges = ox.graph_to_gdfs(G)
    nodes = nodes.reset_index()[["osmid", "x", "y", "geometry"]]
    columns = ["osmid", "highway", "name", "oneway", "maxspeed", "length", "geometry"]
    edges = edges.reset_index()
    edges = edges[["u", "v", "key", *[c for c in columns if c in edges]]]
    for col in edges.columns.drop("geometry"):
        edges[col] = edges[col].map(_flatten)
    return nodes.set_crs(DISPLAY_CRS, allow_override=True), edges.set_crs(DISPLAY_CRS, allow_override=True)


def _empty_roads() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    nodes = gpd.GeoDataFrame({"osmid": [], "x": [], "y": []}, geometry=[], crs=DISPLAY_CRS)
    edges = gpd.GeoDataFrame(
        {"u": [], "v": [], "key": [], "osmid": [], "highway": [], "length": []},
        geometry=[],
        crs=DISPLAY_CRS,
    )
    return nodes, edges


#: Ring faults of a building way, as ``building_ring_faults`` names them.
UNCLOSED, TOO_FEW_POINTS, INVALID = "unclosed", "too-few-points", "invalid"


def building_ring_faults(xml: Path) -> pd.DataFrame:
    """Building ways whose outline is broken as drawn, before osmnx repairs or drops it.

    osmnx makes every polygon valid and drops the empty ones without saying so, and reads an
    unclosed way as a line; the build repairs them by its own rule (``grid.repair``) and lists
    each. Returns one row per faulty way: ``osm_id``, ``fault`` (``UNCLOSED``: first node is not
    the last; ``TOO_FEW_POINTS``: fewer than 3 distinct nodes; ``INVALID``: a closed ring that is
    not a valid polygon, e.g. self-intersecting), ``reason`` (GEOS's, for ``INVALID``) and
    ``geometry`` (the ring as drawn, WGS84: a LineString for an unclosed way, the invalid Polygon,
    the points of a way of too few, None when it has no located node).
    """
    ids: list[int] = []
    faults: list[str] = []
    reasons: list[str] = []
    geoms: list[BaseGeometry | None] = []
    closed_ids: list[int] = []
    closed_rings: list[list[tuple[float, float]]] = []
    processor = (
        osmium.FileProcessor(str(xml), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter("building"))
    )
    for way in processor:
        if not isinstance(way, osmium.osm.Way):  # the nodes are read only for their locations
            continue
        coords = [(nd.location.lon, nd.location.lat) for nd in way.nodes if nd.location.valid()]
        if len(set(coords)) < 3:
            ids.append(way.id)
            faults.append(TOO_FEW_POINTS)
            reasons.append("")
            geoms.append(shapely.MultiPoint(coords) if coords else None)
        elif not way.is_closed():
            ids.append(way.id)
            faults.append(UNCLOSED)
            reasons.append("")
            geoms.append(shapely.LineString(coords))
        else:
            closed_ids.append(way.id)
            closed_rings.append(coords)
    if closed_rings:  # one vectorised validity test for all closed rings
        polygons = shapely.polygons([shapely.linearrings(ring) for ring in closed_rings])
        for bad in (~shapely.is_valid(polygons)).nonzero()[0]:
            ids.append(closed_ids[bad])
            faults.append(INVALID)
            reasons.append(str(shapely.is_valid_reason(polygons[bad])))
            geoms.append(polygons[bad])
    return pd.DataFrame(
        {"osm_id": pd.Series(ids, dtype="int64"), "fault": faults, "reason": reasons, "geometry": geoms}
    )
