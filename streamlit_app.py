"""Streamlit entry point: page config, language and workspace choice, navigation.

Pages live in ``app_pages/`` as modules with a ``render()`` function (not in ``pages/``,
which Streamlit would turn into pages of its own).
"""

from __future__ import annotations

import logging

import streamlit as st

from app_cache import workspace_choices, workspace_title
from app_pages import casework, grid, imports, layers, planning, team
from core.errors import StoreError, WorkspaceError
from i18n import LANGUAGES, t

PAGES = {
    "grid_page": grid.render, "layers_page": layers.render, "plan_page": planning.render,
    "team_page": team.render, "case_page": casework.render, "import_page": imports.render,
}

st.set_page_config(page_title="双减网格巡查", page_icon="🗺️", layout="wide")

with st.sidebar:
    st.radio(t("language"), list(LANGUAGES), format_func=LANGUAGES.get, key="lang", horizontal=True)
    page = st.radio("📑", list(PAGES), format_func=t, key="page", label_visibility="collapsed")
    choices = workspace_choices()
    if choices:
        st.selectbox(t("workspace"), choices, format_func=workspace_title, key="workspace")
    st.caption(t("demo_notice"))
    st.caption(t("attribution"))

st.title(t("app_title"))
if not choices:
    st.error(t("no_workspace"))
    st.stop()
try:
    PAGES[page]()
except StoreError as exc:  # the server's fault, not the user's: say so, log the details for the administrator
    logging.getLogger("patrol.app").exception("store failure on %s", page)
    st.error(t("store_failed").format(error=exc))
except WorkspaceError as exc:
    st.error(t("workspace_failed").format(error=exc))
