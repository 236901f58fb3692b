"""Every message an import gives — rejection reasons, summary lines, refusals — in Chinese and in English.

Each reason is checked in full in both languages, against the column the file itself names; the
English one holds no Chinese but the file's own headers and cells.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from core.errors import SchemaError
from core.text import Text, in_language
from layers.importer import confirm_locations, import_file, rejects_csv, with_check_digit, write_rejects
from patrol.cli import main
from store import Store

CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")  # ideographs, CJK and full-width punctuation
CODE = with_check_digit("91360681MA35ABCDE")
WRONG_CHECK = CODE[:-1] + ("1" if CODE[-1] != "1" else "2")
STATUSES_ZH = "白名单、黑名单、有照无证、无证无照、营转非、已注销"
STATUSES_EN = ("'white list', 'black list', 'business licence, no school permit', 'no licence, no permit', "
               "'converted to non-profit', 'deregistered'")
KINDS_ZH = "学科类、文化艺术类、体育类、科技类、托管机构"
KINDS_EN = "'subject tutoring', 'arts', 'sports', 'science and technology', 'after-school care'"
HEADER = ["机构名称", "统一社会信用代码", "状态", "类别", "地址", "经度", "纬度", "坐标系", "最近检查日期", "备注"]
OK = ["白名单", "学科类", "", "117.2200", "28.2950", "WGS84", ""]  # status … last inspected of a good row
# row number (the spreadsheet's: the header is row 1) → cells, the columns it is rejected against, and why
ROWS: dict[int, tuple[list[str], str, str, str, str]] = {
    2: (["甲培训中心", CODE, *OK[:-1], "2025-09-01", "好的一行"], "", "", "", ""),
    3: (["", "", *OK], "机构名称", "机构名称", "机构名称：机构名称不能为空",
        "机构名称: the institution's name is empty"),
    4: (["乙培训中心", "123", *OK], "统一社会信用代码", "统一社会信用代码",
        "统一社会信用代码：“123”应为18位，实为3位", "统一社会信用代码: '123' has 3 characters instead of 18"),
    5: (["丙培训中心", CODE[:10] + "I" + CODE[11:], *OK], "统一社会信用代码", "统一社会信用代码",
        f"统一社会信用代码：“{CODE[:10]}I{CODE[11:]}”含非法字符I（不用I、O、S、V、Z）",
        f"统一社会信用代码: '{CODE[:10]}I{CODE[11:]}' holds I, which a credit code never uses (no I, O, S, V, Z)"),
    6: (["丁培训中心", WRONG_CHECK, *OK], "统一社会信用代码", "统一社会信用代码",
        f"统一社会信用代码：“{WRONG_CHECK}”校验位错误（最后一位应为{CODE[-1]}）",
        f"统一社会信用代码: '{WRONG_CHECK}' wrong check character (the last one should be {CODE[-1]})"),
    7: (["戊培训中心", "", "", *OK[1:]], "状态", "状态", f"状态：不能为空；可填：{STATUSES_ZH}",
        f"状态: must not be empty; use one of: {STATUSES_EN}"),
    8: (["己培训中心", "", "正常营业", *OK[1:]], "状态", "状态", f"状态：无法识别“正常营业”；可填：{STATUSES_ZH}",
        f"状态: '正常营业' is not understood; use one of: {STATUSES_EN}"),
    9: (["庚培训中心", "", "白名单", "无人机", *OK[2:]], "类别", "类别", f"类别：无法识别“无人机”；可填：{KINDS_ZH}",
        f"类别: '无人机' is not understood; use one of: {KINDS_EN}"),
    10: (["辛培训中心", "", *OK[:-1], "上个月"], "最近检查日期", "最近检查日期",
         "最近检查日期：无法识别日期“上个月”；请写成2025-09-01",
         "最近检查日期: '上个月' is not a date; write it as 2025-09-01"),
    11: (["壬培训中心", "", "白名单", "学科类", "", "117.2x", "28.2950", "WGS84", ""], "经度", "经度",
         "经度：不是经纬度：“117.2x”；请填小数，如 117.2269（可带°E）",
         "经度: '117.2x' is not a coordinate; write a decimal such as 117.2269 (°E may follow)"),
    12: (["癸培训中心", "", "白名单", "学科类", "", "117.2200", "北纬二十八度", "WGS84", ""], "纬度", "纬度",
         "纬度：不是经纬度：“北纬二十八度”；请填小数，如 117.2269（可带°E）",
         "纬度: '北纬二十八度' is not a coordinate; write a decimal such as 117.2269 (°E may follow)"),
    13: (["子培训中心", "", "白名单", "学科类", "", "28.2950", "117.2200", "WGS84", ""], "经度,纬度", "经度,纬度",
         "经度,纬度：经纬度似乎填反了（经度28.295，纬度117.22）；中国经度在73–136之间",
         ("经度,纬度: longitude and latitude seem swapped (longitude 28.295, latitude 117.22); longitudes in China lie "
          "between 73 and 136")),
    14: (["丑培训中心", "", "白名单", "学科类", "", "117.2200", "28.2950", "火星", ""], "坐标系", "坐标系",
         "坐标系：无法识别坐标系“火星”；可填 WGS84、CGCS2000、GCJ-02（高德/腾讯）、BD-09（百度）或 EPSG 代码",
         "坐标系: unknown coordinate system '火星'; use one of wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>"),
    15: (["寅培训中心", "", "白名单", "学科类", "", "117.2200", "28.2950", "", ""], "坐标系", "坐标系",
         "坐标系：坐标系为空；请填 WGS84、CGCS2000、GCJ-02（高德/腾讯）、BD-09（百度）或 EPSG 代码",
         "坐标系: the coordinate system is empty; use one of wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>"),
    # a latitude out of range: against the latitude's column only
    16: (["卯培训中心", "", "白名单", "学科类", "", "117.2200", "128.3", "WGS84", ""], "纬度", "纬度",
         "纬度：坐标(117.22, 128.3)超出经纬度范围；是否为投影坐标？请在坐标系列写明EPSG代码",
         ("纬度: (117.22, 128.3) is beyond the range of longitude and latitude; if these are projected coordinates, "
          "give the EPSG code as the coordinate system")),
    17: (["辰培训中心", "", "白名单", "学科类", "", "500000", "3100000", "WGS84", ""], "经度,纬度", "经度,纬度",
         "经度,纬度：坐标(500000.0, 3100000.0)超出经纬度范围；是否为投影坐标？请在坐标系列写明EPSG代码",
         ("经度,纬度: (500000.0, 3100000.0) is beyond the range of longitude and latitude; if these are projected "
          "coordinates, give the EPSG code as the coordinate system")),
    18: (["巳培训中心", "", "白名单", "学科类", "", "116.3975", "39.9087", "WGS84", ""], "经度,纬度", "经度,纬度",
         "经度,纬度：位置在贵溪市县界外{km}公里；请核对坐标和坐标系（高德/腾讯为gcj02，百度为bd09）",
         ("经度,纬度: the point lies {km} km outside 贵溪市; check the coordinates and their coordinate system "
          "(gcj02 for Amap/Tencent, bd09 for Baidu)")),
    19: (["午培训中心", CODE, *OK], "统一社会信用代码", "统一社会信用代码",
         f"统一社会信用代码：与第2行重复（同一编号{CODE}）", f"统一社会信用代码: repeats row 2 (the same id {CODE})"),
    20: (["未培训中心", "", "白名单", "学科类", "", "", "", "", ""], "地址", "地址",
         "地址：没有坐标也没有地址，无法定位；请填写地址或经纬度",
         ("地址: neither coordinates nor an address: the row cannot be placed; give an address or the longitude and "
          "latitude")),
    21: (["申培训中心", "", "白名单", "学科类", "雄石街道建设路188号", "", "", "", ""], "", "", "", ""),  # to confirm
    # two problems in one row: both columns, both reasons
    22: (["", "", "暂停营业", "学科类", "北街社区", *OK[3:]], "机构名称,状态", "机构名称,状态",
         f"机构名称：机构名称不能为空；状态：无法识别“暂停营业”；可填：{STATUSES_ZH}",
         f"机构名称: the institution's name is empty; 状态: '暂停营业' is not understood; use one of: {STATUSES_EN}"),
}


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """The rows as the file ``path`` names: CSV in UTF-8 or GB18030, or an XLSX workbook."""
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        for line in [header, *rows]:
            book.active.append([cell or None for cell in line])
        book.save(path)
        return path
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    path.write_bytes(text.getvalue().encode("gb18030" if "gbk" in path.stem else "utf-8"))
    return path


def _without_file_text(message: str, *texts: str) -> str:
    """``message`` without the headers and cells of the file (the user's own words, in any language)."""
    for text in sorted(texts, key=len, reverse=True):
        if text:
            message = message.replace(text, "")
    return message


@pytest.mark.parametrize("name", ["名单.csv", "名单_gbk.csv", "名单.xlsx"])
def test_every_rejection_says_why_in_both_languages_against_the_files_own_column(
        name: str, tmp_path: Path, guixi_copy: Store) -> None:
    source = _write(tmp_path / name, HEADER, [cells for cells, *_ in ROWS.values()])
    result = import_file(guixi_copy, "institutions", source, actor="tester")
    rejects = {r.row: r for r in result.rejects}
    assert sorted(rejects) == sorted(row for row, (_, columns, *_) in ROWS.items() if columns)
    for row, reject in rejects.items():
        cells, columns_zh, columns_en, zh, en = ROWS[row]
        assert (reject.columns.zh, reject.columns.en) == (columns_zh, columns_en), row
        if row == 18:  # how far outside depends on the county's outline
            km = re.search(r"县界外([\d.]+)公里", reject.reason.zh)
            assert km, reject.reason.zh
            zh, en = zh.format(km=km.group(1)), en.format(km=km.group(1))
        assert (reject.reason.zh, reject.reason.en) == (zh, en), row
        leftover = _without_file_text(reject.reason.en, *HEADER, *cells, "贵溪市")
        assert not CHINESE.search(leftover), (row, leftover)
    # the summary, the ignored column, every reject and the location to confirm: one line each, both languages
    lines = result.lines()
    form = {"名单.csv": "UTF-8", "名单_gbk.csv": "GB18030", "名单.xlsx": "XLSX"}[name]
    assert lines[0] == Text(f"{name}（{form}）：共 21 行，新增 2，更新 0，未变 0，未导入 19。",
                            f"{name} ({form}): 21 rows — 2 added, 0 updated, 0 unchanged, 19 rejected.")
    assert lines[1] == Text("未识别的列（已忽略）：备注", "ignored columns: 备注")
    assert lines[2] == Text("第 3 行［机构名称］：机构名称：机构名称不能为空",
                            "row 3 [机构名称]: 机构名称: the institution's name is empty")
    assert lines[21] == Text("1 行按地址定位但把握不大，请人工确认：",
                             "1 located by address with low confidence, to confirm:")
    assert lines[22].zh.endswith("雄石街道建设路188号  → 道路：建设路（名称一致）（0.65）")
    assert lines[22].en.endswith("雄石街道建设路188号  → road: 建设路 (same name) (0.65)")
    assert len(lines) == 23


def test_a_clue_export_with_english_headers_gets_no_chinese_in_english(tmp_path: Path, guixi_copy: Store) -> None:
    header = ["clue_id", "received_at", "channel", "address", "category", "content", "coordinates", "crs"]
    good = ["hotline", "", "one_to_one", "tutoring at home", "117.2200,28.2950", "wgs84"]
    rows = [
        ["C-1", "2026-11-05 19:30", *good],
        ["C-2", "", *good],
        ["C-3", "yesterday", *good],
        ["C-4", "2099-01-01 10:00", *good],
        ["C-5", "2026-11-05 19:30", "pigeon", *good[1:]],
        ["C-6", "2026-11-05 19:30", "", *good[1:]],
        ["C-7", "2026-11-05 19:30", *good[:4], "near the market", "wgs84"],
        ["C-8", "2026-11-05 19:30", *good[:4], "28.2950 200", "wgs84"],
        ["C-1", "2026-11-05 19:30", *good],
    ]
    result = import_file(guixi_copy, "clues", _write(tmp_path / "hotline.csv", header, rows), actor="tester",
                         now="2026-11-20T09:00+08:00")
    reasons = {r.row: (str(r.columns), r.reason.en) for r in result.rejects}
    channels = ("'hotline', 'WeChat', 'mailbox', 'social supervisor', 'grid member', 'volunteer', "
                "'found on an inspection', 'other'")
    assert reasons == {
        3: ("received_at", "received_at: the time received is empty"),
        4: ("received_at", "received_at: 'yesterday' is not a time; write it as 2025-09-01 14:30"),
        5: ("received_at", "received_at: received at 2099-01-01 10:00, which is later than now; check it"),
        6: ("channel", f"channel: 'pigeon' is not understood; use one of: {channels}"),
        7: ("channel", f"channel: must not be empty; use one of: {channels}"),
        8: ("coordinates", ("coordinates: 'near the market' is not a pair of coordinates; write 'longitude,latitude', "
                           "e.g. 117.2269,28.2951")),
        9: ("coordinates", ("coordinates: (200.0, 28.295) is beyond the range of longitude and latitude; if these are "
                           "projected coordinates, give the EPSG code as the coordinate system")),
        10: ("clue_id", "clue_id: repeats row 2 (the same id C-1)"),
    }
    chinese = {r.row: r.reason.zh for r in result.rejects}
    assert chinese[3] == "received_at：受理时间不能为空"
    assert chinese[5] == "received_at：受理时间2099-01-01 10:00晚于现在，请核对"
    assert chinese[8] == "coordinates：无法识别坐标“near the market”；请写成“经度,纬度”，如 117.2269,28.2951"
    assert chinese[10] == "clue_id：与第2行重复（同一编号C-1）"
    for line in result.lines():
        assert not CHINESE.search(line.en), line.en
        assert CHINESE.search(line.zh), line.zh


def test_a_column_the_file_lacks_is_named_in_each_language(tmp_path: Path, guixi_copy: Store) -> None:
    source = _write(tmp_path / "no_address.csv", ["机构名称", "经度", "纬度", "坐标系"], [["甲", "", "", ""]])
    [reject] = import_file(guixi_copy, "institutions", source, actor="tester").rejects
    assert (reject.columns.zh, reject.columns.en) == ("地址", "address")
    assert reject.reason.en.startswith("address: neither coordinates nor an address")


def test_rejected_rows_file_in_each_language_keeps_formulas_as_text(tmp_path: Path, guixi_copy: Store) -> None:
    source = _write(tmp_path / "evil.csv", ["name", "status", "lon", "lat", "crs"],
                    [['=HYPERLINK("http://evil.example")', "open", "117.22", "28.295", "wgs84"]])
    result = import_file(guixi_copy, "institutions", source, actor="tester")
    for lang, headers, reason in (
        ("zh", ["行号", "列", "原因"], "status：无法识别“open”"),
        ("en", ["Row", "Column", "Reason"], "status: 'open' is not understood"),
        (None, ["行号 row", "列 column", "原因 reason"], "status：无法识别“open”"),
    ):
        table = pd.read_csv(io.BytesIO(rejects_csv(result, lang)), dtype=str, encoding="utf-8-sig")
        assert list(table.columns) == [*headers, "name", "status", "lon", "lat", "crs"]
        assert table.iloc[0, 2].startswith(reason) and table.iloc[0, 1] == "status"
        assert table.iloc[0]["name"] == "'=HYPERLINK(\"http://evil.example\")"  # text, never a live formula
    both = table.iloc[0, 2]
    assert " / status: 'open' is not understood" in both  # the CLI's file: Chinese / English
    written = write_rejects(result, source, "en")
    assert written is not None and written.read_bytes() == rejects_csv(result, "en")


def test_the_cli_reports_in_both_languages_or_the_one_asked(tmp_path: Path, guixi_copy: Store,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    source = _write(tmp_path / "two.csv", ["name", "status", "lon", "lat", "crs"],
                    [["A", "white", "117.22", "28.295", "wgs84"], ["B", "open", "117.22", "28.295", "wgs84"]])
    assert main(["import", "institutions", guixi_copy.location, str(source), "--date", "2026-11-20"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("two.csv（UTF-8）：共 2 行，新增 1，更新 0，未变 0，未导入 1。 / "
                      "two.csv (UTF-8): 2 rows — 1 added, 0 updated, 0 unchanged, 1 rejected.")
    assert out[1].startswith("第 3 行［status］：status：无法识别“open”")
    assert " / row 3 [status]: status: 'open'" in out[1]
    assert main(["import", "institutions", guixi_copy.location, str(source), "--lang", "en"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "two.csv (UTF-8): 2 rows — 0 added, 0 updated, 1 unchanged, 1 rejected."
    assert not CHINESE.search("\n".join(out[:2]))
    rejected = pd.read_csv(source.with_name("two.rejected.csv"), dtype=str, encoding="utf-8-sig")
    assert list(rejected.columns[:3]) == ["Row", "Column", "Reason"]


@pytest.mark.parametrize(("text", "zh", "en"), [
    ("机构名称,经度,纬度\n甲,117.22,28.295\n", "但没有“坐标系”列", "there is no coordinate system column"),
    ("地址,经度,纬度,坐标系\n北街社区,117.2,28.3,wgs84\n", "缺少必填列 机构名称/名称/单位名称",
     "missing required column(s) — institution name (机构名称/名称/单位名称)"),
    ("foo,bar\n1,2\n", "前 10 行中找不到表头", "no header row found in the first 10 lines"),
    ("机构名称,状态,GPS经纬\n甲,白名单,117.22/28.29\n", "像是坐标，但无法识别，整个文件未导入",
     "look like coordinates but are not understood"),
])
def test_a_file_refused_whole_says_why_in_both_languages(text: str, zh: str, en: str, tmp_path: Path,
                                                         guixi_copy: Store) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaError) as refused:
        import_file(guixi_copy, "institutions", source, actor="tester")
    assert zh in in_language(refused.value, "zh") and en in in_language(refused.value, "en")
    assert str(tmp_path) not in str(refused.value)  # the file's name, never the server's folder
    assert str(refused.value) == f"{in_language(refused.value, 'zh')} / {in_language(refused.value, 'en')}"


def test_a_location_note_is_stored_in_both_languages_and_a_confirmation_adds_to_both(tmp_path: Path,
                                                                                    guixi_copy: Store) -> None:
    source = _write(tmp_path / "road.csv", ["机构名称", "状态", "类别", "地址"],
                    [["甲", "白名单", "学科类", "雄石街道建设路188号"]])
    result = import_file(guixi_copy, "institutions", source, actor="tester")
    [waiting] = result.to_confirm["id"]
    stored = guixi_copy.read("institutions").set_index("institution_id").loc[waiting, "location_note"]
    assert Text.loads(stored) == Text("道路：建设路（名称一致）", "road: 建设路 (same name)")
    assert confirm_locations(guixi_copy, "institutions", [waiting], actor="planner") == 1
    stored = guixi_copy.read("institutions").set_index("institution_id").loc[waiting, "location_note"]
    assert Text.loads(stored) == Text("道路：建设路（名称一致）；人工确认",
                                      "road: 建设路 (same name); confirmed by hand")
    assert Text.loads("楼栋:旧的说明（exact）") == Text.same("楼栋:旧的说明（exact）")  # a note stored before: as it is
