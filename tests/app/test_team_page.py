"""The team leader's page, driven with AppTest on a private copy with today's plan registered."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from casework.results import cases_table, results_table
from core.clock import local_day
from core.settings import load_patrol_settings
from routing.model import Plan
from routing.plan import make_plan
from routing.register import register_plan
from store import Store, open_store
from tests.helpers import add_user, app_county, logged_in, replace_layers

ROOT = Path(__file__).resolve().parents[2]


def _county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, release: str) -> tuple[Store, Plan]:
    ws = app_county(tmp_path, monkeypatch)
    teams = ws.read("teams")["team_id"]
    plan, seed = make_plan(ws, local_day(), "day", seed="team-page", settings=load_patrol_settings(), iterations=60,
                           release=dict.fromkeys(teams, release))
    register_plan(ws, plan, seed=seed, actor="planner")
    return ws, plan


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, Plan]:
    """Today's plan, released to the team leaders (since yesterday)."""
    return _county(tmp_path, monkeypatch, (local_day() - pd.Timedelta(days=1)).isoformat())


def _open(team_id: str | None = None) -> AppTest:
    """The team page as the leader of ``team_id`` sees it (or as a planner, who picks the team)."""
    ws = open_store(os.environ["PATROL_WORKSPACE"])
    name = f"lead_{team_id}" if team_id else "planner1"
    add_user(ws, name, "team_leader" if team_id else "planner", **({"team_id": team_id} if team_id else {}))
    app = logged_in(name, page="views/team.py")
    assert not app.exception, app.exception
    return app


def test_shows_only_the_chosen_teams_route_for_today(county) -> None:
    _, plan = county
    team, other = plan.teams[1], plan.teams[0]
    app = _open(team.team_id)
    assert "机密" in app.warning[0].value
    shown = app.dataframe[0].value
    assert list(shown["名称"]) == [s.name for s in team.stops]
    page_text = " ".join(str(e.value) for e in app.markdown) + " ".join(str(e.value) for e in app.caption)
    assert team.members[0].name in page_text
    for member in other.members:
        assert member.name not in page_text
    options = app.selectbox(key="rec_stop").options
    assert len(options) == len(team.stops)
    own = {f"{s.order}. {s.arrival} {s.name}" + ("（暗访）" if s.covert else "") for s in team.stops}
    assert all(option.split(" ", 1)[1] in own for option in options)  # a covert stop is marked for the team


def test_record_a_result_on_the_page_opens_a_case(county) -> None:
    ws, plan = county
    team = plan.teams[0]
    stop = team.stops[0]
    app = _open(team.team_id)
    app.selectbox(key="rec_stop").set_value(stop.visit_id).run()
    app.radio(key="rec_check_fees").set_value("problem")
    app.text_area(key="rec_problems").set_value("预收费超过 3 个月")
    app.radio(key="rec_action").set_value("rectify")
    app.button(key="FormSubmitter:record_form-保存检查结果").click().run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert "已保存 1 条结果" in app.success[0].value and "整改" in app.success[0].value
    table = results_table(ws)
    assert list(table["visit_id"]) == [stop.visit_id] and table["checklist"][0].count("problem") == 1
    assert list(cases_table(ws)["status"]) == ["rectifying"]
    assert app.dataframe[0].value["登记"].iloc[0] == "已检查"


def test_not_visited_without_a_reason_is_refused_and_nothing_saved(county) -> None:
    ws, plan = county
    app = _open(plan.teams[0].team_id)
    app.radio(key="rec_visited").set_value("no")
    app.button(key="FormSubmitter:record_form-保存检查结果").click().run()
    assert not app.exception
    assert "未保存" in app.error[0].value and "say why" in app.error[0].value
    assert not ws.has_layer("results")


def test_a_team_without_a_plan_today_is_told_so(county) -> None:
    ws, _ = county
    register = ws.read("plans")
    register["date"] = "2000-01-01"
    replace_layers(ws, {"plans": register})
    app = _open(ws.read("teams")["team_id"].iloc[0])
    assert "还没有下发给您的路线" in app.info[0].value


def test_clues_and_cases_page_shows_each_history(county) -> None:
    ws, plan = county
    team = plan.teams[0]
    app = _open(team.team_id)
    stop = team.stops[0]
    app.selectbox(key="rec_stop").set_value(stop.visit_id).run()
    app.text_area(key="rec_problems").set_value("无证办学")
    app.radio(key="rec_action").set_value("rectify")
    app.button(key="FormSubmitter:record_form-保存检查结果").click().run()
    assert not app.error, [e.value for e in app.error]
    add_user(ws, "planner1", "planner")
    app = logged_in("planner1", page="views/casework.py")
    [case_id] = list(cases_table(ws)["case_id"])
    app.selectbox(key="case_pick_case").set_value(case_id).run()
    events = list(app.dataframe[-1].value["事项"])
    assert "下达整改通知" in events and events[-1] == "待回头看"
    if stop.kind == "clue":
        app.multiselect(key="case_clue_status").set_value(["handled"]).run()
        app.selectbox(key="case_pick_clue").set_value(stop.visit_id[2:]).run()
        assert "状态：已处置" in list(app.dataframe[1].value["事项"])


def test_reopening_a_recorded_stop_shows_its_saved_result(county) -> None:
    _, plan = county
    team = plan.teams[0]
    first, second = team.stops[0], team.stops[1]
    app = _open(team.team_id)
    app.selectbox(key="rec_stop").set_value(first.visit_id).run()
    app.radio(key="rec_check_fire").set_value("problem")
    app.text_area(key="rec_problems").set_value("消防通道堵塞")
    app.radio(key="rec_action").set_value("rectify")
    app.button(key="FormSubmitter:record_form-保存检查结果").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    app.selectbox(key="rec_stop").set_value(second.visit_id).run()
    assert app.text_area(key="rec_problems").value == "" and app.radio(key="rec_action").value == "none"
    app.selectbox(key="rec_stop").set_value(first.visit_id).run()
    assert not app.exception
    assert app.text_area(key="rec_problems").value == "消防通道堵塞"
    assert app.radio(key="rec_action").value == "rectify" and app.radio(key="rec_check_fire").value == "problem"


def test_a_workspace_without_teams_says_how_to_add_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = Path(shutil.copy2(ROOT / "data" / "guixi_360681.gpkg", tmp_path / "bare.gpkg"))
    with open_store(target).transaction(actor="tester", action="drop-teams") as tx:
        tx.drop_layer("teams")
        tx.drop_layer("inspectors")
    monkeypatch.setenv("PATROL_WORKSPACE", str(target))
    app = _open()
    assert not app.exception
    assert "demo-teams" in app.info[0].value or "检查组" in app.info[0].value


def test_a_team_leader_sees_only_their_own_route_and_nothing_before_release(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    tomorrow = (local_day() + pd.Timedelta(days=1)).isoformat()
    ws, plan = _county(tmp_path, monkeypatch, tomorrow)
    team, other = plan.teams[0], plan.teams[1]
    app = _open(team.team_id)
    assert "还没有下发给您的路线" in app.info[0].value and not app.dataframe
    page_text = " ".join(str(e.value) for e in [*app.markdown, *app.caption, *app.info])
    assert all(s.name not in page_text for s in team.stops)
    # a planner may look before release: the page says the look is recorded, and the audit log has it
    app = _open()
    app.selectbox(key="team_pick").set_value(other.team_id).run()
    assert any("审计日志" in w.value for w in app.warning)
    log = ws.audit_log()
    assert ((log["action"] == "plan-view-before-release") & (log["actor"] == "planner1")).any()
    assert list(app.dataframe[0].value["名称"]) == [s.name for s in other.stops]


def test_a_team_leader_has_no_planning_layers_or_register_pages(county) -> None:
    _, plan = county
    app = _open(plan.teams[0].team_id)
    assert "team_pick" not in [w.key for w in app.selectbox]  # no other team to choose
    for page in ("views/planning.py", "views/layers.py", "views/imports.py", "views/oversight.py",
                 "views/accounts.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(page)
