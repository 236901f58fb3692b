"""Cached loaders for the app: the only place pages get workspace data from."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from access.roles import Principal
from core.errors import PermissionDeniedError
from grid.who import Responsible, who_is_responsible
from store import GRID_LAYERS, GeoPackageStore, open_store
from store.home import working_workspaces


def workspace_choices() -> list[str]:
    """The workspaces offered in the app: ``$PATROL_WORKSPACE`` (a path or a URL) first, then the
    user's own copies in the data home (``$PATROL_HOME``), seeded from the shipped samples."""
    chosen = os.environ.get("PATROL_WORKSPACE")
    found = [str(p) for p in working_workspaces()]
    return ([chosen] if chosen else []) + [p for p in found if p != chosen]


def workspace_title(location: str) -> str:
    """How a workspace is named in the picker: the file's stem, or the URL without its password."""
    store = open_store(location)
    return Path(location).stem if isinstance(store, GeoPackageStore) else store.label


def version(path: object) -> str:
    """A cache key that changes whenever the workspace is written."""
    return open_store(str(path)).version()


#: the layers the leaders' figures, coverage and reports are counted from (a login writes none of them)
PATROL_LAYERS = ("results", "plans", "clues", "cases", "institutions", "risk_sites", "risk_cells", "teams",
                 "grid_walks", "townships", "communities", "buildings")


def data_version(path: object, layers: tuple[str, ...] = PATROL_LAYERS) -> str:
    """A cache key that changes whenever one of ``layers`` is written (and not at every login, which
    writes the accounts and the audit log)."""
    ws = open_store(str(path))
    return "|".join(ws.layer_version(name) for name in layers)


@st.cache_data(show_spinner=False)
def _load_grid(path: str, version: str) -> dict[str, gpd.GeoDataFrame]:
    workspace = open_store(path)
    return {name: workspace.read(name) for name in GRID_LAYERS}


@st.cache_data(show_spinner=False)
def _load_table(path: str, name: str, version: str) -> pd.DataFrame:
    return open_store(path).read(name)


def load_grid(path: str) -> dict[str, gpd.GeoDataFrame]:
    """Return the four grid levels of a workspace (cached until the file changes)."""
    return _load_grid(str(path), version(path))


def load_table(path: str, name: str) -> pd.DataFrame:
    """Return one layer or table of a workspace (cached until the file changes)."""
    return _load_table(str(path), name, version(path))


def load_meta(path: str) -> dict[str, str]:
    """Return the workspace's meta table as a dict."""
    table = load_table(path, "meta")
    return dict(zip(table["key"].astype(str), table["value"].astype(str), strict=True))


@st.cache_data(show_spinner=False)
def _who(path: str, version: str, lon: float, lat: float, crs: str) -> list[Responsible]:
    return who_is_responsible(open_store(path), lon, lat, crs=crs)


def who_chain(path: str, lon: float, lat: float, crs: str) -> list[Responsible]:
    """Return the responsibility chain for a point (cached: a clicked point stays on reruns)."""
    return _who(str(path), version(path), lon, lat, crs)


@st.cache_data(show_spinner=False)
def _layer_names(path: str, version: str) -> list[str]:
    return open_store(path).layer_names()


def layer_names(path: str) -> list[str]:
    """Return the names of the layers of a workspace (cached until the file changes)."""
    return _layer_names(str(path), version(path))


def load_optional(path: str, name: str) -> pd.DataFrame | None:
    """Return a layer, or ``None`` if the workspace does not have it yet."""
    return load_table(path, name) if name in layer_names(path) else None


@st.cache_data(show_spinner=False)
def _teams(path: str, version: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    from routing.teams import workspace_teams

    return workspace_teams(open_store(path))


def load_teams(path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The workspace's teams and inspectors (cached; :class:`InputError` if it has none)."""
    return _teams(str(path), version(path))


def teams_or_notice(path: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]] | None:
    """The teams, inspectors and team names; ``None`` (with the reason shown) if there are none yet."""
    from core.errors import InputError
    from i18n import plain

    try:
        teams, people = load_teams(path)
    except InputError as exc:
        st.info(plain(exc))
        return None
    return teams, people, dict(zip(teams["team_id"], teams["name"], strict=True))


@st.cache_data(show_spinner=False)
def _history(path: str, version: str, kind: str, entity_id: str) -> pd.DataFrame:
    from casework.history import case_history, clue_history

    return (clue_history if kind == "clue" else case_history)(open_store(path), entity_id)


def load_history(path: str, kind: str, entity_id: str) -> pd.DataFrame:
    """The history of a clue (``kind="clue"``) or a case (cached until the file changes)."""
    return _history(str(path), version(path), kind, entity_id)


def current_actor() -> Principal:
    """The logged-in person acting in this browser session (the services check their role)."""
    login = st.session_state.get("login")
    if login is None:
        raise PermissionDeniedError("请先登录。 / Log in first.")
    return login.principal
