"""The store: where every workspace lives, and the only package that opens a database or a file of one.

``open_store(location)`` takes a ``.gpkg`` path (one county on one machine) or a
``postgresql://user@host:5432/patrol?county=360681`` URL (a bureau server, a city, a province)
and returns a :class:`Store`. Read with ``store.read(layer, where=…, between=…, bbox=…)``; write
inside ``with store.transaction(actor=…, action=…) as tx:`` with ``tx.append``, ``tx.upsert``,
``tx.replace`` and ``tx.delete`` — one audit row names the actor in the same transaction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from core.errors import StoreError, WorkspaceError
from store.base import (
    AUDIT_LAYER,
    GRID_LAYERS,
    REQUIRED_LAYERS,
    Filter,
    LayerInfo,
    Store,
    Transaction,
)
from store.gpkg import GeoPackageStore
from store.postgis import PostGISStore

__all__ = [
    "AUDIT_LAYER",
    "GRID_LAYERS",
    "REQUIRED_LAYERS",
    "Filter",
    "GeoPackageStore",
    "LayerInfo",
    "PostGISStore",
    "Store",
    "Transaction",
    "create_workspace",
    "is_database_url",
    "open_store",
]


def is_database_url(location: str | os.PathLike[str]) -> bool:
    """Tell whether ``location`` names a database (``postgresql://…``) rather than a file."""
    return str(location).startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))


def open_store(location: str | os.PathLike[str] | Store) -> Store:
    """The workspace at ``location``: a ``.gpkg`` path or a ``postgresql://…?county=CODE`` URL."""
    if isinstance(location, Store):
        return location
    text = str(location).strip()
    if not text:
        msg = "no workspace given; pass a .gpkg path or a postgresql://…?county=CODE URL."
        raise WorkspaceError(msg)
    if is_database_url(text):
        return PostGISStore(text.replace("postgres://", "postgresql://", 1))
    if "://" in text:
        msg = f"{text!r}: a workspace is a .gpkg file or a postgresql:// URL; other schemes are not supported."
        raise WorkspaceError(msg)
    from store.home import is_shipped, resolve_location

    path = Path(resolve_location(text)).expanduser()
    return GeoPackageStore(path, read_only=is_shipped(path))


def create_workspace(location: str | os.PathLike[str], layers: Mapping[str, pd.DataFrame], *, county: str,
                     actor: str, action: str, detail: str = "", replace: bool = False) -> Store:
    """Write a new county workspace holding ``layers``, all at once or not at all.

    A ``.gpkg`` is built beside the target and replaces it only when complete. In a database the
    county must not exist yet (a county's casework is never overwritten by a rebuild).
    """
    store = open_store(location).bind(county)
    if isinstance(store, PostGISStore) and store.exists():
        msg = (f"{store.label} already holds county {county}; a build never overwrites a county's data. "
               "Use another database or schema, or copy the new build in with `patrol migrate`.")
        raise WorkspaceError(msg)
    try:
        casework = [n for n in ("results", "plans", "cases") if store.exists() and store.has_layer(n)]
    except StoreError:  # a damaged file is what a rebuild is for
        casework = []
    if casework and not replace:
        msg = (f"{store.label} already holds {', '.join(casework)}; a rebuild would lose them. Build into a new "
               "file, or say --replace to overwrite it anyway.")
        raise WorkspaceError(msg)
    with store.creating() as target, target.transaction(actor=actor, action=action, detail=detail) as tx:
        for name, frame in layers.items():
            tx.replace(name, frame)
    return store
