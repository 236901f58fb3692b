"""双随机 team draws and the team/inspector files."""

from __future__ import annotations

import pandas as pd
import pytest

from core.errors import InputError
from core.settings import TeamSettings
from routing.teams import avoided_communities, draw_teams, read_inspectors, read_teams, team_pairs


def _people(n: int = 12, certified: int = 4) -> pd.DataFrame:
    departments = ["教育局", "市场监管局", "公安局"]
    return pd.DataFrame(
        {
            "inspector_id": [f"P{i:02d}" for i in range(n)],
            "name": [f"人{i}" for i in range(n)],
            "department": [departments[i % 3] for i in range(n)],
            "law_cert": [i < certified for i in range(n)],
            "home_community": ["C1" if i == 5 else "" for i in range(n)],
            "responsible_communities": ["C2" if i == 6 else "" for i in range(n)],
        }
    )


RULES = TeamSettings(size=3, min_departments=2, min_law_cert=1)


@pytest.mark.parametrize("seed", ["a", "b", "c", "d", "e"])
def test_every_team_mixes_departments_and_has_a_certificate(seed):
    people = _people()
    teams = draw_teams(["T1", "T2", "T3", "T4"], people, seed, set(), RULES)
    byid = people.set_index("inspector_id")
    for members in teams.values():
        assert len(members) == 3
        assert byid.loc[members, "department"].nunique() >= 2
        assert byid.loc[members, "law_cert"].any()
    flat = [m for ms in teams.values() for m in ms]
    assert len(flat) == len(set(flat))


def test_no_pair_rides_together_on_consecutive_days():
    people = _people()
    yesterday = draw_teams(["T1", "T2", "T3", "T4"], people, "day1", set(), RULES)
    pairs = team_pairs(yesterday)
    for seed in ("day2", "x", "y"):
        today = draw_teams(["T1", "T2", "T3", "T4"], people, seed, pairs, RULES)
        assert not team_pairs(today) & pairs


def test_draw_is_random_but_reproducible():
    people = _people()
    assert draw_teams(["T1", "T2"], people, "s", set(), RULES) == draw_teams(["T1", "T2"], people, "s", set(), RULES)
    draws = {str(draw_teams(["T1", "T2"], people, f"s{i}", set(), RULES)) for i in range(10)}
    assert len(draws) > 5


def test_impossible_requests_say_why():
    with pytest.raises(InputError, match="law-enforcement certificate"):
        draw_teams(["T1", "T2", "T3"], _people(certified=2), "s", set(), RULES)
    one_department = _people().assign(department="教育局")
    with pytest.raises(InputError, match="department"):
        draw_teams(["T1"], one_department, "s", set(), RULES)
    with pytest.raises(InputError, match="cannot make"):
        draw_teams(["T1", "T2", "T3"], _people(n=5, certified=5), "s", set(), RULES)


def test_members_home_and_duty_communities_are_avoided():
    people = _people()
    assert avoided_communities(["P05", "P06", "P00"], people) == ["C1", "C2"]


def test_team_and_inspector_files_are_checked_row_by_row(guixi_ws, tmp_path):
    teams = tmp_path / "teams.csv"
    teams.write_text(
        "team_id,name,base_lon,base_lat,mode\nA,甲组,117.2269,28.2951,汽车\nA,乙组,28.29,117.22,bus\n"
        "C,丙组,abc,28.29,walk\n",
        encoding="gbk",
    )
    with pytest.raises(InputError) as info:
        read_teams(teams, guixi_ws)
    text = str(info.value)
    assert "row 3, team_id: A appears twice" in text
    assert "row 3, mode: 'bus'" in text and "swapped" in text
    assert "row 4, base_lon/base_lat" in text
    teams.write_text("队伍编号,队伍名称,驻地经度,驻地纬度,出行方式\nA,甲组,117.2269,28.2951,电动车\n", encoding="gbk")
    assert read_teams(teams, guixi_ws).iloc[0]["mode"] == "ebike"
    people = tmp_path / "inspectors.csv"
    people.write_text(
        "inspector_id,name,department,law_cert,home_community\nP1,张三,教育局,是,雄石\nP2,李四,,maybe,火星社区\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        read_inspectors(people, guixi_ws)
    text = str(info.value)
    assert "row 3, department: empty" in text and "row 3, law_cert: 'maybe'" in text
    assert "row 3, home_community: '火星社区'" in text
    people.write_text(
        "inspector_id,name,department,law_cert,home_community\nP1,张三,教育局,是,雄石\n", encoding="utf-8"
    )
    row = read_inspectors(people, guixi_ws).iloc[0]
    assert row["law_cert"] and row["home_community"] == "360681003002"


def test_demo_teams_work_for_any_number_of_teams(guixi_ws):
    from routing.teams import chinese_number, demo_teams

    teams, inspectors = demo_teams(guixi_ws, n_teams=24, n_inspectors=96)
    assert len(teams) == 24 and teams["team_id"].is_unique and teams["name"].is_unique
    assert teams["name"].iloc[19] == "第二十检查组" and teams["name"].iloc[23] == "第二十四检查组"
    assert len(inspectors) == 96 and inspectors["inspector_id"].is_unique
    assert [chinese_number(n) for n in (10, 11, 20, 105, 110)] == ["十", "十一", "二十", "一百零五", "一百一十"]


def test_teams_are_imported_into_the_workspace_from_files_checked_row_by_row(guixi_ws, tmp_path, capsys):
    from patrol.cli import main
    from routing.teams import import_teams, workspace_teams

    good = tmp_path / "teams.csv"
    good.write_text("组号,名称,驻地经度,驻地纬度,出行方式\nA1,甲组,117.2269,28.2951,汽车\nA2,乙组,117.2251,28.2975,电动车\n",
                    encoding="utf-8")
    before_people = workspace_teams(guixi_ws)[1]
    teams, people, problems = import_teams(guixi_ws, teams_path=good, actor="科员")
    assert list(teams["team_id"]) == ["A1", "A2"] and list(teams["mode"]) == ["car", "ebike"]
    assert len(people) == len(before_people) and problems == []  # the inspectors stay as they were
    assert guixi_ws.audit_log().iloc[-1]["actor"] == "科员"
    bad = tmp_path / "bad.csv"
    bad.write_text("team_id,name,base_lon,base_lat,mode\nB1,丙组,28.2951,117.2269,plane\n", encoding="utf-8")
    assert main(["teams", guixi_ws.location, "--teams", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 2, mode: 'plane'" in err and "look swapped" in err
    assert list(workspace_teams(guixi_ws)[0]["team_id"]) == ["A1", "A2"]  # nothing was used


def test_the_draw_keeps_a_team_free_to_enter_each_community_with_mandatory_work():
    people = _people().assign(home_community=["C9" if i in (0, 1, 2, 3) else "" for i in range(12)])
    rules = TeamSettings(size=3, min_departments=2, min_law_cert=0)
    teams = ["T1", "T2", "T3", "T4"]

    def blocked(draw):
        return all(any(p in {"P00", "P01", "P02", "P03"} for p in members) for members in draw.values())

    plain = [draw_teams(teams, people, f"s{i}", set(), rules) for i in range(60)]
    assert any(blocked(d) for d in plain), "the test needs draws that shut every team out of C9"
    kept = [draw_teams(teams, people, f"s{i}", set(), rules, must_enter={"C9"}) for i in range(60)]
    assert not any(blocked(d) for d in kept)
    # where no draw can do it (everyone lives in C9), the rules still hold and the plan says why
    everyone = people.assign(home_community="C9")
    assert draw_teams(teams, everyone, "s", set(), rules, must_enter={"C9"}) == draw_teams(teams, everyone, "s",
                                                                                         set(), rules)
