"""Teams and inspectors (检查组与人员): kept in the app — add, edit, take out of use — with the
draw's rules checked as the planner edits, and saved in one audited write."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app_cache import current_actor
from core.errors import InputError, PermissionDeniedError
from core.settings import MODES, load_patrol_settings
from core.untrusted import check_upload, safe_filename
from i18n import plain, t
from routing.teams import (
    INSPECTOR_COLUMNS,
    TEAM_COLUMNS,
    YES,
    check_inspectors,
    check_teams,
    import_teams,
    in_use,
    rule_problems,
    save_teams,
)
from store import open_store


def _stored(path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    ws = open_store(path)
    teams = (pd.DataFrame(ws.read("teams")).drop(columns="geometry", errors="ignore") if ws.has_layer("teams")
             else pd.DataFrame(columns=TEAM_COLUMNS))
    people = ws.read("inspectors") if ws.has_layer("inspectors") else pd.DataFrame(columns=INSPECTOR_COLUMNS)
    teams = teams.assign(active=in_use(teams))[[*TEAM_COLUMNS, "active"]]
    certified = people["law_cert"].astype(str).str.strip().str.lower().isin(YES)
    people = pd.DataFrame(people).assign(active=in_use(people), law_cert=certified)
    people = people.fillna("")[[*INSPECTOR_COLUMNS, "active"]]
    teams["base_lon"] = pd.to_numeric(teams["base_lon"], errors="coerce")
    teams["base_lat"] = pd.to_numeric(teams["base_lat"], errors="coerce")
    return teams.reset_index(drop=True), people.reset_index(drop=True)


def _import(path: str, teams_file: object | None, people_file: object | None) -> None:
    """Replace the lists from uploaded files (checked row by row; a file's name is never a path)."""
    ws = open_store(path)
    limits = load_patrol_settings(store=ws).uploads
    with tempfile.TemporaryDirectory() as folder:
        saved: dict[str, Path] = {}
        try:
            for kind, upload in (("teams", teams_file), ("inspectors", people_file)):
                if upload is None:
                    continue
                check_upload(upload.name, upload.size, limits)  # type: ignore[attr-defined]
                (Path(folder) / kind).mkdir()
                target = Path(folder) / kind / safe_filename(upload.name)  # type: ignore[attr-defined]
                target.write_bytes(upload.getvalue())  # type: ignore[attr-defined]
                saved[kind] = target
            teams, people, problems = import_teams(ws, teams_path=saved.get("teams"),
                                                   inspectors_path=saved.get("inspectors"), actor=current_actor())
        except (InputError, PermissionDeniedError) as exc:  # named by the user's file, not our temporary folder
            st.error(plain(str(exc).replace(f"{folder}/teams/", "").replace(f"{folder}/inspectors/", "")))
            return
    st.success(t("teams_saved").format(teams=len(teams), people=len(people)))
    for problem in problems:
        st.warning(plain(problem))


def render() -> None:
    """Render the teams and inspectors page."""
    path = str(st.session_state["workspace"])
    st.header(t("teams_header"))
    st.caption(t("teams_caption"))
    with st.expander(t("teams_import")):
        st.caption(t("teams_import_caption"))
        c1, c2 = st.columns(2)
        teams_file = c1.file_uploader(t("teams_import_teams"), type=["csv", "xlsx"], key="teams_file")
        people_file = c2.file_uploader(t("teams_import_people"), type=["csv", "xlsx"], key="people_file")
        if st.button(t("teams_import_go"), key="teams_import_go", disabled=teams_file is None and people_file is None):
            _import(path, teams_file, people_file)
    teams, people = _stored(path)
    settings = load_patrol_settings(store=open_store(path))
    text = st.column_config.TextColumn
    edited_teams = st.data_editor(teams, key="teams_editor", num_rows="dynamic", hide_index=True, width="stretch",
                                  column_config={
                                      "team_id": text(t("teams_id"), required=True),
                                      "name": text(t("name")),
                                      "base_lon": st.column_config.NumberColumn(t("teams_lon"), format="%.6f"),
                                      "base_lat": st.column_config.NumberColumn(t("teams_lat"), format="%.6f"),
                                      "mode": st.column_config.SelectboxColumn(t("teams_mode"), options=list(MODES)),
                                      "active": st.column_config.CheckboxColumn(t("teams_active"), default=True)})
    st.subheader(t("teams_people"))
    edited_people = st.data_editor(people, key="people_editor", num_rows="dynamic", hide_index=True, width="stretch",
                                   column_config={
                                       "inspector_id": text(t("teams_id"), required=True),
                                       "name": text(t("teams_person")),
                                       "department": text(t("teams_department")),
                                       "law_cert": st.column_config.CheckboxColumn(t("teams_law_cert"), default=False),
                                       "home_community": text(t("teams_home")),
                                       "responsible_communities": text(t("teams_duties")),
                                       "active": st.column_config.CheckboxColumn(t("teams_active"), default=True)})
    active_teams = edited_teams[edited_teams["active"].fillna(True).astype(bool)]
    active_people = edited_people[edited_people["active"].fillna(True).astype(bool)]
    st.subheader(t("teams_rules"))
    st.caption(t("teams_rules_caption").format(size=settings.teams.size, departments=settings.teams.min_departments,
                                               certs=settings.teams.min_law_cert))
    problems = rule_problems(active_teams, active_people.assign(law_cert=active_people["law_cert"].fillna(False)),
                             settings.teams)
    for problem in problems:
        st.warning(plain(problem))
    if not problems:
        st.success(t("teams_rules_ok").format(teams=len(active_teams), people=len(active_people)))
    if st.button(t("teams_save"), key="teams_save", type="primary"):
        ws = open_store(path)
        try:  # rows are numbered from 1 as on the screen
            checked_teams = check_teams(edited_teams[TEAM_COLUMNS].set_axis(range(1, len(edited_teams) + 1)), ws,
                                        t("teams_header"))
            checked_people = check_inspectors(edited_people[INSPECTOR_COLUMNS].set_axis(
                range(1, len(edited_people) + 1)), ws, t("teams_people"))
            save_teams(ws, checked_teams, checked_people, actor=current_actor(),
                       active_teams=list(edited_teams["active"].fillna(True).astype(bool)),
                       active_people=list(edited_people["active"].fillna(True).astype(bool)))
        except (InputError, PermissionDeniedError) as exc:
            st.error(plain(exc))
        else:
            st.success(t("teams_saved").format(teams=len(checked_teams), people=len(checked_people)))
