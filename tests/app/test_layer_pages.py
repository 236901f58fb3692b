"""The layers and import pages, driven with AppTest (the default workspace is never written to)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers.importer import import_file
from store import Store
from tests.helpers import add_user, demo_password, logged_in, on_backend

ROOT = Path(__file__).resolve().parents[2]


def _open(page: str, ws: Store | None = None) -> AppTest:
    """The page as a planner sees it: the demo planner of the default county, or one added to ``ws``."""
    if ws is None:
        AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()  # first start: demo accounts
        return logged_in("demo_planner", demo_password("guixi_360681", "demo_planner"), page=page)
    add_user(ws, "planner1", "planner")
    return logged_in("planner1", page=page)


def test_layers_page_shows_demo_layers_and_filters_table_and_map_together() -> None:
    app = _open("views/layers.py")
    assert not app.exception
    assert app.header[0].value == "机构、举报线索、重点场所与风险"
    table = app.dataframe[0].value
    assert len(table) == 40 and "风险原因" in table.columns
    assert table["风险分"].is_monotonic_decreasing
    app.multiselect(key="f_status").select("unlicensed").run()
    narrowed = app.dataframe[0].value
    assert 0 < len(narrowed) < 40 and set(narrowed["状态"]) == {"无证无照"}
    assert any("演示数据" in c.value for c in app.caption)
    app.slider(key="f_min_risk").set_value(0.99).run()
    assert len(app.dataframe[0].value) == 0 and not app.exception
    hot = app.dataframe[1].value
    assert {"gi_z", "p_value", "label"} <= set(hot.columns)


def test_import_page_without_file_says_so() -> None:
    app = _open("views/imports.py")
    assert not app.exception
    app.button[0].click().run()  # the form's submit button
    assert "请先选择文件" in app.error[0].value


@pytest.fixture
def workspace_with_pending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    target = tmp_path / "county.gpkg"
    shutil.copy2(ROOT / "data" / "guixi_360681.gpkg", target)
    source = Path(shutil.copy2(ROOT / "tests" / "data" / "institutions_messy_gbk.csv", tmp_path / "in.csv"))
    ws = on_backend(target)
    import_file(ws, "institutions", source, actor="tester")
    monkeypatch.setenv("PATROL_WORKSPACE", ws.location)
    return ws


def test_confirming_a_candidate_location_on_the_import_page(workspace_with_pending: Store) -> None:
    app = _open("views/imports.py", workspace_with_pending)
    assert not app.exception
    pending = app.dataframe[0].value
    assert len(pending) == 2  # one low-confidence road match, one unknown address
    choice = app.multiselect(key="confirm_institutions")
    choice.select(choice.options[0]).run()
    app.button(key="confirm_button_institutions").click().run()
    assert not app.exception
    frame = workspace_with_pending.read("institutions")
    confirmed = frame[frame["institution_id"] == choice.value[0]]
    assert confirmed["location_status"].tolist() == ["placed"] and confirmed.geometry.notna().all()
    assert (frame["location_status"] == "to_confirm").sum() == 0  # the unlocated one has no candidate to accept
    assert any("已确认 1 条位置" in s.value for s in app.success)
    assert workspace_with_pending.audit_log().iloc[-1]["action"] == "confirm-institutions-location"
