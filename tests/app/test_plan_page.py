"""The planning page, driven with AppTest on a private copy of the default county."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from routing.plan import verify_plan
from store import Store
from tests.helpers import on_backend

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    target = tmp_path / "county.gpkg"
    shutil.copy2(ROOT / "data" / "guixi_360681.gpkg", target)
    ws = on_backend(target)
    monkeypatch.setenv("PATROL_WORKSPACE", ws.location)
    monkeypatch.setenv("PATROL_SETTINGS", str(_fast_settings(tmp_path)))
    return ws


def _fast_settings(tmp_path: Path) -> Path:
    text = (ROOT / "settings" / "patrol.toml").read_text(encoding="utf-8").replace("seconds = 10", "seconds = 1")
    path = tmp_path / "patrol.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("shift", ["day", "night"])
def test_generate_a_plan_and_see_routes_timeline_and_probabilities(county: Store, shift: str) -> None:
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=90).run()
    app.radio(key="page").set_value("plan_page").run()
    assert not app.exception
    assert "四不两直" in app.header[0].value
    app.radio(key="plan_shift").set_value(shift)  # inside the form: sent with the submit
    app.button[0].click().run()
    assert not app.exception, app.exception
    result = app.session_state["plan_result"]
    plan, seed = result["plan"], result["seed"]
    assert verify_plan(plan, seed) == []
    assert plan.shift == shift and plan.summary.visits > 0
    assert "计划" in app.success[0].value
    assert app.text_input(key="plan_commitment_text").value == plan.commitment
    timelines = [d.value for d in app.dataframe]
    assert len(timelines) >= len([tm for tm in plan.teams if tm.stops])
    assert {"序号", "到达", "抽中概率"} <= set(timelines[0].columns)
    register = county.read("plans")
    assert list(register["plan_id"]) == [plan.plan_id]


def test_no_teams_selected_is_an_error_not_a_crash(county: Store) -> None:
    app = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    app.radio(key="page").set_value("plan_page").run()
    app.multiselect(key="plan_teams").set_value([])
    app.button[0].click().run()
    assert not app.exception and app.error
