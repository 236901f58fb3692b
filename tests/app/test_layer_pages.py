"""The layers and import pages, driven with AppTest (the default workspace is never written to)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from layers.importer import import_file
from store import Store
from tests.helpers import add_user, app_county, demo_password, follow_language, logged_in, on_backend

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
    assert {"Gi* z 值", "p 值", "显著热点"} <= set(hot.columns) and set(hot["显著热点"]) <= {"是", ""}


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


CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")  # ideographs, CJK and full-width punctuation
INTERNAL = re.compile(r"\b(location_status|location_note|location_confidence|candidate_lon|candidate_lat|to_confirm|"
                      r"unlocated|white_list|received_at|credit_code|clue_id|gi_z|p_value)\b")
REGISTRY_EN = ("name,status,kind,address,lon,lat,crs,remark\n"
               "Alpha Tutoring,white,subject,,117.2200,28.2950,wgs84,fine\n"
               "Beta Tutoring,open,subject,,117.2210,28.2950,wgs84,bad status\n"
               "Gamma Tutoring,white,subject,,117.22x,28.2950,wgs84,bad longitude\n"
               "Delta Tutoring,white,subject,,117.2230,95.5,wgs84,bad latitude\n"
               "Epsilon Tutoring,white,subject,,,,,nowhere\n"
               "Zeta Tutoring,white,subject,雄石街道建设路188号,,,,an address only\n")
REGISTRY_ZH = ("机构名称,状态,类别,地址,经度,纬度,坐标系,备注\n"
               "甲培训中心,白名单,学科类,,117.2200,28.2950,WGS84,好\n"
               "乙培训中心,正常营业,学科类,,117.2210,28.2950,WGS84,状态写错\n"
               "丙培训中心,白名单,学科类,,117.22x,28.2950,WGS84,经度写错\n"
               "丁培训中心,白名单,学科类,,117.2230,95.5,WGS84,纬度写错\n"
               "戊培训中心,白名单,学科类,,,,,没有位置\n"
               "己培训中心,白名单,学科类,雄石街道建设路188号,,,,只有地址\n")


def _import(app: AppTest, name: str, text: str) -> AppTest:
    app.get("file_uploader")[0].set_value((name, text.encode("utf-8"), "text/csv"))
    app.button[0].click().run()  # the form's submit button
    assert not app.exception, app.exception
    return app


def _shown_text(app: AppTest) -> str:
    """Everything the import page says about the import: summary, warning, caption, rejects and to-confirm tables."""
    texts = [e.value.replace("\\", "") for e in (*app.success, *app.warning, *app.error, *app.caption)]
    for frame in (d.value for d in app.dataframe):
        texts += [str(c) for c in frame.columns] + [str(v) for v in frame.to_numpy().ravel()]
    return "\n".join(texts)


def test_an_import_in_english_says_everything_in_english(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = follow_language(monkeypatch, _open("views/imports.py", app_county(tmp_path, monkeypatch)))
    app.radio(key="lang").set_value("en").run()
    _import(app, "registry.csv", REGISTRY_EN)
    summary = app.success[0].value.replace("\\", "")  # as typed, not as escaped for markdown
    assert "registry.csv" in summary and "6 rows" in summary and "4 rejected" in summary
    rejects, confirm = (d.value for d in app.dataframe)
    assert list(rejects.columns[:3]) == ["Row", "Column", "Reason"]
    by_row = rejects.set_index("Row")
    assert by_row.loc[5, "Column"] == "lat"  # a rejected latitude: against the latitude's column
    assert by_row.loc[5, "Reason"].startswith("lat: (117.223, 95.5) is beyond the range")
    assert by_row.loc[3, "Reason"].startswith("status: 'open' is not understood; use one of: 'white list'")
    assert by_row.loc[4, "Column"] == "lon" and by_row.loc[6, "Column"] == "address"
    for text in [summary, app.warning[0].value, *rejects["Reason"]]:
        assert not CHINESE.search(text), text
    assert list(confirm.columns) == ["Id", "Address", "Location", "How it was placed", "Confidence",
                                     "Candidate longitude", "Candidate latitude"]
    assert list(confirm["Location"]) == ["to confirm"] and confirm["How it was placed"].iloc[0].startswith("road: ")
    assert not INTERNAL.search(_shown_text(app)), INTERNAL.findall(_shown_text(app))
    assert any("(Planner)" in c.value.replace("\\", "") for c in app.sidebar.caption)  # the role's name, not its code
    # the same result, switched to Chinese: the page says it again in Chinese
    app.radio(key="lang").set_value("zh").run()
    rejects = app.dataframe[0].value
    assert list(rejects.columns[:3]) == ["行号", "列", "原因"] and "未导入 4" in app.success[0].value
    assert rejects.set_index("行号").loc[5, "原因"].startswith("lat：坐标(117.223, 95.5)超出经纬度范围")


def test_an_import_in_chinese_says_everything_in_chinese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = follow_language(monkeypatch, _open("views/imports.py", app_county(tmp_path, monkeypatch)))
    _import(app, "名单.csv", REGISTRY_ZH)
    summary = app.success[0].value.replace("\\", "")
    assert "共 6 行" in summary and "新增 2" in summary and "未导入 4" in summary
    rejects, confirm = (d.value for d in app.dataframe)
    assert list(rejects.columns[:3]) == ["行号", "列", "原因"]
    by_row = rejects.set_index("行号")
    assert by_row.loc[5, "列"] == "纬度" and by_row.loc[5, "原因"].startswith("纬度：坐标(117.223, 95.5)超出经纬度范围")
    assert by_row.loc[3, "原因"] == "状态：无法识别“正常营业”；可填：白名单、黑名单、有照无证、无证无照、营转非、已注销"
    for reason in rejects["原因"]:
        assert not re.search(r"[A-Za-z]{3,}", reason.replace("WGS84", "").replace("EPSG", "")), reason
    assert list(confirm.columns) == ["编号", "地址", "定位", "定位说明", "把握", "候选经度", "候选纬度"]
    assert list(confirm["定位"]) == ["待确认"] and confirm["定位说明"].iloc[0] == "道路：建设路（名称一致）"
    assert not INTERNAL.search(_shown_text(app)), INTERNAL.findall(_shown_text(app))
    # the layers page names its columns and its values, never the stored ones
    app.switch_page("views/layers.py").run()
    assert not app.exception, app.exception
    table, hot = (d.value for d in app.dataframe[:2])
    assert set(table["定位"]) == {"已定位", "待确认"}
    assert list(hot.columns) == ["代码", "名称", "举报数", "近期举报数", "按时间加权", "Gi* z 值", "p 值", "显著热点"]
    app.radio(key="lang").set_value("en").run()
    table = app.dataframe[0].value
    assert set(table["Location"]) == {"placed", "to confirm"} and not INTERNAL.search(" ".join(map(str, table.columns)))
    # the import's result, kept as the library gave it, is said again in the language now chosen
    app.switch_page("views/imports.py").run()
    rejects = app.dataframe[0].value
    assert list(rejects.columns[:3]) == ["Row", "Column", "Reason"] and "4 rejected" in app.success[0].value
    assert rejects.set_index("Row").loc[5, "Reason"].startswith("纬度: (117.223, 95.5) is beyond the range")
