"""The history of a clue or a rectification case, assembled from the clue itself, the plan
register and the (append-only) results: nothing is kept twice, so the history cannot drift
from what was actually planned and recorded."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pandas as pd

from casework.results import case_id_for, cases_table, results_table
from core.clock import TIMEZONE
from core.errors import InputError
from core.visits import VisitRef
from layers import schema
from routing.model import Plan
from routing.plan import flying_not_done, is_flying, plan_done, read_plan_stops
from store import Store

HISTORY_COLUMNS = ["time", "event", "detail", "by"]


def _planned(ws: Store, visit_id: str) -> list[dict[str, Any]]:
    """The plans that set this visit; a route not yet released shows only its day (四不两直), and a
    withdrawn plan says so."""
    stops = read_plan_stops(ws, where={"visit_id": visit_id})
    register = ws.read("plans", where={"plan_id": sorted(set(stops["plan_id"]))}) if len(stops) else pd.DataFrame()
    plans = {r["plan_id"]: r for _, r in register.iterrows()}
    now = datetime.now(TIMEZONE)
    rows = []
    for stop in stops.itertuples():
        shift = "日查" if stop.shift == "day" else "夜查"
        record = plans.get(stop.plan_id)
        withdrawn = record is not None and str(record.get("status") or "") == "withdrawn"
        plan = Plan.from_json(json.loads(str(record["plan_json"]))) if record is not None else None
        if plan is not None and is_flying(plan.inputs) and not plan_done(plan, now):
            continue  # a flying check (飞行检查) shows in no history until its shift is over
        released = plan is None or now >= datetime.fromisoformat(plan.released_at(stop.team_id))
        detail = (f"{stop.plan_id}：{stop.date} {shift}，{stop.team_name}第 {stop.order} 站，预计 {stop.arrival} 到达"
                  if released else f"{stop.plan_id}：{stop.date} {shift}（路线尚未下发）")
        rows.append({
            "time": stop.created_at,
            "event": "列入计划（计划已撤回）" if withdrawn else "列入计划",
            "detail": detail,
            "by": stop.created_by,
        })
    return rows


def _result_text(r: pd.Series) -> str:
    if not r["visited"]:
        return f"未检查：{r['not_visited_reason']}"
    parts = [f"{str(r['visited_at'])[:16].replace('T', ' ')} 现场检查"]
    if r["finding"]:
        parts.append(f"结论：{schema.label('finding', r['finding'])}")
    checklist = json.loads(r["checklist"]) if r["checklist"] else {}
    bad = [schema.label("checklist", c) for c, v in checklist.items() if v == "problem"]
    if bad:
        parts.append(f"问题项：{'、'.join(bad)}")
    if r["problems"]:
        parts.append(f"发现问题：{r['problems']}")
    action = schema.label("action", r["action"]) + (f"（{r['refer_to']}）" if r["refer_to"] else "")
    parts.append(f"处理：{action}")
    return "；".join(parts)


def _reportable(ws: Store) -> pd.DataFrame:
    """The results table without the flying checks not over yet (they show in no history until then)."""
    table = results_table(ws)
    return table[~table["plan_id"].isin(flying_not_done(ws))]


def _recorded(table: pd.DataFrame, visit_id: str) -> list[dict[str, Any]]:
    rows = []
    seen: set[str] = set()
    for _, r in table[table["visit_id"] == visit_id].iterrows():
        event = "更正检查记录" if r["plan_id"] in seen else "记录检查结果"
        seen.add(r["plan_id"])
        rows.append(
            {
                "time": r["recorded_at"],
                "event": event,
                "detail": f"{r['plan_id']}，{r['team_id']}：{_result_text(r)}",
                "by": r["recorded_by"],
            }
        )
    return rows


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    order = pd.to_datetime(frame["time"], errors="coerce", utc=True, format="ISO8601")
    return frame.assign(_order=order).sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)


def clue_history(ws: Store, clue_id: str) -> pd.DataFrame:
    """Everything that happened to clue ``clue_id``: received, planned, checked, handled, cases opened."""
    clues = ws.read("clues") if ws.has_layer("clues") else pd.DataFrame(columns=["clue_id"])
    match = clues[clues["clue_id"].astype(str) == str(clue_id)]
    if match.empty:
        raise InputError(f"no clue {clue_id!r} in {ws.label}.")
    clue = match.iloc[0]
    rows = [
        {
            "time": clue["received_at"],
            "event": "受理",
            "detail": f"{schema.label('channel', clue['channel'])}｜{schema.label('category', clue['category'])}："
            f"{clue['content']}（{clue['address']}）",
            "by": "",
        },
        {"time": clue["imported_at"], "event": "登记入库", "detail": str(clue.get("source", "")), "by": ""},
    ]
    visit_id = str(VisitRef.clue(clue_id))
    rows += _planned(ws, visit_id) + _recorded(_reportable(ws), visit_id)
    if str(clue.get("handled_at", "") or ""):
        rows.append(
            {
                "time": clue["handled_at"],
                "event": f"状态：{schema.label('clue_status', clue['status'])}",
                "detail": str(clue["answer"]),
                "by": "",
            }
        )
    cases = cases_table(ws)
    for _, case in cases[cases["site_id"] == visit_id].iterrows() if "site_id" in cases else []:
        rows.append(
            {
                "time": case["opened_at"],
                "event": "下达整改通知",
                "detail": f"立案 {case['case_id']}，限期至 {case['due']}",
                "by": "",
            }
        )
    return _frame(rows)


def case_history(ws: Store, case_id: str) -> pd.DataFrame:
    """Everything that happened to case ``case_id``: opened, revisits planned and recorded, closed."""
    cases = cases_table(ws)
    match = cases[cases["case_id"] == case_id]
    if match.empty:
        raise InputError(f"no case {case_id!r} in {ws.label}.")
    case = match.iloc[0]
    table = _reportable(ws)
    opening = table[
        [
            case_id_for(p, v, d) == case_id
            for p, v, d in zip(table["plan_id"], table["visit_id"], table["date"], strict=True)
        ]
    ]
    rows = []
    for _, r in opening.iterrows():
        rows.append(
            {
                "time": r["recorded_at"],
                "event": "检查记录",
                "detail": f"{r['plan_id']}，{r['team_id']}：{_result_text(r)}",
                "by": r["recorded_by"],
            }
        )
    rows.append(
        {
            "time": case["opened_at"],
            "event": "下达整改通知",
            "detail": f"{case['name']}：{case['problems']}；限期至 {case['due']}，到期回头看",
            "by": "",
        }
    )
    revisit = str(VisitRef.revisit(case_id))
    rows += _planned(ws, revisit) + _recorded(table, revisit)
    if case["status"] == "closed":
        rows.append(
            {
                "time": case["closed_at"],
                "event": "整改销号",
                "detail": f"回头看确认已整改（{case['closed_plan']}）",
                "by": "",
            }
        )
    elif case["status"] == "withdrawn":
        rows.append(
            {
                "time": table["recorded_at"].max(),
                "event": "撤销",
                "detail": "开立该案的检查记录已更正为不下达整改通知",
                "by": "",
            }
        )
    else:
        rows.append(
            {
                "time": case["revisit_due"],
                "event": "待回头看",
                "detail": f"回头看到期日 {case['revisit_due']}",
                "by": "",
            }
        )
    return _frame(rows)
