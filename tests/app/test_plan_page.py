"""The planning page, driven with AppTest on a private copy of the default county."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.plan import verify_plan
from store import Store
from tests.helpers import add_user, app_county, logged_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    ws = app_county(tmp_path, monkeypatch)
    monkeypatch.setenv("PATROL_SETTINGS", str(_fast_settings(tmp_path)))
    return ws


def _fast_settings(tmp_path: Path) -> Path:
    text = (ROOT / "settings" / "patrol.toml").read_text(encoding="utf-8").replace("seconds = 10", "seconds = 1")
    path = tmp_path / "patrol.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("shift", ["day", "night"])
def test_generate_a_plan_and_see_routes_timeline_and_probabilities(county: Store, shift: str) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/planning.py")
    assert "四不两直" in app.header[0].value
    app.radio(key="plan_shift").set_value(shift)  # inside the form: sent with the submit
    app.button[0].click().run()
    assert not app.exception, app.exception
    plan = app.session_state["plan_result"]["plan"]
    assert "seed" not in app.session_state["plan_result"]  # the seed is shown to nobody before the window closes
    seed = county.read("plan_seeds", where={"key": plan.plan_id})["seed"].iloc[0]
    assert verify_plan(plan, seed) == []
    page_text = " ".join(str(e.value) for e in [*app.markdown, *app.caption, *app.code, *app.text_input])
    assert seed not in page_text
    assert plan.shift == shift and plan.summary.visits > 0
    assert "计划" in app.success[0].value
    assert app.text_input(key="plan_commitment_text").value == plan.commitment
    register = app.dataframe[0].value  # the day's register: this plan, live
    assert list(register["计划编号"]) == [plan.plan_id] and list(register["状态"]) == ["生效"]
    timelines = [d.value for d in app.dataframe[1:]]
    assert len(timelines) >= len([tm for tm in plan.teams if tm.stops])
    assert {"序号", "到达", "抽中概率"} <= set(timelines[0].columns)
    register = county.read("plans")
    assert list(register["plan_id"]) == [plan.plan_id]


def test_no_teams_selected_is_an_error_not_a_crash(county: Store) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/planning.py")
    app.multiselect(key="plan_teams").set_value([])
    app.button[0].click().run()
    assert not app.exception and app.error


def test_a_second_plan_for_the_shift_is_refused_until_the_first_is_withdrawn(county: Store) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/planning.py")
    app.button[0].click().run()
    first = app.session_state["plan_result"]["plan"]
    app.button[0].click().run()  # a redraw "until the result suits" is refused
    assert any("已有生效计划" in e.value for e in app.error)
    assert app.button(key="plan_withdraw_button")
    app.button(key="plan_withdraw_button").click().run()  # no reason: refused
    assert any("理由" in e.value for e in app.error)
    app.text_input(key="plan_withdraw_reason").input("检查组临时调整")
    app.button(key="plan_withdraw_button").click().run()
    assert not app.exception and any(first.plan_id in s.value for s in app.success)
    app.button[0].click().run()
    second = app.session_state["plan_result"]["plan"]
    register = county.read("plans").set_index("plan_id")
    assert register.loc[first.plan_id, "status"] == "withdrawn"
    assert register.loc[first.plan_id, "withdraw_reason"] == "检查组临时调整"
    assert register.loc[second.plan_id, "status"] == "live"
    log = county.audit_log()
    assert ((log["action"] == "plan-withdraw") & (log["actor"] == "planner1")).any()


def test_a_planner_sends_a_gap_community_into_the_draw(county: Store) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/planning.py")
    choice = app.multiselect(key="plan_boost")
    assert choice.options, "the default county has communities with recent clues and no patrols"
    choice.select(choice.options[0])
    app.button[0].click().run()
    assert not app.exception, app.exception
    plan = app.session_state["plan_result"]["plan"]
    [(community, factor)] = plan.inputs["boost"].items()
    assert factor == 2.0 and community in set(county.read("communities")["code"])
