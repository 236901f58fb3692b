"""Trust in the library: accounts and roles, secrecy of plans, one live plan per shift, a verify that
binds the whole plan, seeds never overwritten, and exports that never carry live formulas."""

from __future__ import annotations

import copy
import csv
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from access.accounts import add_account, authenticate, list_accounts, session_expired, set_active, set_password
from access.plans import audit_log, open_route, publications, publish_plan, routes_for
from access.roles import Principal, Role
from casework.results import StopResult, record_results
from casework.template import results_template
from core.clock import TIMEZONE
from core.errors import InputError, LoginError, PermissionDeniedError
from core.settings import AccessSettings
from core.untrusted import safe_cell, safe_filename
from patrol.cli import main
from routing.plan import make_plan, verify_plan, write_plan_files
from routing.register import plan_seed, plans_register, redraws_per_month, register_plan, withdraw_plan
from store import Store

DAY = "2026-11-23"
BEFORE = datetime(2026, 11, 23, 7, 0, tzinfo=TIMEZONE)  # before the day shift's release (08:00)
DURING = datetime(2026, 11, 23, 9, 0, tzinfo=TIMEZONE)
AFTER = datetime(2026, 11, 23, 18, 0, tzinfo=TIMEZONE)  # the day window (08:30–17:30) has closed
PASSWORD = "correct-horse-7"


def _people(ws: Store) -> dict[str, Principal]:
    """An administrator, a planner, a leader and two team leaders (T1 by team, another by inspector)."""
    add_account(ws, username="admin", password=PASSWORD, role="admin", actor="installer")
    admin = authenticate(ws, "admin", PASSWORD)
    inspector = str(ws.read("inspectors")["inspector_id"].iloc[0])
    for name, role, extra in (("plan1", "planner", {}), ("lead1", "leader", {}),
                              ("t1", "team_leader", {"team_id": "T1"}),
                              ("insp", "team_leader", {"inspector_id": inspector})):
        add_account(ws, username=name, password=PASSWORD, role=role, actor=admin, **extra)
    return {name: authenticate(ws, name, PASSWORD) for name in ("admin", "plan1", "lead1", "t1", "insp")}


@pytest.fixture
def registered(guixi_ws: Store, settings):
    people = _people(guixi_ws)
    plan, seed = make_plan(guixi_ws, DAY, "day", seed="trust", settings=settings, iterations=60,
                           actor=people["plan1"])
    register_plan(guixi_ws, plan, seed=seed, actor=people["plan1"])
    return guixi_ws, people, plan, seed


def test_accounts_hash_passwords_lock_out_and_only_the_administrator_manages_them(guixi_ws: Store) -> None:
    with pytest.raises(InputError, match="第一个账号必须是系统管理员"):
        add_account(guixi_ws, username="first", password=PASSWORD, role="planner", actor="installer")
    people = _people(guixi_ws)
    stored = guixi_ws.read("accounts")
    assert all(h.startswith("$argon2id$") for h in stored["password_hash"])
    assert PASSWORD not in stored.to_csv()
    with pytest.raises(PermissionDeniedError, match="无权"):
        add_account(guixi_ws, username="x2", password=PASSWORD, role="planner", actor=people["plan1"])
    with pytest.raises(PermissionDeniedError):
        list_accounts(guixi_ws, actor=people["lead1"])
    with pytest.raises(InputError, match="至少 10 个字符"):
        add_account(guixi_ws, username="x3", password="short", role="planner", actor=people["admin"])
    with pytest.raises(InputError, match="须绑定"):
        add_account(guixi_ws, username="x4", password=PASSWORD, role="team_leader", actor=people["admin"])
    with pytest.raises(InputError, match="不在本工作区"):
        add_account(guixi_ws, username="x5", password=PASSWORD, role="team_leader", team_id="T99",
                    actor=people["admin"])
    # five wrong passwords lock the account, even against the right one, until the lock ends
    rules = AccessSettings(lockout_attempts=5, lockout_minutes=15)
    for _ in range(4):
        with pytest.raises(LoginError) as wrong:
            authenticate(guixi_ws, "plan1", "wrong-password", now=DURING, settings=rules)
        assert wrong.value.reason == "wrong"
    with pytest.raises(LoginError) as locked:
        authenticate(guixi_ws, "plan1", "wrong-password", now=DURING, settings=rules)
    assert locked.value.reason == "locked" and locked.value.until.startswith("2026-11-23T09:15")
    with pytest.raises(LoginError, match="锁定"):
        authenticate(guixi_ws, "plan1", PASSWORD, now=DURING + timedelta(minutes=10), settings=rules)
    assert authenticate(guixi_ws, "plan1", PASSWORD, now=DURING + timedelta(minutes=16), settings=rules).role \
        == Role.PLANNER
    with pytest.raises(LoginError) as unknown:
        authenticate(guixi_ws, "nobody", PASSWORD)
    assert unknown.value.reason == "wrong"
    # the administrator disables and resets; a person changes their own password; the last admin stays
    set_active(guixi_ws, "lead1", False, actor=people["admin"])
    with pytest.raises(LoginError) as disabled:
        authenticate(guixi_ws, "lead1", PASSWORD)
    assert disabled.value.reason == "disabled"
    with pytest.raises(InputError, match="最后一个系统管理员"):
        set_active(guixi_ws, "admin", False, actor=people["admin"])
    set_password(guixi_ws, "t1", "another-pass-9", actor=people["t1"])
    assert authenticate(guixi_ws, "t1", "another-pass-9").team_id == "T1"
    with pytest.raises(PermissionDeniedError):
        set_password(guixi_ws, "plan1", "another-pass-9", actor=people["t1"])
    log = guixi_ws.audit_log()
    assert {"account-add", "login", "login-failed", "account-disable", "account-password"} <= set(log["action"])
    assert "admin" in set(log.loc[log["action"] == "account-disable", "actor"])
    # sessions end when idle or too long open
    rules = AccessSettings(session_idle_minutes=30, session_max_hours=12)
    assert not session_expired(DURING, DURING, now=DURING + timedelta(minutes=29), settings=rules)
    assert session_expired(DURING, DURING, now=DURING + timedelta(minutes=31), settings=rules)
    assert session_expired(DURING, DURING + timedelta(hours=12), now=DURING + timedelta(hours=12, minutes=1),
                           settings=rules)


def test_team_leaders_see_only_their_released_route_and_nobody_sees_the_seed_early(registered) -> None:
    ws, people, plan, _ = registered
    assert routes_for(ws, people["t1"], day=DAY, now=BEFORE) == []
    with pytest.raises(PermissionDeniedError, match="下发"):
        open_route(ws, people["t1"], plan.plan_id, "T1", now=BEFORE)
    mine = routes_for(ws, people["t1"], day=DAY, now=DURING)
    assert [[t.team_id for t in v.plan.teams] for v in mine] == [["T1"]]
    other = next(t.team_id for t in plan.teams if t.team_id != "T1")
    with pytest.raises(PermissionDeniedError, match="只能查看本组"):
        open_route(ws, people["t1"], plan.plan_id, other, now=DURING)
    # bound to an inspector: the route of whichever team the draw put them in
    drawn_into = next(t.team_id for t in plan.teams if any(m.inspector_id == people["insp"].inspector_id
                                                           for m in t.members))
    assert open_route(ws, people["insp"], plan.plan_id, now=DURING).team_id == drawn_into
    # a team leader records results only for their own team
    stop = plan.team(other).stops[0]
    with pytest.raises(PermissionDeniedError):
        record_results(ws, plan, [StopResult(stop.visit_id, True, stop.arrival)], team_id=other, actor=people["t1"])
    # a planner may look before release, and the audit log says who did
    early = open_route(ws, people["plan1"], plan.plan_id, now=BEFORE)
    assert len(early.plan.teams) == len(plan.teams) and not early.released
    log = audit_log(ws, actor=people["lead1"])
    assert ((log["action"] == "plan-view-before-release") & (log["actor"] == "plan1")).any()
    with pytest.raises(PermissionDeniedError):
        audit_log(ws, actor=people["plan1"])
    # the seed: nobody before the window closes; planners and leaders after; never a team leader
    for who in ("plan1", "lead1", "admin"):
        with pytest.raises(PermissionDeniedError):
            plan_seed(ws, plan.plan_id, actor=people[who], now=DURING)
    assert plan_seed(ws, plan.plan_id, actor=people["lead1"], now=AFTER) == "trust"
    with pytest.raises(PermissionDeniedError):
        plan_seed(ws, plan.plan_id, actor=people["t1"], now=AFTER)
    # 一公开: a leader publishes after the window; anyone checks it
    with pytest.raises(PermissionDeniedError):
        publish_plan(ws, plan.plan_id, actor=people["lead1"], now=DURING)
    with pytest.raises(PermissionDeniedError):
        publish_plan(ws, plan.plan_id, actor=people["plan1"], now=AFTER)
    record = publish_plan(ws, plan.plan_id, actor=people["lead1"], now=AFTER)
    assert record["seed"] == "trust" and list(publications(ws)["plan_id"]) == [plan.plan_id]
    published = {k: str(v) for k, v in record.items()}
    assert verify_plan(plan, "trust", published=published) == []


def test_one_live_plan_per_shift_and_a_withdrawal_needs_a_reason(registered, settings, tmp_path: Path) -> None:
    ws, people, plan, _ = registered
    second, seed2 = make_plan(ws, DAY, "day", seed="redraw", settings=settings, iterations=30, actor="planner")
    with pytest.raises(InputError, match="已有生效计划"):
        register_plan(ws, second, seed=seed2, actor=people["plan1"])
    with pytest.raises(PermissionDeniedError):
        withdraw_plan(ws, plan.plan_id, reason="路线泄露", actor=people["lead1"])
    with pytest.raises(InputError, match="理由"):
        withdraw_plan(ws, plan.plan_id, reason=" ", actor=people["plan1"])
    withdraw_plan(ws, plan.plan_id, reason="检查组成员临时抽调", actor=people["plan1"])
    register_plan(ws, second, seed=seed2, actor=people["plan1"])
    register = plans_register(ws).set_index("plan_id")
    assert register.loc[plan.plan_id, "status"] == "withdrawn"
    assert register.loc[plan.plan_id, "withdraw_reason"] == "检查组成员临时抽调"
    assert register.loc[second.plan_id, "status"] == "live"
    assert redraws_per_month(ws).to_dict("records") == [{"month": "2026-11", "plans": 2, "withdrawn": 1}]
    assert [v.plan.plan_id for v in routes_for(ws, people["lead1"], day=DAY, now=DURING)] == [second.plan_id]
    stop = plan.teams[0].stops[0]
    with pytest.raises(InputError, match="已撤回"):
        record_results(ws, plan, [StopResult(stop.visit_id, True, stop.arrival)], actor="planner")
    # a plan with results cannot be withdrawn
    stop = second.teams[0].stops[0]
    record_results(ws, second, [StopResult(stop.visit_id, True, stop.arrival)], actor="planner")
    with pytest.raises(InputError, match="已录入检查结果"):
        withdraw_plan(ws, second.plan_id, reason="再抽一次", actor=people["plan1"])
    # `plan --out` never overwrites a seed
    write_plan_files(second, seed2, tmp_path / "out")
    with pytest.raises(InputError, match="never overwritten"):
        write_plan_files(plan, "trust", tmp_path / "out")
    assert (tmp_path / "out" / "SECRET_seed.txt").read_text(encoding="utf-8").startswith(seed2)
    assert (tmp_path / "out" / "SECRET_seed.txt").stat().st_mode & 0o077 == 0


def _edits(plan: dict) -> dict[str, dict]:
    """Each edit a person holding the file might make (issue 15), applied to a copy."""
    out: dict[str, dict] = {}

    def edit(name: str, change) -> None:
        doc = copy.deepcopy(plan)
        change(doc)
        out[name] = doc

    t0, t1 = plan["teams"][0]["team_id"], plan["teams"][1]["team_id"]
    drawn = next(s for s in plan["teams"][0]["stops"] if not s["mandatory"])
    index = plan["teams"][0]["stops"].index(drawn)
    edit("coordinates and name", lambda d: d["teams"][0]["stops"][0].update(lon=d["teams"][0]["stops"][0]["lon"] + 0.01,
                                                                               name="别处"))
    edit("reordered", lambda d: d["teams"][0]["stops"].reverse())
    edit("drawn stop deleted", lambda d: d["teams"][0]["stops"].pop(index))
    edit("moved to another team", lambda d: d["teams"][1]["stops"].append(d["teams"][0]["stops"].pop(index)))
    edit("duplicated", lambda d: d["teams"][0]["stops"].append(copy.deepcopy(d["teams"][0]["stops"][0])))

    def swap_first(d: dict) -> None:
        a, b = d["teams"][0]["stops"], d["teams"][1]["stops"]
        a[0], b[0] = b[0], a[0]
    edit("first stops swapped", swap_first)
    edit("date and plan id", lambda d: d.update(date="2026-11-24", plan_id=d["plan_id"].replace("20261123",
                                                                                                   "20261124")))
    edit("member renamed", lambda d: d["teams"][0]["members"][0].update(name="张三"))
    edit("reason and mandatory flag", lambda d: d["teams"][0]["stops"][index].update(reason="随便", mandatory=True))
    edit("probabilities", lambda d: (d["teams"][0]["stops"][index].update(probability=0.01),
                                     d["probabilities"].update({drawn["visit_id"]: 0.01})))
    edit("input weight", lambda d: d["inputs"]["sites"][0].__setitem__(1, 0.99))
    edit("arrival time", lambda d: d["teams"][0]["stops"][0].update(arrival="23:59"))
    assert {t0, t1}
    return out


def test_verify_refuses_every_edit_and_names_the_difference(registered, tmp_path: Path, capsys) -> None:
    ws, _, plan, seed = registered
    document = plan.to_json()
    assert verify_plan(document, seed) == []
    from routing.register import registered_plan

    on_record = registered_plan(ws, plan.plan_id)
    assert verify_plan(document, seed, registered=on_record) == []
    for name, edited in _edits(document).items():
        assert verify_plan(edited, seed), f"verify confirmed an edited plan ({name})"
        # even if the editor recomputes the file's own digest, the register still tells
        from routing.plan import content_digest

        forged = {**edited, "plan_digest": content_digest(edited)}
        problems = verify_plan(forged, seed, registered=on_record)
        assert any("differs from the registered plan at" in p for p in problems), name
    moved = _edits(document)["coordinates and name"]
    problems = verify_plan(moved, seed, registered=on_record)
    assert any("teams[T1].stops[1].lon" in p or ".stops[1].lon" in p for p in problems), problems
    # the same from the command line, against the workspace's register
    path = tmp_path / "edited.json"
    path.write_text(json.dumps({**moved, "plan_digest": content_digest(moved)}, ensure_ascii=False), "utf-8")
    assert main(["verify", str(path), "--seed", seed, "--workspace", ws.location]) == 1
    assert "differs from the registered plan" in capsys.readouterr().out


def test_exports_write_formulas_as_text_and_client_names_never_become_paths(registered, tmp_path: Path) -> None:
    assert safe_filename("../../somewhere/x.csv") == "x.csv"
    assert safe_filename("/etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\a\\名单.xlsx") == "名单.xlsx"
    assert safe_filename("..") == "upload" and safe_filename("") == "upload"
    assert [safe_cell(v) for v in ("=1+1", "+86", "-x", "@SUM(A1)", "\tx", "普通", 5)] == \
        ["'=1+1", "'+86", "'-x", "'@SUM(A1)", "'\tx", "普通", 5]
    ws, _, plan, _ = registered
    from dataclasses import replace

    team = plan.teams[0]
    evil = replace(team, stops=(replace(team.stops[0], name='=HYPERLINK("http://evil.example","点击")'),
                                *team.stops[1:]))
    book = load_workbook(__import__("io").BytesIO(results_template(replace(plan, teams=(evil, *plan.teams[1:])),
                                                                   team.team_id)))
    cell = book.active.cell(row=3, column=4)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")  # text, not a formula
    # rejected rows go back with the formula defused
    from layers.importer import import_file, write_rejects

    source = tmp_path / "名单.csv"
    source.write_text('机构名称,状态,经度,纬度,坐标系\n"=HYPERLINK(""http://evil.example"")",不存在的状态,117.2,28.3,WGS84\n',
                      encoding="utf-8")
    result = import_file(ws, "institutions", source, actor="tester")
    rejected = write_rejects(result, source)
    assert rejected is not None
    rows = list(csv.reader(rejected.read_text(encoding="utf-8-sig").splitlines()))
    assert any(v.startswith("'=HYPERLINK") for row in rows for v in row)
    assert not any(v.startswith("=") for row in rows for v in row)


def test_the_cli_manages_users_and_a_round_keeps_its_seed(guixi_ws: Store, tmp_path: Path, capsys) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    ws = guixi_ws.location
    assert main(["user", "add", ws, "boss", "--role", "admin", "--password-file", str(secret)]) == 0
    assert main(["user", "add", ws, "p1", "--role", "planner", "--password-file", str(secret)]) == 0
    assert main(["user", "disable", ws, "p1"]) == 0
    assert main(["user", "list", ws]) == 0
    listing = capsys.readouterr().out
    assert "boss" in listing and "disabled" in listing and PASSWORD not in listing
    assert main(["user", "add", ws, "p1", "--role", "planner", "--password-file", str(secret)]) == 2
    assert "已存在" in capsys.readouterr().err
    out = tmp_path / "round"
    assert main(["schedule", ws, "--from", "2026-12-07", "--days", "2", "--seconds", "1", "--out", str(out)]) in (0, 1)
    record = json.loads((out / "schedule.json").read_text(encoding="utf-8"))["round"]
    from routing.schedule import verify_round

    seed = (out / "SECRET_round_seed.txt").read_text(encoding="utf-8").split()[0]
    assert verify_round(record, seed) == []
    assert verify_round(record, "wrong")
    register = plans_register(guixi_ws)
    assert set(register["round_id"]) == {record["round_id"]} and len(register) == 2
    assert guixi_ws.read("rounds")["commitment"].iloc[0] == record["commitment"]
    # a second round over the same days is refused whole: nothing of it is written
    assert main(["schedule", ws, "--from", "2026-12-08", "--days", "2", "--seconds", "1"]) == 2
    assert len(plans_register(guixi_ws)) == 2


def test_workspace_copies_and_the_data_home_are_the_owners_only(private_data_home: Path) -> None:
    from store.home import working_workspaces

    copies = working_workspaces()
    assert copies and all(p.stat().st_mode & 0o077 == 0 for p in copies)
    assert private_data_home.stat().st_mode & 0o077 == 0


def test_single_sign_on_maps_the_providers_identity_to_an_account(guixi_ws: Store) -> None:
    from access.accounts import authenticate_identity

    people = _people(guixi_ws)
    add_account(guixi_ws, username="wang", password=PASSWORD, role="leader", sso_identity="Wang@Bureau.gov.cn",
                actor=people["admin"])
    with pytest.raises(InputError, match="已绑定其他账号"):
        add_account(guixi_ws, username="wang2", password=PASSWORD, role="leader", sso_identity="wang@bureau.gov.cn",
                    actor=people["admin"])
    assert authenticate_identity(guixi_ws, "wang@bureau.gov.cn").username == "wang"
    with pytest.raises(LoginError) as unknown:
        authenticate_identity(guixi_ws, "stranger@example.org")
    assert unknown.value.reason == "no_identity"
    set_active(guixi_ws, "wang", False, actor=people["admin"])
    with pytest.raises(LoginError, match="停用"):
        authenticate_identity(guixi_ws, "wang@bureau.gov.cn")
    log = guixi_ws.audit_log()
    assert (log["detail"] == "wang: single sign-on as wang@bureau.gov.cn").any()


def test_a_team_leaders_errors_and_view_name_nothing_of_other_teams(registered) -> None:
    ws, people, plan, _ = registered
    other = next(t for t in plan.teams if t.team_id != "T1")
    with pytest.raises(InputError) as refused:
        record_results(ws, plan, [StopResult(other.stops[0].visit_id, True, other.stops[0].arrival),
                                  StopResult("I:NO-SUCH-SITE", True, "09:00")], actor=people["t1"])
    message = str(refused.value)
    assert other.name not in message and other.team_id not in message
    assert not any(s.visit_id in message for s in other.stops[1:])
    view = open_route(ws, people["t1"], plan.plan_id, now=DURING).plan
    own = {s.visit_id for s in view.teams[0].stops}
    assert [t.team_id for t in view.teams] == ["T1"] and not view.inputs and not view.unplanned
    assert set(view.draw["sites"]) <= own and set(view.probabilities) <= own
    assert list(view.draw["teams"]) == ["T1"] and not view.warnings


def test_verify_reports_malformed_files_and_the_cli_refuses_bad_input_in_one_line(registered, tmp_path: Path,
                                                                                capsys) -> None:
    ws, _, plan, seed = registered
    for change in (lambda d: d["teams"][0]["stops"][0].update(probability="abc"),
                   lambda d: d["teams"][0]["stops"][0].pop("visit_id"),
                   lambda d: d.update(teams=["T1"]), lambda d: d.update(draw=[]),
                   lambda d: d["inputs"].update(mandatory=5)):
        doc = copy.deepcopy(plan.to_json())
        change(doc)
        assert verify_plan(doc, seed), "a malformed plan was confirmed"
    good = tmp_path / "plan.json"
    good.write_text(json.dumps(plan.to_json(), ensure_ascii=False), encoding="utf-8")
    bad_csv = tmp_path / "published.csv"
    bad_csv.write_bytes(b"plan_id,seed\n" + "计划".encode("gb18030") + b",x,extra\n")
    assert main(["verify", str(good), "--seed", seed, "--published", str(bad_csv)]) == 2
    extra = tmp_path / "extra.csv"
    extra.write_text(f"plan_id,seed\n{plan.plan_id},{seed},extra\n", encoding="utf-8")
    assert main(["verify", str(good), "--published", str(extra)]) == 0
    gbk = tmp_path / "pw.txt"
    gbk.write_bytes("密码密码密码".encode("gb18030"))
    assert main(["user", "add", ws.location, "x9", "--role", "planner", "--password-file", str(gbk)]) == 2
    assert main(["publish", ws.location, "--out", str(tmp_path / "new" / "folder" / "published.csv")]) == 0
    assert (tmp_path / "new" / "folder" / "published.csv").is_file()
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not UTF-8" in err
    # the seed from the command line: refused before the window closes (today is after 2026-11-23 here)
    assert main(["seed", ws.location, plan.plan_id]) == 0
    assert capsys.readouterr().out.strip() == seed


def test_a_disabled_or_reset_account_ends_its_open_sessions(guixi_ws: Store) -> None:
    from access.accounts import password_stamp

    people = _people(guixi_ws)
    before = password_stamp(guixi_ws, "plan1")
    assert before
    set_password(guixi_ws, "plan1", "a-new-password-2", actor=people["admin"])
    assert password_stamp(guixi_ws, "plan1") not in (None, before)
    set_active(guixi_ws, "plan1", False, actor=people["admin"])
    assert password_stamp(guixi_ws, "plan1") is None


def test_a_history_hides_a_route_not_yet_released_and_marks_a_withdrawn_plan(guixi_ws: Store, settings) -> None:
    from casework.history import _planned

    later = datetime.now(TIMEZONE) + timedelta(days=2)
    plan, seed = make_plan(guixi_ws, later.strftime("%Y-%m-%d"), "day", seed="later", settings=settings,
                           iterations=30)
    register_plan(guixi_ws, plan, seed=seed, actor="planner")
    stop = plan.teams[0].stops[0]
    [row] = _planned(guixi_ws, stop.visit_id)
    assert "尚未下发" in row["detail"] and stop.arrival not in row["detail"]
    withdraw_plan(guixi_ws, plan.plan_id, reason="测试撤回", actor="planner")
    assert _planned(guixi_ws, stop.visit_id)[0]["event"] == "列入计划（计划已撤回）"


def test_a_flying_check_is_a_leaders_plan_for_teams_from_elsewhere_kept_from_the_planners(registered,
                                                                                           settings) -> None:
    from shapely.geometry import Point

    from access.plans import visible_register

    ws, people, regular, _ = registered
    teams = ws.read("teams")
    towns = ws.read("townships")
    base_town = {t.team_id: next((z.code for z in towns.itertuples() if z.geometry.contains(Point(t.base_lon,
                                                                                                  t.base_lat))), "")
                 for t in teams.itertuples()}
    sites = ws.read("risk_sites")
    communities = ws.read("communities")
    town_of = dict(zip(communities["code"], communities["parent_code"], strict=True))
    busy = sites["community_code"].map(town_of).value_counts()
    target = next(code for code in busy.index if list(base_town.values()).count(code) < len(teams))
    outside = teams[[base_town[t] != target for t in teams["team_id"]]].drop(columns="geometry")
    people_df = ws.read("inspectors").assign(law_cert=lambda f: f["law_cert"].astype(str).isin(["yes", "是"]))
    with pytest.raises(PermissionDeniedError):  # a planner makes no flying check
        make_plan(ws, DAY, "night", teams=outside, inspectors=people_df, seed="fly", settings=settings,
                  iterations=30, flying_township=target, actor=people["plan1"])
    home = next(code for code in base_town.values() if code)  # a township some team is based in
    with pytest.raises(InputError, match="外乡镇"):
        make_plan(ws, DAY, "night", teams=teams.drop(columns="geometry"), inspectors=people_df, seed="fly",
                  settings=settings, iterations=30, flying_township=home, actor=people["lead1"])
    with pytest.raises(InputError):  # the day shift's own plan has every inspector out already: none is left
        make_plan(ws, DAY, "day", teams=outside, inspectors=people_df, seed="fly", settings=settings,
                  iterations=30, flying_township=target, actor=people["lead1"])
    plan, seed = make_plan(ws, DAY, "night", teams=outside, inspectors=people_df, seed="fly", settings=settings,
                           iterations=30, flying_township=target, actor=people["lead1"])
    assert plan.inputs["kind"] == "flying" and plan.inputs["township"] == target
    assert plan.summary.visits > 0
    assert all(town_of[s.community_code] == target for _, s in plan.stops())  # only the township's sites
    register_plan(ws, plan, seed=seed, actor=people["lead1"])  # beside the county's own plan of the shift
    assert verify_plan(plan, seed) == []
    night_over = datetime(2026, 11, 23, 22, 0, tzinfo=TIMEZONE)  # the night window (18:00–21:30) has closed
    for moment in (BEFORE, DURING, AFTER):  # kept from the planners until the shift is over
        assert plan.plan_id not in {v.plan.plan_id for v in routes_for(ws, people["plan1"], day=DAY, now=moment)}
        assert plan.plan_id not in set(visible_register(ws, people["plan1"], now=moment)["plan_id"])
        with pytest.raises(PermissionDeniedError, match="飞行检查"):
            open_route(ws, people["plan1"], plan.plan_id, now=moment)
        assert plan.plan_id in {v.plan.plan_id for v in routes_for(ws, people["lead1"], day=DAY, now=moment)}
    assert regular.plan_id in set(visible_register(ws, people["plan1"], now=DURING)["plan_id"])
    assert plan.plan_id in {v.plan.plan_id for v in routes_for(ws, people["plan1"], day=DAY, now=night_over)}
    assert open_route(ws, people["plan1"], plan.plan_id, now=night_over).plan.plan_id == plan.plan_id
    refused = ws.audit_log()
    assert ((refused["action"] == "plan-view-refused") & refused["detail"].str.contains("flying")).sum() == 3
    with pytest.raises(PermissionDeniedError):  # nor may a grid member list the register
        visible_register(ws, Principal("wg", Role.GRID_MEMBER, cell_code="360681003002"))
