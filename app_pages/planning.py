"""Planning page: choose date, shift and teams, generate a plan, see routes, timeline and probabilities."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from access.plans import visible_register
from app_cache import current_actor, load_grid, load_optional, load_teams
from core.clock import TIMEZONE
from core.errors import InputError
from core.settings import load_patrol_settings
from i18n import plain, plan_labels, t
from layers.render import add_grid_level, add_plan, add_points, base_map, finish_map, legend_html, risk_color
from reports.gaps import gaps
from routing.exports import plan_geojson, team_gpx, team_kml
from routing.model import Plan
from routing.plan import make_plan
from routing.register import register_plan, withdraw_plan
from routing.sheet import team_color
from store import open_store


def _probability_layer(m, plan: Plan, path) -> None:
    sites = load_optional(path, "risk_sites")
    if sites is None:
        return
    probs = pd.Series(plan.probabilities, name="probability")
    frame = sites.set_index("site_id").join(probs, how="inner").reset_index()
    if frame.empty:
        return
    frame["probability_pct"] = (100 * frame["probability"]).round(0).astype(int).astype(str) + "%"
    add_points(
        m,
        gpd.GeoDataFrame(frame, geometry="geometry", crs=sites.crs),
        name=t("plan_probability_layer"),
        color=[risk_color(p) for p in frame["probability"]],
        radius=[3 + 6 * p for p in frame["probability"]],
        labels={"name": t("name"), "probability_pct": t("col_probability"), "risk_reasons": t("risk_reasons")},
    )


def _generate(path, day, shift: str, team_ids: list[str], seconds: float, boost: dict[str, float]) -> None:
    ws = open_store(path)
    teams, inspectors = load_teams(path)
    teams = teams[teams["team_id"].isin(team_ids)].reset_index(drop=True)
    try:
        plan, seed = make_plan(
            ws,
            pd.Timestamp(day),
            shift,
            teams=teams,
            inspectors=inspectors,
            settings=load_patrol_settings(store=ws),
            time_limit=seconds,
            actor=current_actor(),
            boost=boost,
        )
        register_plan(ws, plan, seed=seed, actor=current_actor())
    except InputError as exc:
        st.session_state.pop("plan_result", None)
        st.error(plain(exc))
        return
    st.session_state["plan_result"] = {"plan": plan, "workspace": str(path)}  # the seed stays in the register


def _downloads(plan: Plan) -> None:
    cols = st.columns(2)
    cols[0].download_button(
        t("plan_download_json"),
        json.dumps(plan.to_json(), ensure_ascii=False, indent=1),
        file_name=f"{plan.plan_id}.json",
        mime="application/json",
        key="dl_plan",
    )
    cols[1].download_button(
        t("plan_download_geojson"),
        json.dumps(plan_geojson(plan), ensure_ascii=False),
        file_name=f"{plan.plan_id}.geojson",
        mime="application/geo+json",
        key="dl_geojson",
    )
    gpx_cols = st.columns(max(1, len(plan.teams)))
    for col, team in zip(gpx_cols, plan.teams, strict=False):
        col.download_button(
            t("plan_download_gpx").format(team=team.name),
            team_gpx(plan, team),
            file_name=f"{plan.plan_id}_{team.team_id}.gpx",
            mime="application/gpx+xml",
            key=f"dl_gpx_{team.team_id}",
        )
        col.download_button(
            t("plan_download_kml").format(team=team.name),
            team_kml(plan, team, team_color(plan, team.team_id)),
            file_name=f"{plan.plan_id}_{team.team_id}.kml",
            mime="application/vnd.google-earth.kml+xml",
            key=f"dl_kml_{team.team_id}",
        )


def _timeline(plan: Plan) -> None:
    st.subheader(t("plan_timeline"))
    for team in plan.teams:
        st.markdown(
            "**"
            + t("plan_team_line").format(
                name=plain(team.name),
                mode=t(f"mode_{team.mode}"),
                stops=len(team.stops),
                depart=team.depart,
                back=team.back,
                travel=team.travel_min,
            )
            + "**"
        )
        st.caption(
            t("plan_members")
            + "："
            + "、".join(
                f"{plain(p.name)}（{plain(p.department)}{'·执法证' if p.law_cert else ''}）" for p in team.members
            )
        )
        if team.stops:
            rows = pd.DataFrame([vars(s) for s in team.stops])
            rows["kind"] = [t(f"kind_{k}") for k in rows["kind"]]
            rows["probability"] = (100 * rows["probability"]).round(0).astype(int).astype(str) + "%"
            view = rows[["order", "arrival", "departure", "name", "kind", "address", "reason", "probability"]]
            st.dataframe(
                view.rename(columns=lambda c: t(c if c in ("name", "address") else f"col_{c}")),
                hide_index=True,
                width="stretch",
            )


def _register_of_day(path, day, shift: str) -> None:
    """The day's registered plans (live and withdrawn); the live one of the chosen shift may be withdrawn."""
    register = visible_register(open_store(path), current_actor())  # flying checks stay hidden until done
    rows = register[register["date"] == str(day)]
    if message := st.session_state.pop("plan_message", None):
        st.success(message)
    if rows.empty:
        return
    st.caption(t("plan_register_day").format(day=day))
    view = pd.DataFrame({t("col_plan_id"): rows["plan_id"], t("col_shift"): [t(f"shift_{x}") for x in rows["shift"]],
                         t("col_status"): [t(f"status_{x}") for x in rows["status"]],
                         t("col_created_by"): rows["created_by"],
                         t("col_created_at"): rows["created_at"].astype(str).str[:16],
                         t("col_withdraw_reason"): rows["withdraw_reason"].fillna("")})
    st.dataframe(view, hide_index=True, width="stretch")
    live = rows[(rows["shift"] == shift) & (rows["status"] == "live")]
    if live.empty:
        return
    plan_id = str(live["plan_id"].iloc[0])
    with st.expander(t("plan_withdraw") + f"：{plan_id}"):
        reason = st.text_input(t("plan_withdraw_reason"), key="plan_withdraw_reason")
        if st.button(t("plan_withdraw"), key="plan_withdraw_button"):
            try:
                withdraw_plan(open_store(path), plan_id, reason=reason, actor=current_actor())
            except InputError as exc:
                st.error(plain(exc))
                return
            st.session_state.pop("plan_result", None)
            st.session_state["plan_message"] = t("plan_withdrawn").format(plan_id=plan_id)
            st.rerun()


def render() -> None:
    """Render the planning page."""
    path = st.session_state["workspace"]
    st.header(t("plan_header"))
    st.caption(t("plan_caption"))
    try:
        teams, _ = load_teams(path)
    except InputError:
        st.info(t("plan_no_teams"))
        return
    settings = load_patrol_settings(store=open_store(path))
    tomorrow = (pd.Timestamp.now(tz=TIMEZONE) + pd.Timedelta(days=1)).date()
    with st.form("plan_form"):
        c1, c2, c3 = st.columns([1, 1, 1])
        day = c1.date_input(t("plan_date"), value=tomorrow, key="plan_date")
        shift = c2.radio(
            t("plan_shift"), ["day", "night"], format_func=lambda s: t(f"shift_{s}"), key="plan_shift", horizontal=True
        )
        seconds = c3.number_input(
            t("plan_seconds"), 1.0, 120.0, settings.solver_seconds, 1.0, key="plan_seconds"
        )
        names = dict(zip(teams["team_id"], teams["name"], strict=True))
        chosen = st.multiselect(
            t("plan_teams"), list(names), default=list(names), format_func=lambda k: str(names.get(k, k)),
            key="plan_teams",
        )
        ranked = gaps(open_store(path), (pd.Timestamp.now(tz=TIMEZONE)).strftime("%Y-%m-%d"), top=5)
        ranked = ranked[ranked["gap"] > 0]
        reasons = dict(zip(ranked["code"], ranked["name"] + "：" + ranked["reason"], strict=True))
        boosted = st.multiselect(t("plan_boost") + f"（×{settings.draw.max_boost:g}）", list(reasons),
                                 format_func=lambda c: reasons.get(c, c), key="plan_boost")
        submitted = st.form_submit_button(t("plan_generate"), type="primary")
    if submitted:
        if not chosen:
            st.error(t("plan_teams") + "：" + t("plan_none_yet"))
        else:
            with st.spinner(t("plan_generate") + "…"):
                _generate(path, day, shift, chosen, seconds, dict.fromkeys(boosted, settings.draw.max_boost))
    _register_of_day(path, day, shift)
    result = st.session_state.get("plan_result")
    if not result or result["workspace"] != str(path):
        st.info(t("plan_none_yet"))
        return
    plan = result["plan"]
    st.success(t("plan_summary").format(plan_id=plan.plan_id, **vars(plan.summary)))
    st.text_input(t("plan_commitment"), plan.commitment, disabled=True, key="plan_commitment_text")
    st.caption(t("plan_seed_kept"))
    _downloads(plan)
    show_prob = st.checkbox(t("plan_show_probability"), value=True, key="plan_show_probability")
    grid = load_grid(path)
    lons = [s.lon for _, s in plan.stops()] + [tm.base.lon for tm in plan.teams]
    lats = [s.lat for _, s in plan.stops()] + [tm.base.lat for tm in plan.teams]
    m = base_map((min(lons), min(lats), max(lons), max(lats)))
    add_grid_level(
        m,
        grid["communities"],
        "communities",
        name=t("communities"),
        labels={"name": t("name"), "responsible_name": t("responsible_name")},
    )
    if show_prob:
        _probability_layer(m, plan, path)
    add_plan(
        m,
        plan.to_json(),
        labels=plan_labels(),
        team_names={tm.team_id: tm.name for tm in plan.teams},
    )
    left, right = st.columns([4, 1])
    with left:
        st_folium(finish_map(m), key="plan_map", height=560, use_container_width=True, returned_objects=[])
    with right:
        st.markdown(
            legend_html(
                [(risk_color(0.05), "5%"), (risk_color(0.5), "50%"), (risk_color(0.95), "95%")],
                title=t("plan_probability_layer"),
                note="",
            ),
            unsafe_allow_html=True,
        )
    _timeline(plan)
    if plan.unplanned or plan.not_visited_offices:
        st.subheader(t("plan_unplanned"))
        skipped = [vars(u) for u in plan.unplanned] + [vars(o) for o in plan.not_visited_offices]
        st.dataframe(pd.DataFrame(skipped), hide_index=True, width="stretch")
    if plan.warnings:
        st.subheader(t("plan_warnings"))
        for warning in plan.warnings:
            st.warning(plain(warning))
