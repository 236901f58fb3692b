"""Leaders' page (领导看板): the period's figures, daily inspections against the double-ten target,
coverage on the grid at every level with a heat layer of visits, and the report to download."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import folium
import folium.plugins
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_cache import data_version, load_meta, load_optional
from core.clock import TIMEZONE
from core.errors import InputError
from i18n import plain, t
from layers.render import base_map, escaped, finish_map, legend_html, risk_color
from reports.coverage import LEVELS, cell_coverage, visits
from reports.figures import DoubleTen, Figures, Period, double_ten, period_figures
from reports.gaps import gaps
from reports.report import report_files
from reports.workbook import summary_rows
from routing.register import plans_register
from store import open_store


def _coverage_color(share: float | None) -> str:
    """Red where few institutions were inspected in the window, green where all were."""
    return "#9e9e9e" if share is None or pd.isna(share) else risk_color(1.0 - float(share))


DRILL = {"townships": "communities", "communities": "buildings"}  # a click on a cell opens the level below


@st.cache_data(show_spinner=False, max_entries=32)
def _coverage(path: str, version: str, level: str, start: str, end: str, shift: str | None, team: str | None,
              within: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cells' coverage and the range's visits (computed once per workspace version and filter)."""
    ws = open_store(path)
    seen = visits(ws, end, shift=shift, team=team)
    cells = cell_coverage(ws, level, start, end, shift=shift, team=team, within=within, seen=seen)
    return cells, seen[seen["date"].astype(str).str[:10] >= start]


@st.cache_data(show_spinner=False, max_entries=16)
def _figures(path: str, version: str, start: str, end: str) -> tuple[Figures, DoubleTen, pd.DataFrame]:
    """The period's figures, its double-ten compliance and the ranked gaps (once per workspace version)."""
    ws = open_store(path)
    period = Period(pd.Timestamp(start, tz=TIMEZONE), pd.Timestamp(end, tz=TIMEZONE), f"{start} 至 {end}")
    figures = period_figures(ws, period)
    return figures, double_ten(ws, period, figures=figures), gaps(ws, end, top=10)


@st.cache_data(show_spinner=False, max_entries=16)
def _withdrawn(path: str, version: str, start: str, end: str) -> pd.DataFrame:
    """The period's withdrawn plans (the register is read once per version, not at every rerun)."""
    rows = plans_register(open_store(path)).drop(columns="plan_json")
    return rows[(rows["status"] == "withdrawn") & (rows["date"].astype(str) >= start)
                & (rows["date"].astype(str) <= end)]


def _map(path: str, level: str, start: str, end: str, shift: str | None, team: str | None,
         ranked: pd.DataFrame, within: str | None, key: str, stamp: str) -> tuple[pd.DataFrame, dict | None]:
    cells, seen = _coverage(path, stamp, level, start, end, shift, team, within)
    if within:
        column = "township_code" if level == "communities" else "community_code"
        seen = seen[seen[column] == within]
    bounds = tuple(cells.total_bounds) if len(cells) else (116, 28, 118, 29)
    m = base_map(bounds)  # type: ignore[arg-type]
    shown = cells.assign(share_pct=[("" if pd.isna(s) else f"{100 * s:.0f}%") for s in cells["share"]],
                         last_visit=cells["last_visit"].astype(str))
    folium.GeoJson(
        escaped(shown[["code", "name", "institutions", "covered", "share_pct", "inspections", "last_visit", "share",
                       "geometry"]], ["name"]).to_json(),
        name=t("leaders_coverage_layer"),
        style_function=lambda f: {"fillColor": _coverage_color(f["properties"]["share"]), "color": "#555",
                                  "weight": 1, "fillOpacity": 0.55},
        tooltip=folium.GeoJsonTooltip(fields=["name", "institutions", "covered", "share_pct", "inspections",
                                              "last_visit"],
                                      aliases=[t("name"), t("leaders_institutions"), t("leaders_covered"),
                                               t("leaders_share"), t("leaders_inspections"), t("leaders_last")]),
    ).add_to(m)
    ranked = ranked[ranked["gap"] > 0].head(5)
    if level == "communities" and len(ranked):
        outlined = cells[cells["code"].isin(set(ranked["code"]))].merge(ranked[["code", "reason"]], on="code")
        folium.GeoJson(escaped(outlined[["name", "reason", "geometry"]], ["name", "reason"]).to_json(),
                       name=t("leaders_gap_layer"),
                       style_function=lambda _f: {"color": "#b71c1c", "weight": 4, "fillOpacity": 0, "dashArray": "6"},
                       tooltip=folium.GeoJsonTooltip(fields=["name", "reason"], aliases=[t("name"),
                                                                                         t("leaders_gap_reason")]),
                       ).add_to(m)
    if len(seen):
        folium.plugins.HeatMap(seen[["lat", "lon"]].astype(float).to_numpy().tolist(), name=t("leaders_heat"),
                               radius=18, blur=14).add_to(m)
    left, right = st.columns([4, 1])
    with left:
        clicked = st_folium(finish_map(m), key=key, height=520, use_container_width=True,
                            returned_objects=["last_active_drawing"])
    with right:
        st.markdown(legend_html([(risk_color(0.0), "100%"), (risk_color(0.5), "50%"), (risk_color(1.0), "0%"),
                                 ("#9e9e9e", t("leaders_no_institution"))], title=t("leaders_share"), note=""),
                    unsafe_allow_html=True)
        if level in DRILL:
            st.caption(t("leaders_drill_hint"))
    return cells.drop(columns="geometry"), (clicked or {}).get("last_active_drawing")


def _this_week(day: date) -> tuple[date, date]:
    monday = day - timedelta(days=day.weekday())
    return monday, day


def _last_month(day: date) -> tuple[date, date]:
    end = day.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


PRESETS: dict[str, Callable[[date], tuple[date, date]]] = {
    "range_30": lambda d: (d - timedelta(days=29), d),
    "range_7": lambda d: (d - timedelta(days=6), d),
    "range_today": lambda d: (d, d),
    "range_week": _this_week,
    "range_month": lambda d: (d.replace(day=1), d),
    "range_last_month": _last_month,
    "range_custom": lambda d: (d - timedelta(days=29), d),
}


def _reset_drill() -> None:
    st.session_state.pop("leaders_path", None)
    st.session_state["leaders_nav"] = st.session_state.get("leaders_nav", 0) + 1


@st.cache_data(show_spinner=False, max_entries=8)
def _last_result_day(path: str, version: str) -> str:
    """The county's latest result day ('' if none), read once per workspace version (one column)."""
    ws = open_store(path)
    if not ws.has_layer("results"):
        return ""
    days = ws.read("results", columns=["date"])["date"]
    return str(days.max()) if len(days) else ""


def _anchor(last_day: str) -> date:
    """The day the ranges end: today, or the county's last results when none came in the last 30 days
    (a demonstration county, or one that stopped recording)."""
    today = pd.Timestamp.now(tz=TIMEZONE).date()
    if not last_day:
        return today
    last = pd.Timestamp(last_day).date()
    return last if (today - last).days >= 30 else today


@st.cache_data(show_spinner=False, max_entries=8)
def _report_files(path: str, version: str, text: str, kind: str) -> dict[str, bytes]:
    period = Period.week(text) if kind == "week" else Period.month(text)
    return report_files(open_store(path), period, f"report_{text}")


def _report(path: str, stamp: str, text: str, kind: str) -> dict[str, bytes]:
    """The period's XLSX and PDF (made once per workspace version: the PDF takes a moment)."""
    return _report_files(path, stamp, text, kind)


def _downloads(path: str, stamp: str) -> None:
    st.subheader(t("leaders_reports"))
    c1, c2 = st.columns(2)
    today = pd.Timestamp.now(tz=TIMEZONE)
    week = c1.text_input(t("leaders_week"), value=f"{today.isocalendar().year}-W{today.isocalendar().week:02d}",
                         key="leaders_week")
    month = c2.text_input(t("leaders_month"), value=f"{today:%Y-%m}", key="leaders_month")
    for column, text, make in ((c1, week, Period.week), (c2, month, Period.month)):
        try:
            period = make(text)
        except InputError as exc:
            column.error(plain(exc))
            continue
        files = _report(path, stamp, text, make.__name__)
        column.download_button(t("leaders_download_xlsx").format(period=period.label), files[f"report_{text}.xlsx"],
                               file_name=f"report_{text}.xlsx", key=f"leaders_xlsx_{make.__name__}", on_click="ignore",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        column.download_button(t("leaders_download_pdf").format(period=period.label), files[f"report_{text}.pdf"],
                               file_name=f"report_{text}.pdf", key=f"leaders_pdf_{make.__name__}", on_click="ignore",
                               mime="application/pdf")


def render() -> None:
    """Render the leaders' page."""
    path = str(st.session_state["workspace"])
    st.header(t("leaders_header"))
    stamp = data_version(path)  # one key for every cached count of this rerun
    today = _anchor(_last_result_day(path, stamp))
    simulated = load_meta(path).get("simulated_days", "")
    if ".." in simulated:
        st.info(t("leaders_demo").format(first=simulated.split("..")[0], last=simulated.split("..")[1]))
    teams = load_optional(path, "teams")
    names = {} if teams is None else dict(zip(teams["team_id"], teams["name"], strict=True))
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    preset = c1.selectbox(t("leaders_range"), list(PRESETS), key="leaders_preset", format_func=lambda k: t(k))
    if preset == "range_custom":
        chosen = c1.date_input(t("leaders_range_custom"), value=(today - pd.Timedelta(days=29), today),
                               key="leaders_range")
        if not isinstance(chosen, tuple) or len(chosen) != 2:
            st.info(t("leaders_pick_range"))
            return
        first, last = chosen
    else:
        first, last = PRESETS[preset](today)
    shift = c2.selectbox(t("plan_shift"), ["", "day", "night"], key="leaders_shift",
                         format_func=lambda s: t(f"shift_{s}") if s else t("all"))
    team = c3.selectbox(t("team_pick_team"), ["", *names], key="leaders_team",
                        format_func=lambda k: str(names.get(k, k)) if k else t("all"))
    level = c4.selectbox(t("level"), list(LEVELS), key="leaders_level", index=1, format_func=t,
                         on_change=_reset_drill)
    start, end = first.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")
    c1.caption(f"{start} 至 {end}")
    figures, compliance, ranked = _figures(path, stamp, start, end)
    metrics = st.columns(6)
    shown: list[tuple[str, str]] = [
        (t("leaders_inspections"), str(figures.inspections)),
        (t("leaders_communities"), str(figures.communities_swept)),
        (t("leaders_institutions_checked"), str(figures.institutions_checked)),
        (t("leaders_turnouts"), str(figures.turnouts)),
        (t("leaders_cases"), f"{figures.cases_opened} / {figures.cases_closed}"),
        (t("leaders_clues"), f"{figures.clues_received} / {figures.clues_answered}")]
    for column, (label, value) in zip(metrics, shown, strict=True):
        column.metric(label, value)
    st.subheader(t("leaders_daily"))
    st.bar_chart(compliance.daily.set_index("date")[["inspections", "target"]].rename(
        columns={"inspections": t("leaders_inspections"), "target": t("leaders_target")}), stack=False)
    st.subheader(t("leaders_coverage"))
    drilled: list[tuple[str, str, str]] = st.session_state.setdefault("leaders_path", [])  # (level, code, name)
    shown_level, within = (DRILL[drilled[-1][0]], drilled[-1][1]) if drilled else (level, None)
    if drilled:
        crumbs = " › ".join([t("county"), *(plain(name) for _, _, name in drilled)])
        b1, b2 = st.columns([4, 1])
        b1.markdown(f"**{crumbs}** · {t(shown_level)}")
        if b2.button(t("leaders_drill_up"), key="leaders_drill_up"):
            drilled.pop()
            st.session_state["leaders_nav"] = st.session_state.get("leaders_nav", 0) + 1
            st.rerun()
    # each step of the drill-down draws a fresh map (its own key), so an old click is never replayed
    key = f"leaders_map_{st.session_state.get('leaders_nav', 0)}"
    table, clicked = _map(path, shown_level, start, end, shift or None, team or None, ranked, within, key, stamp)
    feature = (clicked or {}).get("properties") or {}
    code = str(feature.get("code", ""))
    if shown_level in DRILL and code in set(table["code"]):
        names = table.set_index("code")["name"] if "name" in table else pd.Series(dtype=str)
        drilled.append((shown_level, code, str(names.get(code, code))))  # the stored name, not the map's HTML
        st.session_state["leaders_nav"] = st.session_state.get("leaders_nav", 0) + 1
        st.rerun()
    st.dataframe(table.sort_values("share", na_position="last").rename(columns={
        "code": t("code"), "name": t("name"), "institutions": t("leaders_institutions"),
        "covered": t("leaders_covered"), "share": t("leaders_share"), "inspections": t("leaders_inspections"),
        "last_visit": t("leaders_last"), "days_since": t("leaders_days_since"),
        "grid_walks": t("leaders_grid_walks")}), hide_index=True, width="stretch")
    st.subheader(t("leaders_gaps"))
    st.caption(t("leaders_gaps_caption"))
    st.dataframe(ranked[ranked["gap"] > 0].rename(columns={
        "code": t("code"), "name": t("name"), "risk": t("leaders_risk"), "clues": t("leaders_recent_clues"),
        "inspections": t("leaders_recent_inspections"), "last_visit": t("leaders_last"), "gap": t("leaders_gap"),
        "reason": t("leaders_gap_reason")}), hide_index=True, width="stretch")
    st.subheader(t("leaders_overdue"))
    st.dataframe(compliance.institutions[compliance.institutions["overdue_days"] > 0].rename(columns={
        "institution_id": t("code"), "name": t("name"), "township": t("townships"), "last_visit": t("leaders_last"),
        "days_since": t("leaders_days_since"), "overdue_days": t("leaders_overdue_days")}), hide_index=True,
        width="stretch")
    withdrawn = _withdrawn(path, stamp, start, end)
    st.subheader(t("leaders_withdrawn").format(n=len(withdrawn)))
    if len(withdrawn):
        st.dataframe(withdrawn[["date", "shift", "plan_id", "withdrawn_at", "withdrawn_by", "withdraw_reason"]].rename(
            columns={"date": t("rounds_date"), "shift": t("plan_shift"), "plan_id": t("code"),
                     "withdrawn_at": t("areas_made_at"), "withdrawn_by": t("areas_made_by"),
                     "withdraw_reason": t("leaders_gap_reason")}), hide_index=True, width="stretch")
    else:
        st.caption(t("leaders_no_withdrawn"))
    with st.expander(t("leaders_all_figures")):
        st.dataframe(pd.DataFrame([(k, str(v)) for k, v in summary_rows(figures, compliance)],
                                  columns=[t("leaders_figure"), t("leaders_value")]), hide_index=True)
    _downloads(path, stamp)
