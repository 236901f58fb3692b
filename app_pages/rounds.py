"""The double-ten round (双十轮次) in the app: generate and register a round, see it per day and per
team, and see its shortfall — what ``patrol schedule`` does at the command line."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_cache import current_actor, load_teams, teams_or_notice
from core.clock import TIMEZONE
from core.errors import InputError, PermissionDeniedError
from core.settings import load_patrol_settings
from i18n import plain, t
from routing.register import register_round
from routing.schedule import RoundOverview, round_overview, rounds, schedule
from store import open_store


def _generate(path: str, start: str, days: int, shift: str, team_ids: list[str]) -> None:
    ws = open_store(path)
    teams, inspectors = load_teams(path)
    teams = teams[teams["team_id"].isin(team_ids)].reset_index(drop=True)
    settings = load_patrol_settings(store=ws)
    try:
        with st.spinner(t("rounds_generating").format(days=days)):
            result = schedule(ws, start, days=days, shift=shift, teams=teams, inspectors=inspectors,
                              settings=settings, time_limit=settings.solver_seconds, actor=current_actor())
            record = register_round(ws, result, seed=result["seed"], actor=current_actor())
    except (InputError, PermissionDeniedError) as exc:
        st.error(plain(exc))
        return
    st.session_state["rounds_chosen"] = record["round_id"]
    st.success(t("rounds_registered").format(round_id=record["round_id"], commitment=record["commitment"]))


def _show(overview: RoundOverview, names: dict[str, str]) -> None:
    shift = t(f"shift_{overview.shift}")
    st.markdown(plain(t("rounds_meta").format(start=overview.start, days=overview.days, shift=shift,
                                              by=overview.created_by, at=overview.created_at[:16])))
    st.text_input(t("rounds_commitment"), overview.commitment, disabled=True, key="rounds_commitment")
    c1, c2, c3 = st.columns(3)
    c1.metric(t("rounds_visits"), f"{overview.visits_made} / {overview.visits_needed}")
    c2.metric(t("rounds_under_minimum"), str(len(overview.days_under_minimum)))
    c3.metric(t("rounds_shortfall"), str(overview.shortfall_team_days))
    if overview.met:
        st.success(t("rounds_met"))
    else:
        st.warning(t("rounds_not_met").format(uncovered=len(overview.uncovered),
                                              days=len(overview.days_under_minimum),
                                              team_days=overview.shortfall_team_days))
    per_day = overview.per_day.assign(team=[names.get(k, n) for k, n in zip(overview.per_day["team_id"],
                                                                           overview.per_day["team_name"], strict=True)])
    st.subheader(t("rounds_per_day"))
    table = per_day.pivot_table(index="date", columns="team", values="stops", aggfunc="sum", fill_value=0)
    table[t("rounds_total")] = table.sum(axis=1)
    st.dataframe(table, width="stretch")
    st.bar_chart(per_day.pivot_table(index="date", columns="team", values="stops", aggfunc="sum", fill_value=0))
    st.subheader(t("rounds_per_team"))
    st.dataframe(per_day.groupby("team").agg(days=("date", "nunique"), stops=("stops", "sum"),
                                             round_visits=("round_visits", "sum")).reset_index().rename(columns={
        "team": t("areas_team"), "days": t("rounds_team_days"), "stops": t("rounds_stops"),
        "round_visits": t("rounds_round_visits")}), hide_index=True, width="stretch")
    if overview.days_under_minimum:
        st.subheader(t("rounds_thin_days"))
        st.dataframe(pd.DataFrame(sorted(overview.days_under_minimum.items()),
                                  columns=[t("rounds_date"), t("rounds_missing")]), hide_index=True)
    if overview.uncovered:
        with st.expander(t("rounds_uncovered").format(n=len(overview.uncovered))):
            st.dataframe(pd.DataFrame({t("code"): overview.uncovered}), hide_index=True)


def render() -> None:
    """Render the double-ten round page."""
    path = str(st.session_state["workspace"])
    st.header(t("rounds_header"))
    st.caption(t("rounds_caption"))
    found = teams_or_notice(path)
    if found is None:
        return
    names = found[2]
    settings = load_patrol_settings(store=open_store(path))
    with st.form("rounds_form"):
        c1, c2, c3 = st.columns(3)
        start = c1.date_input(t("rounds_start"), value=pd.Timestamp.now(tz=TIMEZONE).date() + pd.Timedelta(days=1),
                              key="rounds_start")
        days = int(c2.number_input(t("rounds_days"), min_value=1, max_value=31, value=settings.double_ten.days,
                                   key="rounds_days"))
        shift = c3.radio(t("plan_shift"), ["day", "night"], key="rounds_shift", horizontal=True,
                         format_func=lambda s: t(f"shift_{s}"))
        chosen = st.multiselect(t("plan_teams"), list(names), default=list(names), key="rounds_teams",
                                format_func=lambda k: names[k])
        go = st.form_submit_button(t("rounds_generate"))
    if go:
        if not chosen:
            st.error(t("rounds_no_teams"))
        else:
            _generate(path, pd.Timestamp(start).strftime("%Y-%m-%d"), days, str(shift), chosen)
    registered = rounds(open_store(path))
    if registered.empty:
        st.info(t("rounds_none"))
        return
    ids = list(registered["round_id"])
    current = st.session_state.get("rounds_chosen")
    pick = st.selectbox(t("rounds_pick"), ids, index=ids.index(current) if current in ids else 0, key="rounds_pick")
    _show(round_overview(open_store(path), pick, settings), names)
