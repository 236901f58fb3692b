"""Logins and roles on the pages, driven with AppTest: who may open what, and what each is refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.clock import TIMEZONE, local_day
from core.settings import load_patrol_settings
from routing.plan import make_plan, verify_plan
from routing.register import register_plan
from store import Store
from tests.helpers import APP, TEST_PASSWORD, add_user, app_county, logged_in

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def county(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    ws = app_county(tmp_path, monkeypatch)
    for name, role in (("planner1", "planner"), ("leader1", "leader")):
        add_user(ws, name, role)
    return ws


def _login_form(username: str, password: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    app.text_input(key="login_user").input(username)
    app.text_input(key="login_password").input(password)
    return app.button[0].click().run()


def test_nobody_sees_a_page_before_logging_in_and_wrong_passwords_lock_the_account(county: Store) -> None:
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert app.header[0].value == "登录" and "login" not in app.session_state
    for page in ("views/planning.py", "views/team.py", "views/grid.py", "views/oversight.py"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            app.switch_page(page)
    app.switch_page("views/public.py").run()  # 一公开 is open to anyone
    assert not app.exception and app.header[0].value == "检查结果公开（一公开）"
    app = _login_form("planner1", "not-the-password")
    assert "用户名或密码不正确" in app.error[0].value and "login" not in app.session_state
    for _ in range(4):
        app = _login_form("planner1", "not-the-password")
    assert "锁定" in app.error[0].value
    app = _login_form("planner1", TEST_PASSWORD)  # the right password waits for the lock to end
    assert "锁定" in app.error[0].value and "login" not in app.session_state
    log = county.audit_log()
    assert (log["action"] == "login-failed").sum() >= 6


def test_an_idle_session_expires(county: Store) -> None:
    app = logged_in("planner1")
    assert app.header[0].value.startswith("不打招呼的巡查计划")
    app.session_state["login_seen"] = datetime.now(TIMEZONE) - timedelta(minutes=31)
    app.run()
    assert "login" not in app.session_state and any("登录已过期" in w.value for w in app.warning)
    assert app.header[0].value == "登录"


def test_each_role_gets_its_own_pages(county: Store) -> None:
    add_user(county, "lead_t1", "team_leader", team_id="T1")
    add_user(county, "wg1", "grid_member", cell_code="360681003002")
    expected = {
        "admin": {"views/accounts.py", "views/oversight.py", "views/grid.py"},
        "planner1": {"views/planning.py", "views/areas.py", "views/rounds.py", "views/teams.py", "views/team.py",
                     "views/grid.py", "views/layers.py", "views/imports.py", "views/casework.py", "views/leaders.py"},
        "leader1": {"views/oversight.py", "views/team.py", "views/grid.py", "views/layers.py", "views/casework.py",
                    "views/leaders.py"},
        "lead_t1": {"views/team.py", "views/grid.py"},
        "wg1": {"views/field.py"},  # a grid member: field reports only, no plan, no route, no layer
    }
    every = {f"views/{p.name}" for p in (ROOT / "views").glob("*.py")} - {"views/public.py"}
    for username, pages in expected.items():
        app = logged_in(username)
        for page in sorted(every):
            if page in pages:
                app.switch_page(page).run()
                assert not app.exception, (username, page, app.exception)
                assert not any("无权" in e.value for e in app.error), (username, page)
            else:
                with pytest.raises(ValueError, match="Could not find a navigation page"):
                    app.switch_page(page)


def test_the_administrator_manages_accounts_on_the_page(county: Store) -> None:
    app = logged_in("admin")
    assert app.header[0].value == "账号管理"
    assert set(app.dataframe[0].value["用户名"]) == {"admin", "planner1", "leader1"}
    app.text_input(key="acc_username").input("zhang")
    app.text_input(key="acc_name").input("张组长")
    app.radio(key="acc_role").set_value("team_leader")
    app.selectbox(key="acc_team").set_value("T2")
    app.text_input(key="acc_password").input("zhang-password-1")
    app.text_input(key="acc_password_again").input("zhang-password-1")
    app.button(key="FormSubmitter:account_add-新增账号").click().run()
    assert not app.exception and any("zhang" in s.value for s in app.success), [e.value for e in app.error]
    app.selectbox(key="acc_pick").set_value("planner1")
    app.button(key="acc_disable").click().run()
    accounts = county.read("accounts").set_index("username")
    assert accounts.loc["zhang", "team_id"] == "T2" and not bool(accounts.loc["planner1", "active"])
    assert "停用" in _login_form("planner1", TEST_PASSWORD).error[0].value
    log = county.audit_log()
    assert ((log["action"] == "account-add") & (log["actor"] == "admin") & log["detail"].str.startswith("zhang")).any()


def test_a_leader_publishes_after_the_window_and_anyone_can_check(county: Store, tmp_path: Path) -> None:
    yesterday = local_day() - pd.Timedelta(days=1)
    done, seed = make_plan(county, yesterday, "day", seed="published", settings=load_patrol_settings(),
                           iterations=30)
    register_plan(county, done, seed=seed, actor="planner1")
    upcoming, later_seed = make_plan(county, local_day() + pd.Timedelta(days=1), "day", seed="upcoming",
                                     settings=load_patrol_settings(), iterations=30)
    register_plan(county, upcoming, seed=later_seed, actor="planner1")
    app = logged_in("leader1", page="views/oversight.py")
    assert app.header[0].value == "登记簿与审计"
    assert set(app.dataframe[0].value["计划编号"]) == {done.plan_id, upcoming.plan_id}
    assert app.selectbox(key="publish_pick").options == [done.plan_id]  # tomorrow's window has not closed
    assert later_seed not in " ".join(str(e.value) for e in [*app.markdown, *app.caption, *app.success])
    app.button(key="publish_button").click().run()
    assert not app.exception and "已公开计划" in app.success[0].value
    assert any((log := county.audit_log())["action"] == "publish")
    assert "leader1" in set(log.loc[log["action"] == "publish", "actor"])
    # the public page: logged out, anyone sees the seed and can check the plan with it
    public = AppTest.from_file(str(APP), default_timeout=60).run()
    public.switch_page("views/public.py").run()
    table = public.dataframe[0].value
    assert list(table["计划编号"]) == [done.plan_id] and list(table["随机种子"]) == ["published"]
    assert verify_plan(done, table["随机种子"].iloc[0]) == []
    assert upcoming.plan_id not in " ".join(map(str, table.to_numpy().ravel()))


def test_disabling_an_account_ends_its_open_session(county: Store) -> None:
    from access.accounts import set_active

    app = logged_in("planner1")
    assert "login" in app.session_state
    set_active(county, "planner1", False, actor="admin")
    app.run()
    assert "login" not in app.session_state and app.header[0].value == "登录"


def test_the_leaders_page_shows_figures_coverage_and_the_report(county: Store) -> None:
    from casework.simulate import simulate

    simulate(county, (local_day() - pd.Timedelta(days=4)).strftime("%Y-%m-%d"), 3, seed=5, iterations=30)
    app = logged_in("leader1")  # a leader lands on the leaders' page
    assert not app.exception, app.exception
    assert app.header[0].value == "巡查工作看板"
    metrics = {m.label: m.value for m in app.metric}
    results = county.read("results")
    assert metrics["检查次数"] == str(int(results["visited"].astype(bool).sum()))
    coverage = app.dataframe[0].value
    assert len(coverage) == len(county.read("communities")) and "覆盖率" in coverage.columns
    gap_table = app.dataframe[1].value
    assert "原因" in gap_table.columns and gap_table["原因"].str.contains("近30天举报").all()
    app.selectbox(key="leaders_level").set_value("townships").run()
    assert len(app.dataframe[0].value) == len(county.read("townships"))
    app.selectbox(key="leaders_shift").set_value("night").run()
    assert not app.exception
    assert any("报表" in b.label for b in app.get("download_button"))
    assert any("演示数据" in i.value for i in app.info)  # simulated days are labelled as such
    app.selectbox(key="leaders_shift").set_value("").run()
    app.selectbox(key="leaders_preset").set_value("range_today").run()  # no results are recorded today
    assert {m.label: m.value for m in app.metric}["检查次数"] == "0"
    app.selectbox(key="leaders_preset").set_value("range_7").run()
    assert {m.label: m.value for m in app.metric}["检查次数"] == metrics["检查次数"]
    from routing.register import withdraw_plan

    plan, seed = make_plan(county, local_day(), "night", seed="w", settings=load_patrol_settings(), iterations=30)
    register_plan(county, plan, seed=seed, actor="planner1")
    withdraw_plan(county, plan.plan_id, reason="人员临时抽调", actor="planner1")
    app.run()
    assert any("撤回重抽的计划（1 个）" in h.value for h in app.subheader)
    assert any("人员临时抽调" in set(d.value.get("原因", [])) for d in app.dataframe)


def test_a_leader_makes_a_flying_check_that_the_planners_page_does_not_show(county: Store, tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fast = (ROOT / "settings" / "patrol.toml").read_text(encoding="utf-8").replace("seconds = 10", "seconds = 1")
    (tmp_path / "fast.toml").write_text(fast, encoding="utf-8")
    monkeypatch.setenv("PATROL_SETTINGS", str(tmp_path / "fast.toml"))
    leader = logged_in("leader1", page="views/oversight.py")
    towns = county.read("townships")
    sites = county.read("risk_sites")
    communities = county.read("communities")
    busiest = sites["community_code"].map(dict(zip(communities["code"], communities["parent_code"],
                                                   strict=True))).value_counts().index[0]
    leader.selectbox(key="flying_town").set_value(busiest)
    next(b for b in leader.button if b.label == "生成并登记飞行检查").click().run(timeout=300)
    assert not leader.exception, leader.exception
    made = [s.value for s in leader.success if "已登记飞行检查" in s.value] + [e.value for e in leader.error]
    assert made and "已登记飞行检查" in made[0], made
    register = county.read("plans")
    flying = register[register["kind"] == "flying"]
    assert len(flying) == 1 and flying["created_by"].iloc[0] == "leader1"
    assert busiest in set(towns["code"])
    planner = logged_in("planner1", page="views/planning.py")
    shown = " ".join(str(d.value.to_string()) for d in planner.dataframe)
    assert flying["plan_id"].iloc[0] not in shown  # kept from the planners until the shift is over
