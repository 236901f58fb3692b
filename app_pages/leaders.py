"""Leaders' page (领导看板): the period's figures, daily inspections against the double-ten target,
coverage on the grid at every level with a heat layer of visits, and the report to download."""

from __future__ import annotations

import folium
import folium.plugins
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from app_cache import load_optional
from core.clock import TIMEZONE
from core.errors import InputError
from i18n import plain, t
from layers.render import base_map, finish_map, legend_html, risk_color
from reports.coverage import LEVELS, cell_coverage, visits
from reports.figures import Period, double_ten, period_figures
from reports.gaps import gaps
from reports.report import report_files
from reports.workbook import summary_rows
from store import open_store


def _coverage_color(share: float | None) -> str:
    """Red where few institutions were inspected in the window, green where all were."""
    return "#9e9e9e" if share is None or pd.isna(share) else risk_color(1.0 - float(share))


def _map(path: str, level: str, start: str, end: str, shift: str | None, team: str | None,
         ranked: pd.DataFrame) -> pd.DataFrame:
    ws = open_store(path)
    cells = cell_coverage(ws, level, start, end, shift=shift, team=team)
    seen = visits(ws, end, start=start, shift=shift, team=team)
    bounds = tuple(cells.total_bounds) if len(cells) else (116, 28, 118, 29)
    m = base_map(bounds)  # type: ignore[arg-type]
    shown = cells.assign(share_pct=[("" if pd.isna(s) else f"{100 * s:.0f}%") for s in cells["share"]],
                         last_visit=cells["last_visit"].astype(str))
    folium.GeoJson(
        shown[["code", "name", "institutions", "covered", "share_pct", "inspections", "last_visit", "share",
               "geometry"]].to_json(),
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
        folium.GeoJson(outlined[["name", "reason", "geometry"]].to_json(), name=t("leaders_gap_layer"),
                       style_function=lambda _f: {"color": "#b71c1c", "weight": 4, "fillOpacity": 0, "dashArray": "6"},
                       tooltip=folium.GeoJsonTooltip(fields=["name", "reason"], aliases=[t("name"),
                                                                                         t("leaders_gap_reason")]),
                       ).add_to(m)
    if len(seen):
        folium.plugins.HeatMap(seen[["lat", "lon"]].astype(float).to_numpy().tolist(), name=t("leaders_heat"),
                               radius=18, blur=14).add_to(m)
    left, right = st.columns([4, 1])
    with left:
        st_folium(finish_map(m), key="leaders_map", height=520, use_container_width=True, returned_objects=[])
    with right:
        st.markdown(legend_html([(risk_color(0.0), "100%"), (risk_color(0.5), "50%"), (risk_color(1.0), "0%"),
                                 ("#9e9e9e", t("leaders_no_institution"))], title=t("leaders_share"), note=""),
                    unsafe_allow_html=True)
    return cells.drop(columns="geometry")


@st.cache_data(show_spinner=False, max_entries=8)
def _report_files(path: str, version: str, text: str, kind: str) -> dict[str, bytes]:
    period = Period.week(text) if kind == "week" else Period.month(text)
    return report_files(open_store(path), period, f"report_{text}")


def _report(path: str, text: str, kind: str) -> dict[str, bytes]:
    """The period's XLSX and PDF (made once per workspace version: the PDF takes a moment)."""
    return _report_files(path, open_store(path).version(), text, kind)


def _downloads(path: str) -> None:
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
        files = _report(path, text, make.__name__)
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
    today = pd.Timestamp.now(tz=TIMEZONE).date()
    results = load_optional(path, "results")
    if results is not None and len(results):  # a county whose results stop earlier: the range ends there
        today = min(today, pd.Timestamp(str(results["date"].max())).date())
    teams = load_optional(path, "teams")
    names = {} if teams is None else dict(zip(teams["team_id"], teams["name"], strict=True))
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    chosen = c1.date_input(t("leaders_range"), value=(today - pd.Timedelta(days=29), today), key="leaders_range")
    shift = c2.selectbox(t("plan_shift"), ["", "day", "night"], key="leaders_shift",
                         format_func=lambda s: t(f"shift_{s}") if s else t("all"))
    team = c3.selectbox(t("team_pick_team"), ["", *names], key="leaders_team",
                        format_func=lambda k: str(names.get(k, k)) if k else t("all"))
    level = c4.selectbox(t("level"), list(LEVELS), key="leaders_level", index=1, format_func=t)
    if not isinstance(chosen, tuple) or len(chosen) != 2:
        st.info(t("leaders_pick_range"))
        return
    start, end = (d.strftime("%Y-%m-%d") for d in chosen)
    period = Period(pd.Timestamp(start, tz=TIMEZONE), pd.Timestamp(end, tz=TIMEZONE), f"{start} 至 {end}")
    ws = open_store(path)
    figures = period_figures(ws, period)
    compliance = double_ten(ws, period, figures=figures)
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
    ranked = gaps(ws, end, top=10)
    table = _map(path, level, start, end, shift or None, team or None, ranked)
    st.dataframe(table.sort_values("share", na_position="last").rename(columns={
        "code": t("code"), "name": t("name"), "institutions": t("leaders_institutions"),
        "covered": t("leaders_covered"), "share": t("leaders_share"), "inspections": t("leaders_inspections"),
        "last_visit": t("leaders_last"), "days_since": t("leaders_days_since")}), hide_index=True, width="stretch")
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
    with st.expander(t("leaders_all_figures")):
        st.dataframe(pd.DataFrame([(k, str(v)) for k, v in summary_rows(figures, compliance)],
                                  columns=[t("leaders_figure"), t("leaders_value")]), hide_index=True)
    _downloads(path)
