"""Grid members' and volunteers' phone page (现场上报): report a clue in under a minute — category,
what was seen, the place (the phone's location, a tap on the map, or an address matched offline),
photos, the time — file "nothing found today" for one's own cell, and see what became of one's
reports. Nothing of any plan is shown here."""

from __future__ import annotations

from datetime import datetime, time

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_cache import current_actor, load_grid
from casework.field import MAX_PHOTOS, FieldReport, my_reports, report_clue, walked
from core.clock import TIMEZONE
from core.errors import InputError, PermissionDeniedError
from i18n import plain, t
from layers import schema
from layers.render import base_map, finish_map
from store import open_store

PLACE = "field_place"  # (lon, lat, how) chosen for the report being written


def _locate_by_phone() -> None:
    from streamlit_js_eval import get_geolocation

    found = get_geolocation(component_key="field_geolocation")
    if isinstance(found, dict) and "coords" in found:
        coords = found["coords"]
        st.session_state[PLACE] = (float(coords["longitude"]), float(coords["latitude"]), t("field_by_phone"))
    elif isinstance(found, dict) and "error" in found:
        st.warning(t("field_no_geolocation"))


def _place_picker(path: str) -> None:
    st.caption(t("field_place_hint"))
    if st.toggle(t("field_use_phone"), key="field_use_phone"):
        _locate_by_phone()
    address = st.text_input(t("field_address"), key="field_address", max_chars=120)
    if address and st.button(t("field_find_address"), key="field_find_address"):
        from layers.geocode import AddressIndex

        found = AddressIndex(open_store(path)).locate(address)
        if found.lon is None or found.lat is None:
            st.warning(plain(t("field_address_unknown").format(address=address)))
        else:
            st.session_state[PLACE] = (float(found.lon), float(found.lat), t("field_by_address"))
    county = load_grid(path)["county"]
    bounds = tuple(county.total_bounds)
    m = base_map(bounds)  # type: ignore[arg-type]
    folium.GeoJson(county[["geometry"]].to_json(), name=t("county"),
                   style_function=lambda _f: {"color": "#555", "weight": 1, "fillOpacity": 0.03}).add_to(m)
    place = st.session_state.get(PLACE)
    if place:
        folium.CircleMarker([place[1], place[0]], radius=9, color="#c62828", fill=True, fill_opacity=0.8,
                            tooltip=t("field_here")).add_to(m)
    clicked = st_folium(finish_map(m), key="field_map", height=300, use_container_width=True,
                        returned_objects=["last_clicked"])
    point = (clicked or {}).get("last_clicked")
    if point and (point["lng"], point["lat"]) != st.session_state.get("field_last_tap"):
        st.session_state["field_last_tap"] = (point["lng"], point["lat"])
        st.session_state[PLACE] = (float(point["lng"]), float(point["lat"]), t("field_by_tap"))
        st.rerun()
    if place:
        st.success(t("field_place").format(lon=f"{place[0]:.6f}", lat=f"{place[1]:.6f}", how=place[2]))


def _report(path: str) -> None:
    categories = {term.code: term.zh for term in schema.CLUE_CATEGORIES}
    category = st.selectbox(t("field_category"), list(categories), key="field_category",
                            format_func=lambda c: categories[c])
    content = st.text_area(t("field_content"), key="field_content", max_chars=500, height=90)
    now = datetime.now(TIMEZONE)
    c1, c2 = st.columns(2)
    day = c1.date_input(t("field_day"), value=now.date(), max_value=now.date(), key="field_day")
    moment = c2.time_input(t("field_time"), value=time(now.hour, now.minute), key="field_time")
    _place_picker(path)
    photos = st.file_uploader(t("field_photos").format(n=MAX_PHOTOS), type=["jpg", "jpeg", "png"],
                              accept_multiple_files=True, key="field_photos")
    if st.button(t("field_send"), key="field_send", type="primary", width="stretch"):
        place = st.session_state.get(PLACE)
        if place is None:
            st.error(t("field_no_place"))
            return
        seen = pd.Timestamp(datetime.combine(day, moment)).tz_localize(TIMEZONE).isoformat()
        try:
            typed = st.session_state.get("field_address", "") if place[2] == t("field_by_address") else ""
            clue_id = report_clue(open_store(path), FieldReport(category, content, place[0], place[1], seen,
                                                                tuple(p.getvalue() for p in photos or []),
                                                                address=typed), actor=current_actor())
        except (InputError, PermissionDeniedError) as exc:
            st.error(plain(exc))
            return
        st.session_state.pop(PLACE, None)
        st.session_state["field_sent"] = clue_id  # shown until the next report, whatever reruns the map makes
    if st.session_state.get("field_sent"):
        st.success(t("field_sent").format(clue_id=st.session_state["field_sent"]))


def _walk(path: str) -> None:
    person = current_actor()
    if not person.cell_code:
        st.info(t("field_no_cell"))
        return
    st.caption(t("field_walk_hint").format(cell=person.cell_code))
    note = st.text_input(t("field_walk_note"), key="field_walk_note", max_chars=200)
    if st.button(t("field_walk_send"), key="field_walk_send", width="stretch"):
        try:
            walked(open_store(path), actor=person, note=note)
        except (InputError, PermissionDeniedError) as exc:
            st.error(plain(exc))
        else:
            st.success(t("field_walk_sent"))


def _mine(path: str) -> None:
    rows = my_reports(open_store(path), actor=current_actor())
    if rows.empty:
        st.info(t("field_none_yet"))
        return
    statuses = {term.code: term.zh for term in schema.CLUE_STATUSES}
    categories = {term.code: term.zh for term in schema.CLUE_CATEGORIES}
    st.dataframe(rows.assign(status=rows["status"].map(statuses).fillna(rows["status"]),
                             category=rows["category"].map(categories).fillna(rows["category"])).rename(columns={
        "clue_id": t("code"), "received_at": t("field_received"), "category": t("field_category"),
        "content": t("field_content"), "status": t("field_status"), "verify_by": t("field_verify_by")}),
        hide_index=True, width="stretch")


def render() -> None:
    """Render the field page (phone-sized)."""
    path = str(st.session_state["workspace"])
    st.header(t("field_header"))
    report, walk, mine = st.tabs([t("field_tab_report"), t("field_tab_walk"), t("field_tab_mine")])
    with report:
        _report(path)
    with walk:
        _walk(path)
    with mine:
        _mine(path)
