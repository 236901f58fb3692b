"""Clues and rectification cases (线索与整改): where each one stands and its full history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app_cache import load_history, load_optional
from core.errors import InputError
from i18n import lang, plain, t
from layers import schema


def _history(frame: pd.DataFrame) -> None:
    view = frame.assign(time=frame["time"].astype(str).str[:16].str.replace("T", " "))
    st.dataframe(view.rename(columns={"time": t("case_time"), "event": t("case_event"), "detail": t("case_detail"),
                                      "by": t("case_by")}), hide_index=True, width="stretch")


def _clues(path: str) -> None:
    clues = load_optional(path, "clues")
    if clues is None or clues.empty:
        st.info(t("case_no_clues"))
        return
    statuses = [term.code for term in schema.CLUE_STATUSES]
    chosen = st.multiselect(t("case_clue_status"), statuses, default=statuses,
                            format_func=lambda s: schema.label("clue_status", s, lang()), key="case_clue_status")
    shown = clues[clues["status"].isin(chosen)]
    table = pd.DataFrame({
        t("case_clue_id"): shown["clue_id"], t("case_received"): shown["received_at"].astype(str).str[:16],
        t("col_kind"): [schema.label("category", c, lang()) for c in shown["category"]],
        t("case_status"): [schema.label("clue_status", s, lang()) for s in shown["status"]],
        t("address"): shown["address"],
        t("case_answer"): shown.get("answer", ""),
    })
    st.dataframe(table, hide_index=True, width="stretch")
    if shown.empty:
        return
    clue_id = st.selectbox(t("case_pick_clue"), list(shown["clue_id"]), key="case_pick_clue")
    _history(load_history(path, "clue", clue_id))
    from casework.field import clue_photos
    from store import open_store

    photos = clue_photos(open_store(path), str(clue_id)) if clue_id else []
    if photos:  # a field report's photos (their metadata was removed when they were filed)
        st.image(photos, caption=[t("case_photo").format(n=k + 1) for k in range(len(photos))], width=240)


def _cases(path: str) -> None:
    cases = load_optional(path, "cases")
    if cases is None or cases.empty:
        st.info(t("case_no_cases"))
        return
    table = pd.DataFrame({
        t("case_id"): cases["case_id"], t("name"): cases["name"],
        t("case_status"): [schema.label("case_status", s, lang()) for s in cases["status"]],
        t("case_problems"): cases["problems"], t("case_due"): cases["due"], t("case_revisit_due"): cases["revisit_due"],
        t("case_revisits"): cases["revisits"], t("address"): cases["address"],
    })
    st.dataframe(table, hide_index=True, width="stretch")
    case_id = st.selectbox(t("case_pick_case"), list(cases["case_id"]), key="case_pick_case")
    _history(load_history(path, "case", case_id))


def render() -> None:
    """Render the clues and cases page."""
    path = str(st.session_state["workspace"])
    st.header(t("case_header"))
    st.caption(t("case_caption"))
    clues_tab, cases_tab = st.tabs([t("case_tab_clues"), t("case_tab_cases")])
    try:
        with clues_tab:
            _clues(path)
        with cases_tab:
            _cases(path)
    except InputError as exc:
        st.error(plain(exc))
