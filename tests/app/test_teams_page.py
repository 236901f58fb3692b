"""The teams and inspectors page (检查组与人员), driven with AppTest on a private copy of the default county."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import PermissionDeniedError
from routing.teams import rule_problems, save_teams, workspace_teams
from store import Store
from tests.helpers import add_user, app_county, logged_in


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    return app_county(tmp_path, monkeypatch)


def test_the_page_lists_the_teams_checks_the_rules_and_saves_an_audited_write(county: Store) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/teams.py")
    assert not app.exception, app.exception
    assert "满足抽签规则" in app.success[0].value
    app.button(key="teams_save").click().run()
    assert not app.exception, app.exception
    assert "已保存：4 个检查组，16 名检查人员" in app.success[-1].value
    audit = county.audit_log()
    assert list(audit.loc[audit["action"] == "edit-teams", "actor"]) == ["planner1"]


def test_rules_are_checked_as_the_lists_change_and_deactivated_people_are_not_drawn(county: Store) -> None:
    from core.settings import load_patrol_settings

    rules = load_patrol_settings(store=county).teams
    teams, people = workspace_teams(county)
    assert rule_problems(teams, people, rules) == []
    uncertified = people.assign(law_cert=[i < 3 for i in range(len(people))])
    assert any("只有 3 人持执法证，4 个检查组需要 4 人" in p for p in rule_problems(teams, uncertified, rules))
    one_department = people.assign(department="教育局")
    assert any("1 个部门" in p for p in rule_problems(teams, one_department, rules))
    save_teams(county, teams, people, actor="operator",
               active_teams=[True, True, True, False], active_people=[i != 0 for i in range(len(people))])
    kept_teams, kept_people = workspace_teams(county)
    assert list(kept_teams["team_id"]) == list(teams["team_id"])[:3]
    assert people["inspector_id"].iloc[0] not in set(kept_people["inspector_id"])
    assert len(county.read("inspectors")) == len(people)  # taken out of use, not deleted
    from access.roles import Principal, Role

    with pytest.raises(PermissionDeniedError):
        save_teams(county, teams, people, actor=Principal("lead", Role.TEAM_LEADER, team_id="T1"))


def test_a_planner_imports_a_teams_file_and_a_bad_file_changes_nothing(county: Store) -> None:
    add_user(county, "planner1", "planner")
    app = logged_in("planner1", page="views/teams.py")
    good = "组号,名称,驻地经度,驻地纬度,出行方式\nA1,甲组,117.2269,28.2951,汽车\nA2,乙组,117.2251,28.2975,电动车\n"
    app.get("file_uploader")[0].set_value(("../../etc/队伍.csv", good.encode("utf-8"), "text/csv")).run()
    app.button(key="teams_import_go").click().run()
    assert not app.exception, app.exception
    assert "已保存：2 个检查组" in app.success[0].value
    assert list(county.read("teams")["team_id"]) == ["A1", "A2"] and len(county.read("inspectors")) == 16
    bad = "team_id,name,base_lon,base_lat,mode\nB1,丙组,28.2951,117.2269,plane\n"
    app.get("file_uploader")[0].set_value(("bad.csv", bad.encode("utf-8"), "text/csv")).run()
    app.button(key="teams_import_go").click().run()
    errors = [e.value for e in app.error]
    assert any("bad" in e and "plane" in e and "tmp" not in e for e in errors), errors  # named, no server path
    assert list(county.read("teams")["team_id"]) == ["A1", "A2"]  # nothing was used
    actors = county.audit_log().query("action == 'edit-teams'")["actor"]
    assert list(actors) == ["planner1"]
