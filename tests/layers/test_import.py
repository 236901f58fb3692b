"""Importing messy registries and hotline exports (files in tests/data, made by make_files.py)."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from core.errors import SchemaError
from core.settings import DEFAULT_PATROL_SETTINGS
from layers.importer import confirm_locations, credit_code_problem, import_file, parse_time, with_check_digit
from patrol.cli import main
from store import Store
from store.base import Transaction
from tests.helpers import assert_same_snapshot, replace_layers, snapshot

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def messy(tmp_path: Path) -> dict[str, Path]:
    """Copies of the test files, so rejected.csv files land in tmp_path."""
    return {name: Path(shutil.copy2(DATA / name, tmp_path / name))
            for name in ("institutions_messy_gbk.csv", "clues_hotline.xlsx")}


def test_gbk_registry_gives_the_right_rows_rejects_and_places(guixi_copy: Store, messy: dict) -> None:
    expected = json.loads((DATA / "expected_institutions.json").read_text())
    result = import_file(guixi_copy, "institutions", messy["institutions_messy_gbk.csv"], actor="tester")
    assert result.encoding == "GB18030"
    assert {str(r.row): str(r.columns) for r in result.rejects} == expected["rejected"]
    frame = guixi_copy.read("institutions").set_index("name")
    placed = frame[frame["location_status"] == "placed"]
    assert placed["building_code"].to_dict() == expected["imported"]
    assert frame.loc[expected["to_confirm"], "location_status"].eq("to_confirm").all()
    assert frame.loc[expected["unlocated"], "location_status"].eq("unlocated").all()
    assert frame.loc[expected["to_confirm"] + expected["unlocated"]].geometry.isna().all()
    # the GCJ-02 and BD-09 rows were converted, not taken as WGS84: they landed in their buildings
    assert frame.loc["贵溪市星火艺术学校", "location_method"] == "coordinates"
    assert frame.loc["贵溪市博雅书院", "location_method"] == "address:building"
    assert result.added == len(frame) == len(expected["imported"]) + 2
    reasons = {r.row: r.reason.zh for r in result.rejects}
    assert "正在整改" in reasons[8] and "校验位" in reasons[9] and "填反" in reasons[10]
    assert "第3行重复" in reasons[11] and "县界外" in reasons[13]


def test_reimport_changes_nothing_and_logs_once(guixi_copy: Store, messy: dict) -> None:
    first = import_file(guixi_copy, "institutions", messy["institutions_messy_gbk.csv"], actor="tester")
    log_rows = len(guixi_copy.audit_log())
    again = import_file(guixi_copy, "institutions", messy["institutions_messy_gbk.csv"], actor="tester")
    assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)
    assert len(guixi_copy.read("institutions")) == first.added
    assert len(guixi_copy.audit_log()) == log_rows


def test_xlsx_hotline_export_needs_crs_then_imports(guixi_copy: Store, messy: dict) -> None:
    with pytest.raises(SchemaError, match="--crs"):
        import_file(guixi_copy, "clues", messy["clues_hotline.xlsx"], actor="tester")
    assert not guixi_copy.has_layer("clues")
    expected = json.loads((DATA / "expected_clues.json").read_text())
    result = import_file(guixi_copy, "clues", messy["clues_hotline.xlsx"], crs="gcj02", actor="tester")
    assert {str(r.row): str(r.columns) for r in result.rejects} == expected["rejected"]
    clues = guixi_copy.read("clues").set_index("clue_id")
    assert clues["building_code"].to_dict() == expected["imported"]
    assert clues.loc["12345-20261103-0002", "received_at"] == "2026-11-03T20:05+08:00"
    assert clues.loc["12345-20261105-0003", "category"] == "camp_or_tour"
    assert set(clues["status"]) == {"received"}


def test_reimport_keeps_clue_progress(guixi_copy: Store, messy: dict) -> None:
    import_file(guixi_copy, "clues", messy["clues_hotline.xlsx"], crs="gcj02", actor="tester")
    clues = guixi_copy.read("clues")
    clues.loc[clues["clue_id"] == "12345-20261101-0001", "status"] = "handled"
    replace_layers(guixi_copy, {"clues": clues}, action="test-progress")
    again = import_file(guixi_copy, "clues", messy["clues_hotline.xlsx"], crs="gcj02", actor="tester")
    assert again.added == 0
    after = guixi_copy.read("clues").set_index("clue_id")
    assert after.loc["12345-20261101-0001", "status"] == "handled"


def test_crash_half_way_leaves_workspace_as_it_was(guixi_copy: Store, messy: dict,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import_file(guixi_copy, "institutions", messy["institutions_messy_gbk.csv"], actor="tester")
    before = snapshot(guixi_copy)
    original = Transaction._insert

    def insert_then_fail(self: Transaction, info: object, frame: pd.DataFrame) -> None:
        original(self, info, frame)  # type: ignore[arg-type]
        raise RuntimeError("power cut")

    monkeypatch.setattr(Transaction, "_insert", insert_then_fail)
    edited = messy["institutions_messy_gbk.csv"].with_name("edited.csv")
    text = messy["institutions_messy_gbk.csv"].read_bytes().decode("gb18030").replace("星火", "燎原")
    edited.write_bytes(text.encode("gb18030"))
    with pytest.raises(RuntimeError, match="power cut"):
        import_file(guixi_copy, "institutions", edited, actor="tester")
    assert_same_snapshot(before, snapshot(guixi_copy))


def test_confirming_a_low_confidence_match_places_it(guixi_copy: Store, messy: dict) -> None:
    result = import_file(guixi_copy, "institutions", messy["institutions_messy_gbk.csv"], actor="tester")
    road = result.to_confirm[result.to_confirm["address"].str.contains("建设路")]["id"].tolist()
    assert confirm_locations(guixi_copy, "institutions", road, actor="planner") == 1
    frame = guixi_copy.read("institutions").set_index("institution_id")
    assert frame.loc[road[0], "location_status"] == "placed" and frame.loc[road[0], "township_code"]
    assert guixi_copy.audit_log().iloc[-1]["actor"] == "planner"


def test_cli_writes_rejected_csv_and_exits_1(guixi_copy: Store, messy: dict,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    source = messy["institutions_messy_gbk.csv"]
    assert main(["import", "institutions", guixi_copy.location, str(source), "--date", "2026-11-20"]) == 1
    rejected = pd.read_csv(source.with_name("institutions_messy_gbk.rejected.csv"), dtype=str, encoding="utf-8-sig")
    assert rejected["行号 row"].tolist() == ["8", "9", "10", "11", "12", "13", "14", "16"]
    assert {"机构名称", "状态", "经度"} <= set(rejected.columns)
    out = capsys.readouterr().out
    assert "6 added" in out and "8 rejected" in out
    assert guixi_copy.has_layer("risk_sites")  # derived layers written in the same transaction


def test_missing_column_names_what_is_needed(tmp_path: Path, guixi_copy: Store) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("地址,经度,纬度\n北街社区,117.2,28.3\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="机构名称"):
        import_file(guixi_copy, "institutions", bad, crs="wgs84", actor="tester")


def test_credit_code_and_time_parsing() -> None:
    code = with_check_digit("91360681MA35ABCDE")
    assert credit_code_problem(code) is None
    wrong = credit_code_problem(code[:-1] + ("1" if code[-1] != "1" else "2"))
    assert wrong is not None and "校验位" in wrong.zh and "check character" in wrong.en
    short = credit_code_problem("123")
    assert short is not None and "18位" in short.zh and "instead of 18" in short.en
    assert str(parse_time("2026年11月3日 20时05分")) == "2026-11-03 20:05:00+08:00"
    assert str(parse_time("2026/11/5 14:30")) == "2026-11-05 14:30:00+08:00"
    assert parse_time("昨天下午") is None


def test_a_status_outside_the_six_is_rejected_never_guessed(tmp_path: Path, guixi_copy: Store) -> None:
    registry = tmp_path / "状态.csv"
    registry.write_text("机构名称,状态,类别,经度,纬度\n"
                        "甲培训中心,正常营业,学科类,117.2200,28.2950\n"
                        "乙培训中心,暂停营业,学科类,117.2210,28.2950\n"
                        "丙培训中心,待核查,学科类,117.2220,28.2950\n"
                        "丁培训中心,有证有照,学科类,117.2230,28.2950\n"
                        "戊培训中心,白名单,学科类,117.2240,28.2950\n", encoding="utf-8")
    result = import_file(guixi_copy, "institutions", registry, crs="wgs84", actor="tester")
    rejected = {r.values.get("机构名称", ""): r for r in result.rejects}
    assert set(rejected) == {"甲培训中心", "乙培训中心", "丙培训中心"}
    for reject in rejected.values():
        assert str(reject.columns) == "状态"
        assert "白名单、黑名单、有照无证、无证无照、营转非、已注销" in reject.reason.zh
        assert "'white list', 'black list', 'business licence, no school permit'" in reject.reason.en
    stored = guixi_copy.read("institutions").set_index("name")
    assert stored.loc["丁培训中心", "status"] == "white_list"  # an exact alias is still understood


def test_categories_under_their_common_names_come_from_the_settings_alias_table() -> None:
    from layers import schema

    assert schema.parse_term("category", "假借素质培训") == "non_subject_front"
    assert schema.parse_term("channel", "12345热线") == "hotline"
    assert schema.parse_term("status", "正常营业") is None


def _placed(ws: Store, names: list[str]) -> dict[str, tuple[float, float]]:
    stored = ws.read("institutions").set_index("name")
    return {n: (round(stored.loc[n].geometry.x, 5), round(stored.loc[n].geometry.y, 5)) for n in names}


def test_coordinates_as_people_type_them_are_read_row_by_row(tmp_path: Path, guixi_copy: Store) -> None:
    registry = tmp_path / "手填.csv"
    registry.write_text(
        "机构名称,状态,类别,东经,北纬,坐标系\n"
        "全角机构,白名单,学科类,１１７．２２００,２８．２９５０,WGS84\n"
        "度数机构,白名单,学科类,117.2210°E,28.2950°N,WGS84\n"
        "度分秒机构,白名单,学科类,117°13′19.2″,N28°17′42″,WGS84\n"
        "坏纬度机构,白名单,学科类,117.2230,北纬二十八度,WGS84\n", encoding="utf-8")
    result = import_file(guixi_copy, "institutions", registry, actor="tester")
    assert _placed(guixi_copy, ["全角机构", "度数机构", "度分秒机构"]) == {
        "全角机构": (117.22, 28.295), "度数机构": (117.221, 28.295), "度分秒机构": (117.222, 28.295)}
    [bad] = result.rejects
    assert bad.row == 5 and str(bad.columns) == "北纬" and "北纬二十八度" in bad.reason.zh  # the latitude's own column


def test_a_combined_coordinate_column_in_either_order(tmp_path: Path, guixi_copy: Store) -> None:
    registry = tmp_path / "坐标.csv"
    registry.write_text(
        "机构名称,状态,类别,坐标,坐标系\n"
        "经纬机构,白名单,学科类,\"117.2200,28.2950\",WGS84\n"
        "纬经机构,白名单,学科类,28.2950N 117.2210E,WGS84\n"
        "全角坐标机构,白名单,学科类,１１７．２２２０，２８．２９５０,WGS84\n"
        "坏坐标机构,白名单,学科类,在菜市场旁边,WGS84\n", encoding="utf-8")
    result = import_file(guixi_copy, "institutions", registry, actor="tester")
    assert _placed(guixi_copy, ["经纬机构", "纬经机构", "全角坐标机构"]) == {
        "经纬机构": (117.22, 28.295), "纬经机构": (117.221, 28.295), "全角坐标机构": (117.222, 28.295)}
    [bad] = result.rejects
    assert str(bad.columns) == "坐标" and bad.values["坐标"] == "在菜市场旁边"  # the cell as typed, kept


def test_coordinate_columns_the_importer_cannot_read_are_refused_not_ignored(tmp_path: Path, guixi_copy: Store) -> None:
    registry = tmp_path / "gps.csv"
    registry.write_text("机构名称,状态,类别,GPS经纬,地址\n某机构,白名单,学科类,117.22/28.29,贵溪市\n", encoding="utf-8")
    with pytest.raises(SchemaError, match=r"GPS经纬.*经度.*纬度"):
        import_file(guixi_copy, "institutions", registry, actor="tester")
    assert not guixi_copy.has_layer("institutions") or "某机构" not in set(guixi_copy.read("institutions")["name"])
    only_lon = tmp_path / "lon.csv"
    only_lon.write_text("机构名称,状态,类别,经度\n某机构,白名单,学科类,117.22\n", encoding="utf-8")
    with pytest.raises(SchemaError, match="经度"):
        import_file(guixi_copy, "institutions", only_lon, actor="tester")


def _workbook(path: Path, rows: list[list[object]], merges: tuple[str, ...] = ()) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    book.save(path)
    return path


def test_merged_cells_title_rows_and_a_workbook_named_csv(tmp_path: Path, guixi_copy: Store) -> None:
    import datetime as dt

    rows = [["贵溪市12345热线工单导出（2026年11月）"], [],
            ["编号", "受理时间", "渠道", "类别", "内容", "经度", "纬度", "坐标系"],
            ["M-001", dt.datetime(2026, 11, 5, 19, 30), "12345", "一对一", "小区内有人补课", 117.22, 28.295, "WGS84"],
            ["M-002", "46331.8125", None, "假借素质培训", "以美术名义上数学课", 117.221, 28.295, None],
            ["M-003", "2026年11月5日", None, "众筹私教", "家长群众筹", 117.222, 28.295, None],
            ["M-004", "2026-02-30", "微信", "其他", "日期不存在", 117.223, 28.295, "WGS84"],
            ["M-005", "昨天晚上", "微信", "其他", "说不清时间", 117.224, 28.295, "WGS84"]]
    # 渠道 and 坐标系 merged down over rows 4–6: the value applies to each of them
    saved_as_csv = _workbook(tmp_path / "工单.csv", rows, merges=("C4:C6", "H4:H6"))
    result = import_file(guixi_copy, "clues", saved_as_csv, actor="tester")
    assert result.encoding == "XLSX" and result.added == 3
    clues = guixi_copy.read("clues").set_index("clue_id")
    assert clues.loc["M-001", "received_at"] == "2026-11-05T19:30+08:00"
    assert clues.loc["M-002", "received_at"] == "2026-11-05T19:30+08:00"  # a bare Excel serial number
    assert clues.loc["M-003", "received_at"] == "2026-11-05T00:00+08:00"
    assert set(clues.loc[["M-001", "M-002", "M-003"], "channel"]) == {"hotline"}  # merged down
    assert clues.loc["M-002", "category"] == "non_subject_front"
    assert {r.row: str(r.columns) for r in result.rejects} == {7: "受理时间", 8: "受理时间"}


def test_a_csv_named_xlsx_is_read_as_csv_and_a_zip_bomb_is_refused(tmp_path: Path, guixi_copy: Store,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "名单.xlsx"
    fake.write_text("机构名称,状态,类别,经度,纬度,坐标系\n改名机构,白名单,学科类,117.2200,28.2950,WGS84\n",
                    encoding="utf-8")
    assert import_file(guixi_copy, "institutions", fake, actor="tester").added == 1
    # a real bomb: 120 MB of sheet XML in a zip of a few hundred KB, refused by the default limit unread
    bomb = tmp_path / "bomb.xlsx"
    shutil.copyfile(_workbook(tmp_path / "seed.xlsx", [["机构名称"], ["x"]]), bomb)
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("xl/padding.xml", "w", force_zip64=True) as part:
        for _ in range(120):
            part.write(b" " * 2**20)
    assert bomb.stat().st_size < 2 * 2**20
    with pytest.raises(SchemaError, match="unpacks to 120 MB"):
        import_file(guixi_copy, "institutions", bomb, actor="tester")
    # a few KB that declare 16,384 columns (each row padded to them in memory) are refused unread
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["机构名称"])
    for row in range(2, 500):
        book.active.cell(row=row, column=16384, value="x")
    book.save(tmp_path / "wide.xlsx")
    with pytest.raises(SchemaError, match="超过 64 列"):
        import_file(guixi_copy, "institutions", tmp_path / "wide.xlsx", actor="tester")
    # the row limit and the file size limit come from the settings ([uploads])
    settings = tmp_path / "patrol.toml"
    text = DEFAULT_PATROL_SETTINGS.read_text(encoding="utf-8")
    settings.write_text(text.replace("max_rows = 100000", "max_rows = 50").replace("max_mb = 20 ", "max_mb = 0.01 "),
                        encoding="utf-8")
    monkeypatch.setenv("PATROL_SETTINGS", str(settings))
    many = _workbook(tmp_path / "many.xlsx", [["机构名称"]] + [[f"机构{i}"] for i in range(80)])
    with pytest.raises(SchemaError, match="more than 50 rows"):
        import_file(guixi_copy, "institutions", many, actor="tester")
    many_csv = tmp_path / "many.csv"
    many_csv.write_text("机构名称\n" + "\n".join(f"机构{i}" for i in range(80)), encoding="utf-8")
    with pytest.raises(SchemaError, match="more than 50 rows"):
        import_file(guixi_copy, "institutions", many_csv, actor="tester")
    large = tmp_path / "large.csv"
    large.write_text("机构名称\n" + "x" * 20_000, encoding="utf-8")
    with pytest.raises(SchemaError, match=r"over the 0\.01 MB limit"):
        import_file(guixi_copy, "institutions", large, actor="tester")


def test_an_alias_for_an_unknown_code_is_refused_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.errors import InputError
    from layers import schema

    bad = tmp_path / "vocabulary.toml"
    bad.write_text('[aliases.category]\nno_such_code = ["某说法"]\n', encoding="utf-8")
    monkeypatch.setenv("PATROL_VOCABULARY", str(bad))
    with pytest.raises(InputError, match=r"\[aliases.category\] no_such_code is not a code"):
        schema.parse_term("category", "某说法")
