"""Team leader's page (今日路线): only the chosen team's route for today, the printable sheet and
exports, and recording what was found at each stop — one column, usable on a phone."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from access.plans import open_route, routes_for
from access.roles import Role
from app_cache import current_actor, load_optional, load_teams
from casework.results import (
    StopResult,
    current_results,
    read_results_file,
    record_results,
    results_from_layer,
)
from casework.template import results_template
from core.clock import as_local, local_day
from core.errors import InputError
from core.settings import load_patrol_settings
from core.untrusted import check_upload, safe_filename
from i18n import lang, plain, plan_labels, t
from layers import schema
from layers.render import add_plan, base_map, finish_map
from routing.exports import team_gpx, team_kml
from routing.model import Plan, Stop, TeamRoute
from routing.sheet import route_sheet_pdf, team_color, workspace_roads
from store import open_store

CHECKS = ("not_checked", "ok", "problem")


@st.cache_data(show_spinner=False, max_entries=16)
def _sheet(plan_json: str, team_id: str, language: str, path: str) -> bytes:
    # keyed on the plan, not the file's version: recording results must not re-render the sheet
    plan = Plan.from_json(json.loads(plan_json))
    return route_sheet_pdf(plan, team_id, roads=workspace_roads(open_store(path)), lang=language)


def _downloads(path: str, plan: Plan, team: TeamRoute, color: str) -> None:
    stem = f"{plan.plan_id}_{team.team_id}"
    try:
        sheet = _sheet(json.dumps(plan.to_json(), ensure_ascii=False), team.team_id, lang(), str(path))
    except InputError as exc:
        st.error(plain(exc))
    else:
        st.download_button(
            t("team_sheet"),
            sheet,
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            key="dl_sheet",
            type="primary",
            icon=":material/print:",
            width="stretch",
        )
    cols = st.columns(3)
    cols[0].download_button(
        "GPX",
        team_gpx(plan, team),
        file_name=f"{stem}.gpx",
        mime="application/gpx+xml",
        key="dl_team_gpx",
        width="stretch",
    )
    cols[1].download_button(
        "KML",
        team_kml(plan, team, color),
        file_name=f"{stem}.kml",
        mime="application/vnd.google-earth.kml+xml",
        key="dl_team_kml",
        width="stretch",
    )
    cols[2].download_button(
        t("team_template"),
        results_template(plan, team.team_id),
        file_name=f"{stem}_results.xlsx",
        key="dl_team_template",
        width="stretch",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def _stop_label(stop: Stop, done: dict[str, bool]) -> str:
    mark = "✓" if done.get(stop.visit_id) else "✗" if stop.visit_id in done else "○"
    return f"{mark} {stop.order}. {stop.arrival} {stop.name}" + (f"（{t('team_covert')}）" if stop.covert else "")


def _text(row: pd.Series | None, column: str) -> str:
    value = None if row is None else row.get(column)
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _prefill(path: str, plan: Plan, stop: Stop) -> None:
    """Put the stop's standing result (or the defaults) into the form when another stop is chosen."""
    marker = f"{plan.plan_id}|{stop.visit_id}"
    state = st.session_state
    if state.get("rec_for") == marker:
        return
    state["rec_for"] = marker
    table = results_from_layer(load_optional(path, "results"))
    mine = current_results(table[(table["plan_id"] == plan.plan_id) & (table["visit_id"] == stop.visit_id)])
    row = None if mine.empty else mine.iloc[-1]
    visited = row is None or bool(row["visited"])
    state["rec_visited"] = "yes" if visited else "no"
    when = dt.time.fromisoformat(stop.arrival)
    if row is not None and visited and _text(row, "visited_at"):
        when = as_local(pd.Timestamp(_text(row, "visited_at"))).time().replace(second=0, microsecond=0)
    state["rec_time"] = when
    state["rec_reason"] = _text(row, "not_visited_reason")
    options = ["confirmed", "not_confirmed"] if stop.kind == "clue" else ["fixed", "not_fixed"]
    if _text(row, "finding") in options:
        state["rec_finding"] = _text(row, "finding")
    else:
        state.pop("rec_finding", None)
    checklist = json.loads(_text(row, "checklist")) if _text(row, "checklist") else {}
    for term in schema.CHECKLIST_ITEMS:
        state[f"rec_check_{term.code}"] = checklist.get(term.code, "not_checked")
    state["rec_problems"] = _text(row, "problems")
    state["rec_action"] = _text(row, "action") or "none"
    if stop.covert and state["rec_action"] not in ("none", "refer"):
        state["rec_action"] = "none"
    state["rec_refer"] = _text(row, "refer_to")
    days = _text(row, "rectify_days")
    state["rec_days"] = int(float(days)) if days else 0


def _record_form(path: str, plan: Plan, team: TeamRoute, done: dict[str, bool]) -> None:
    stops = {stop.visit_id: stop for stop in team.stops}
    visit_id = st.selectbox(
        t("team_stop"), list(stops), format_func=lambda v: _stop_label(stops[v], done), key="rec_stop"
    )
    stop = stops[visit_id]
    _prefill(path, plan, stop)
    st.caption(f"{t('kind_' + stop.kind)}｜{plain(stop.address)}｜{plain(stop.reason)}")
    if stop.covert:
        st.info(t("team_covert_hint"))
    items = [term for term in schema.CHECKLIST_ITEMS if not stop.covert or term.code in schema.COVERT_ITEMS]
    actions = [term.code for term in schema.ACTIONS if not stop.covert or term.code in ("none", "refer")]
    with st.form("record_form", clear_on_submit=False):
        visited = st.radio(
            t("team_visited"),
            ["yes", "no"],
            format_func=lambda v: t(f"team_visited_{v}"),
            horizontal=True,
            key="rec_visited",
        )
        when = st.time_input(t("team_time"), key="rec_time", step=300)
        reason = st.text_input(t("team_reason"), key="rec_reason")
        finding = ""
        if stop.kind in ("clue", "revisit"):
            options = ["confirmed", "not_confirmed"] if stop.kind == "clue" else ["fixed", "not_fixed"]
            finding = st.radio(
                t("team_finding"),
                options,
                format_func=lambda f: schema.label("finding", f, lang()),
                horizontal=True,
                key="rec_finding",
            )
        st.markdown(f"**{t('team_checklist')}**")
        checklist = {term.code: "not_checked" for term in schema.CHECKLIST_ITEMS}  # 暗访: only what is observable
        for term in items:
            checklist[term.code] = st.radio(
                term.zh if lang() == "zh" else term.en,
                CHECKS,
                horizontal=True,
                key=f"rec_check_{term.code}",
                format_func=lambda c: schema.label("check", c, lang()),
                help=schema.CHECKLIST_HINTS_ZH.get(term.code) if lang() == "zh" else None,
            )
        problems = st.text_area(t("team_problems"), key="rec_problems", height=80)
        action = st.radio(
            t("team_action"),
            actions,
            horizontal=True,
            format_func=lambda a: schema.label("action", a, lang()),
            key="rec_action",
        )
        refer_to = st.text_input(t("team_refer_to"), key="rec_refer")
        days = st.number_input(t("team_days"), min_value=0, max_value=365, step=1, key="rec_days")
        saved = st.form_submit_button(t("team_save"), type="primary", width="stretch")
    if saved:
        result = StopResult(
            visit_id,
            visited == "yes",
            when.strftime("%H:%M") if visited == "yes" else "",
            not_visited_reason=reason,
            finding=finding if visited == "yes" else "",
            checklist=checklist if visited == "yes" else {},
            problems=problems,
            action=action if visited == "yes" else "none",
            refer_to=refer_to,
            rectify_days=int(days) or None,
        )
        _save(path, plan, team, [result])


def _save(path: str, plan: Plan, team: TeamRoute, results: list[StopResult], blank: list[int] | None = None) -> None:
    try:
        summary = record_results(open_store(path), plan, results, team_id=team.team_id, actor=current_actor())
    except InputError as exc:
        st.error(t("team_not_saved") + "\n\n" + plain(exc))
        return
    message = t("team_saved").format(saved=summary.saved, unchanged=summary.unchanged)
    if summary.cases_opened:
        message += " " + t("team_cases_opened").format(cases="、".join(summary.cases_opened))
    if summary.cases_closed:
        message += " " + t("team_cases_closed").format(cases="、".join(summary.cases_closed))
    if summary.clues_handled:
        message += " " + t("team_clues_handled").format(clues="、".join(summary.clues_handled))
    if blank:
        message += " " + t("team_blank_rows").format(rows=", ".join(map(str, blank)))
    st.session_state["team_message"] = message
    st.rerun()  # show the message and the updated stop list at the top


def _upload(path: str, plan: Plan, team: TeamRoute) -> None:
    upload = st.file_uploader(t("team_upload"), type=["xlsx", "csv"], key="rec_upload")
    if upload is None or not st.button(t("team_upload_save"), key="rec_upload_save"):
        return
    try:
        check_upload(upload.name, upload.size, load_patrol_settings(store=open_store(path)).uploads)
    except InputError as exc:
        st.error(t("team_not_saved") + "\n\n" + plain(exc))
        return
    with tempfile.TemporaryDirectory() as folder:
        file = Path(folder) / safe_filename(upload.name)  # the browser's name is a label, never a path
        file.write_bytes(upload.getvalue())
        try:
            results, blank = read_results_file(file)
        except InputError as exc:
            st.error(t("team_not_saved") + "\n\n" + plain(str(exc).replace(str(file), file.name)))
            return
    _save(path, plan, team, results, blank)


def _recorded(path: str, plan: Plan, team: TeamRoute) -> dict[str, bool]:
    table = results_from_layer(load_optional(path, "results"))
    mine = current_results(table[(table["plan_id"] == plan.plan_id) & (table["team_id"] == team.team_id)])
    return dict(zip(mine["visit_id"], mine["visited"], strict=True)) if not mine.empty else {}


def render() -> None:
    """Render the team leader's page."""
    path = str(st.session_state["workspace"])
    st.header(t("team_header"))
    try:
        teams, _ = load_teams(path)
    except InputError:
        st.info(t("plan_no_teams"))
        return
    names = dict(zip(teams["team_id"], teams["name"], strict=True))
    person = current_actor()
    today = local_day().strftime("%Y-%m-%d")
    views = routes_for(open_store(path), person, day=today)  # a team leader: only their own released route
    if not views:
        minutes = load_patrol_settings(store=open_store(path)).access.release_minutes_before
        st.info(t("team_not_released").format(minutes=minutes) if person.role == Role.TEAM_LEADER
                else t("team_no_plan_today").format(day=today))
        return
    labels = {v.plan.plan_id: t(f"shift_{v.plan.shift}") + f"（{v.plan.plan_id}）" for v in views}
    plan_id = (st.radio(t("team_pick_plan"), list(labels), format_func=labels.get, key="team_plan", horizontal=True)
               if len(views) > 1 else views[0].plan.plan_id)
    view = next(v for v in views if v.plan.plan_id == plan_id)
    if view.team_id:
        team_id = view.team_id
    else:  # a planner or a leader picks a team; a look before its release is audited once per session
        team_id = st.selectbox(t("team_pick_team"), [tm.team_id for tm in view.plan.teams],
                               format_func=lambda k: str(names.get(k, k)), key="team_pick")
        opened = st.session_state.setdefault("opened_routes", {})
        if (plan_id, team_id) not in opened:
            opened[(plan_id, team_id)] = open_route(open_store(path), person, plan_id, team_id).released
        if not opened[(plan_id, team_id)]:
            st.warning(t("team_early_view"))
    plan = view.plan
    color = team_color(plan, team_id)
    sheet_plan = plan
    plan = plan.only_team(team_id)
    team = plan.teams[0]
    st.warning(t("team_confidential"))
    st.markdown(
        t("team_summary").format(
            day=plan.date,
            shift=t(f"shift_{plan.shift}"),
            stops=len(team.stops),
            depart=team.depart,
            back=team.back,
            plan_id=plan.plan_id,
        )
    )
    st.caption(
        t("plan_members")
        + "："
        + "、".join(
            f"{plain(m.name)}（{plain(m.department)}{'·' + t('team_law_cert') if m.law_cert else ''}）"
            for m in team.members
        )
    )
    st.caption(t("plan_commitment") + "：" + plan.commitment)
    _downloads(path, sheet_plan, team, color)
    if message := st.session_state.pop("team_message", None):
        st.success(message)
    done = _recorded(path, plan, team)
    rows = pd.DataFrame(
        [
            {
                "order": s.order,
                "arrival": s.arrival,
                "name": s.name,
                "kind": t(f"kind_{s.kind}") + (f"（{t('team_covert')}）" if s.covert else ""),
                "address": s.address,
                "recorded": t("team_done")
                if done.get(s.visit_id)
                else t("team_missed")
                if s.visit_id in done
                else "",
            }
            for s in team.stops
        ]
    )
    if not rows.empty:
        st.dataframe(
            rows.rename(
                columns={
                    "order": t("col_order"),
                    "arrival": t("col_arrival"),
                    "name": t("name"),
                    "kind": t("col_kind"),
                    "address": t("address"),
                    "recorded": t("team_recorded"),
                }
            ),
            hide_index=True,
            width="stretch",
        )
    with st.expander(t("team_map"), expanded=True):  # a map drawn hidden opens at world zoom
        lons = [s.lon for s in team.stops] + [team.base.lon]
        lats = [s.lat for s in team.stops] + [team.base.lat]
        m = base_map((min(lons), min(lats), max(lons), max(lats)))
        add_plan(
            m,
            plan.to_json(),
            labels=plan_labels(),
            team_names={team_id: team.name},
            colors={team_id: color},
        )
        st_folium(finish_map(m), key="team_map", height=420, use_container_width=True, returned_objects=[])
    if not team.stops:
        return
    st.subheader(t("team_record"))
    _record_form(path, plan, team, done)
    st.subheader(t("team_upload_header"))
    _upload(path, plan, team)
