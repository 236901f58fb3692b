"""The patrol areas page (包片区域), driven with AppTest on a private copy of the default county."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.areas import current_areas
from store import Store
from tests.helpers import add_user, app_county, logged_in


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return app_county(tmp_path, monkeypatch)


def test_a_planner_computes_the_areas_sees_the_balance_saves_and_finds_the_version(county: Store) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/areas.py")
    assert "尚未划分包片区域" in app.info[0].value
    app.button(key="areas_compute").click().run()
    assert not app.exception, app.exception
    table = app.dataframe[0].value
    assert list(table["检查组"]) == list(county.read("teams")["name"])
    assert table["社区数"].sum() == len(county.read("communities"))
    assert set(table["连片"]) == {"是"}
    summary = " ".join(m.value for m in app.markdown)
    assert "最大偏差" in summary
    if "未达均衡" in summary:  # the default county's workload sits in a few communities: the page says why
        assert app.warning and "无法再均衡" in app.warning[0].value
    app.text_input(key="areas_note").input("首次划分")
    app.button(key="areas_save").click().run()
    assert not app.exception, app.exception
    assert "第 1 版" in app.success[0].value
    saved = current_areas(county)
    assert saved is not None and saved.version == 1 and saved.made_by == "planner1"
    history = county.read("area_versions")
    assert list(history["note"]) == ["首次划分"]
    assert (county.audit_log()["action"] == "save-areas").sum() == 1

