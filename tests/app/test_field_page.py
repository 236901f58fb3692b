"""The grid member's field page (现场上报), driven with AppTest: a report with a place and a photo
becomes a clue with its reporter; "nothing found today"; the reporter's own list."""

from __future__ import annotations

from pathlib import Path

import pytest

from store import Store
from tests.casework.test_field import photo_with_gps
from tests.helpers import add_user, app_county, logged_in


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    ws = app_county(tmp_path, monkeypatch)
    add_user(ws, "wg1", "grid_member", cell_code="360681003002")
    return ws


def test_a_grid_member_reports_a_clue_with_an_address_and_a_photo_and_sees_it(county: Store) -> None:
    app = logged_in("wg1")  # a grid member lands on the field page
    assert not app.exception, app.exception
    assert app.header[0].value == "现场上报（网格员、志愿者）"
    app.selectbox(key="field_category").set_value("serving_teacher")
    app.text_area(key="field_content").input("在职教师在家中有偿补课，每晚7点")
    app.text_input(key="field_address").input("雄石居民委员会").run()
    app.button(key="field_find_address").click().run()
    assert any("地址匹配" in s.value for s in app.success), [e.value for e in app.warning]
    app.get("file_uploader")[0].set_value(("现场.jpg", photo_with_gps(), "image/jpeg")).run()
    app.button(key="field_send").click().run()
    assert not app.exception, app.exception
    assert any("已上报，线索编号" in s.value for s in app.success), [e.value for e in app.error]
    clues = county.read("clues")
    mine = clues[clues["reporter"] == "wg1"]
    assert len(mine) == 1 and mine["status"].iloc[0] == "received" and mine["category"].iloc[0] == "serving_teacher"
    assert mine["address"].iloc[0] == "雄石居民委员会"  # the address as typed
    assert len(county.read("clue_photos")) == 1
    assert "在职教师在家中有偿补课" in app.dataframe[0].value["看到的情况（简要）"].iloc[0]  # 我的上报
    app.button(key="field_walk_send").click().run()
    assert any("已记录今日巡查" in s.value for s in app.success)
    assert list(county.read("grid_walks")["cell_code"]) == ["360681003002"]
