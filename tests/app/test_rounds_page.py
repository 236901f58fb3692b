"""The double-ten round page (双十轮次), driven with AppTest on a private copy of the default county."""

from __future__ import annotations

from pathlib import Path

import pytest

from routing.schedule import round_overview
from store import Store
from tests.helpers import add_user, app_county, logged_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    ws = app_county(tmp_path, monkeypatch)
    fast = (ROOT / "settings" / "patrol.toml").read_text(encoding="utf-8").replace("seconds = 10", "seconds = 1")
    (tmp_path / "patrol.toml").write_text(fast, encoding="utf-8")
    monkeypatch.setenv("PATROL_SETTINGS", str(tmp_path / "patrol.toml"))
    return ws


def test_a_planner_generates_a_round_and_sees_it_per_day_per_team_and_its_shortfall(county: Store) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/rounds.py")
    assert "尚未登记双十轮次" in app.info[0].value
    app.number_input(key="rounds_days").set_value(2)
    app.multiselect(key="rounds_teams").set_value(["T1"])  # one team cannot cover the county in two days
    app.button[0].click().run(timeout=300)
    assert not app.exception, app.exception
    assert "已登记轮次" in app.success[0].value
    registered = county.read("rounds")
    assert len(registered) == 1 and registered["created_by"].iloc[0] == "planner1"
    round_id = registered["round_id"].iloc[0]
    overview = round_overview(county, round_id)
    assert not overview.met
    assert "未满足双十原则" in app.warning[0].value and str(overview.shortfall_team_days) in app.warning[0].value
    per_day = app.dataframe[0].value
    assert list(per_day.columns) == ["第一检查组", "合计"] and len(per_day) == 2
    assert int(per_day["合计"].sum()) == int(overview.per_day["stops"].sum())
    plans = county.read("plans")
    assert set(plans["round_id"]) == {round_id} and len(plans) == 2
