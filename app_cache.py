"""Cached loaders for the app: the only place pages get workspace data from."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import streamlit as st

from grid.storage import GRID_LAYERS, Workspace
from grid.who import Responsible, who_is_responsible

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_WORKSPACE = DATA_DIR / "guixi_360681.gpkg"


def workspace_choices() -> list[Path]:
    """Return the workspaces offered in the app: ``$PATROL_WORKSPACE`` first, then ``data/*.gpkg``."""
    chosen = os.environ.get("PATROL_WORKSPACE")
    found = sorted(DATA_DIR.glob("*.gpkg"), key=lambda p: (p != DEFAULT_WORKSPACE, p.name))
    return ([Path(chosen)] if chosen else []) + [p for p in found if str(p) != chosen]


def version(path: Path) -> float:
    """The file's modification time: a cache key that changes whenever the workspace is written."""
    return path.stat().st_mtime if path.exists() else 0.0


@st.cache_data(show_spinner=False)
def _load_grid(path: str, version: float) -> dict[str, gpd.GeoDataFrame]:
    workspace = Workspace(path)
    return {name: workspace.read(name) for name in GRID_LAYERS}


@st.cache_data(show_spinner=False)
def _load_table(path: str, name: str, version: float) -> pd.DataFrame:
    return Workspace(path).read(name)


def load_grid(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """Return the four grid levels of a workspace (cached until the file changes)."""
    return _load_grid(str(path), version(path))


def load_table(path: Path, name: str) -> pd.DataFrame:
    """Return one layer or table of a workspace (cached until the file changes)."""
    return _load_table(str(path), name, version(path))


def load_meta(path: Path) -> dict[str, str]:
    """Return the workspace's meta table as a dict."""
    table = load_table(path, "meta")
    return dict(zip(table["key"].astype(str), table["value"].astype(str), strict=True))


@st.cache_data(show_spinner=False)
def _who(path: str, version: float, lon: float, lat: float, crs: str) -> list[Responsible]:
    return who_is_responsible(Workspace(path), lon, lat, crs=crs)


def who_chain(path: Path, lon: float, lat: float, crs: str) -> list[Responsible]:
    """Return the responsibility chain for a point (cached: a clicked point stays on reruns)."""
    return _who(str(path), version(path), lon, lat, crs)


@st.cache_data(show_spinner=False)
def _layer_names(path: str, version: float) -> list[str]:
    return Workspace(path).layer_names()


def layer_names(path: Path) -> list[str]:
    """Return the names of the layers of a workspace (cached until the file changes)."""
    return _layer_names(str(path), version(path))


def load_optional(path: Path, name: str) -> pd.DataFrame | None:
    """Return a layer, or ``None`` if the workspace does not have it yet."""
    return load_table(path, name) if name in layer_names(path) else None


@st.cache_data(show_spinner=False)
def _teams(path: str, version: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    from routing.teams import workspace_teams

    return workspace_teams(Workspace(path))


def load_teams(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The workspace's teams and inspectors (cached; :class:`InputError` if it has none)."""
    return _teams(str(path), version(Path(path)))


@st.cache_data(show_spinner=False)
def _history(path: str, version: float, kind: str, entity_id: str) -> pd.DataFrame:
    from routing.history import case_history, clue_history

    return (clue_history if kind == "clue" else case_history)(Workspace(path), entity_id)


def load_history(path: Path, kind: str, entity_id: str) -> pd.DataFrame:
    """The history of a clue (``kind="clue"``) or a case (cached until the file changes)."""
    return _history(str(path), version(Path(path)), kind, entity_id)
