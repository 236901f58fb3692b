"""What a team found at each stop, and the closed loop it drives (线索办结、整改→回头看→销号).

A team leader records, for every stop of a registered plan: visited or not (and why not), the
time, each checklist item (合格 / 有问题 / 未查), the finding for a clue (属实 / 不属实) or a
revisit (已整改 / 未整改), the problems found and the action taken (无、整改通知、停办通知、抄告单).

The ``results`` table is append-only: a new record for a stop that already has one is a
correction and becomes the current one, the old one stays for the history; a record identical
to the current one is not stored again, so uploading the same spreadsheet twice changes nothing.

Everything downstream is *derived* from the current results by replaying them in time order,
so it is the same however often or in whatever order results arrive:

* a clue whose check was recorded becomes ``handled`` with the answer written on it;
* a rectification notice opens a case (``cases`` layer) whose follow-up revisit (回头看) is due
  when the rectification period ends — the planner then makes it a mandatory ``R:`` visit;
* a revisit that finds it fixed closes the case (整改销号); one that finds it not fixed sets a
  new deadline; nothing else closes a case;
* an institution's ``last_inspected`` is the later of the registry's date and its latest visit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from access.roles import Permission, Principal, Role, as_principal, authorize
from core.clock import TIMEZONE, as_local, now_local
from core.errors import InputError, SchemaError, problems_error
from core.settings import PatrolSettings, load_patrol_settings
from core.visits import VisitRef, target_of
from grid.crs import DISPLAY_CRS
from layers import schema
from layers.importer import parse_time, same_value
from layers.tables import read_table
from routing.model import Plan, Stop, TeamRoute
from routing.plan import read_plan, read_plan_stops
from store import Store, Transaction
from store.rows import changed_rows

CHECK_CODES = tuple(term.code for term in schema.CHECKLIST_ITEMS)
CLUE_FINDINGS = ("confirmed", "not_confirmed")
REVISIT_FINDINGS = ("fixed", "not_fixed")
YES = {"是", "已检查", "已到达", "到达", "检查", "√", "✓", "yes", "y", "true", "1"}
NO = {"否", "未检查", "未到达", "未到", "×", "✗", "no", "n", "false", "0"}

RESULT_HEADERS: dict[str, tuple[str, ...]] = {
    "team_id": ("检查组", "组别", "组号", "team_id", "team"),
    "order": ("序号", "顺序", "order"),
    "visit_id": ("任务编号", "点位编号", "visit_id", "visit", "stop"),
    "name": ("名称", "检查对象", "name"),
    "visited": ("是否检查", "是否到达", "已检查", "visited"),
    "visited_at": ("检查时间", "到达时间", "时间", "visited_at", "time"),
    "not_visited_reason": ("未检查原因", "未到原因", "原因", "not_visited_reason", "reason not visited"),
    "finding": ("核查结论", "复查结论", "结论", "finding"),
    **{term.code: (term.zh, term.code, term.en) for term in schema.CHECKLIST_ITEMS},
    "problems": ("发现问题", "存在问题", "问题", "problems"),
    "action": ("处理措施", "处置措施", "处理", "action"),
    "refer_to": ("抄告部门", "移送部门", "refer_to", "referred to"),
    "rectify_days": ("整改期限（天）", "整改期限(天)", "整改期限", "整改天数", "rectify_days"),
}
RESULT_COLUMNS = [
    "plan_id", "date", "shift", "team_id", "visit_id", "kind", "name", "address", "community_code", "lon", "lat",
    "visited", "visited_at", "not_visited_reason", "finding", "checklist", "problems", "action", "refer_to",
    "rectify_days", "recorded_by", "recorded_at",
]
CONTENT_COLUMNS = ["visited", "visited_at", "not_visited_reason", "finding", "checklist", "problems", "action",
                   "refer_to", "rectify_days"]
CASE_COLUMNS = [
    "case_id", "site_id", "name", "address", "community_code", "status", "problems", "opened_at", "opened_plan",
    "opened_by_team", "due", "revisit_due", "revisits", "closed_at", "closed_plan", "lon", "lat",
]


@dataclass
class StopResult:
    """One stop's result as recorded by the team (validated against the plan by :func:`check_results`)."""

    visit_id: str
    visited: bool
    visited_at: str = ""  # ISO time in Asia/Shanghai, or "HH:MM" on the plan's date
    not_visited_reason: str = ""
    finding: str = ""
    checklist: dict[str, str] = field(default_factory=dict)
    problems: str = ""
    action: str = "none"
    refer_to: str = ""
    rectify_days: int | None = None
    row: int | None = None  # spreadsheet row, for messages

    def where(self) -> str:
        return f"row {self.row}" if self.row is not None else self.visit_id


@dataclass
class RecordSummary:
    """What a :func:`record_results` call changed."""

    saved: int = 0
    unchanged: int = 0
    corrected: int = 0
    clues_handled: list[str] = field(default_factory=list)
    cases_opened: list[str] = field(default_factory=list)
    cases_closed: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = [f"{self.saved} result(s) saved ({self.corrected} correction(s)), {self.unchanged} unchanged"]
        if self.clues_handled:
            parts.append(f"clues handled: {', '.join(self.clues_handled)}")
        if self.cases_opened:
            parts.append(f"cases opened: {', '.join(self.cases_opened)}")
        if self.cases_closed:
            parts.append(f"cases closed: {', '.join(self.cases_closed)}")
        return "; ".join(parts)


# -- plans -------------------------------------------------------------------------------------
def registered_plan(ws: Store, plan_id: str, register: pd.DataFrame | None = None) -> Plan:
    """The plan ``plan_id`` from the workspace's plan register (or ``register``, already read)."""
    if register is not None:
        match = register[register["plan_id"] == plan_id]
    else:
        match = ws.read_optional("plans", where={"plan_id": plan_id}, columns=["plan_id", "plan_json"])
    if match is None or match.empty:
        dates = ws.read_optional("plans", columns=["plan_id"])
        known = ", ".join(([] if dates is None else dates["plan_id"].astype(str).tolist())[-5:]) or "none"
        raise InputError(f"plan {plan_id} is not registered in {ws.label} (latest registered: {known}); "
                         "results can be recorded only for a plan made with `patrol plan` on this workspace.")
    return Plan.from_json(json.loads(match.iloc[-1]["plan_json"]))


def resolve_plan(ws: Store, ref: str | Path) -> Plan:
    """A plan given as a plan id or a plan.json path; it must be registered in ``ws`` unaltered."""
    path = Path(ref)
    if path.suffix.lower() == ".json" or path.is_file():
        plan = read_plan(path)
        registered = registered_plan(ws, plan.plan_id)
        if registered.commitment != plan.commitment or registered.teams != plan.teams:
            raise InputError(f"{path} differs from plan {plan.plan_id} as registered in {ws.label}; "
                             "use the registered plan (give its id instead of the file).")
        return registered
    return registered_plan(ws, str(ref))


def plan_stops(plan: Plan) -> dict[str, tuple[TeamRoute, Stop]]:
    """``visit_id`` → (team, stop) for every stop of the plan."""
    return {stop.visit_id: (team, stop) for team in plan.teams for stop in team.stops}


# -- reading a spreadsheet ---------------------------------------------------------------------
def _word(text: str, yes: set[str], no: set[str]) -> bool | None:
    key = "".join(str(text).split()).lower()
    return True if key in yes else False if key in no else None


RESULT_FIELDS = ("visited", "visited_at", "not_visited_reason", "finding", *CHECK_CODES, "problems", "action",
                 "refer_to", "rectify_days")


def read_results_file(path: str | Path) -> tuple[list[StopResult], list[int]]:
    """Read a filled-in results spreadsheet (XLSX, or CSV in UTF-8/GBK); every bad cell is named.

    Returns the results and the rows of stops left blank (not recorded yet, e.g. a template
    filled in half-way through the day). Raises :class:`InputError` listing all problems.
    """
    try:
        table = read_table(path, RESULT_HEADERS, required=("visit_id", "visited"))
    except SchemaError as exc:
        raise InputError(str(exc)) from exc
    problems: list[str] = []
    results = []
    blank: list[int] = []
    for row, values in table.frame.iterrows():
        get = partial(_cell, values)
        if not any(get(name) for name in RESULT_FIELDS):
            blank.append(int(row))
            continue
        visited = _word(get("visited"), YES, NO)
        if visited is None:
            problems.append(f"row {row}: 是否检查 (visited) is {get('visited')!r}; write 是 or 否.")
            continue
        checklist = {}
        for code in CHECK_CODES:
            if get(code):
                outcome = schema.parse_term("check", get(code))
                if outcome is None:
                    problems.append(f"row {row}: {schema.label('checklist', code)} is {get(code)!r}; write "
                                    f"{schema.choices('check')} (or leave it empty).")
                checklist[code] = outcome or ""
        action = schema.parse_term("action", get("action")) if get("action") else "none"
        if action is None:
            problems.append(f"row {row}: 处理措施 (action) {get('action')!r} is not one of {schema.choices('action')}.")
        finding = schema.parse_term("finding", get("finding")) if get("finding") else ""
        if finding is None:
            problems.append(f"row {row}: 结论 (finding) {get('finding')!r} is not one of {schema.choices('finding')}.")
        days = None
        if get("rectify_days"):
            try:
                days = int(float(get("rectify_days")))
            except ValueError:
                problems.append(f"row {row}: 整改期限 {get('rectify_days')!r} is not a number of days.")
        results.append(StopResult(
            visit_id=get("visit_id"), visited=visited, visited_at=get("visited_at"),
            not_visited_reason=get("not_visited_reason"), finding=finding or "", checklist=checklist,
            problems=get("problems"), action=action or "none", refer_to=get("refer_to"), rectify_days=days,
            row=int(row),
        ))
    if problems:
        raise problems_error(path, problems)
    if not results:
        raise InputError(f"{path}: no results filled in (是否检查 is empty on every row); fill in one row per "
                         "stop that was visited or skipped.")
    return results, blank


def _cell(values: pd.Series, name: str) -> str:
    return str(values.get(name, "") or "").strip()


# -- checking against the plan -----------------------------------------------------------------
def _visit_time(text: str, plan_date: str) -> pd.Timestamp | None:
    text = str(text).strip()
    if not text:
        return None
    if len(text) <= 5 and (":" in text or "：" in text):
        text = f"{plan_date} {text.replace('：', ':')}"
    return parse_time(text)


def _refuse_withdrawn(source: Store | Transaction, plan_id: str) -> None:
    rows = source.read("plans", where={"plan_id": plan_id})
    if "status" in rows.columns and (rows["status"] == "withdrawn").any():
        raise InputError(f"计划 {plan_id} 已撤回，不能录入结果。 / Plan {plan_id} was withdrawn; results "
                         "cannot be recorded for it.")


def check_results(plan: Plan, results: list[StopResult], *, team_id: str | None = None,
                  settings: PatrolSettings | None = None) -> list[dict[str, Any]]:
    """Validate results against the plan and return the rows to store; :class:`InputError` lists every problem."""
    settings = settings or load_patrol_settings()
    stops = plan_stops(plan)
    problems: list[str] = []
    rows = []
    seen: dict[str, str] = {}
    for result in results:
        where = result.where()
        if result.visit_id not in stops:
            known = f"its stops are {', '.join(list(stops)[:6])}{'…' if len(stops) > 6 else ''}"
            problems.append(f"{where}: stop {result.visit_id!r} is not in plan {plan.plan_id} ({known}); "
                            "results can only be recorded for planned stops.")
            continue
        team, stop = stops[result.visit_id]
        if team_id is not None and team.team_id != team_id:
            problems.append(f"{where}: stop {result.visit_id} is on {team.name} ({team.team_id})'s route, "
                            f"not {team_id}'s.")
            continue
        if result.visit_id in seen:
            problems.append(f"{where}: stop {result.visit_id} appears twice (also {seen[result.visit_id]}); "
                            "keep one row per stop.")
            continue
        seen[result.visit_id] = where
        row = _result_row(plan, team, stop, result, settings, problems, where)
        if row is not None:
            rows.append(row)
    if problems:
        raise problems_error(f"results for plan {plan.plan_id}", problems)
    return rows


def _result_row(plan, team, stop, result: StopResult, settings, problems: list[str], where: str
                ) -> dict[str, Any] | None:
    before = len(problems)
    kind = stop.kind
    stamp = None
    if result.visited:
        stamp = _visit_time(result.visited_at, plan.date)
        if stamp is None:
            problems.append(f"{where}: {stop.name} was visited but the time {result.visited_at!r} is not a time "
                            "like 09:40 or 2026-11-23 09:40.")
        elif stamp.normalize() != pd.Timestamp(plan.date, tz=stamp.tz):
            problems.append(f"{where}: time {result.visited_at} is not on the plan's date {plan.date}.")
        allowed = CLUE_FINDINGS if kind == "clue" else REVISIT_FINDINGS if kind == "revisit" else ("",)
        if result.finding not in allowed:
            wanted = {"clue": "属实 or 不属实 (was the clue true?)",
                      "revisit": "已整改 or 未整改 (was it fixed?)"}.get(kind, "nothing (only clue checks and "
                                                                         "revisits have a finding)")
            problems.append(f"{where}: {stop.name} is a {kind} visit; 结论 (finding) must be {wanted}, "
                            f"not {result.finding or 'empty'!r}.")
        if result.action not in {t.code for t in schema.ACTIONS}:
            problems.append(f"{where}: unknown action {result.action!r}.")
        if result.action != "none" and not result.problems.strip():
            problems.append(f"{where}: action {schema.label('action', result.action)} needs the problems found "
                            "(发现问题).")
        if result.action == "refer" and not result.refer_to.strip():
            problems.append(f"{where}: a referral (抄告单) needs the department it goes to (抄告部门).")
        if result.rectify_days is not None and not 1 <= result.rectify_days <= 365:
            problems.append(f"{where}: 整改期限 must be 1–365 days (found {result.rectify_days}).")
        bad = [code for code, value in result.checklist.items() if code not in CHECK_CODES
               or value not in ("ok", "problem", "not_checked")]
        if bad:
            problems.append(f"{where}: unknown checklist entries {bad}.")
        if stop.covert:  # 暗访: only what anyone can see; papers and notices wait for an open inspection
            unseen = [code for code, value in result.checklist.items()
                      if value != "not_checked" and code not in schema.COVERT_ITEMS]
            if unseen:
                problems.append(f"{where}: {stop.name} 是暗访，只记录可观察的情况，不能记录 "
                                f"{'、'.join(schema.label('checklist', c) for c in unseen)}。 / a covert visit records "
                                "only what can be observed.")
            if result.action not in ("none", "refer"):
                problems.append(f"{where}: {stop.name} 是暗访，不当场下达文书；发现问题请抄告或转明查。 / "
                                "a covert visit issues no notice on the spot.")
    else:
        if not result.not_visited_reason.strip():
            problems.append(f"{where}: {stop.name} was not visited; say why (未检查原因).")
        filled = [name for name, value in (("finding", result.finding), ("problems", result.problems.strip()),
                                           ("action", "" if result.action == "none" else result.action))
                  if value] + [c for c, v in result.checklist.items() if v and v != "not_checked"]
        if filled:
            problems.append(f"{where}: {stop.name} is marked not visited but has {', '.join(filled)} filled in; "
                            "mark it visited or clear them.")
    if len(problems) > before:
        return None
    days = result.rectify_days
    if result.visited and days is None and (result.action == "rectify" or result.finding == "not_fixed"):
        days = settings.cases.rectify_days if result.action == "rectify" else settings.cases.recheck_days
    return {
        "plan_id": plan.plan_id, "date": plan.date, "shift": plan.shift, "team_id": team.team_id,
        "visit_id": stop.visit_id, "kind": kind, "name": stop.name, "address": stop.address,
        "community_code": stop.community_code, "lon": float(stop.lon), "lat": float(stop.lat),
        "visited": bool(result.visited),
        "visited_at": stamp.isoformat() if stamp is not None else "",
        "not_visited_reason": "" if result.visited else result.not_visited_reason.strip(),
        "finding": result.finding if result.visited else "",
        "checklist": json.dumps({c: result.checklist.get(c) or "not_checked" for c in CHECK_CODES})
        if result.visited else "",
        "problems": result.problems.strip() if result.visited else "",
        "action": result.action if result.visited else "none",
        "refer_to": result.refer_to.strip() if result.visited and result.action == "refer" else "",
        "rectify_days": int(days) if result.visited and days is not None else None,
    }


# -- storing and replaying ---------------------------------------------------------------------
def _text(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _same_content(a: dict[str, Any] | pd.Series, b: dict[str, Any] | pd.Series) -> bool:
    return all(same_value(a[c], b[c]) for c in CONTENT_COLUMNS)


def results_table(ws: Store) -> pd.DataFrame:
    """Every recorded result, corrections included, oldest first (empty frame if none)."""
    return results_from_layer(ws.read("results") if ws.has_layer("results") else None)


def results_from_layer(layer: pd.DataFrame | None) -> pd.DataFrame:
    """The ``results`` layer as read from a workspace (or ``None``), with ``visited`` as booleans."""
    if layer is None:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    table = pd.DataFrame(layer)
    table["visited"] = table["visited"].map(lambda v: _text(v) in ("1", "True", "true"))
    return table[RESULT_COLUMNS]


def current_results(table: pd.DataFrame) -> pd.DataFrame:
    """The latest record of each (plan, stop): what stands after corrections."""
    if table.empty:
        return table
    return table.groupby(["plan_id", "visit_id"], sort=False).tail(1).reset_index(drop=True)


def case_id_for(plan_id: str, visit_id: str, day: str) -> str:
    """A case's id: stable for the same stop of the same plan, so recording twice opens one case."""
    tail = hashlib.sha256(f"{plan_id}|{visit_id}".encode()).hexdigest()[:6].upper()
    return f"ZG{day.replace('-', '')}-{tail}"


def _day(stamp: str) -> pd.Timestamp:
    return as_local(pd.Timestamp(stamp)).normalize()


def _days(stamps: pd.Series) -> pd.Series:
    """:func:`_day` of every stamp at once (a year of results is parsed in one pass, not row by row)."""
    text = stamps.astype(str)
    aware = text.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True)
    out = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[ns, {TIMEZONE}]")
    if aware.any():
        out[aware] = pd.to_datetime(text[aware], utc=True, format="ISO8601").dt.tz_convert(TIMEZONE)
    if (~aware).any():
        out[~aware] = pd.to_datetime(text[~aware], format="ISO8601").dt.tz_localize(TIMEZONE)
    return out.dt.normalize()


def replay_cases(current: pd.DataFrame, opened_before: set[str] | None = None) -> pd.DataFrame:
    """Derive every rectification case from the current results, in the order things happened."""
    cases: dict[str, dict[str, Any]] = {}
    ordered = current[current["visited"]].sort_values(["visited_at", "recorded_at"], kind="stable")
    for day, r in zip(_days(ordered["visited_at"]), ordered.itertuples(), strict=True):
        if r.kind == "revisit":
            case = cases.get(target_of(r.visit_id))
            if case is None or case["status"] != "rectifying":
                continue
            case["revisits"] += 1
            if r.finding == "fixed":
                case.update(status="closed", closed_at=r.visited_at, closed_plan=r.plan_id)
            else:
                due = (day + pd.Timedelta(days=int(float(r.rectify_days)))).strftime("%Y-%m-%d")
                case.update(due=due, revisit_due=due)
                if r.problems:
                    case["problems"] = r.problems
        elif r.action == "rectify":
            case_id = case_id_for(r.plan_id, r.visit_id, r.date)
            due = (day + pd.Timedelta(days=int(float(r.rectify_days)))).strftime("%Y-%m-%d")
            cases[case_id] = {
                "case_id": case_id, "site_id": r.visit_id, "name": r.name, "address": r.address,
                "community_code": r.community_code, "status": "rectifying", "problems": r.problems,
                "opened_at": r.visited_at, "opened_plan": r.plan_id, "opened_by_team": r.team_id, "due": due,
                "revisit_due": due, "revisits": 0, "closed_at": "", "closed_plan": "", "lon": r.lon, "lat": r.lat,
            }
    for case_id in sorted((opened_before or set()) - set(cases)):
        cases[case_id] = {"case_id": case_id, "status": "withdrawn"}
    return pd.DataFrame(list(cases.values()), columns=CASE_COLUMNS)


def _cases_layer(frame: pd.DataFrame, old: pd.DataFrame | None) -> gpd.GeoDataFrame:
    if old is not None and not old.empty:  # a withdrawn case keeps what it was
        previous = pd.DataFrame(old).set_index("case_id")
        for i, row in frame.iterrows():
            if row["status"] == "withdrawn" and row["case_id"] in previous.index:
                kept = previous.loc[row["case_id"]]
                for column in CASE_COLUMNS:
                    if column not in ("case_id", "status") and column in kept.index:
                        frame.at[i, column] = kept[column]
        frame["lon"] = pd.to_numeric(frame["lon"])
        frame["lat"] = pd.to_numeric(frame["lat"])
    frame["revisits"] = pd.to_numeric(frame["revisits"]).fillna(0).astype(int)
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=DISPLAY_CRS)


def _clue_answer(r: pd.Series, team_name: str) -> str:
    action = schema.label("action", r["action"])
    refer = f"（{r['refer_to']}）" if r["refer_to"] else ""
    found = r["problems"] or "未发现问题"
    return (f"{_day(r['visited_at']).strftime('%Y-%m-%d')} {team_name}现场核查："
            f"{schema.label('finding', r['finding'])}。{found}。处理：{action}{refer}。")


def _apply_to_clues(clues: gpd.GeoDataFrame, current: pd.DataFrame, team_names: dict[tuple[str, str], str]
                    ) -> tuple[gpd.GeoDataFrame, list[str]]:
    clues = clues.copy()
    for column in ("answer", "handled_at", "handled_plan"):
        if column not in clues.columns:
            clues[column] = ""
        clues[column] = clues[column].fillna("").astype(str)
    index = {cid: i for i, cid in zip(clues.index, clues["clue_id"].astype(str), strict=True)}
    checks = current[(current["kind"] == "clue") & current["visited"]].sort_values("visited_at", kind="stable")
    latest = checks.groupby("visit_id").tail(1)
    handled = []
    answered = set()
    for _, r in latest.iterrows():
        i = index.get(target_of(r["visit_id"]))
        if i is None:
            continue
        answered.add(i)
        answer = _clue_answer(r, team_names.get((r["plan_id"], r["team_id"]), r["team_id"]))
        if clues.at[i, "status"] in ("received", "verifying"):
            clues.at[i, "status"] = "handled"
            handled.append(str(clues.at[i, "clue_id"]))
        clues.at[i, "answer"], clues.at[i, "handled_at"], clues.at[i, "handled_plan"] = (
            answer, r["visited_at"], r["plan_id"])
    for i in clues.index:  # a correction that takes the check back reopens the clue
        if i not in answered and clues.at[i, "handled_plan"] and clues.at[i, "status"] == "handled":
            clues.at[i, "status"] = "verifying"
            clues.at[i, "answer"] = clues.at[i, "handled_at"] = clues.at[i, "handled_plan"] = ""
    return clues, handled


def record_results(ws: Store, plan: Plan, results: list[StopResult], *, actor: Principal | str,
                   team_id: str | None = None, settings: PatrolSettings | None = None) -> RecordSummary:
    """Check ``results`` against the registered ``plan`` and save them with their effects, atomically.

    The results are appended to the append-only ``results`` layer; the derived state (cases, the
    clues' status and answers, institutions' last inspection) is replayed from the standing
    results and only the rows whose values changed are written, all in one transaction.

    Raises :class:`InputError` listing every problem (nothing is saved then). Results identical to
    what is already recorded are not stored again.
    """
    by = authorize(actor, Permission.RECORD_RESULTS)
    registered = registered_plan(ws, plan.plan_id)
    if registered.commitment != plan.commitment:
        raise InputError(f"plan {plan.plan_id} differs from the one registered in {ws.label}.")
    _refuse_withdrawn(ws, plan.plan_id)
    person = as_principal(actor)
    if person.role == Role.TEAM_LEADER:  # a team leader records only their own team's stops, once released
        from access.plans import open_route

        own = open_route(ws, person, plan.plan_id, team_id or "")
        team_id = own.team_id
        registered = registered.only_team(own.team_id)  # errors may name only the leader's own stops
    rows = check_results(registered, results, team_id=team_id, settings=settings or load_patrol_settings(store=ws))
    summary = RecordSummary()
    with ws.transaction(actor=by, action="record-results") as tx:
        _refuse_withdrawn(tx, plan.plan_id)  # again inside: a withdrawal may have landed meanwhile
        standing = current_results(results_from_layer(
            tx.read("results", where={"plan_id": plan.plan_id}) if tx.has_layer("results") else None))
        latest = {(r["plan_id"], r["visit_id"]): r for _, r in standing.iterrows()}
        now = now_local()
        new_rows = []
        for row in rows:
            old = latest.get((row["plan_id"], row["visit_id"]))
            if old is not None and _same_content(old, row):
                summary.unchanged += 1
                continue
            summary.saved += 1
            summary.corrected += old is not None
            new_rows.append({**row, "recorded_by": by, "recorded_at": now})
        if not new_rows:
            return summary
        tx.append("results", pd.DataFrame(new_rows, columns=RESULT_COLUMNS).astype({"rectify_days": "Int64"}))
        _write_derived_state(tx, summary)
        tx.detail = f"{plan.plan_id}: {summary.text()}"
    return summary


def _write_derived_state(tx: Transaction, summary: RecordSummary) -> None:
    """Replay the standing results into cases, clues and institutions; write the rows that changed."""
    current = current_results(results_from_layer(tx.read("results")))
    old_cases = tx.read("cases") if tx.has_layer("cases") else None
    before = {} if old_cases is None else dict(zip(old_cases["case_id"], old_cases["status"], strict=True))
    cases = replay_cases(current, set(before))
    _refuse_undoing_revisited(cases, old_cases)
    cases_layer = _cases_layer(cases, old_cases)
    changed = changed_rows(old_cases, cases_layer, "case_id")
    if changed.any() or old_cases is None:
        tx.upsert("cases", cases_layer[changed.to_numpy()], key="case_id")
    summary.cases_opened = sorted(set(cases.loc[cases["status"] == "rectifying", "case_id"]) - set(before))
    summary.cases_closed = sorted(c for c, s in zip(cases["case_id"], cases["status"], strict=True)
                                  if s == "closed" and before.get(c) != "closed")
    if tx.has_layer("clues"):
        plan_ids = sorted(set(current.loc[current["kind"] == "clue", "plan_id"]))  # the plans that checked clues
        old_clues = tx.read("clues")
        clues, summary.clues_handled = _apply_to_clues(old_clues, current, _team_names(tx, plan_ids))
        changed = changed_rows(old_clues, clues, "clue_id")
        if changed.any():
            tx.upsert("clues", clues[changed.to_numpy()], key="clue_id")
    if tx.has_layer("institutions"):
        old_institutions = tx.read("institutions")
        institutions, moved = _last_inspected(old_institutions, current)
        if "registry_inspected" not in old_institutions.columns or old_institutions["registry_inspected"].isna().any():
            tx.upsert("institutions", institutions, key="institution_id")  # the column is new: write every row once
        elif moved:
            changed = changed_rows(old_institutions, institutions, "institution_id")
            tx.upsert("institutions", institutions[changed.to_numpy()], key="institution_id")


def _refuse_undoing_revisited(cases: pd.DataFrame, old_cases: pd.DataFrame | None) -> None:
    if old_cases is None or old_cases.empty:
        return
    revisited = old_cases[pd.to_numeric(old_cases["revisits"]).fillna(0) > 0].set_index("case_id")
    withdrawn = set(cases.loc[cases["status"] == "withdrawn", "case_id"])
    for case_id in withdrawn & set(revisited.index):
        if revisited.at[case_id, "status"] != "withdrawn":
            raise InputError(f"this correction would withdraw case {case_id}, which has already been revisited; "
                             "record the outcome on the revisit instead.")


def _team_names(tx: Transaction, plan_ids: list[str]) -> dict[tuple[str, str], str]:
    """(plan, team) → the team's name, from the register's stop rows (no plan document is parsed)."""
    if not plan_ids:
        return {}
    stops = read_plan_stops(tx, where={"plan_id": plan_ids}, columns=["plan_id", "team_id", "team_name"])
    return {(p, t): n for p, t, n in zip(stops["plan_id"], stops["team_id"], stops["team_name"], strict=True)}


def _last_inspected(institutions: gpd.GeoDataFrame, current: pd.DataFrame) -> tuple[gpd.GeoDataFrame, bool]:
    """Each institution's last inspection, replayed: the later of the registry's own date and the
    latest standing visit, so a correction that takes a visit back moves the date back too."""
    institutions = institutions.copy()
    if "registry_inspected" not in institutions.columns:  # a workspace from before the column existed
        institutions["registry_inspected"] = institutions["last_inspected"]
    unknown = institutions["registry_inspected"].isna()  # rows written before it: their date is all we know
    institutions.loc[unknown, "registry_inspected"] = institutions.loc[unknown, "last_inspected"]
    visits = current[(current["kind"] == "institution") & current["visited"]]
    latest = visits.assign(day=_days(visits["visited_at"]).dt.strftime("%Y-%m-%d")).groupby(
        "visit_id")["day"].max() if len(visits) else pd.Series(dtype=object)
    registry = institutions["registry_inspected"].map(_text).str[:10]
    visited = institutions["institution_id"].astype(str).map(
        lambda ident: latest.get(str(VisitRef.institution(ident)), ""))
    derived = registry.where(registry >= visited, visited)
    moved = bool((derived != institutions["last_inspected"].map(_text).str[:10]).any())
    institutions["last_inspected"] = derived
    return institutions, moved


def cases_table(ws: Store) -> pd.DataFrame:
    """The rectification cases (empty frame if none was opened)."""
    return pd.DataFrame(ws.read("cases")).drop(columns="geometry") if ws.has_layer("cases") else pd.DataFrame(
        columns=CASE_COLUMNS)
