"""Validate the grid of a workspace: ``patrol check``.

Rules, per level (county → townships → communities → buildings): codes are unique and
present; geometries are valid and not empty; every cell has a responsible person with a
phone; every child lies inside its parent and names an existing parent; siblings do not
overlap, and no two buildings overlap (so that a point has one building, whatever their
communities); the children of a cell cover it (for the three area levels — buildings do not
tile their community), gaps reported with their area. Areas are measured in the workspace's
metric CRS; differences below ``TOLERANCE_M2`` are floating-point noise and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import shapely

from store import GRID_LAYERS, Store

TOLERANCE_M2 = 1.0
PARENT_OF = {"townships": "county", "communities": "townships", "buildings": "communities"}
PARENT_OF_INV = {"townships": "county", "communities": "townships"}  # levels that tile their parent


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell."""

    layer: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.layer} {self.code}: {self.message}"


def _basic(layer: str, frame: gpd.GeoDataFrame) -> list[Problem]:
    problems = []
    for code, count in frame["code"].value_counts().items():
        if count > 1:
            problems.append(Problem(layer, str(code), f"code used by {count} cells; codes must be unique"))
    for row in frame.itertuples():
        code = str(row.code) if isinstance(row.code, str) and row.code else f"(row {row.Index + 1})"
        if code.startswith("("):
            problems.append(Problem(layer, code, "cell has no code"))
        if row.geometry is None or row.geometry.is_empty:
            problems.append(Problem(layer, code, "cell has no geometry"))
        elif not row.geometry.is_valid:
            reason = shapely.is_valid_reason(row.geometry)
            problems.append(Problem(layer, code, f"invalid geometry ({reason}); repair it, e.g. with make_valid"))
        for field in ("responsible_name", "responsible_phone"):
            value = getattr(row, field, None)
            if not isinstance(value, str) or not value.strip():
                problems.append(Problem(layer, code, f"no {field.replace('_', ' ')}"))
    return problems


def _nesting(layer: str, frame: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> list[Problem]:
    problems = []
    by_code = dict(zip(parents["code"], parents.geometry, strict=False))
    for row in frame.itertuples():
        parent = by_code.get(row.parent_code)
        if parent is None:
            problems.append(
                Problem(layer, str(row.code), f"parent {row.parent_code!r} not found in {PARENT_OF[layer]}")
            )
            continue
        if row.geometry is None or not row.geometry.is_valid or not parent.is_valid:
            continue
        outside = row.geometry.difference(parent).area
        if outside > TOLERANCE_M2 and outside > 0.01 * row.geometry.area:
            problems.append(Problem(layer, str(row.code), f"{outside:,.0f} m² lie outside parent {row.parent_code}"))
    return problems


def _overlaps(layer: str, frame: gpd.GeoDataFrame) -> list[Problem]:
    """Siblings sharing more than ``TOLERANCE_M2``; for buildings, any two (a point has one building).

    Vectorised: the spatial index gives the candidate pairs, shapely measures them all at once.
    """
    valid = frame[frame.geometry.notna() & frame.geometry.is_valid].reset_index(drop=True)
    left, right = valid.sindex.query(valid.geometry, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    geoms = valid.geometry.to_numpy()
    areas = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    codes = valid["code"].to_numpy()
    what = "building" if layer == "buildings" else "sibling"
    return [
        Problem(layer, str(codes[i]), f"overlaps {what} {codes[j]} by {area:,.0f} m²")
        for i, j, area in zip(left, right, areas, strict=True)
        if area > TOLERANCE_M2
    ]


def _coverage(layer: str, children: gpd.GeoDataFrame, parents: gpd.GeoDataFrame) -> list[Problem]:
    problems = []
    for parent in parents.itertuples():
        mine = children[children["parent_code"] == parent.code]
        mine = mine[mine.geometry.notna() & mine.geometry.is_valid]
        covered = shapely.union_all(list(mine.geometry)) if len(mine) else shapely.Polygon()
        gap = parent.geometry.difference(covered).area if parent.geometry.is_valid else 0.0
        if gap > TOLERANCE_M2:
            share = gap / parent.geometry.area if parent.geometry.area else 1.0
            problems.append(
                Problem(
                    PARENT_OF_INV[layer],
                    str(parent.code),
                    f"gap of {gap:,.0f} m² ({share:.1%}) not covered by any of its {layer}",
                )
            )
    return problems


def check_workspace(workspace: Store) -> list[Problem]:
    """Return every problem of the workspace's grid (empty when it is clean)."""
    workspace.validate_layout()
    metric_crs = workspace.meta()["metric_crs"]
    frames = {name: workspace.read(name).to_crs(metric_crs) for name in GRID_LAYERS}
    problems: list[Problem] = []
    for layer in GRID_LAYERS:
        problems += _basic(layer, frames[layer])
        problems += _overlaps(layer, frames[layer])
    for layer, parent in PARENT_OF.items():
        problems += _nesting(layer, frames[layer], frames[parent])
        if layer in PARENT_OF_INV:
            problems += _coverage(layer, frames[layer], frames[parent])
    return problems
