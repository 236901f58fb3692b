"""Write the messy import files kept in tests/data (run from the repo root; deterministic).

They imitate what bureaus hold: a GBK CSV exported by Excel with a title line above the header,
Chinese headers, a 坐标系 column with mixed systems, rows with only an address and a few bad
rows; and an XLSX hotline export with GCJ-02 coordinates and no 坐标系 column.
The expected outcome of each row is written next to it in ``expected_*.json``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from grid.crs import wgs84_to_bd09, wgs84_to_gcj02
from layers.importer import with_check_digit
from store import open_store

HERE = Path(__file__).parent
WORKSPACE = open_store(HERE.parents[1] / "data" / "guixi_360681.gpkg")


def _building_point(code: str) -> tuple[float, float]:
    buildings = WORKSPACE.read("buildings").set_index("code")
    metric = WORKSPACE.meta()["metric_crs"]
    point = buildings.to_crs(metric).loc[[code], "geometry"].representative_point().to_crs(4326).iloc[0]
    return round(point.x, 7), round(point.y, 7)


def institutions() -> None:
    b1, b2, b3 = "3606810020010003", "3606810030030002", "3606810010010005"
    lon1, lat1 = _building_point(b1)
    glon, glat = (float(v[0]) for v in wgs84_to_gcj02([_building_point(b2)[0]], [_building_point(b2)[1]]))
    blon, blat = (float(v[0]) for v in wgs84_to_bd09([_building_point(b3)[0]], [_building_point(b3)[1]]))
    code = [with_check_digit(f"52360681MJ{n:07d}") for n in range(1, 6)]
    bad_check = code[4][:-1] + ("0" if code[4][-1] != "0" else "1")
    header = ["机构名称", "统一社会信用代码", "办学许可证号", "状态", "类别", "地址", "经度", "纬度", "坐标系", "备注"]
    rows = [
        # name, credit, permit, status, kind, address, lon, lat, crs, note  -> expected
        [
            "贵溪市启明教育培训中心",
            code[0],
            "教民136068170000011号",
            "白名单",
            "学科类",
            "北街社区",
            lon1,
            lat1,
            "WGS84",
            "",
        ],
        [
            "贵溪市星火艺术学校",
            code[1],
            "",
            "有照无证",
            "艺术类",
            "",
            f"{glon:.7f}",
            f"{glat:.7f}",
            "GCJ-02",
            "高德取点",
        ],
        ["贵溪市小状元托管中心", code[2], "", "无证无照", "托管", "", f"{blon:.7f}", f"{blat:.7f}", "百度", ""],
        [
            "贵溪市博雅书院",
            "",
            "教民136068170000042号",
            "营转非",
            "学科类",
            "雄石街道北街社区楼栋 0004",
            "",
            "",
            "",
            "只有地址",
        ],
        ["贵溪市智慧树科技培训", "", "", "已注销", "科技类", "雄石街道建设路188号", "", "", "", "只有道路"],
        ["贵溪市阳光体育俱乐部", code[3], "", "正在整改", "体育类", "西街社区", lon1, lat1, "wgs84", "状态写错"],
        ["贵溪市求知培训部", bad_check, "", "黑名单", "学科类", "", lon1, lat1, "wgs84", "校验位错"],
        ["贵溪市育才补习班", "", "", "无证无照", "学科类", "", lat1, lon1, "wgs84", "经纬度填反"],
        ["贵溪市启明教育培训中心(重复)", code[0], "", "白名单", "学科类", "", lon1, lat1, "wgs84", "重复信用代码"],
        ["", "", "", "白名单", "学科类", "北街社区楼栋 0001", "", "", "", "缺名称"],
        ["北京某培训学校", "", "", "白名单", "学科类", "", "116.3975", "39.9087", "wgs84", "县界外"],
        ["贵溪市无名补习点", "", "", "无证无照", "学科类", "", "", "", "", "无坐标无地址"],
        ["上海某机构贵溪分部", "", "", "有照无证", "学科类", "上海市浦东新区张江路", "", "", "", "地址无法识别"],
        ["贵溪市明德学堂", "", "", "白名单", "学科类", "", "117.2x", lat1, "wgs84", "经度不是数字"],
    ]
    path = HERE / "institutions_messy_gbk.csv"
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["贵溪市校外培训机构台账（2026年11月）"])
        writer.writerow(header)
        writer.writerows(rows)
    expected = {
        "imported": {
            "贵溪市启明教育培训中心": b1,
            "贵溪市星火艺术学校": b2,
            "贵溪市小状元托管中心": b3,
            "贵溪市博雅书院": "3606810020010004",
        },
        "to_confirm": ["贵溪市智慧树科技培训"],
        "unlocated": ["上海某机构贵溪分部"],
        # spreadsheet row numbers: title is row 1, header row 2, data from row 3
        "rejected": {
            "8": "状态",
            "9": "统一社会信用代码",
            "10": "经度,纬度",
            "11": "统一社会信用代码",
            "12": "机构名称",
            "13": "经度,纬度",
            "14": "地址",
            "16": "经度",
        },
    }
    (HERE / "expected_institutions.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n")


def clues() -> None:
    b1 = "3606810020010003"
    lon1, lat1 = _building_point(b1)
    glon, glat = (float(v[0]) for v in wgs84_to_gcj02([lon1], [lat1]))
    rows = [
        [
            "12345-20261101-0001",
            "2026-11-01 09:12",
            "12345热线",
            "北街社区",
            "一对一",
            "有人在家中开展一对一数学辅导",
            glon,
            glat,
        ],
        ["12345-20261103-0002", "2026年11月3日 20时05分", "微信", "", "住家教师", "小区内疑似住家教师", glon, glat],
        [
            "12345-20261105-0003",
            "2026/11/5 14:30",
            "信箱",
            "雄石街道北街社区楼栋 0004",
            "研学",
            "以研学名义补课",
            "",
            "",
        ],
        ["12345-20261106-0004", "2026-11-06 10:00", "飞鸽传书", "北街社区", "一对一", "渠道写错", glon, glat],
        ["12345-20261107-0005", "昨天下午", "热线", "北街社区", "一对一", "时间写错", glon, glat],
        ["12345-20261101-0001", "2026-11-01 09:12", "热线", "北街社区", "一对一", "重复编号", glon, glat],
        ["12345-20261108-0006", "2026-11-08 16:40", "社会监督员", "", "", "没有位置", "", ""],
        ["12345-20261109-0007", "2099-01-01 10:00", "热线", "北街社区", "家政", "未来时间", glon, glat],
    ]
    frame = pd.DataFrame(rows, columns=["编号", "受理时间", "渠道", "地址", "类别", "内容", "经度", "纬度"])
    frame.to_excel(HERE / "clues_hotline.xlsx", index=False)
    expected = {
        "imported": {"12345-20261101-0001": b1, "12345-20261103-0002": b1, "12345-20261105-0003": "3606810020010004"},
        "rejected": {"5": "渠道", "6": "受理时间", "7": "编号", "8": "地址", "9": "受理时间"},
    }
    (HERE / "expected_clues.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n")


if __name__ == "__main__":
    institutions()
    clues()
