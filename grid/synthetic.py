"""A county at scale for benchmarks and scale tests (演示数据): synthetic buildings in real cells.

``add_buildings(ws, count)`` fills the workspace's communities with ``count`` more building
outlines: squares of 8–20 m on a 30 m lattice, drawn at random (fixed seed) among the lattice
points inside each community within ``near_road_m`` of the workspace's roads, in proportion to that
area, never overlapping one another or an existing building. Each gets the next building code of
its community and a generated responsible person, like the demonstration data of
``patrol demo-layers`` (which can then place thousands of institutions on them). Nothing here
runs on a user's county unless asked.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from core.errors import InputError
from grid.demo import DEMO_LABEL, demo_people
from store import Store

LATTICE_M = 30.0


def add_buildings(ws: Store, count: int, *, seed: int = 2026, actor: str = "演示数据",
                  near_road_m: float = 150.0) -> int:
    """Add ``count`` synthetic buildings inside the communities of ``ws``, within ``near_road_m`` of its
    roads (people live along them; a plan can reach them); return how many were added."""
    if count < 1:
        raise InputError("--buildings must be at least 1.")
    metric = ws.meta()["metric_crs"]
    communities = ws.read("communities").to_crs(metric)
    existing = ws.read("buildings")
    taken = shapely.union_all(existing.to_crs(metric).geometry.buffer(LATTICE_M / 3).to_numpy()) \
        if len(existing) else shapely.Polygon()
    shapely.prepare(taken)
    roads = ws.read("road_edges").to_crs(metric) if ws.has_layer("road_edges") else None
    settled = (shapely.union_all(roads.geometry.buffer(near_road_m).to_numpy()) if roads is not None and len(roads)
               else shapely.union_all(communities.geometry.to_numpy()))
    communities = communities.assign(geometry=communities.geometry.intersection(settled))
    communities = communities[~communities.geometry.is_empty]
    rng = np.random.default_rng(seed)
    share = communities.geometry.area / communities.geometry.area.sum()  # the settled part of each
    quota = np.floor(share.to_numpy() * count).astype(int)
    quota[: count - quota.sum()] += 1  # the remainder, one each, to the first communities
    rows = []
    for community, want in zip(communities.itertuples(), quota, strict=True):
        if want == 0:
            continue
        minx, miny, maxx, maxy = community.geometry.bounds
        grid_x, grid_y = np.meshgrid(np.arange(minx, maxx, LATTICE_M), np.arange(miny, maxy, LATTICE_M))
        shape = community.geometry
        shapely.prepare(shape)
        xs, ys = grid_x.ravel(), grid_y.ravel()
        near = shapely.contains_xy(shape, xs, ys)  # the centres first, then the outlines around them
        xs, ys = xs[near], ys[near]
        half = rng.uniform(4, 10, size=len(xs))
        boxes = shapely.box(xs - half, ys - half, xs + half, ys + half)
        inside = shapely.contains(shape, boxes) & ~shapely.intersects(taken, boxes)
        candidates = np.flatnonzero(inside)
        chosen = np.sort(rng.choice(candidates, size=min(want, len(candidates)), replace=False))
        rows += [{"parent_code": community.code, "geometry": box} for box in boxes[chosen]]
    if not rows:
        raise InputError(f"{ws.label}: no room left in its communities for more buildings.")
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=metric)
    start = existing["code"].str[-4:].astype(int).groupby(existing["parent_code"]).max() if len(existing) else {}
    numbers = frame.groupby("parent_code").cumcount() + 1 + frame["parent_code"].map(start).fillna(0).astype(int)
    if (numbers > 9999).any():
        raise InputError("more than 9,999 buildings in one community: building codes have four digits.")
    codes = (frame["parent_code"] + numbers.map("{:04d}".format)).tolist()
    people = demo_people(codes, level="building", seed=seed).drop(columns="code")
    frame = frame.assign(
        code=codes, name=["楼栋 " + f"{n:04d}" for n in numbers], level="building",
        osm_id=None, osm_name=None, building_type="residential", levels=None, compound=None,
        area_m2=frame.geometry.area.round(1), **{c: people[c].to_numpy() for c in people.columns},
    ).to_crs(existing.crs or "EPSG:4326")
    columns = [c for c in existing.columns if c in frame.columns] or list(frame.columns)
    with ws.transaction(actor=actor, action="synthetic-buildings",
                        detail=f"{len(frame)} synthetic buildings ({DEMO_LABEL})") as tx:
        tx.upsert("buildings", frame[columns], key="code")
    return len(frame)
