"""Register and audit page (登记簿与审计, leaders and administrators): every plan with its status and
withdrawal reason, redraws per month, publication of results (一公开), and the read-only audit log."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import streamlit as st

from access.plans import audit_log, publications, publish_plan
from access.roles import Permission
from app_cache import current_actor
from core.clock import TIMEZONE
from core.errors import InputError
from i18n import plain, t
from routing.model import Plan
from routing.register import plans_register, redraws_per_month
from store import open_store


def _register(path: str) -> pd.DataFrame:
    register = plans_register(open_store(path))
    st.subheader(t("oversight_register"))
    if register.empty:
        st.caption(t("public_none"))
        return register
    st.dataframe(pd.DataFrame({
        t("col_date"): register["date"], t("col_shift"): [t(f"shift_{s}") for s in register["shift"]],
        t("col_plan_id"): register["plan_id"], t("col_status"): [t(f"status_{s}") for s in register["status"]],
        t("col_visits"): register["visits"], t("col_created_by"): register["created_by"],
        t("col_created_at"): register["created_at"].astype(str).str[:16].str.replace("T", " "),
        t("col_withdrawn_by"): register["withdrawn_by"].fillna(""),
        t("col_withdraw_reason"): register["withdraw_reason"].fillna(""),
    }), hide_index=True, width="stretch")
    st.subheader(t("oversight_redraws"))
    redraws = redraws_per_month(open_store(path))
    st.dataframe(redraws.rename(columns={"month": t("col_month"), "plans": t("col_plans"),
                                         "withdrawn": t("col_withdrawn")}), hide_index=True)
    return register


def _publish(path: str, register: pd.DataFrame) -> None:
    st.subheader(t("oversight_publish"))
    st.caption(t("oversight_publish_caption"))
    if message := st.session_state.pop("oversight_message", None):
        st.success(plain(message))
    done = set(publications(open_store(path))["plan_id"])
    now = datetime.now(TIMEZONE)
    ready = [row.plan_id for row in register.itertuples()
             if row.status == "live" and row.plan_id not in done
             and datetime.fromisoformat(Plan.from_json(json.loads(row.plan_json)).window_closes_at()) <= now]
    if not ready:
        st.caption(t("oversight_nothing_to_publish"))
        return
    plan_id = st.selectbox(t("oversight_publishable"), ready, key="publish_pick")
    if st.button(t("oversight_publish_button"), key="publish_button", type="primary"):
        try:
            record = publish_plan(open_store(path), plan_id, actor=current_actor())
        except InputError as exc:
            st.error(plain(exc))
            return
        st.session_state["oversight_message"] = t("oversight_published").format(plan_id=plan_id, seed=record["seed"])
        st.rerun()


def _flying(path: str) -> None:
    """飞行检查: a leader's plan for teams from other townships, kept from the planners until done."""
    from shapely.geometry import Point

    from app_cache import load_grid, teams_or_notice
    from core.settings import load_patrol_settings
    from routing.plan import make_plan
    from routing.register import register_plan

    with st.expander(t("flying_header")):
        st.caption(t("flying_caption"))
        towns = load_grid(path)["townships"]
        found = teams_or_notice(path)
        if found is None:
            return
        teams, people, team_names = found
        names = dict(zip(towns["code"], towns["name"], strict=True))
        with st.form("flying_form"):
            c1, c2, c3 = st.columns(3)
            day = c1.date_input(t("rounds_start"), value=datetime.now(TIMEZONE).date(), key="flying_day")
            shift = c2.radio(t("plan_shift"), ["day", "night"], horizontal=True, key="flying_shift",
                             format_func=lambda v: t(f"shift_{v}"))
            town = c3.selectbox(t("townships"), list(names), key="flying_town", format_func=lambda c: names[c])
            chosen = st.multiselect(t("flying_teams"), list(teams["team_id"]), key="flying_teams",
                                    format_func=lambda k: str(team_names.get(k, k)))
            go = st.form_submit_button(t("flying_make"))
        if not go:
            return
        shape = towns.set_index("code").geometry[town]
        picked = teams[teams["team_id"].isin(chosen)] if chosen else teams[
            [not shape.contains(Point(float(x), float(y))) for x, y in zip(teams["base_lon"], teams["base_lat"],
                                                                            strict=True)]]
        ws = open_store(path)
        try:
            plan, seed = make_plan(ws, pd.Timestamp(day), str(shift), teams=picked.reset_index(drop=True),
                                   inspectors=people, settings=load_patrol_settings(store=ws),
                                   flying_township=town, actor=current_actor())
            register_plan(ws, plan, seed=seed, actor=current_actor())
        except InputError as exc:
            st.error(plain(exc))
            return
        st.success(t("flying_made").format(plan_id=plan.plan_id, visits=plan.summary.visits,
                                           commitment=plan.commitment))


def _audit(path: str) -> None:
    st.subheader(t("oversight_audit"))
    log = audit_log(open_store(path), actor=current_actor())
    st.dataframe(pd.DataFrame({
        t("col_time"): log["time"].astype(str).str[:19].str.replace("T", " "),
        t("col_actor"): log["actor"], t("col_action"): log["action"],
        t("col_layers"): log["layers"].fillna(""), t("col_detail"): log["detail"].fillna(""),
    }), hide_index=True, width="stretch", height=420)


def render() -> None:
    """Render the register and audit page."""
    path = str(st.session_state["workspace"])
    st.header(t("oversight_page"))
    person = current_actor()
    register = _register(path) if person.allows(Permission.VIEW_PLANS) else plans_register(open_store(path)).iloc[0:0]
    if person.allows(Permission.PUBLISH) and not register.empty:
        _publish(path, register)
    if person.allows(Permission.FLYING_CHECK):
        _flying(path)
    if current_actor().allows(Permission.READ_AUDIT):
        _audit(path)
