"""Turn workspace layers into folium maps that work with no internet.

folium takes Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs, which leaves the
map blank on a government intranet. :func:`localize_assets` rewrites every script and
stylesheet of a map (and of every plugin in it) to the copies vendored in ``static/vendor``
(see ``scripts/vendor_assets.py``), which the app serves itself; an asset with no local
copy raises instead of silently reaching out. By default there are no basemap tiles: the
grid itself is the picture. Online, ``basemap`` adds OpenStreetMap tiles (WGS84) or Amap
tiles (GCJ-02, with the data shifted to match them).

This is the only module that imports folium.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypedDict

import folium
import geopandas as gpd
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.utilities import JsCode
from jinja2 import Template

from grid.crs import DISPLAY_CRS, wgs84_to_shifted
from grid.demo import DEMO_LABEL

MANIFEST = Path(__file__).resolve().parents[1] / "static" / "vendor" / "manifest.json"
DEFAULT_ASSET_BASE = "/app/static/vendor/"
OSM_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors (ODbL)'
Basemap = Literal["none", "osm", "amap"]
BASEMAPS: dict[str, dict[str, str]] = {
    "osm": {"tiles": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attr": OSM_ATTRIBUTION},
    "amap": {
        "tiles": "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
        "attr": "© 高德地图 AutoNavi (GCJ-02)",
    },
}


class _LevelStyle(TypedDict, total=False):
    color: str
    weight: float
    fillOpacity: float
    fillColor: str


LEVEL_STYLE: dict[str, _LevelStyle] = {
    "county": {"color": "#1f2937", "weight": 3, "fillOpacity": 0.0},
    "townships": {"color": "#b91c1c", "weight": 2.5, "fillOpacity": 0.12},
    "communities": {"color": "#1d4ed8", "weight": 1.2, "fillOpacity": 0.10},
    "buildings": {"color": "#374151", "weight": 0.6, "fillOpacity": 0.55, "fillColor": "#f59e0b"},
}


MAX_MAP_BUILDINGS = 5000  # a map draws at most this many building outlines; more are listed, not drawn
SIMPLIFY = {"county": 2e-5, "townships": 1e-5, "communities": 5e-6}  # degrees; buildings are kept as drawn


# folium embeds layer data with Jinja's ``tojson``: keep its HTML-safe escaping of < > & ' but write
# Chinese as UTF-8 rather than \uXXXX and drop the spaces (a county's layers are half the bytes)
def _compact_json(obj: object, **kwargs: object) -> str:
    """JSON as UTF-8 without spaces; U+2028/U+2029 escaped (older browsers end a script line there)."""
    text = json.dumps(obj, **kwargs)  # type: ignore[arg-type]
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


folium.GeoJson._template.environment.policies["json.dumps_function"] = _compact_json
folium.GeoJson._template.environment.policies["json.dumps_kwargs"] = {
    "sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}


class AssetError(RuntimeError):
    """A map element wants a script or stylesheet that is not vendored."""


def _manifest() -> dict[str, str]:
    return dict(json.loads(MANIFEST.read_text(encoding="utf-8")))


def _walk(element: object) -> Iterator[object]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def localize_assets(m: folium.Map, *, base_url: str = DEFAULT_ASSET_BASE) -> folium.Map:
    """Point every script and stylesheet of ``m`` at the app's own vendored copies.

    Raises
    ------
    AssetError
        If an element needs an asset that is not vendored (add it to
        ``scripts/vendor_assets.py`` and run it).
    """
    manifest = _manifest()
    for element in _walk(m):
        for attr in ("default_js", "default_css"):
            links = getattr(element, attr, None)
            if not links:
                continue
            local = []
            for name, url in links:
                if url not in manifest:
                    msg = f"{type(element).__name__} needs {url}, which is not vendored; run scripts/vendor_assets.py"
                    raise AssetError(msg)
                if manifest[url]:
                    local.append((name, base_url + manifest[url]))
            setattr(element, attr, local)
    return m


class _Attribution(MacroElement):
    """Add a fixed attribution (the OSM licence) to the map's attribution control."""

    _template = Template(
        """{% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.attributionControl.addAttribution({{ this.text|tojson }});
        {% endmacro %}"""
    )

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Attribution"
        self.text = text


def _color_for(code: str) -> str:
    digest = hashlib.md5(code.encode("utf-8"), usedforsecurity=False).hexdigest()
    hue = int(digest[:4], 16) % 360
    return f"hsl({hue}, 65%, 55%)"


COORDINATE_GRID = 1e-6  # degrees (≈ 0.1 m): coordinates sent to the browser are rounded to this


def compact(frame: gpd.GeoDataFrame, tolerance: float = 0.0) -> gpd.GeoDataFrame:
    """``frame`` (WGS84) with coordinates on a 0.1 m grid and, with ``tolerance`` (degrees), polygons
    simplified: what a map needs and no more bytes (a county's cells and 20,000 buildings)."""
    geometry = frame.geometry.values
    if tolerance > 0:
        geometry = shapely.simplify(geometry, tolerance, preserve_topology=True)
    geometry = shapely.set_precision(geometry, COORDINATE_GRID)
    keep = ~shapely.is_empty(geometry)
    return frame[keep].set_geometry(geometry[keep], crs=frame.crs)


def escaped(frame: gpd.GeoDataFrame, columns: list[str]) -> gpd.GeoDataFrame:
    """``frame`` with ``columns`` as escaped text: folium's tooltips and popups write values as HTML,
    and names come from OSM, imported files and team lists."""
    return frame.assign(**{c: frame[c].astype(str).replace({"nan": "", "None": "", "<NA>": ""}).map(html.escape)
                           for c in columns})


def _tooltip_fields(frame: gpd.GeoDataFrame, labels: dict[str, str]) -> tuple[list[str], list[str]]:
    fields = [f for f in labels if f in frame.columns]
    return fields, [labels[f] for f in fields]


def add_grid_level(
    m: folium.Map,
    frame: gpd.GeoDataFrame,
    level: str,
    *,
    name: str,
    labels: dict[str, str],
    shift: str | None = None,
    show: bool = True,
) -> folium.FeatureGroup:
    """Add one grid level to ``m`` as a toggleable group, with a tooltip per cell.

    Derived cells are drawn with dashed borders; demonstration persons are labelled 演示数据.
    """
    group = folium.FeatureGroup(name=html.escape(name), show=show)  # Leaflet's switcher writes names as HTML
    if frame.empty:
        group.add_to(m)
        return group
    data = frame.to_crs(DISPLAY_CRS)
    if shift in ("gcj02", "bd09"):
        data = wgs84_to_shifted(data, shift)  # type: ignore[arg-type]
    keep = [c for c in (*labels, "geometry_source") if c in data.columns]
    data = escaped(compact(data[[*keep, "geometry"]].copy(), SIMPLIFY.get(level, 0.0)), keep)
    fields, aliases = _tooltip_fields(data, labels)
    aliases = [html.escape(a) for a in aliases]
    style = LEVEL_STYLE[level]

    def style_function(feature: dict) -> dict:
        props = feature["properties"]
        dashed = props.get("geometry_source") == "derived-voronoi"
        fill = style.get("fillColor") or _color_for(str(props.get("code", "")))
        return {**style, "fillColor": fill, "dashArray": "6 4" if dashed else None}

    folium.GeoJson(
        data.to_json(),
        name=name,
        style_function=style_function,
        highlight_function=lambda _f: {"weight": style["weight"] + 2, "fillOpacity": 0.35},
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases, sticky=False),
    ).add_to(group)
    group.add_to(m)
    return group


def base_map(
    bounds: tuple[float, float, float, float],
    *,
    basemap: Basemap = "none",
    asset_base_url: str = DEFAULT_ASSET_BASE,
    canvas: bool = False,
) -> folium.Map:
    """Return an empty map fitted to WGS84 ``bounds`` (minx, miny, maxx, maxy).

    ``basemap="none"`` (the default) loads nothing from outside: right for intranets. ``canvas``
    draws every vector layer on one canvas instead of an SVG element per feature: thousands of
    institutions or buildings paint at once.
    """
    minx, miny, maxx, maxy = bounds
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        zoom_start=13,
        control_scale=True,
        prefer_canvas=canvas,
    )
    if basemap != "none":
        spec = BASEMAPS[basemap]
        folium.TileLayer(spec["tiles"], attr=spec["attr"], name=basemap, subdomains="1234", max_zoom=19).add_to(m)
    _Attribution(OSM_ATTRIBUTION).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    return m


def grid_map(
    levels: dict[str, gpd.GeoDataFrame],
    *,
    names: dict[str, str],
    labels: dict[str, str],
    basemap: Basemap = "none",
    asset_base_url: str = DEFAULT_ASSET_BASE,
    focus: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Draw the grid levels (keys of ``LEVEL_STYLE``) on one map with a layer switcher.

    Parameters
    ----------
    levels
        Level name (county, townships, communities, buildings) to cells in WGS84.
    names
        Display name of each level (in the user's language).
    labels
        Column to tooltip label, e.g. ``{"name": "名称", "responsible_name": "负责人"}``.
    basemap
        ``none`` (offline), ``osm`` or ``amap`` (GCJ-02: the data are shifted to match).
    focus
        Cells to fit the view to; defaults to the first non-empty level.
    """
    shift = "gcj02" if basemap == "amap" else None
    frames = [f for f in levels.values() if not f.empty]
    target = focus if focus is not None and not focus.empty else frames[0]
    if shift:
        target = wgs84_to_shifted(target, "gcj02")
    m = base_map(tuple(target.to_crs(DISPLAY_CRS).total_bounds), basemap=basemap,  # type: ignore[arg-type]
                 canvas=True)
    for level, frame in levels.items():
        add_grid_level(m, frame, level, name=names[level], labels=labels, shift=shift)
    folium.LayerControl(collapsed=False).add_to(m)
    return localize_assets(m, base_url=asset_base_url)


STATUS_COLORS = {
    "white_list": "#2e7d32",
    "black_list": "#212121",
    "licensed_no_permit": "#ef6c00",
    "unlicensed": "#c62828",
    "converted_nonprofit": "#1565c0",
    "deregistered": "#8d8d8d",
}
CLUE_COLOR = "#8e24aa"
HOT_COLOR = "#d50000"


def risk_color(score: float) -> str:
    """Yellow (0) to dark red (1)."""
    score = min(1.0, max(0.0, float(score)))
    return f"hsl({int(55 - 55 * score)}, 90%, {int(60 - 25 * score)}%)"


def _popup_html(row: dict[str, object], labels: dict[str, str]) -> str:
    lines = [f"<b>{html.escape(str(row.get(labels.get('_title', 'name'), '')))}</b>"]
    for column, text in labels.items():
        if column.startswith("_"):
            continue
        value = row.get(column)
        if value is None or value == "" or (isinstance(value, float) and value != value):
            continue
        lines.append(f"{html.escape(text)}：{html.escape(str(value))}")
    return "<br>".join(lines)


def _text(value: object) -> str:
    """A value as escaped text for a popup (the templates put it into HTML); empty for a missing one."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value))


def _texts(values: pd.Series) -> list[str]:
    """:func:`_text` of every value, each distinct value escaped once (statuses, kinds, sources repeat)."""
    distinct = {v: _text(v) for v in values.drop_duplicates()}
    return [distinct[v] if v in distinct else _text(v) for v in values]


@dataclass(frozen=True)
class PointLayer:
    """One kind of point, ready for a map: its GeoJSON (each feature a palette index and its escaped
    values), the palette and the popup's fields. Plain data, so a page may cache it."""

    name: str
    geojson: dict[str, Any]
    styles: str  # JSON list of Leaflet path styles, indexed by each feature's ``s``
    fields: tuple[str, ...]
    aliases: tuple[str, ...]


def point_layer(
    frame: gpd.GeoDataFrame,
    *,
    name: str,
    color: str | list[str],
    labels: dict[str, str],
    radius: float | list[float] = 6,
    shift: str | None = None,
    fill_color: str | list[str] | None = None,
) -> PointLayer:
    """The points of ``frame`` as one layer; per-point colours and radii allowed (see :func:`add_points`)."""
    data = frame.assign(_color=color, _radius=radius)
    data["_fill"] = data["_color"] if fill_color is None else fill_color
    data = data[data.geometry.notna() & ~data.geometry.is_empty].to_crs(DISPLAY_CRS)
    if shift in ("gcj02", "bd09"):
        data = wgs84_to_shifted(data, shift)  # type: ignore[arg-type]
    title = labels.get("_title", "name")
    fields = [title] + [c for c in labels if not c.startswith("_") and c != title and c in data.columns]
    aliases = tuple(html.escape(labels.get(c, "")) for c in fields)
    properties = {f"p{i}": _texts(data[c]) if c in data.columns else [""] * len(data) for i, c in enumerate(fields)}
    looks = list(zip(data["_color"].astype(str), data["_fill"].astype(str), data["_radius"].astype(float),
                     strict=True))
    palette = sorted(set(looks))  # each point names its look by number: a few bytes, not three properties
    number = {look: i for i, look in enumerate(palette)}
    shown = gpd.GeoDataFrame({"s": [number[look] for look in looks], **properties},
                             geometry=data.geometry.to_numpy(), crs=data.crs)
    styles = json.dumps([{"color": c, "fillColor": f, "radius": r} for c, f, r in palette])
    geojson = json.loads(compact(shown).to_json(drop_id=True)) if len(shown) else {}
    return PointLayer(name, geojson, styles, tuple(properties), aliases)


def add_point_layer(m: folium.Map, layer: PointLayer, *, attach: bool = True) -> folium.FeatureGroup:
    """Add ``layer`` to ``m`` in one toggleable group, or only build the group (``attach=False``: the
    page hands it to ``st_folium(feature_group_to_add=…)``, redrawn without reloading the map)."""
    group = folium.FeatureGroup(name=html.escape(layer.name), show=True)  # the switcher writes names as HTML
    if attach:
        group.add_to(m)
    if not layer.geojson.get("features"):
        return group
    folium.GeoJson(
        layer.geojson,
        marker=folium.CircleMarker(radius=6, weight=2, fill=True, fill_opacity=0.8),
        # each point's colours and radius from the palette, in the browser
        on_each_feature=JsCode(f"function(feature, layer) {{ layer.setStyle({layer.styles}[feature.properties.s]); }}"),
        popup=folium.GeoJsonPopup(fields=list(layer.fields), aliases=list(layer.aliases), localize=False,
                                  max_width=320),
        tooltip=folium.GeoJsonTooltip(fields=["p0"], labels=False, localize=False),
    ).add_to(group)
    return group


def add_points(
    m: folium.Map,
    frame: gpd.GeoDataFrame,
    *,
    name: str,
    color: str | list[str],
    labels: dict[str, str],
    radius: float | list[float] = 6,
    shift: str | None = None,
    fill_color: str | list[str] | None = None,
) -> folium.FeatureGroup:
    """Add points as circle markers in one toggleable group; per-point colours and radii allowed.

    One GeoJSON layer: each point carries its look (a palette index) and its escaped values as
    properties, read by a single popup and tooltip template (not a marker and popup object per point).
    """
    layer = point_layer(frame, name=name, color=color, labels=labels, radius=radius, shift=shift,
                        fill_color=fill_color)
    return add_point_layer(m, layer)


def add_surface(
    m: folium.Map,
    surface: gpd.GeoDataFrame,
    *,
    name: str,
    hot_name: str,
    shift: str | None = None,
    show_surface: bool = True,
    show_hot: bool = True,
) -> None:
    """Add the smooth clue surface (shaded lattice cells) and its Gi* hot cells (red outlines)."""
    data = surface.to_crs(DISPLAY_CRS)
    if shift in ("gcj02", "bd09"):
        data = wgs84_to_shifted(data, shift)  # type: ignore[arg-type]
    peak = float(data["density"].max()) if len(data) else 0.0
    if show_surface and peak > 0:
        shaded = compact(data[data["density"] > 0.05 * peak][["density", "geometry"]].copy())
        shaded = shaded.assign(level=(shaded["density"] / peak).round(3))[["level", "geometry"]]
        folium.GeoJson(
            shaded.to_json(),
            name=name,
            style_function=lambda f: {
                "fillColor": risk_color(f["properties"]["level"]),
                "color": "none",
                "weight": 0,
                "fillOpacity": 0.15 + 0.45 * f["properties"]["level"],
            },
        ).add_to(m)
    hot = data[data["label"] == "hot"]
    if show_hot and len(hot):
        folium.GeoJson(
            compact(hot[["gi_z", "p_value", "geometry"]].round({"gi_z": 2, "p_value": 4})).to_json(drop_id=True),
            name=hot_name,
            style_function=lambda _f: {"color": HOT_COLOR, "weight": 2, "fillOpacity": 0.05},
            tooltip=folium.GeoJsonTooltip(fields=["gi_z", "p_value"], aliases=["Gi* z", "p"]),
        ).add_to(m)


def finish_map(m: folium.Map, *, asset_base_url: str = DEFAULT_ASSET_BASE, switcher: bool = True) -> folium.Map:
    """Add the layer switcher (unless the page hands one to ``st_folium``, see :func:`layer_switcher`)
    and point every asset at the app's own static files."""
    if switcher:
        folium.LayerControl(collapsed=False).add_to(m)
    return localize_assets(m, base_url=asset_base_url)


def layer_switcher() -> folium.LayerControl:
    """A layer switcher for ``st_folium(layer_control=…)``: it lists the groups a page adds with
    ``feature_group_to_add`` too (those are redrawn without reloading the map when a filter changes)."""
    return folium.LayerControl(collapsed=False)


def legend_html(
    items: list[tuple[str, str]], *, title: str, note: str = f"{DEMO_LABEL}: 负责人为生成的演示数据"
) -> str:
    """Return a small HTML legend (for Streamlit's markdown) from (colour, label) pairs."""
    rows = "".join(
        f'<div><span style="display:inline-block;width:14px;height:10px;border:2px solid {c};'
        f'margin-right:6px"></span>{html.escape(label)}</div>'
        for c, label in items
    )
    return f'<div style="font-size:0.85em"><b>{title}</b>{rows}<div>{note}</div></div>'


__all__ = [
    "AssetError",
    "add_grid_level",
    "add_plan",
    "add_points",
    "add_surface",
    "base_map",
    "finish_map",
    "grid_map",
    "legend_html",
    "localize_assets",
    "risk_color",
]


TEAM_COLORS = ("#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457")


def add_plan(
    m: folium.Map,
    plan: dict,
    *,
    labels: dict[str, str],
    team_names: dict[str, str],
    colors: dict[str, str] | None = None,
) -> None:
    """Draw a patrol plan: each team's road legs, numbered stops and base, one group per team."""
    for n, team in enumerate(plan["teams"]):
        color = (colors or {}).get(team["team_id"], TEAM_COLORS[n % len(TEAM_COLORS)])
        group = folium.FeatureGroup(name=html.escape(team_names.get(team["team_id"], team["name"])), show=True)
        for leg in team["legs"]:
            if len(leg["coordinates"]) >= 2:
                folium.PolyLine(
                    [[lat, lon] for lon, lat in leg["coordinates"]],
                    color=color,
                    weight=4,
                    opacity=0.8,
                    tooltip=f"{leg['minutes']} min",
                ).add_to(group)
        folium.Marker(
            [team["base"]["lat"], team["base"]["lon"]],
            icon=folium.DivIcon(
                html=f'<div style="background:{color};color:#fff;padding:2px 4px;border-radius:3px;'
                f'font-size:11px;white-space:nowrap">{html.escape(team["name"])}</div>'
            ),
            tooltip=html.escape(labels.get("_base", "base")),
        ).add_to(group)
        for stop in team["stops"]:
            folium.Marker(
                [stop["lat"], stop["lon"]],
                icon=folium.DivIcon(
                    html=f'<div style="background:#fff;border:2px solid {color};color:{color};'
                    f"border-radius:50%;width:20px;height:20px;text-align:center;"
                    f'font:bold 11px/16px sans-serif">{stop["order"]}</div>'
                ),
                popup=folium.Popup(_popup_html(stop, labels), max_width=320),
                tooltip=html.escape(f"{stop['order']}. {stop['arrival']} {stop['name']}"),
            ).add_to(group)
        group.add_to(m)
