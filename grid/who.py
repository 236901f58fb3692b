"""Who is responsible here? The chain from building (or the nearest cell) up to the county."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

from core.errors import InputError
from core.text import Text
from grid.crs import DISPLAY_CRS, points_to_wgs84
from store import Store

LEVEL_LAYERS = (
    ("building", "buildings"),
    ("community", "communities"),
    ("township", "townships"),
    ("county", "county"),
)
LEVEL_NAMES = {"building": Text("楼栋", "Building"), "community": Text("社区(村)", "Community"),
               "township": Text("乡镇(街道)", "Township"), "county": Text("县区", "County")}
NO_NOTE = Text("", "")


class OutsideCountyError(InputError):
    """The point lies outside the workspace's county."""


@dataclass(frozen=True)
class Responsible:
    """One link of the responsibility chain."""

    level: str
    code: str
    name: str
    role: str
    person: str
    phone: str
    source: str
    note: Text = NO_NOTE

    def line(self, lang: str | None = None) -> str:
        """Return the link as one printable line, in ``lang`` ("zh", "en"; the note in both when None)."""
        note = str(self.note) if lang is None else self.note.get(lang)
        demo = f" ({self.source})" if self.source else ""
        return (
            f"{LEVEL_NAMES[self.level].get(lang or 'zh')} {self.name} ({self.code}): {self.role} "
            f"{self.person} {self.phone}{demo}" + (f"  [{note}]" if note else "")
        )


def _link(level: str, row: object, note: Text = NO_NOTE) -> Responsible:
    get = lambda field: str(getattr(row, field, "") or "")  # noqa: E731
    return Responsible(
        level,
        get("code"),
        get("name"),
        get("responsible_role"),
        get("responsible_name"),
        get("responsible_phone"),
        get("responsible_source"),
        note,
    )


def who_is_responsible(workspace: Store, lon: float, lat: float, *, crs: str = "wgs84") -> list[Responsible]:
    """Return the responsibility chain for a point, from the smallest cell up to the county.

    The chain starts at the building containing the point; if there is none, at the community
    (and so on). A point in the county but in no cell of a level gets that level's nearest cell,
    with its distance in the note.

    Raises
    ------
    OutsideCountyError
        If the point lies outside the county.
    """
    x, y = points_to_wgs84([lon], [lat], crs)
    point = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=DISPLAY_CRS)
    metric_crs = workspace.meta()["metric_crs"]
    point_m = point.to_crs(metric_crs).iloc[0]
    county = workspace.read("county").to_crs(metric_crs)
    if not county.geometry.iloc[0].contains(point_m):
        distance = (
            county.geometry.iloc[0].exterior.distance(point_m)
            if county.geometry.iloc[0].geom_type == "Polygon"
            else county.geometry.iloc[0].distance(point_m)
        )
        name, x0, y0 = county["name"].iloc[0], float(x[0]), float(y[0])
        raise OutsideCountyError(Text(
            f"点 ({x0:.6f}, {y0:.6f})（WGS84）在{name}之外，距县界 {distance:,.0f} 米；请核对坐标及其坐标系。",
            f"point ({x0:.6f}, {y0:.6f}) WGS84 lies outside {name}, {distance:,.0f} m from its boundary; "
            "check the coordinates and their CRS (--crs).",
        ))
    chain: list[Responsible] = []
    parent_code: str | None = None
    for level, layer in LEVEL_LAYERS:
        frame = workspace.read(layer).to_crs(metric_crs)
        if parent_code is not None:
            chain_row = frame[frame["code"] == parent_code]
            if not chain_row.empty:
                row = next(chain_row.itertuples())
                chain.append(_link(level, row))
                parent_code = str(row.parent_code) if level != "county" else None
                continue
        hits = frame[frame.contains(point_m)]
        if not hits.empty:
            row = next(hits.itertuples())
        elif level == "building" or frame.empty:
            continue
        else:
            distances = frame.distance(point_m)
            row = next(frame.loc[[distances.idxmin()]].itertuples())
            metres = f"{distances.min():,.0f}"
            chain.append(_link(level, row, Text(f"估计：最近的已定位网格，相距{metres}米",
                                                f"an estimate: the nearest located cell, {metres} m away")))
            parent_code = str(row.parent_code)
            continue
        chain.append(_link(level, row))
        parent_code = str(row.parent_code) if level != "county" else None
    return chain
