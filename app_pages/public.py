"""Published results (一公开): open to anyone, logged in or not — each published plan's commitment,
digest, seed and results, the list as CSV and each plan's file, to check with ``patrol verify``."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from access.plans import publications, publications_csv, published_plan
from app_cache import workspace_choices, workspace_title
from i18n import t
from store import open_store


def render() -> None:
    """Render the published results page."""
    st.header(t("public_header"))
    st.caption(t("public_caption"))
    login = st.session_state.get("login")
    if login is not None:
        path = login.workspace
    else:
        choices = workspace_choices()
        path = st.selectbox(t("workspace"), choices, format_func=workspace_title, key="public_workspace")
    table = publications(open_store(path))
    if table.empty:
        st.info(t("public_none"))
        return
    st.dataframe(pd.DataFrame({
        t("col_date"): table["date"], t("col_shift"): [t(f"shift_{s}") for s in table["shift"]],
        t("col_plan_id"): table["plan_id"], t("col_teams"): table["teams"], t("col_visits"): table["visits"],
        t("col_visited"): table["visited"], t("col_problems_found"): table["problems_found"],
        t("col_commitment"): table["commitment"], t("col_seed"): table["seed"],
        t("col_published_at"): table["published_at"].astype(str).str[:16].str.replace("T", " "),
    }), hide_index=True, width="stretch")
    st.download_button(t("public_download"), publications_csv(table), file_name="published.csv", mime="text/csv",
                       key="public_csv")
    plan_id = st.selectbox(t("public_plan"), list(table["plan_id"]), key="public_plan_pick")
    if plan_id:
        st.download_button(t("public_plan"), json.dumps(published_plan(open_store(path), plan_id), ensure_ascii=False,
                                                        indent=1), file_name=f"{plan_id}.json",
                           mime="application/json", key="public_plan_json")
