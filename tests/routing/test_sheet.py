"""The printed route sheet (checked as a picture) and the navigation exports."""

from __future__ import annotations

import ctypes
import json
import shutil
import xml.etree.ElementTree as ET

import gpxpy
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from core.settings import load_patrol_settings
from layers.schema import CHECKLIST_ITEMS
from patrol.cli import main
from routing.exports import plan_geojson, team_gpx, team_kml
from routing.plan import make_plan, write_plan_files
from routing.register import register_plan
from routing.sheet import route_sheet_pdf, team_color
from store import Store
from tests.conftest import SHIPPED
from tests.helpers import on_backend


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> tuple[Store, dict]:
    path = tmp_path_factory.mktemp("sheet") / "guixi.gpkg"
    shutil.copy2(SHIPPED, path)
    ws = on_backend(path)
    plan, seed = make_plan(ws, "2026-11-23", "day", seed="sheet", settings=load_patrol_settings(), iterations=100)
    register_plan(ws, plan, seed=seed, actor="planner")
    return ws, plan


def _font_of_first_char(page: pdfium.PdfPage) -> str:
    text = page.get_textpage()
    buffer = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    pdfium_c.FPDFText_GetFontInfo(text, 0, buffer, 256, ctypes.byref(flags))
    return buffer.value.decode()


def test_route_sheet_renders_chinese_text_and_the_map(county):
    ws, plan = county
    team = max(plan.teams, key=lambda t: len(t.stops))
    pdf = pdfium.PdfDocument(route_sheet_pdf(plan, team.team_id, workspace=ws))
    first = pdf[0]
    width, height = first.get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points

    text = first.get_textpage().get_text_range()
    for expected in ("校外培训监管巡查路线单", "机密", "出发前不得外传", team.name, plan.plan_id,
                     plan.commitment, "© OpenStreetMap contributors", team.members[0].name,
                     team.members[0].department):
        assert expected in text, expected
    assert "CJK" in _font_of_first_char(first)  # a real CJK font, not boxes

    image = np.asarray(first.render(scale=1).to_pil().convert("RGB")).astype(int)
    ink = (image.sum(axis=2) < 600).mean()
    assert 0.02 < ink < 0.6, f"page looks blank or black: ink {ink:.3f}"
    rgb = [int(team_color(plan, team.team_id)[i:i + 2], 16) for i in (1, 3, 5)]
    route_pixels = (np.abs(image - rgb).sum(axis=2) < 60).sum()
    assert route_pixels > 400, "the route is not drawn on the map"

    everything = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    for item in CHECKLIST_ITEMS:  # the full checklist on every open stop (a covert one records what is seen)
        assert everything.count(item.zh) >= len([s for s in team.stops if not s.covert]), item.zh
    for word in ("预计到达", "抽取原因", "整改通知", "停办通知", "抄告单", "组长签字", "被检查单位负责人签字"):
        assert word in everything
    for stop in team.stops:
        assert stop.visit_id in everything


def test_english_sheet_and_cli(county, tmp_path, capsys):
    ws, plan = county
    team_id = plan.teams[0].team_id
    english = pdfium.PdfDocument(route_sheet_pdf(plan, team_id, lang="en"))
    assert "CONFIDENTIAL until departure" in english[0].get_textpage().get_text_range()

    out = tmp_path / "sheet.pdf"
    assert main(["sheet", plan.plan_id, "--workspace", ws.location, "--team", team_id, "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert main(["sheet", plan.plan_id, "--workspace", ws.location, "--team", "T9", "--out", str(out)]) == 2
    assert "team 'T9' is not in plan" in capsys.readouterr().err
    assert main(["sheet", str(tmp_path / "missing.json"), "--team", team_id, "--out", str(out)]) == 2


def test_exports_for_the_phone(county, tmp_path):
    _, plan = county
    files = {p.name for p in write_plan_files(plan, "seed", tmp_path)}
    for team in plan.teams:
        assert {f"team_{team.team_id}.gpx", f"team_{team.team_id}.kml"} <= files
        gpx = gpxpy.parse(team_gpx(plan, team))
        assert [w.name[:2] for w in gpx.waypoints] == [f"{s.order:02d}" for s in team.stops]
        kml = team_kml(plan, team)
        root = ET.fromstring(kml.encode())
        names = [n.text for n in root.iter("{http://www.opengis.net/kml/2.2}name")]
        assert all(any(n and n.startswith(f"{s.order:02d} ") for n in names) for s in team.stops)
        assert "maps.google.com" not in kml  # nothing fetched from outside hosts on an intranet
    collection = json.loads((tmp_path / "plan.geojson").read_text(encoding="utf-8"))
    assert collection == json.loads(json.dumps(plan_geojson(plan)))
    stops = [f for f in collection["features"] if f["properties"]["role"] == "stop"]
    assert len(stops) == plan.summary.visits


def test_covert_stops_are_drawn_at_the_share_verifiable_and_unmarked_on_their_pages(county):
    from core.visits import VisitRef
    from routing.plan import verify_plan

    ws, plan = county
    settings = load_patrol_settings()
    stops = [s for _, s in plan.stops()]
    eligible = [s for s in stops if VisitRef.parse(s.visit_id).kind.value != "revisit"]
    covert = [s for s in eligible if s.covert]
    assert plan.inputs["rules"]["draw"]["covert_share"] == settings.draw.covert_share
    share = len(covert) / len(eligible)
    assert abs(share - settings.draw.covert_share) < 0.2, share  # about the configured share (a fixed seed)
    assert not any(s.covert for s in stops if s.kind == "revisit")  # a 回头看 is always open
    seed = ws.read("plan_seeds", where={"key": plan.plan_id})["seed"].iloc[0]
    assert verify_plan(plan, seed) == []
    document = plan.to_json()  # a stop switched from covert to open is caught
    stop = next(s for t in document["teams"] for s in t["stops"] if s["covert"])
    stop["covert"] = False
    assert any("the draw makes it covert" in p for p in verify_plan(document, seed))

    from routing.sheet import route_sheet_html

    team = max(plan.teams, key=lambda t: sum(s.covert for s in t.stops))
    html = route_sheet_html(plan, team.team_id)
    covert_pages = html.split("<div class='covert'", 1)[1]
    for stop in (s for s in team.stops if s.covert):
        shown = stop.address if stop.kind == "clue" else stop.name  # a clue check is shown by its place only
        assert shown.replace("&", "&amp;") in covert_pages
        assert stop.visit.target not in covert_pages  # no clue, institution or place id
    for marking in ("检查", "机密", "教育局", "巡查", "线索", plan.plan_id, plan.commitment, "签字", "I:", "C:", "P:"):
        assert marking not in covert_pages, marking  # nothing on a covert page says "inspector"
    open_part = html.split("<div class='covert'", 1)[0]
    assert "暗访" in open_part  # the team's own page one tells it which stops are covert


def test_a_covert_stops_result_records_only_what_is_observable(county):
    from casework.results import StopResult, record_results
    from core.errors import InputError

    ws, plan = county
    team = next(t for t in plan.teams if any(s.covert and s.kind == "institution" for s in t.stops))
    stop = next(s for s in team.stops if s.covert and s.kind == "institution")
    papers = StopResult(stop.visit_id, True, stop.arrival, checklist={"permits": "problem"}, problems="无证",
                        action="rectify")
    with pytest.raises(InputError, match="暗访"):
        record_results(ws, plan, [papers], team_id=team.team_id, actor="组长")
    seen = StopResult(stop.visit_id, True, stop.arrival, checklist={"fees": "problem", "permits": "not_checked"},
                      problems="张贴预收一年学费广告", action="refer", refer_to="市场监管局")
    recorded = record_results(ws, plan, [seen], team_id=team.team_id, actor="组长")
    assert recorded is not None
