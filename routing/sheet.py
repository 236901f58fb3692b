"""A team's printable route sheet (巡查路线单): A4 PDF made with WeasyPrint.

Page one carries the confidentiality marking, the plan id and its commitment hash, the team's
members, the route map (the team's road legs over the workspace's OSM roads, numbered stops,
scale bar, OpenStreetMap attribution) and the stop table; then one on-site checklist per stop
with boxes to tick, and the signature lines. The map is an inline SVG drawn from the plan's own
geometry, so printing needs no tiles and no network. Chinese needs a CJK font on the machine
(Debian: ``fonts-noto-cjk``; ``scripts/install-system-packages.sh`` installs it).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
from pyproj import Transformer

from core.errors import InputError
from layers import schema
from layers.render import TEAM_COLORS
from routing.model import Plan, Stop, TeamRoute
from store import Store

FONT_FAMILY = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif'
)
MAP_WIDTH, MAP_HEIGHT = 760, 470  # SVG user units; printed 190 mm wide
ROAD_WIDTHS = {"motorway": 3.2, "trunk": 3.0, "primary": 2.6, "secondary": 2.2, "tertiary": 1.8}

TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "校外培训监管巡查路线单",
        "confidential": "机密 · 出发前不得外传",
        "notice": "本路线单仅供本检查组当班使用。四不两直：不发通知、不打招呼、不听汇报、不用陪同接待，"
        "直奔基层、直插现场；不得在乡镇（街道）、社区办公地点停靠，不得向被检查对象透露行程。",
        "plan": "计划编号",
        "commitment": "承诺值（SHA-256）",
        "made": "编制",
        "shift": "班次",
        "day": "日查",
        "night": "夜查",
        "team": "检查组",
        "mode": "出行方式",
        "depart": "出发",
        "back": "预计返回",
        "travel": "行驶",
        "inspect": "检查",
        "minutes": "分钟",
        "members": "组员",
        "name": "姓名",
        "department": "单位",
        "law_cert": "执法证",
        "sign": "签名",
        "yes": "有",
        "map": "路线图",
        "order": "序",
        "arrival": "预计到达",
        "kind": "类型",
        "stop": "名称",
        "address": "地址",
        "status": "状态",
        "why": "抽取原因",
        "mandatory": "必查",
        "probability": "抽中概率",
        "stops": "检查点",
        "checklist": "现场检查记录",
        "arrived": "到达时间",
        "left": "离开时间",
        "not_visited": "未检查，原因：",
        "finding": "核查结论",
        "revisit": "复查结论",
        "item": "检查项目",
        "problems": "发现问题",
        "action": "处理措施",
        "days": "限期 ____ 天",
        "refer_to": "抄告部门：",
        "inspected_sign": "被检查单位负责人签字",
        "inspector_sign": "检查人员签字",
        "leader_sign": "组长签字",
        "member_sign": "组员签字",
        "date": "日期",
        "closing": "签字确认",
        "base": "出发地",
        "none_stops": "本班次无检查点。",
        "covert_mark": "暗访",
        "kinds": {"institution": "机构", "place": "重点场所", "clue": "线索核查", "revisit": "回头看"},
        "modes": {"car": "驾车", "ebike": "电动车", "walk": "步行"},
        "map_note": "道路与路线数据",
    },
    "en": {
        "title": "Off-campus tutoring patrol: route sheet",
        "confidential": "CONFIDENTIAL until departure",
        "notice": "For this team and shift only. Four-no-two-direct: no notice, no greeting officials, no briefings, "
        "no escort; go straight to the sites; never stop at a township or community office; never tell "
        "anyone being inspected where the team is going.",
        "plan": "Plan id",
        "commitment": "Commitment (SHA-256)",
        "made": "Made",
        "shift": "Shift",
        "day": "day",
        "night": "night",
        "team": "Team",
        "mode": "Mode",
        "depart": "Departs",
        "back": "Back by",
        "travel": "Driving",
        "inspect": "On site",
        "minutes": "min",
        "members": "Members",
        "name": "Name",
        "department": "Department",
        "law_cert": "Law cert.",
        "sign": "Signature",
        "yes": "yes",
        "map": "Route map",
        "order": "#",
        "arrival": "Arrival",
        "kind": "Kind",
        "stop": "Name",
        "address": "Address",
        "status": "Status",
        "why": "Why chosen",
        "mandatory": "mandatory",
        "probability": "drawn with p",
        "stops": "Stops",
        "checklist": "On-site record",
        "arrived": "Arrived",
        "left": "Left",
        "not_visited": "Not visited, because:",
        "finding": "Clue finding",
        "revisit": "Revisit finding",
        "item": "Item",
        "problems": "Problems found",
        "action": "Action",
        "days": "within ____ days",
        "refer_to": "Referred to:",
        "inspected_sign": "Signature of the person in charge on site",
        "inspector_sign": "Inspectors' signatures",
        "leader_sign": "Team leader",
        "member_sign": "Members",
        "date": "Date",
        "closing": "Signatures",
        "base": "Base",
        "none_stops": "No stops on this shift.",
        "covert_mark": "covert",
        "kinds": {"institution": "institution", "place": "high-risk place", "clue": "clue check", "revisit": "revisit"},
        "modes": {"car": "car", "ebike": "e-bike", "walk": "on foot"},
        "map_note": "Roads and route data",
    },
}


def team_color(plan: Plan, team_id: str) -> str:
    """The team's colour, the same as on the planning page's map."""
    ids = [t.team_id for t in plan.teams]
    return TEAM_COLORS[ids.index(team_id) % len(TEAM_COLORS)] if team_id in ids else TEAM_COLORS[0]


def stop_status(stop: Stop, lang: str = "zh") -> str:
    """The stop's status in words (registry status, clue status or case status)."""
    vocabulary = {"institution": "status", "clue": "clue_status", "revisit": "case_status"}.get(stop.kind)
    return schema.label(vocabulary, stop.status, lang) if vocabulary and stop.status else ""


def _nice_length(metres: float) -> float:
    power = 10 ** math.floor(math.log10(max(metres, 1)))
    return max(step * power for step in (1, 2, 5) if step * power <= metres)


def route_map_svg(plan: Plan, team: TeamRoute, roads: gpd.GeoDataFrame | None = None) -> str:
    """The team's route as an SVG: roads, legs, base, numbered stops, scale bar, north arrow, attribution."""
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    color = team_color(plan, team.team_id)
    points: list[tuple[float, float]] = [(team.base.lon, team.base.lat)] + [(s.lon, s.lat) for s in team.stops]
    points += [c for leg in team.legs for c in leg.coordinates]
    xs, ys = to_mercator.transform([p[0] for p in points], [p[1] for p in points])
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, (y1 - y0) * MAP_WIDTH / MAP_HEIGHT, 400.0) * 1.12
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = span / 2, span / 2 * MAP_HEIGHT / MAP_WIDTH
    scale = MAP_WIDTH / span

    def px(lon: float, lat: float) -> tuple[float, float]:
        x, y = to_mercator.transform(lon, lat)
        return (x - cx + half_w) * scale, (cy + half_h - y) * scale

    def path(coords: Sequence[tuple[float, float]]) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in (px(lon, lat) for lon, lat in coords))

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {MAP_WIDTH} {MAP_HEIGHT}" '
            f'width="190mm" height="{190 * MAP_HEIGHT / MAP_WIDTH:.1f}mm" font-family=\'{FONT_FAMILY}\'>'
        ),
        f'<rect width="{MAP_WIDTH}" height="{MAP_HEIGHT}" fill="#f7f5f0" stroke="#888"/>',
        f'<clipPath id="frame"><rect width="{MAP_WIDTH}" height="{MAP_HEIGHT}"/></clipPath><g clip-path="url(#frame)">',
    ]
    if roads is not None and not roads.empty:
        to_wgs84 = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
        (w, e), (s, n) = to_wgs84.transform([cx - half_w, cx + half_w], [cy - half_h, cy + half_h])
        near = roads.cx[w:e, s:n]
        for road in near.itertuples():
            kind = str(road.highway).split(";")[0]
            width = ROAD_WIDTHS.get(kind.removesuffix("_link"), 1.1)
            lines = getattr(road.geometry, "geoms", [road.geometry])
            for line in lines:
                parts.append(
                    f'<polyline points="{path(list(line.coords))}" fill="none" stroke="#c9c4b8" '
                    f'stroke-width="{width + 1.2}" stroke-linecap="round"/>'
                )
                parts.append(
                    f'<polyline points="{path(list(line.coords))}" fill="none" stroke="#ffffff" '
                    f'stroke-width="{width}" stroke-linecap="round"/>'
                )
    for leg in team.legs:
        if len(leg.coordinates) >= 2:
            parts.append(
                f'<polyline points="{path(leg.coordinates)}" fill="none" stroke="{color}" '
                'stroke-width="3.2" stroke-opacity="0.85" stroke-linejoin="round" stroke-linecap="round"/>'
            )
    bx, by = px(team.base.lon, team.base.lat)
    parts.append(
        f'<rect x="{bx - 9:.1f}" y="{by - 9:.1f}" width="18" height="18" fill="{color}"/>'
        f'<text x="{bx:.1f}" y="{by + 4.5:.1f}" font-size="12" fill="#fff" text-anchor="middle">起</text>'
    )
    placed: list[tuple[float, float]] = []
    for stop in team.stops:
        x, y = px(stop.lon, stop.lat)
        lx, ly = x, y
        while any(abs(lx - a) < 18 and abs(ly - b) < 18 for a, b in placed):  # fan out stops at one address
            lx += 20
        if (lx, ly) != (x, y):
            parts.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{lx:.1f}" y2="{ly:.1f}" stroke="{color}"/>')
        placed.append((lx, ly))
        parts.append(
            f'<circle cx="{lx:.1f}" cy="{ly:.1f}" r="9" fill="#fff" stroke="{color}" stroke-width="2.4"/>'
            f'<text x="{lx:.1f}" y="{ly + 4:.1f}" font-size="11" font-weight="bold" fill="{color}" '
            f'text-anchor="middle">{stop.order}</text>'
        )
    parts.append("</g>")
    metres_per_px = 1 / scale * math.cos(math.radians(team.base.lat))
    bar = _nice_length(metres_per_px * MAP_WIDTH / 5)
    bar_px = bar / metres_per_px
    label = f"{bar / 1000:g} km" if bar >= 1000 else f"{bar:g} m"
    parts.append(
        f'<g transform="translate(14,{MAP_HEIGHT - 16})"><rect x="-4" y="-16" width="{bar_px + 50:.1f}" '
        'height="24" fill="#fff" fill-opacity="0.8"/>'
        f'<path d="M0,0 h{bar_px:.1f} M0,-5 v5 M{bar_px:.1f},-5 v5" stroke="#222" stroke-width="1.5"/>'
        f'<text x="{bar_px + 5:.1f}" y="3" font-size="10">{label}</text></g>'
    )
    parts.append(
        f'<g transform="translate({MAP_WIDTH - 22},26)"><path d="M0,-16 L7,4 L0,-1 L-7,4 Z" fill="#222"/>'
        '<text y="16" font-size="11" text-anchor="middle">N</text></g>'
    )
    attribution = html.escape(plan.attribution or "© OpenStreetMap contributors (ODbL 1.0)")
    parts.append(
        f'<rect x="{MAP_WIDTH - 250}" y="{MAP_HEIGHT - 16}" width="250" height="16" fill="#fff" '
        f'fill-opacity="0.85"/><text x="{MAP_WIDTH - 5}" y="{MAP_HEIGHT - 4}" font-size="10" '
        f'text-anchor="end">{attribution}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


CSS = """
@page { size: A4; margin: 14mm 10mm 14mm 10mm; font-family: %(font)s;
  @top-left { content: "%(confidential)s"; color: #b71c1c; font-weight: bold; font-size: 9pt; }
  @top-right { content: "%(plan_id)s"; font-size: 8pt; color: #555; }
  @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; color: #555; } }
@page covert { @top-left { content: none; } @top-right { content: none; } @bottom-right { content: none; } }
.covert { page: covert; }
body { font-family: %(font)s; font-size: 9pt; color: #111; }
h1 { font-size: 16pt; margin: 0 0 2mm 0; }
h2 { font-size: 11pt; margin: 4mm 0 1.5mm 0; border-bottom: 1px solid #999; }
.banner { border: 2px solid #b71c1c; color: #b71c1c; padding: 1.5mm 3mm; margin: 1mm 0 2mm 0; font-size: 8.5pt; }
.banner b { font-size: 11pt; }
table { border-collapse: collapse; width: 100%%; }
th, td { border: 0.6pt solid #777; padding: 1mm 1.4mm; vertical-align: top; text-align: left; }
th { background: #eceff1; font-weight: bold; }
table.meta td { border: none; padding: 0.4mm 1.4mm; }
.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 8pt; word-break: break-all; }
.map { margin: 1mm 0; }
.stopblock { page-break-inside: avoid; border: 1pt solid #333; padding: 2mm; margin: 0 0 3mm 0; }
.stopblock h3 { margin: 0 0 1mm 0; font-size: 10.5pt; }
.box { display: inline-block; width: 3mm; height: 3mm; border: 0.8pt solid #222; vertical-align: -0.5mm;
  margin: 0 0.6mm 0 1.6mm; }
.hint { color: #555; font-size: 6.8pt; }
table.checks td { padding: 0.6mm 1.2mm; font-size: 8pt; }
.stopblock p { margin: 1.2mm 0; }
.line { display: inline-block; border-bottom: 0.6pt solid #222; min-width: 30mm; height: 4mm; }
.lines div { border-bottom: 0.6pt solid #999; height: 5.5mm; }
.small { font-size: 8pt; color: #444; }
.sign td { height: 10mm; }
.nowrap { white-space: nowrap; }
"""


def _box(label: str) -> str:
    return f'<span class="box"></span>{html.escape(label)}'


def route_sheet_html(
    plan: Plan, team_id: str, *, roads: gpd.GeoDataFrame | None = None, lang: str = "zh"
) -> str:
    """The route sheet of team ``team_id`` as a self-contained HTML document (print CSS)."""
    t = TEXT["en" if lang == "en" else "zh"]
    team = plan.team(team_id)
    e = html.escape
    shift = t[plan.shift] if plan.shift in ("day", "night") else plan.shift
    window = "–".join(plan.window)
    out = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{e(plan.plan_id)} "
        f"{e(team.name)}</title><style>"
        + CSS % {"confidential": t["confidential"], "plan_id": plan.plan_id, "font": FONT_FAMILY}
        + "</style></head><body>"
    ]
    out.append(f"<h1>{e(t['title'])}</h1>")
    out.append(f"<div class='banner'><b>{e(t['confidential'])}</b><br>{e(t['notice'])}</div>")
    out.append(
        "<table class='meta'>"
        f"<tr><td><b>{t['team']}</b> {e(team.name)}（{e(team.team_id)}）</td>"
        f"<td><b>{t['shift']}</b> {e(plan.county_name)} {e(plan.date)} {e(shift)} {e(window)}</td>"
        f"<td><b>{t['mode']}</b> {e(t['modes'].get(team.mode, team.mode))}</td></tr>"
        f"<tr><td><b>{t['depart']}</b> {e(team.depart)}　<b>{t['back']}</b> {e(team.back)}</td>"
        f"<td><b>{t['travel']}</b> {team.travel_min} {t['minutes']}　<b>{t['inspect']}</b> "
        f"{team.service_min} {t['minutes']}</td>"
        f"<td><b>{t['stops']}</b> {len(team.stops)}</td></tr>"
        f"<tr><td colspan='2'><b>{t['plan']}</b> {e(plan.plan_id)}</td>"
        f"<td><b>{t['made']}</b> {e(str(plan.created_at)[:16].replace('T', ' '))}</td></tr>"
        f"<tr><td colspan='3'><b>{t['commitment']}</b> <span class='hash'>{e(plan.commitment)}</span></td></tr>"
        "</table>"
    )
    out.append(
        f"<h2>{t['members']}</h2><table><tr><th>{t['name']}</th><th>{t['department']}</th>"
        f"<th>{t['law_cert']}</th><th style='width:45mm'>{t['sign']}</th></tr>"
    )
    for member in team.members:
        out.append(
            f"<tr><td>{e(member.name)}</td><td>{e(member.department)}</td>"
            f"<td>{t['yes'] if member.law_cert else '—'}</td><td></td></tr>"
        )
    out.append("</table>")
    out.append(f"<h2>{t['map']}</h2><div class='map'>{route_map_svg(plan, team, roads)}</div>")
    out.append(f"<h2>{t['stops']}</h2>")
    if not team.stops:
        out.append(f"<p>{t['none_stops']}</p>")
    else:
        out.append(
            f"<table><tr><th>{t['order']}</th><th>{t['arrival']}</th><th>{t['kind']}</th><th>{t['stop']}</th>"
            f"<th>{t['address']}</th><th>{t['status']}</th><th>{t['why']}</th></tr>"
        )
        for stop in team.stops:
            chosen = t["mandatory"] if stop.mandatory else f"{t['probability']} {stop.probability:.0%}"
            how = f"<br><b>{t['covert_mark']}</b>" if stop.covert else ""
            out.append(
                f"<tr><td>{stop.order}</td><td class='nowrap'>{e(stop.arrival)}</td>"
                f"<td class='nowrap'>{e(t['kinds'].get(stop.kind, stop.kind))}{how}</td>"
                f"<td>{e(stop.name)}<br><span class='small'>{e(stop.visit_id)}</span></td>"
                f"<td>{e(stop.address)}</td><td>{e(stop_status(stop, lang))}</td>"
                f"<td><b>{e(chosen)}</b> <span class='small'>{e(stop.reason)}</span></td></tr>"
            )
        out.append("</table>")
    out.append(f"<h2 style='page-break-before: always'>{t['checklist']}</h2>")
    for stop in team.stops:
        if not stop.covert:
            out.append(_stop_block(stop, t, lang))
    out.append(
        f"<h2>{t['closing']}</h2><table class='sign'><tr><th style='width:30%'>{t['leader_sign']}</th><td></td>"
        f"<th style='width:15%'>{t['date']}</th><td></td></tr>"
        f"<tr><th>{t['member_sign']}</th><td colspan='3'></td></tr></table>"
    )
    out.append(f"<p class='small'>{e(t['map_note'])}：{e(plan.attribution)}</p>")
    covert = [stop for stop in team.stops if stop.covert]
    if covert:  # carried on the visit: plain pages, no header, no marking, nothing that says "inspector"
        out.append("<div class='covert' style='page-break-before: always'>")
        out.extend(covert_block(stop, lang) for stop in covert)
        out.append("</div>")
    out.append("</body></html>")
    return "".join(out)


COVERT_TEXT: dict[str, dict[str, Any]] = {
    "zh": {"title": "记事", "place": "地点", "time": "时间", "seen": "看到的情况", "yes": "有", "no": "无",
           "unsure": "未见",
           "items": {"fees": "收费标准、预收费宣传", "materials": "课程内容与教材、宣传材料", "qr_code": "课程二维码",
                     "gatekeeper": "门口值守", "fire": "安全出口、通道", "surroundings": "周边环境"},
           "pupils": "学生进出、上课迹象"},
    "en": {"title": "Notes", "place": "Place", "time": "Time", "seen": "What was seen", "yes": "yes", "no": "no",
           "unsure": "not seen",
           "items": {"fees": "Prices, prepayment adverts", "materials": "Course content, materials, adverts",
                     "qr_code": "Course QR code", "gatekeeper": "Someone at the door", "fire": "Exits and passages",
                     "surroundings": "Surroundings"},
           "pupils": "Pupils coming and going, signs of classes"},
}


def covert_block(stop: Stop, lang: str = "zh") -> str:
    """A covert stop's page: the place, the time and what can be observed — no header, no plan id, no
    visit id, no checklist of papers, no signature of anyone visited, no word naming inspectors."""
    c = COVERT_TEXT["en" if lang == "en" else "zh"]
    e = html.escape
    rows = "".join(f"<tr><td>{e(c['items'][code])}</td><td class='nowrap'>{_box(c['yes'])}{_box(c['no'])}"
                   f"{_box(c['unsure'])}</td></tr>" for code in (*schema.COVERT_ITEMS,))
    name = stop.name if stop.kind != "clue" else (stop.address or f"{c['place']} {stop.order}")  # no clue id
    return (f"<div class='stopblock'><h3>{stop.order}. {e(name)}</h3>"
            f"<p class='small'>{e(stop.address)}　{c['time']} {e(stop.arrival)}</p>"
            f"<p>{e(c['title'])}：{c['time']} <span class='line'></span></p>"
            f"<table class='checks'><tr><td>{e(c['pupils'])}</td><td class='nowrap'>{_box(c['yes'])}{_box(c['no'])}"
            f"</td></tr>{rows}</table>"
            f"<p><b>{e(c['seen'])}</b></p><div class='lines'><div></div><div></div><div></div></div></div>")


def _stop_block(stop: Stop, t: dict[str, Any], lang: str) -> str:
    e = html.escape
    cells = []
    for term in schema.CHECKLIST_ITEMS:
        hint = schema.CHECKLIST_HINTS_ZH.get(term.code, "") if lang == "zh" else ""
        boxes = "".join(_box(schema.label("check", c, lang)) for c in ("ok", "problem", "not_checked"))
        cells.append(
            f"<td><b>{e(term.zh if lang == 'zh' else term.en)}</b><br><span class='hint'>{e(hint)}</span></td>"
            f"<td class='nowrap'>{boxes}</td>"
        )
    cells += ["<td></td><td></td>"] * (len(cells) % 2)
    rows = [f"<tr>{cells[i]}{cells[i + 1]}</tr>" for i in range(0, len(cells), 2)]
    finding = ""
    if stop.kind == "clue":
        finding = (
            f"<p><b>{t['finding']}</b> {_box(schema.label('finding', 'confirmed', lang))}"
            f"{_box(schema.label('finding', 'not_confirmed', lang))}</p>"
        )
    elif stop.kind == "revisit":
        finding = (
            f"<p><b>{t['revisit']}</b> {_box(schema.label('finding', 'fixed', lang))}"
            f"{_box(schema.label('finding', 'not_fixed', lang))}</p>"
        )
    actions = "".join(
        _box(term.zh if lang == "zh" else term.en) + (f"（{t['days']}）" if term.code == "rectify" else "")
        for term in schema.ACTIONS
    )
    return (
        f"<div class='stopblock'><h3>{stop.order}. {e(stop.name)} "
        f"<span class='small'>{e(stop.visit_id)}｜{e(stop.address)}｜{t['arrival']} "
        f"{e(stop.arrival)}</span></h3>"
        f"<p>{t['arrived']} <span class='line'></span>　{t['left']} <span class='line'></span>　"
        f"{_box(t['not_visited'])}<span class='line' style='min-width:55mm'></span></p>{finding}"
        f"<table class='checks'>{''.join(rows)}</table>"
        f"<p><b>{t['problems']}</b></p><div class='lines'><div></div><div></div></div>"
        f"<p><b>{t['action']}</b> {actions}　{t['refer_to']}<span class='line'></span></p>"
        f"<p>{t['inspected_sign']} <span class='line' style='min-width:40mm'></span>　{t['inspector_sign']} "
        f"<span class='line' style='min-width:50mm'></span></p></div>"
    )


def workspace_roads(ws: Store | None) -> gpd.GeoDataFrame | None:
    """The workspace's OSM road edges (WGS84) for the sheet's map, if it has them."""
    if ws is None or not ws.has_layer("road_edges"):
        return None
    return ws.read("road_edges")[["highway", "geometry"]]


def route_sheet_pdf(
    plan: Plan,
    team_id: str,
    *,
    workspace: Store | None = None,
    roads: gpd.GeoDataFrame | None = None,
    lang: str = "zh",
) -> bytes:
    """The route sheet as PDF bytes (A4). ``workspace`` adds its roads under the route on the map."""
    try:
        from weasyprint import HTML
    except OSError as exc:  # WeasyPrint loads Pango through cffi at import time
        raise InputError(
            f"printing route sheets needs Pango, which is missing ({exc}); run "
            "`bash scripts/install-system-packages.sh --app` (Debian) or install Pango ≥ 1.44."
        ) from exc
    if roads is None:
        roads = workspace_roads(workspace)
    document = route_sheet_html(plan, team_id, roads=roads, lang=lang)
    return HTML(string=document).write_pdf()
