"""Recording results and the closed loop: a clue from plan to answer, a case from notice to 销号."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from casework.history import case_history, clue_history
from casework.results import (
    StopResult,
    cases_table,
    read_results_file,
    record_results,
    results_table,
)
from casework.template import results_template
from core.errors import InputError
from patrol.cli import main
from routing.plan import make_plan, verify_plan, write_plan_files
from routing.register import register_plan
from store import Store

DAY = "2026-11-23"


def _plan(ws: Store, day: str, settings: dict, seed: str) -> dict:
    plan, seed = make_plan(ws, day, "day", seed=seed, settings=settings, iterations=60)
    register_plan(ws, plan, seed=seed, actor="planner")
    return plan


def _stops(plan: dict, kind: str) -> list[tuple[dict, dict]]:
    """The open stops of ``kind`` (a covert one records no notice: tests of notices use open ones)."""
    return [(team, stop) for team in plan.teams for stop in team.stops if stop.kind == kind and not stop.covert]


def test_a_clue_goes_from_plan_to_handled_with_its_answer_and_history(guixi_ws, settings):
    plan = _plan(guixi_ws, DAY, settings, "clue-loop")
    team, stop = _stops(plan, "clue")[0]
    clue_id = stop.visit_id[2:]
    result = StopResult(
        stop.visit_id,
        True,
        "09:40",
        finding="not_confirmed",
        checklist={"permits": "ok", "video": "ok"},
        problems="",
        action="none",
    )
    summary = record_results(guixi_ws, plan, [result], team_id=team.team_id, actor="组长")
    assert summary.saved == 1 and summary.clues_handled == [clue_id]
    clue = guixi_ws.read("clues").set_index("clue_id").loc[clue_id]
    assert clue["status"] == "handled"
    assert "不属实" in clue["answer"] and team.name in clue["answer"]

    writes = len(guixi_ws.audit_log())
    again = record_results(guixi_ws, plan, [result], team_id=team.team_id, actor="组长")
    assert (again.saved, again.unchanged) == (0, 1)
    assert len(guixi_ws.audit_log()) == writes  # nothing written the second time

    history = clue_history(guixi_ws, clue_id)
    assert list(history["event"])[:1] == ["受理"]
    for event in ("列入计划", "记录检查结果", "状态：已处置"):
        assert event in set(history["event"]), history
    tomorrow, _ = make_plan(guixi_ws, "2026-11-24", "day", seed="next", settings=settings, iterations=30)
    assert stop.visit_id not in {s.visit_id for t in tomorrow.teams for s in t.stops}


def test_a_rectification_case_is_revisited_and_closed_only_when_fixed(guixi_ws, settings):
    plan = _plan(guixi_ws, DAY, settings, "case-loop")
    team, stop = (_stops(plan, "institution") or _stops(plan, "place"))[0]
    notice = StopResult(
        stop.visit_id,
        True,
        "10:05",
        checklist={"fire": "problem", "video": "problem"},
        problems="安全出口堵塞；监控未保存 90 天",
        action="rectify",
        rectify_days=3,
    )
    summary = record_results(guixi_ws, plan, [notice], team_id=team.team_id, actor="tester")
    [case_id] = summary.cases_opened
    case = cases_table(guixi_ws).set_index("case_id").loc[case_id]
    assert (case["status"], case["due"], case["revisit_due"]) == ("rectifying", "2026-11-26", "2026-11-26")

    # not due yet the day before; drawn within the window (四不两直); mandatory on the window's last day
    early, _ = make_plan(guixi_ws, "2026-11-25", "day", seed="early", settings=settings, iterations=30)
    assert f"R:{case_id}" not in {s.visit_id for t in early.teams for s in t.stops}
    window = settings.cases.revisit_window_days
    on_due_day, _ = make_plan(guixi_ws, "2026-11-26", "day", seed="due-day", settings=settings, iterations=30)
    assert [v for v, _ in on_due_day.inputs["revisit_hazards"]] == [f"R:{case_id}"]
    assert on_due_day.inputs["revisit_hazards"][0][1] == pytest.approx(1 / window)
    assert verify_plan(on_due_day, "due-day") == []
    last_day = (pd.Timestamp("2026-11-26") + pd.Timedelta(days=window - 1)).strftime("%Y-%m-%d")
    revisit_plan = _plan(guixi_ws, last_day, settings, "revisit-1")
    [(r_team, r_stop)] = [(t, s) for t, s in _stops(revisit_plan, "revisit") if s.visit_id == f"R:{case_id}"]
    assert r_stop.mandatory

    # an ordinary visit to the same place finding nothing wrong does not close the case
    same_site = [(t, s) for t, s in _stops(revisit_plan, stop.kind) if s.visit_id == stop.visit_id]
    not_fixed = StopResult(f"R:{case_id}", True, "14:00", finding="not_fixed", problems="安全出口仍堵塞")
    record_results(guixi_ws, revisit_plan, [not_fixed], team_id=r_team.team_id, actor="tester")
    case = cases_table(guixi_ws).set_index("case_id").loc[case_id]
    recheck = (pd.Timestamp(last_day) + pd.Timedelta(days=7)).strftime("%Y-%m-%d")
    assert case["status"] == "rectifying" and case["revisit_due"] == recheck and case["revisits"] == 1
    if same_site:
        t, s = same_site[0]
        record_results(
            guixi_ws, revisit_plan, [StopResult(s.visit_id, True, "15:00")], team_id=t.team_id, actor="tester"
        )
        assert cases_table(guixi_ws).set_index("case_id").at[case_id, "status"] == "rectifying"

    second = _plan(guixi_ws, (pd.Timestamp(recheck) + pd.Timedelta(days=window - 1)).strftime("%Y-%m-%d"),
                   settings, "revisit-2")
    [(r_team, _)] = [(t, s) for t, s in _stops(second, "revisit") if s.visit_id == f"R:{case_id}"]
    fixed = StopResult(f"R:{case_id}", True, "09:15", finding="fixed", checklist={"fire": "ok", "video": "ok"})
    closed = record_results(guixi_ws, second, [fixed], team_id=r_team.team_id, actor="tester")
    assert closed.cases_closed == [case_id]
    after, _ = make_plan(guixi_ws, "2026-12-20", "day", seed="after", settings=settings, iterations=30)
    assert f"R:{case_id}" not in {s.visit_id for t in after.teams for s in t.stops}

    events = list(case_history(guixi_ws, case_id)["event"])
    assert events.count("列入计划") == 2 and events[-1] == "整改销号"
    assert events.index("下达整改通知") < events.index("列入计划")


def test_corrections_and_bad_results_are_explained_and_nothing_is_saved(guixi_ws, settings):
    plan = _plan(guixi_ws, DAY, settings, "bad")
    team, stop = plan.teams[0], plan.teams[0].stops[0]
    other = plan.teams[1].stops[0]
    bad = [
        StopResult("I:not-planned", True, "09:00", row=3),
        StopResult(other.visit_id, True, "09:00", row=4),
        StopResult(stop.visit_id, False, row=5),
        StopResult(stop.visit_id, True, "25:99", row=6),
    ]
    with pytest.raises(InputError) as caught:
        record_results(guixi_ws, plan, bad, team_id=team.team_id, actor="tester")
    text = str(caught.value)
    assert "nothing was saved" in text
    assert "row 3: stop 'I:not-planned' is not in plan" in text
    assert f"row 4: stop {other.visit_id} is on {plan.teams[1].name}" in text
    assert "row 5:" in text and "say why" in text
    assert "row 6: stop" in text and "appears twice" in text
    assert not guixi_ws.has_layer("results")

    if stop.kind == "clue":
        with pytest.raises(InputError, match="属实 or 不属实"):
            record_results(
                guixi_ws, plan, [StopResult(stop.visit_id, True, "09:00")], team_id=team.team_id, actor="tester"
            )


def test_spreadsheet_round_trip_and_cli(guixi_ws, settings, tmp_path, capsys):
    plan = _plan(guixi_ws, DAY, settings, "sheet")
    write_plan_files(plan, "seed", tmp_path / "plan")
    # a team whose first stop is an open (明察) inspection and second no 回头看: the sheet records both
    team = next(t for t in plan.teams if not t.stops[0].covert and t.stops[0].kind != "revisit"
                and t.stops[1].kind != "revisit")
    template = tmp_path / "t1.xlsx"
    template.write_bytes(results_template(plan, team.team_id))
    book = load_workbook(template)
    sheet = book.active
    headers = [c.value for c in sheet[2]]
    first = team.stops[0]
    row = 3
    assert sheet.cell(row, headers.index("任务编号") + 1).value == first.visit_id
    values = {
        "是否检查": "是",
        "检查时间": "09:35",
        "证照": "合格",
        "收费与资金监管": "有问题",
        "发现问题": "预收费超过 5000 元",
        "处理措施": "整改通知",
        "核查结论": "属实" if first.kind == "clue" else "",
    }
    for header, value in values.items():
        sheet.cell(row, headers.index(header) + 1).value = value
    second = team.stops[1]
    sheet.cell(4, headers.index("是否检查") + 1).value = "否"
    sheet.cell(4, headers.index("未检查原因") + 1).value = "大门紧锁，无人应答"
    book.save(template)

    results, blank = read_results_file(template)
    assert [r.visit_id for r in results] == [first.visit_id, second.visit_id]
    assert blank == list(range(5, 3 + len(team.stops)))
    assert results[0].checklist == {"permits": "ok", "fees": "problem"}

    args = [
        "record",
        guixi_ws.location,
        "--plan",
        str(tmp_path / "plan" / "plan.json"),
        "--results",
        str(template),
        "--team",
        team.team_id,
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "2 result(s) saved" in out and "left blank" in out
    assert main(args) == 0
    assert "0 result(s) saved" in capsys.readouterr().out
    table = results_table(guixi_ws)
    assert len(table) == 2 and set(table["recorded_at"].str[:4]) == {pd.Timestamp.now().strftime("%Y")}

    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes("任务编号,是否检查,检查时间\nI:nowhere,是,10:00\n".encode("gbk"))
    assert main(["record", guixi_ws.location, "--plan", plan.plan_id, "--results", str(gbk)]) == 2
    err = capsys.readouterr().err
    assert "row 2: stop 'I:nowhere' is not in plan" in err


def test_teams_recording_at_the_same_time_lose_nothing(guixi_ws, settings):
    from concurrent.futures import ThreadPoolExecutor

    plan = _plan(guixi_ws, DAY, settings, "together")
    work = []
    for team in plan.teams:
        results = [StopResult(s.visit_id, False, not_visited_reason="门店关闭") for s in team.stops[:3]]
        work.append((team.team_id, results))
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        summaries = list(
            pool.map(
                lambda item: record_results(
                    guixi_ws, plan, item[1], team_id=item[0], settings=settings, actor="tester"
                ),
                work,
            )
        )
    assert [s.saved for s in summaries] == [len(r) for _, r in work]
    table = results_table(guixi_ws)
    assert len(table) == sum(len(r) for _, r in work)
    assert set(table["team_id"]) == {team_id for team_id, _ in work}


def test_reimporting_a_handled_clue_keeps_its_status_and_answer(guixi_ws, settings, tmp_path):
    from layers.importer import import_file

    plan = _plan(guixi_ws, DAY, settings, "reimport")
    team, stop = _stops(plan, "clue")[0]
    record_results(
        guixi_ws,
        plan,
        [
            StopResult(
                stop.visit_id,
                True,
                "10:00",
                finding="confirmed",
                problems="一对一辅导",
                action="refer",
                refer_to="市场监管局",
            )
        ],
        team_id=team.team_id,
        actor="tester",
    )
    clue = guixi_ws.read("clues").set_index("clue_id").loc[stop.visit_id[2:]]
    export = tmp_path / "hotline.csv"
    export.write_text(
        "编号,受理时间,渠道,地址,类别,内容,经度,纬度,坐标系,状态\n"
        f"{clue.name},{clue['received_at']},热线,{clue['address']},一对一,{clue['content']}（补充：周末上课）,"
        f"{clue.geometry.x},{clue.geometry.y},wgs84,已受理\n",
        encoding="utf-8",
    )
    result = import_file(guixi_ws, "clues", export, actor="tester")
    assert result.updated == 1
    after = guixi_ws.read("clues").set_index("clue_id").loc[clue.name]
    assert after["status"] == "handled" and "抄告单（市场监管局）" in after["answer"]
    assert "补充" in after["content"]


def test_a_correction_moves_last_inspected_back(guixi_ws, settings):
    plan = _plan(guixi_ws, DAY, settings, "last-inspected")
    team, stop = _stops(plan, "institution")[0]
    ident = stop.visit_id.split(":", 1)[1]
    registry = guixi_ws.read("institutions", where={"institution_id": ident})["last_inspected"].iloc[0]
    record_results(guixi_ws, plan, [StopResult(stop.visit_id, True, "10:00", checklist={"permits": "ok"})],
                   team_id=team.team_id, actor="组长")
    visited = guixi_ws.read("institutions", where={"institution_id": ident}).iloc[0]
    assert visited["last_inspected"] == DAY and visited["registry_inspected"] == registry
    record_results(guixi_ws, plan, [StopResult(stop.visit_id, False, not_visited_reason="门店关闭")],
                   team_id=team.team_id, actor="组长")
    corrected = guixi_ws.read("institutions", where={"institution_id": ident}).iloc[0]
    assert corrected["last_inspected"] == registry  # back to the registry's own date
    others = guixi_ws.read("institutions")
    assert others["registry_inspected"].notna().all()  # the new column was filled for every row


def test_a_registry_without_dates_then_a_result_keeps_every_last_inspection(guixi_ws, settings, tmp_path):
    from layers.importer import import_file

    before = guixi_ws.read("institutions").set_index("institution_id")["last_inspected"]
    row = guixi_ws.read("institutions").iloc[0]
    update = tmp_path / "更新.csv"
    update.write_text(f"机构名称,统一社会信用代码,状态,类别,经度,纬度,坐标系\n{row['name']},{row['credit_code']},"
                      f"白名单,学科类,{row.geometry.x:.6f},{row.geometry.y:.6f},WGS84\n", encoding="utf-8")
    import_file(guixi_ws, "institutions", update, actor="tester")
    plan = _plan(guixi_ws, DAY, settings, "keep-dates")
    team, stop = _stops(plan, "institution")[0]
    record_results(guixi_ws, plan, [StopResult(stop.visit_id, False, not_visited_reason="门店关闭")],
                   team_id=team.team_id, actor="组长")
    after = guixi_ws.read("institutions").set_index("institution_id")["last_inspected"]
    assert after.reindex(before.index).fillna("").tolist() == before.fillna("").tolist()
