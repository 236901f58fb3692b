from __future__ import annotations

import pandas as pd
import pytest

from grid import storage
from core.errors import WorkspaceError
from grid.storage import Workspace


def test_failed_write_leaves_the_workspace_as_it_was(guixi_copy: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    before = guixi_copy.path.read_bytes()
    original = storage._write_layer
    calls = []

    def crash_on_second(path: object, name: str, frame: pd.DataFrame) -> None:
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        original(path, name, frame)  # type: ignore[arg-type]

    monkeypatch.setattr(storage, "_write_layer", crash_on_second)
    townships = guixi_copy.read("townships").assign(responsible_name="changed")
    with pytest.raises(RuntimeError, match="disk full"):
        guixi_copy.write({"townships": townships, "communities": guixi_copy.read("communities")}, action="test")
    assert guixi_copy.path.read_bytes() == before
    assert not list(guixi_copy.path.parent.glob(".*tmp*"))


def test_each_write_appends_who_did_what(guixi_copy: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATROL_USER", "planner-li")
    guixi_copy.write({"townships": guixi_copy.read("townships")}, action="edit-persons", detail="x")
    last = guixi_copy.audit_log().iloc[-1]
    assert (last["actor"], last["action"], last["layers"]) == ("planner-li", "edit-persons", "townships")


def test_reading_a_missing_layer_lists_the_layers_there(guixi_copy: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="has no layer 'nope'.*townships"):
        guixi_copy.read("nope")
