"""Derive cells that tile their parent exactly, where a level has no polygons of its own.

Most communities (and many townships) have no polygon in OpenStreetMap, only a point: a
``place`` node, a named residential area, an office. Their cells are derived here:

1. Real polygons are kept as they are (``fixed``).
2. The rest of the parent is split into Voronoi cells of the labelled anchor points; a cell is
   the union of the Voronoi cells of all the anchors carrying its label (a township is
   located by its own seat *and* by its communities, so every community ends up inside its
   township).
3. Cells are snapped to buildings: a building cut by a derived border goes whole to the cell
   holding most of it, so no building straddles two derived cells.

The result tiles the parent with no gaps or overlaps (up to floating-point slivers, which
are removed). All work is in the county's metric CRS.
"""

from __future__ import annotations

from collections.abc import Mapping

import geopandas as gpd
import shapely
from shapely.geometry.base import BaseGeometry

SLIVER_M2 = 0.01


def _clean(geom: BaseGeometry) -> BaseGeometry:
    """Make valid and keep only polygonal parts (drop lines and points from set operations)."""
    geom = shapely.make_valid(geom)
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    parts = [p for p in parts if p.area > SLIVER_M2]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def voronoi_partition(
    area: BaseGeometry, anchors: gpd.GeoDataFrame, *, label: str
) -> dict[str, BaseGeometry]:
    """Split ``area`` among the labels of ``anchors`` by Voronoi cells of the anchor points.

    Parameters
    ----------
    area
        The region to split (metric CRS).
    anchors
        Points in the same CRS, with a column ``label`` naming the cell each point belongs to.
    label
        The column holding the cell labels.

    Returns
    -------
    dict
        Label to (Multi)Polygon; the values tile ``area``. Empty when ``anchors`` is empty.
    """
    if anchors.empty or area.is_empty:
        return {}
    labels = anchors[label].astype(str).tolist()
    if len(set(labels)) == 1:
        return {labels[0]: _clean(area)}
    points = shapely.MultiPoint(list(anchors.geometry))
    regions = shapely.voronoi_polygons(points, extend_to=area)
    cells: dict[str, list[BaseGeometry]] = {}
    tree = shapely.STRtree(list(anchors.geometry))
    for region in shapely.get_parts(regions):
        hits = tree.query(region, predicate="contains")
        if len(hits) == 0:
            hits = tree.query(region.representative_point(), predicate="dwithin", distance=1e9)[:1]
        cells.setdefault(labels[int(hits[0])], []).append(region)
    return {key: _clean(shapely.union_all(parts).intersection(area)) for key, parts in cells.items()}


def snap_to_buildings(
    cells: Mapping[str, BaseGeometry], buildings: gpd.GeoSeries, *, movable: set[str] | None = None
) -> dict[str, BaseGeometry]:
    """Give every building cut by a cell border wholly to the cell holding most of it.

    Only cells in ``movable`` (default: all) grow or shrink; a real polygon's border stays.
    The union of the cells is unchanged wherever the building lies inside it.
    """
    result = dict(cells)
    movable = set(result) if movable is None else movable
    keys = list(result)
    tree = shapely.STRtree([result[k] for k in keys])
    for building in buildings:
        hits = [keys[i] for i in tree.query(building, predicate="intersects")]
        if len(hits) < 2 or not set(hits) <= movable:
            continue
        owner = max(hits, key=lambda k: result[k].intersection(building).area)
        piece = building.intersection(shapely.union_all([result[k] for k in hits]))
        for key in hits:
            if key != owner:
                result[key] = _clean(result[key].difference(piece))
        result[owner] = _clean(shapely.union_all([result[owner], piece]))
    return result
