"""The store: where every workspace lives, and the only package that opens a database or a file of one.

``open_store(location)`` takes a ``.gpkg`` path (one county on one machine) or a
``postgresql://user@host:5432/patrol?county=360681`` URL (a bureau server, a city, a province)
and returns a :class:`Store`. Read with ``store.read(layer, where=…, between=…, bbox=…)``; write
inside ``with store.transaction(actor=…, action=…) as tx:`` with ``tx.append``, ``tx.upsert``,
``tx.replace`` and ``tx.delete`` — one audit row names the actor in the same transaction.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import WorkspaceError
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
    return GeoPackageStore(Path(text).expanduser())
