"""Grid page: the four levels on a map, drill-down, responsible persons, who-is-responsible."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_cache import load_grid, who_chain
from core.errors import InputError
from core.text import in_language
from grid.crs import CRS_CHOICES
from i18n import lang, plain, t
from layers.render import MAX_MAP_BUILDINGS, grid_map

LEVELS = ("county", "townships", "communities", "buildings")
TABLE_COLUMNS = [
    "code",
    "name",
    "level",
    "parent_code",
    "responsible_role",
    "responsible_name",
    "responsible_phone",
    "responsible_source",
    "geometry_source",
]


def _select(grid: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    townships = grid["townships"].sort_values("code")
    col1, col2, col3 = st.columns(3)
    township = col1.selectbox(
        t("choose_township"),
        [None, *townships["code"]],
        key="township",
        format_func=lambda c: t("all") if c is None else f"{townships.set_index('code').loc[c, 'name']} ({c})",
    )
    shown = dict(grid)
    if township is not None:
        shown["townships"] = townships[townships["code"] == township]
        shown["communities"] = grid["communities"][grid["communities"]["parent_code"] == township]
    communities = shown["communities"].sort_values("code")
    community = col2.selectbox(
        t("choose_community"),
        [None, *communities["code"]],
        key="community",
        format_func=lambda c: t("all") if c is None else f"{communities.set_index('code').loc[c, 'name']} ({c})",
    )
    if community is not None:
        shown["communities"] = communities[communities["code"] == community]
    shown["buildings"] = grid["buildings"][grid["buildings"]["parent_code"].isin(shown["communities"]["code"])]
    col3.radio(
        t("basemap"), ["none", "osm", "amap"], key="basemap", format_func=lambda b: t(f"basemap_{b}"), horizontal=False
    )
    return shown


def _focus(shown: dict[str, gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    if st.session_state.get("community"):
        return shown["communities"]
    if st.session_state.get("township"):
        return shown["townships"]
    return shown["buildings"] if not shown["buildings"].empty else shown["county"]


def _table(shown: dict[str, gpd.GeoDataFrame]) -> pd.DataFrame:
    frames = [pd.DataFrame(shown[level].drop(columns="geometry")) for level in LEVELS]
    table = pd.concat(frames, ignore_index=True)
    table = table[[c for c in TABLE_COLUMNS if c in table.columns]]
    return table.rename(columns={c: t(c) for c in table.columns})


def _who(path: str, lon: float, lat: float, crs: str) -> None:
    try:
        chain = who_chain(path, lon, lat, crs)
    except InputError as exc:
        st.error(plain(in_language(exc, lang())))
        return
    for link in chain:
        st.markdown("• " + plain(link.line(lang())))


def render() -> None:
    """Render the grid page."""
    path = st.session_state["workspace"]
    if st.session_state.get("who_workspace") != path:  # another county: forget the last one's point and click
        for key in ("who_lon", "who_lat", "grid_map"):
            st.session_state.pop(key, None)
        st.session_state["who_workspace"] = path
    grid = load_grid(path)
    st.header(t("grid_header"))
    st.caption(t("grid_caption"))
    shown = _select(grid)
    names = {level: t(level) for level in LEVELS}
    labels = {
        c: t(c)
        for c in ("name", "code", "responsible_role", "responsible_name", "responsible_phone", "responsible_source")
    }
    drawn = dict(shown)
    if len(shown["buildings"]) > MAX_MAP_BUILDINGS:  # a whole county's buildings: the list has them, the map not
        drawn["buildings"] = shown["buildings"].iloc[0:0]
    m = grid_map(
        drawn, names=names, labels=labels, basemap=st.session_state.get("basemap", "none"), focus=_focus(shown)
    )
    counts = " · ".join(f"{names[level]} {len(shown[level])}" for level in LEVELS)
    st.caption(f"{t('counts')}: {counts}")
    if len(drawn["buildings"]) < len(shown["buildings"]):
        st.info(t("buildings_not_drawn").format(n=len(shown["buildings"]), limit=MAX_MAP_BUILDINGS))
    clicked = st_folium(m, key="grid_map", height=560, use_container_width=True, returned_objects=["last_clicked"])
    st.subheader(t("who_header"))
    st.caption(t("who_hint"))
    if clicked and clicked.get("last_clicked"):
        point = clicked["last_clicked"]
        crs = "gcj02" if st.session_state.get("basemap") == "amap" else "wgs84"
        _who(path, float(point["lng"]), float(point["lat"]), crs)
    with st.form("who_form"):
        col1, col2, col3 = st.columns(3)
        lon = col1.number_input(
            t("lon"), value=float(grid["county"].geometry.iloc[0].centroid.x), format="%.6f", key="who_lon"
        )
        lat = col2.number_input(
            t("lat"), value=float(grid["county"].geometry.iloc[0].centroid.y), format="%.6f", key="who_lat"
        )
        crs = col3.selectbox(t("crs"), ["wgs84", "cgcs2000", "gcj02", "bd09"], key="who_crs", help=CRS_CHOICES)
        if st.form_submit_button(t("who_button")):
            _who(path, lon, lat, crs)
    st.subheader(t("responsible_table"))
    st.dataframe(_table(shown), hide_index=True, width="stretch")
