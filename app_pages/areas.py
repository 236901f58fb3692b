"""Planners' patrol areas (包片区域): compute the split, hand a community to another team by clicking
it on the map, see balance and contiguity change at once, save (a new version) or undo."""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd
import streamlit as st
from shapely.geometry import Point
from streamlit_folium import st_folium

from app_cache import current_actor, data_version, teams_or_notice
from core.errors import InputError
from i18n import plain, t
from layers.render import TEAM_COLORS, base_map, escaped, finish_map, legend_html
from routing.areas import (
    AreaPlan,
    Workloads,
    adjacency,
    area_history,
    compute_areas,
    current_areas,
    evaluate,
    latest_assignment,
    save_areas,
    workloads,
)
from store import open_store

AREA_LAYERS = ("communities", "risk_sites", "teams", "road_nodes", "road_edges")  # what the workloads read
DRAFT = "areas_draft"  # {"plan": AreaPlan, "based_on": int | None, "undo": [assignments], "click": (lat, lng)}


@st.cache_resource(show_spinner=False, max_entries=4)
def _loads(path: str, version: str) -> tuple[Workloads, object]:
    """Each community's workload for each team, and the communities' adjacency (per workspace version)."""
    loads = workloads(open_store(path))
    return loads, adjacency(loads.communities)


def _evaluate(path: str, assignment: dict[str, str], tolerance: float) -> AreaPlan:
    loads, graph = _loads(path, data_version(path, AREA_LAYERS))
    return evaluate(loads, assignment, graph, tolerance, method="edited")  # type: ignore[arg-type]


def _draft(path: str) -> dict[str, object] | None:
    draft = st.session_state.get(DRAFT)
    if draft is None or draft.get("path") != path:
        saved = current_areas(open_store(path))
        if saved is None:
            return None
        draft = {"path": path, "plan": saved, "based_on": saved.version, "undo": [], "click": None}
        st.session_state[DRAFT] = draft
    return draft


def _map(path: str, plan: AreaPlan, names: dict[str, str]) -> dict | None:
    loads, _ = _loads(path, data_version(path, AREA_LAYERS))
    cells = loads.communities.to_crs("EPSG:4326")
    team_of = plan.assignment()
    colour = {team: TEAM_COLORS[k % len(TEAM_COLORS)] for k, team in enumerate(sorted({a.team_id for a in plan.areas}))}
    shown = cells.assign(team=[names.get(team_of.get(c, ""), team_of.get(c, "")) for c in cells["code"]],
                         colour=[colour.get(team_of.get(c, ""), "#9e9e9e") for c in cells["code"]])
    m = base_map(tuple(cells.total_bounds))  # type: ignore[arg-type]
    folium.GeoJson(escaped(shown[["code", "name", "team", "colour", "geometry"]], ["name", "team"]).to_json(),
                   name=t("areas_layer"),
                   style_function=lambda f: {"fillColor": f["properties"]["colour"], "color": "#333", "weight": 1,
                                             "fillOpacity": 0.5},
                   tooltip=folium.GeoJsonTooltip(fields=["name", "team"], aliases=[t("name"), t("areas_team")]),
                   ).add_to(m)
    left, right = st.columns([4, 1])
    with left:
        clicked = st_folium(finish_map(m), key="areas_map", height=520, use_container_width=True,
                            returned_objects=["last_clicked"])
    with right:
        st.markdown(legend_html([(colour[team], names.get(team, team)) for team in colour],  # escaped there
                                title=t("areas_team"), note=""), unsafe_allow_html=True)
    return clicked


def _community_at(path: str, lat: float, lng: float) -> str | None:
    loads, _ = _loads(path, data_version(path, AREA_LAYERS))
    cells: gpd.GeoDataFrame = loads.communities.to_crs("EPSG:4326")
    hit = cells[cells.geometry.contains(Point(lng, lat))]
    return None if hit.empty else str(hit["code"].iloc[0])


def _balance_table(plan: AreaPlan, names: dict[str, str]) -> None:
    st.dataframe(pd.DataFrame([{
        t("areas_team"): names.get(a.team_id, a.team_id), t("areas_communities"): len(a.communities),
        t("areas_workload"): round(a.workload), t("areas_service"): round(a.service),
        t("areas_travel"): round(a.travel), t("areas_deviation"): f"{100 * a.deviation:+.1f}%",
        t("areas_contiguous"): t("areas_yes") if a.contiguous else t("areas_no"),
    } for a in plan.areas]), hide_index=True, width="stretch")
    state = t("areas_balanced") if plan.balanced else t("areas_unbalanced")
    st.markdown(plain(t("areas_summary").format(deviation=f"{100 * plan.max_deviation:.1f}",
                                               tolerance=f"{100 * plan.tolerance:.0f}", state=state)))
    for reason in plan.reasons:
        st.warning(plain(reason))
    if not all(a.contiguous for a in plan.areas):
        st.error(t("areas_not_contiguous"))


def render() -> None:
    """Render the patrol areas page."""
    path = str(st.session_state["workspace"])
    st.header(t("areas_header"))
    st.caption(t("areas_caption"))
    found = teams_or_notice(path)
    if found is None:
        return
    names = found[2]
    c1, c2 = st.columns([1, 3])
    seed = int(c1.number_input(t("areas_seed"), value=2026, step=1, key="areas_seed"))
    if c2.button(t("areas_compute"), key="areas_compute"):
        ws = open_store(path)
        latest = latest_assignment(ws)  # what the new split replaces: a save after someone else's is refused
        try:
            with st.spinner(t("areas_computing")):
                computed = compute_areas(ws, seed=seed)
        except InputError as exc:
            st.error(plain(exc))
            return
        st.session_state[DRAFT] = {"path": path, "plan": computed, "undo": [], "click": None,
                                   "based_on": latest[0] if latest else 0}
    draft = _draft(path)
    if draft is None:
        st.info(t("areas_none"))
        return
    plan: AreaPlan = draft["plan"]  # type: ignore[assignment]
    st.subheader(t("areas_edit"))
    target = st.selectbox(t("areas_hand_to"), list(names), key="areas_target", format_func=lambda k: names[k])
    st.caption(t("areas_click_hint"))
    clicked = _map(path, plan, names)
    point = (clicked or {}).get("last_clicked")
    if point and (point["lat"], point["lng"]) != draft["click"]:
        draft["click"] = (point["lat"], point["lng"])
        code = _community_at(path, float(point["lat"]), float(point["lng"]))
        if code is not None and plan.assignment().get(code) != target:
            draft["undo"].append(plan.assignment())  # type: ignore[attr-defined]
            assignment = plan.assignment()
            assignment[code] = target
            draft["plan"] = plan = _evaluate(path, assignment, plan.tolerance)
            st.session_state["areas_moved"] = code
            st.rerun()
    moved = st.session_state.get("areas_moved")
    if moved:
        loads, _ = _loads(path, data_version(path, AREA_LAYERS))
        st.success(plain(t("areas_moved").format(community=loads.names.get(moved, moved),
                                                  team=names.get(plan.assignment().get(moved, ""), ""))))
    _balance_table(plan, names)
    b1, b2, b3 = st.columns(3)
    note = b1.text_input(t("areas_note"), key="areas_note")
    if b1.button(t("areas_save"), key="areas_save", type="primary"):
        try:
            saved = save_areas(open_store(path), plan, actor=current_actor(), method=plan.method, note=note,
                               based_on=draft.get("based_on"))  # type: ignore[arg-type]
        except InputError as exc:
            st.error(plain(exc))
        else:
            st.session_state[DRAFT] = {"path": path, "plan": saved, "based_on": saved.version, "undo": [],
                                       "click": draft["click"]}
            st.session_state.pop("areas_moved", None)
            st.success(t("areas_saved").format(version=saved.version))
    if b2.button(t("areas_undo"), key="areas_undo", disabled=not draft["undo"]):
        previous = draft["undo"].pop()  # type: ignore[attr-defined]
        draft["plan"] = _evaluate(path, previous, plan.tolerance)
        st.session_state.pop("areas_moved", None)
        st.rerun()
    if b3.button(t("areas_discard"), key="areas_discard"):
        st.session_state.pop(DRAFT, None)
        st.session_state.pop("areas_moved", None)
        st.rerun()
    with st.expander(t("areas_history")):
        history = area_history(open_store(path))
        st.dataframe(history.rename(columns={"version": t("areas_version"), "made_at": t("areas_made_at"),
                                             "made_by": t("areas_made_by"), "method": t("areas_method"),
                                             "note": t("areas_note"), "seed": t("areas_seed"),
                                             "max_deviation": t("areas_deviation"), "balanced": t("areas_balanced")}),
                     hide_index=True, width="stretch")
