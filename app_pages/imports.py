"""Import page: upload a registry or hotline export, see what was imported, rejected or needs confirming."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app_cache import current_actor, load_optional
from core.errors import InputError
from core.settings import load_patrol_settings
from core.settings import risk_settings_path as settings_path
from core.text import Text, in_language
from core.untrusted import check_upload, safe_filename
from i18n import lang, plain, t
from layers import schema
from layers.importer import ImportResult, confirm_locations, rejects_csv, rejects_table
from layers.risk import import_and_analyse, refresh
from store import open_store

CRS_OPTIONS = ("auto", "wgs84", "gcj02", "bd09", "cgcs2000")


def _run_import(path: str, kind: str, upload: object, crs: str) -> None:
    try:
        check_upload(upload.name, upload.size, load_patrol_settings(store=open_store(path)).uploads)  # type: ignore[attr-defined]
    except InputError as exc:
        st.session_state["import_result"] = {"error": exc}
        return
    with tempfile.TemporaryDirectory() as folder:
        safe = safe_filename(upload.name)  # type: ignore[attr-defined]  # the browser's name is never a path
        target = Path(folder) / safe
        target.write_bytes(upload.getvalue())  # type: ignore[attr-defined]
        try:
            result = import_and_analyse(open_store(path), kind, target, crs=None if crs == "auto" else crs,
                                        actor=current_actor())
        except InputError as exc:
            st.session_state["import_result"] = {"error": exc}
            return
        except Exception as exc:  # a damaged file must not end in a traceback
            logging.getLogger(__name__).exception("import of %s failed", safe)
            st.session_state["import_result"] = {"error": f"{type(exc).__name__}: {exc}"}
            return
    # kept as the library gave it, so that the page shows it in whichever language is chosen
    st.session_state["import_result"] = {"result": result}


def _show_result() -> None:
    state = st.session_state.get("import_result")
    if not state:
        return
    if "error" in state:
        st.error(f"{t('import_failed')}：{plain(in_language(state['error'], lang()))}")
        return
    result: ImportResult = state["result"]
    st.success(plain(result.summary().get(lang())))
    if result.unknown_columns:
        st.caption(t("import_ignored") + "：" + plain(("、" if lang() == "zh" else ", ").join(result.unknown_columns)))
    if result.rejects:
        st.warning(t("import_rejected").format(n=len(result.rejects)))
        st.dataframe(rejects_table(result.rejects, lang()), hide_index=True, width="stretch")
        st.download_button(t("download_rejected"), rejects_csv(result, lang()),
                           file_name=f"{Path(result.source).stem}.rejected.csv", mime="text/csv",
                           key="download_rejected")


def _confirm(path: str) -> None:
    st.subheader(t("to_confirm_header"))
    if st.session_state.get("confirmed_message"):
        st.success(st.session_state.pop("confirmed_message"))
    any_rows = False
    for kind, key in (("institutions", "institution_id"), ("clues", "clue_id")):
        frame = load_optional(path, kind)
        if frame is None:
            continue
        waiting = frame[frame["location_status"] != "placed"]
        if waiting.empty:
            continue
        any_rows = True
        st.markdown(f"**{t(kind + '_layer')}**")
        view = pd.DataFrame({
            t("col_id"): waiting[key], t("address"): waiting["address"],
            t("col_location_status"): [schema.label("location_status", s, lang()) for s in waiting["location_status"]],
            t("col_location_note"): [Text.loads(n).get(lang()) for n in waiting["location_note"]],
            t("col_location_confidence"): waiting["location_confidence"],
            t("col_candidate_lon"): waiting["candidate_lon"], t("col_candidate_lat"): waiting["candidate_lat"],
        })
        st.dataframe(view, hide_index=True, width="stretch")
        choosable = waiting[waiting["candidate_lon"].notna()][key].tolist()
        chosen = st.multiselect(t("confirm_pick"), choosable, key=f"confirm_{kind}")
        if st.button(t("confirm_button"), key=f"confirm_button_{kind}", disabled=not chosen):
            count = confirm_locations(open_store(path), kind, chosen, actor=current_actor())
            st.session_state["confirmed_message"] = t("confirmed").format(n=count)
            st.rerun()
    if not any_rows:
        st.caption(t("to_confirm_none"))


def render() -> None:
    """Render the import page."""
    path = st.session_state["workspace"]
    st.header(t("import_header"))
    st.caption(t("import_caption"))
    with st.form("import_form"):
        kind = st.radio(t("import_kind"), ["institutions", "clues"], key="import_kind", horizontal=True,
                        format_func=lambda k: t(k + "_layer"))
        crs = st.selectbox(t("crs"), CRS_OPTIONS, key="import_crs", format_func=lambda c: t("crs_" + c))
        upload = st.file_uploader(t("import_file"), type=["csv", "xlsx"], key="import_file")
        submitted = st.form_submit_button(t("import_button"))
    if submitted:
        if upload is None:
            st.error(t("import_no_file"))
        else:
            _run_import(path, kind, upload, crs)
    _show_result()
    _confirm(path)
    st.subheader(t("refresh_header"))
    st.caption(t("refresh_caption").format(settings=settings_path()))
    if st.button(t("refresh_button"), key="refresh_analysis"):
        try:
            refresh(open_store(path), actor=current_actor())
            st.success(t("refreshed"))
        except InputError as exc:
            st.error(plain(in_language(exc, lang())))
