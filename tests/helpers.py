"""Helpers for tests: write layers whole, snapshot a workspace, put a workspace on the backend under test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from store import Store, open_store
from store.migrate import migrate

BACKEND = os.environ.get("PATROL_TEST_BACKEND", "gpkg")


def replace_layers(ws: Store, layers: Mapping[str, pd.DataFrame], *, action: str = "test", actor: str = "tester",
                   detail: str = "") -> None:
    """Replace ``layers`` whole in one transaction (tests set up states this way)."""
    with ws.transaction(actor=actor, action=action, detail=detail) as tx:
        for name, frame in layers.items():
            tx.replace(name, frame)


def snapshot(ws: Store) -> dict[str, pd.DataFrame]:
    """Every layer of ``ws``, as frames (to compare a workspace before and after)."""
    return {name: pd.DataFrame(ws.read(name)).astype(str) for name in ws.layer_names()}


def assert_same_snapshot(before: dict[str, pd.DataFrame], after: dict[str, pd.DataFrame]) -> None:
    """Fail unless both snapshots hold the same layers with the same rows."""
    assert sorted(before) == sorted(after)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False, obj=name)


def postgres_url(schema: str | None = None, county: str | None = None) -> str:
    """A URL in the test server, in a schema of its own (fresh unless named)."""
    base = os.environ["PATROL_TEST_POSTGRES_URL"]
    query = [f"schema={schema or 't' + uuid.uuid4().hex[:12]}"] + ([f"county={county}"] if county else [])
    return f"{base}?{'&'.join(query)}"


def on_backend(gpkg: Path, backend: str = BACKEND) -> Store:
    """The workspace ``gpkg`` (a private copy already) on the backend under test."""
    ws = open_store(gpkg)
    if backend == "gpkg":
        return ws
    target = open_store(postgres_url())
    migrate(ws, target, actor="test-setup")
    county = ws.meta()["county_code"]
    return open_store(f"{target.location}&county={county}")
