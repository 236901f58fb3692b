"""Reports from the field: a grid member's clue with its place and a photo joins the closed loop with
its reporter, the photo loses its metadata, "nothing found today" counts as the grid's own patrol,
and a grid member opens no plan."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from access.accounts import add_account
from access.plans import open_route, routes_for
from access.roles import Principal, Role
from casework.field import FieldReport, clue_photos, my_reports, report_clue, walked
from core.clock import local_day
from core.errors import InputError, PermissionDeniedError
from reports.coverage import cell_coverage
from reports.figures import Period, period_figures
from store import Store
from tests.conftest import SHIPPED
from tests.helpers import TEST_PASSWORD, add_user, on_backend


def photo_with_gps() -> bytes:
    """A JPEG as a phone writes it: 3000×2000 with EXIF naming the camera and the GPS position."""
    image = Image.new("RGB", (3000, 2000), (200, 120, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x8825] = {1: "N", 2: (28.0, 17.0, 43.0), 3: "E", 4: (117.0, 13.0, 36.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def county(tmp_path: Path) -> Store:
    return on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "f.gpkg")))


def _member(ws: Store, name: str = "wg1", cell: str = "360681003002") -> Principal:
    add_user(ws, "admin", "admin")
    account = add_account(ws, username=name, password=TEST_PASSWORD, role="grid_member", actor="admin",
                          cell_code=cell, display_name="王网格")
    return account.principal


def test_a_grid_members_report_is_a_clue_with_its_reporter_place_and_a_clean_photo(county: Store) -> None:
    member = _member(county)
    raw = photo_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif()  # the phone's photo carries metadata
    clue_id = report_clue(county, FieldReport("one_to_one", "小区3栋2单元有人晚上集中补课", 117.2269, 28.2951,
                                              photos=(raw,)), actor=member)
    clue = county.read("clues", where={"clue_id": clue_id}).iloc[0]
    assert clue["status"] == "received" and clue["channel"] == "grid_member" and clue["reporter"] == "wg1"
    assert clue["community_code"] and clue["township_code"]  # placed in the grid as imports are
    assert clue["content"] == "小区3栋2单元有人晚上集中补课"
    community = county.read("communities", where={"code": clue["community_code"]})["name"].iloc[0]
    assert community in clue["address"]  # the route sheet names the place from the grid
    [kept] = clue_photos(county, clue_id)
    image = Image.open(io.BytesIO(kept))
    assert not image.getexif() and max(image.size) <= 1600  # no camera, no GPS; scaled down
    audit = county.audit_log()
    assert audit.iloc[-1]["action"] == "field-report" and audit.iloc[-1]["actor"] == "wg1"
    mine = my_reports(county, actor=member)
    assert list(mine["clue_id"]) == [clue_id] and list(mine["status"]) == ["received"]
    other = _member(county, "wg2")
    assert my_reports(county, actor=other).empty  # each sees their own reports only
    from core.settings import load_patrol_settings
    from routing.plan import candidate_visits

    pool, _ = candidate_visits(county, local_day(), load_patrol_settings(store=county))
    from core.visits import VisitKind, visit_ids

    assert visit_ids(VisitKind.CLUE, pd.Series([clue_id]))[0] in set(pool["visit_id"])  # to be checked on site


def test_bad_reports_are_refused_with_the_reason(county: Store) -> None:
    member = _member(county)
    with pytest.raises(InputError, match="不在本县区"):
        report_clue(county, FieldReport("one_to_one", "看到补课", 116.0, 39.9), actor=member)
    with pytest.raises(InputError, match="类别"):
        report_clue(county, FieldReport("gossip", "看到补课", 117.2269, 28.2951), actor=member)
    with pytest.raises(InputError, match="照片无法识别"):
        report_clue(county, FieldReport("one_to_one", "看到补课", 117.2269, 28.2951, photos=(b"not a photo",)),
                    actor=member)
    with pytest.raises(InputError, match="说明"):
        report_clue(county, FieldReport("one_to_one", "  ", 117.2269, 28.2951), actor=member)
    assert not county.has_layer("clue_photos")
    with pytest.raises(PermissionDeniedError):  # a team leader does not file field reports
        report_clue(county, FieldReport("one_to_one", "看到补课", 117.2269, 28.2951),
                    actor=Principal("lead", Role.TEAM_LEADER, team_id="T1"))


def test_nothing_found_today_counts_as_the_grids_own_patrol_and_plans_stay_closed(county: Store) -> None:
    from core.settings import load_patrol_settings
    from routing.plan import make_plan
    from routing.register import register_plan

    member = _member(county)
    today = local_day().strftime("%Y-%m-%d")
    walked(county, actor=member, note="沿街巡查，未见异常")
    with pytest.raises(InputError, match="已上报"):
        walked(county, actor=member)
    period = Period(local_day(), local_day(), today)
    figures = period_figures(county, period)
    assert figures.grid_walks == 1 and figures.cells_walked == 1
    cells = cell_coverage(county, "communities", today, today).set_index("code")
    assert cells.at["360681003002", "grid_walks"] == 1 and cells["grid_walks"].sum() == 1
    assert cells.at["360681003002", "inspections"] == 0  # apart from the inspection teams' visits
    report_clue(county, FieldReport("fees", "机构张贴预收一年学费广告", 117.2269, 28.2951), actor=member)
    assert period_figures(county, period).clues_by_channel["grid_member"] == 1
    plan, seed = make_plan(county, local_day(), "day", seed="f", settings=load_patrol_settings(), iterations=30,
                           release=dict.fromkeys(county.read("teams")["team_id"], (local_day() -
                                                                                 pd.Timedelta(days=1)).isoformat()))
    register_plan(county, plan, seed=seed, actor="planner")
    assert routes_for(county, member, day=today) == []
    with pytest.raises(PermissionDeniedError):
        open_route(county, member, plan.plan_id, plan.teams[0].team_id)


def test_a_field_report_counts_in_the_risk_of_the_places_near_it(county: Store) -> None:
    import re

    from layers.risk import refresh

    member = _member(county)
    today = local_day().strftime("%Y-%m-%d")
    before = refresh(county, actor="tester", today=today)["risk_sites"].set_index("site_id")

    def nearby(reasons: str) -> int:
        found = re.search(r"附近举报(\d+)起", reasons)
        return int(found.group(1)) if found else 0

    site_id = min(before.index, key=lambda i: nearby(str(before.at[i, "risk_reasons"])))
    point = county.read("risk_sites", where={"site_id": site_id}).geometry.iloc[0]
    for k in range(2):
        report_clue(county, FieldReport("one_to_one", f"门口有学生排队进出 {k}", point.x, point.y), actor=member)
    after = refresh(county, actor="tester", today=today)["risk_sites"].set_index("site_id")
    assert nearby(str(after.at[site_id, "risk_reasons"])) == nearby(str(before.at[site_id, "risk_reasons"])) + 2
    assert after.at[site_id, "risk_score"] > before.at[site_id, "risk_score"]
