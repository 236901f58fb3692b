"""A lived-in county (演示数据): days of plans, seeded results and new clues, written as a bureau would.

``simulate(ws, start, days, seed)`` runs, for each day in order:

1. the day's new hotline clues (a Poisson number, :attr:`SimulationRates.clues_per_day`), two in
   three on buildings near an institution — imported into the closed loop as received;
2. the day shift's plan (and the night shift's on the days the seeded draw picks, with
   probability :attr:`SimulationRates.night_share`), made by the product's own planner and
   registered with its seed, exactly as ``patrol plan`` does;
3. each team's results, drawn at the documented rates (:class:`SimulationRates`, docs/routing.md):
   a stop is visited or not (with a reason), checklist items are found wanting, clues are
   confirmed or not, notices are given, revisits find the case fixed or not — recorded through
   :func:`casework.results.record_results`, so cases open and close and clues are answered by the
   same rules as real results;
4. the evening refresh of hotspots and risk.

Every write goes through the store in audited transactions under ``actor``; the same ``seed`` gives
the same county.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from casework.results import StopResult, record_results
from core.clock import local_day
from core.errors import InputError
from core.settings import PatrolSettings, load_patrol_settings
from layers import schema
from layers.demo import DEMO_LABEL, clue_frame
from layers.risk import refresh
from routing.model import Plan, Stop
from routing.plan import make_plan
from routing.register import register_plan
from store import Store

ACTOR = "演示模拟"
SIMULATED = "simulated_days"  # meta key: the simulated days, "first..last"
NOT_VISITED_REASONS = ("场所关门，无人应答", "已搬离原址", "道路施工无法到达", "临时改派其他任务")
PROBLEM_TEXT = {
    "permits": "未能出示办学许可证", "staff": "授课人员无教师资格证", "safety": "无应急预案",
    "fire": "安全出口堵塞", "video": "监控录像保存不足90天", "gatekeeper": "无门卫值守",
    "surroundings": "周边存在安全隐患", "materials": "培训材料超纲超前", "fees": "预收费超过3个月",
    "contract": "未使用规范合同", "qr_code": "未张贴课程二维码",
}
REFER_TO = ("市场监管局", "消防救援大队", "公安派出所")


@dataclass(frozen=True)
class SimulationRates:
    """The rates of a simulated county (演示数据); documented in docs/routing.md."""

    visited: float = 0.95  # a stop is visited; otherwise a reason is recorded
    item_problem: float = 0.015  # each checklist item at an institution is found wanting
    hidden_tutoring: float = 0.06  # a high-risk place turns out to hold hidden tutoring
    clue_confirmed: float = 0.4  # a clue check finds the clue true
    revisit_fixed: float = 0.8  # a 回头看 finds the rectification done
    notice_shares: dict[str, float] = field(default_factory=lambda: {"rectify": 0.7, "close": 0.1, "refer": 0.2})
    clues_per_day: float = 2.0  # new hotline clues a day (Poisson)
    night_share: float = 0.3  # days that also have a night shift


@dataclass
class SimulationSummary:
    """What a simulation wrote."""

    days: int = 0
    plans: list[str] = field(default_factory=list)
    stops: int = 0
    visited: int = 0
    clues_added: int = 0
    cases_opened: int = 0
    cases_closed: int = 0

    def text(self) -> str:
        """One line for the command line."""
        return (f"{self.days} days: {len(self.plans)} plans, {self.stops} stops ({self.visited} visited), "
                f"{self.clues_added} new clues, {self.cases_opened} cases opened, {self.cases_closed} closed "
                "(演示数据)")


def _rng(seed: int, *labels: object) -> np.random.Generator:
    digest = hashlib.sha256("|".join([str(seed), *map(str, labels)]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def stop_result(stop: Stop, rng: np.random.Generator, rates: SimulationRates) -> StopResult:
    """A plausible result of one stop, drawn at ``rates``."""
    if rng.random() >= rates.visited:
        return StopResult(stop.visit_id, False, not_visited_reason=str(rng.choice(NOT_VISITED_REASONS)))
    items = [term.code for term in schema.CHECKLIST_ITEMS]
    checklist = dict.fromkeys(items, "ok")
    finding = ""
    if stop.kind == "institution":
        for code in items:
            if rng.random() < rates.item_problem * (0.5 + stop.probability):
                checklist[code] = "problem"
    elif stop.kind == "place":
        checklist = dict.fromkeys(items, "not_checked")
        if rng.random() < rates.hidden_tutoring:
            checklist.update(permits="problem", materials="problem")
    elif stop.kind == "clue":
        finding = "confirmed" if rng.random() < rates.clue_confirmed else "not_confirmed"
        if finding == "confirmed":
            checklist[str(rng.choice(items))] = "problem"
    else:  # revisit
        finding = "fixed" if rng.random() < rates.revisit_fixed else "not_fixed"
    if stop.covert:  # 暗访: only what anyone can see is recorded
        checklist = {code: (value if code in schema.COVERT_ITEMS else "not_checked")
                     for code, value in checklist.items()}
    found = [code for code, value in checklist.items() if value == "problem"]
    problems = "；".join(PROBLEM_TEXT[c] for c in found)
    if stop.kind == "revisit" and finding == "not_fixed":
        problems = "整改未到位"
    action = "none"
    if found and stop.covert:
        action = "refer" if rng.random() < rates.notice_shares.get("refer", 0.2) else "none"
    elif found:
        kinds = list(rates.notice_shares)
        action = str(rng.choice(kinds, p=np.array(list(rates.notice_shares.values())) / sum(
            rates.notice_shares.values())))
    return StopResult(stop.visit_id, True, stop.arrival, finding=finding, checklist=checklist, problems=problems,
                      action=action, refer_to=str(rng.choice(REFER_TO)) if action == "refer" else "")


def _new_clues(ws: Store, day: pd.Timestamp, rng: np.random.Generator, rates: SimulationRates) -> pd.DataFrame:
    count = int(rng.poisson(rates.clues_per_day))
    if count == 0:
        return pd.DataFrame()
    buildings = ws.read("buildings", columns=["code"])["code"].to_numpy()
    near = (ws.read("institutions", columns=["building_code"])["building_code"].dropna().to_numpy()
            if ws.has_layer("institutions") else np.array([]))
    codes = [str(rng.choice(near if len(near) and rng.random() < 2 / 3 else buildings)) for _ in range(count)]
    received = [day + pd.Timedelta(hours=int(rng.integers(8, 21)), minutes=int(rng.integers(0, 60)))
                for _ in codes]
    categories = [str(rng.choice([t.code for t in schema.CLUE_CATEGORIES])) for _ in codes]
    ids = [f"SIM-{day:%Y%m%d}-{i:03d}" for i in range(1, count + 1)]
    return clue_frame(ws, ids, codes, received, categories, ["received"] * count, rng)


def simulate(ws: Store, start: str, days: int, *, seed: int = 2026, actor: str = ACTOR,
             rates: SimulationRates | None = None, settings: PatrolSettings | None = None,
             iterations: int = 60) -> SimulationSummary:
    """Simulate ``days`` days from ``start`` (see module doc); return what was written."""
    if days < 1:
        raise InputError("--days must be at least 1.")
    if not ws.has_layer("teams"):
        raise InputError(f"{ws.label} has no teams; add them first (`patrol demo-teams`).")
    rates = rates or SimulationRates()
    settings = settings or load_patrol_settings(store=ws)
    summary = SimulationSummary()
    for offset in range(days):
        day = local_day(start) + pd.Timedelta(days=offset)
        rng = _rng(seed, day.date())
        clues = _new_clues(ws, day, rng, rates)
        if not clues.empty:
            with ws.transaction(actor=actor, action="simulate-clues", detail=f"{day.date()}: {len(clues)} "
                                f"new clues ({DEMO_LABEL})") as tx:
                tx.upsert("clues", clues, key="clue_id")
            summary.clues_added += len(clues)
        shifts = ["day"] + (["night"] if rng.random() < rates.night_share else [])
        for shift in shifts:
            plan, plan_seed = make_plan(ws, day, shift, seed=f"{seed}:{day.date()}:{shift}", settings=settings,
                                        actor=actor, iterations=iterations, time_limit=settings.solver_seconds)
            register_plan(ws, plan, seed=plan_seed, actor=actor)
            summary.plans.append(plan.plan_id)
            _record(ws, plan, seed, rates, settings, actor, summary)
        refresh(ws, actor=actor, today=str(day.date()))
        summary.days += 1
    first, last = str(local_day(start).date()), str((local_day(start) + pd.Timedelta(days=days - 1)).date())
    before = ws.meta().get(SIMULATED, "")
    if ".." in before:
        first, last = min(first, before.split("..")[0]), max(last, before.split("..")[1])
    with ws.transaction(actor=actor, action="simulate", detail=summary.text()) as tx:
        tx.set_meta({SIMULATED: f"{first}..{last}"})  # the pages label these days 演示数据
    return summary


def simulated_days(ws: Store) -> tuple[str, str] | None:
    """The first and last simulated day (演示数据) of a workspace, or ``None`` if it has none."""
    text = ws.meta().get(SIMULATED, "")
    return (text.split("..")[0], text.split("..")[1]) if ".." in text else None


def _record(ws: Store, plan: Plan, seed: int, rates: SimulationRates, settings: PatrolSettings, actor: str,
            summary: SimulationSummary) -> None:
    for team in plan.teams:
        if not team.stops:
            continue
        rng = _rng(seed, plan.plan_id, team.team_id)
        results = [stop_result(stop, rng, rates) for stop in team.stops]
        recorded = record_results(ws, plan, results, team_id=team.team_id, actor=actor, settings=settings)
        summary.stops += len(results)
        summary.visited += sum(r.visited for r in results)
        summary.cases_opened += len(recorded.cases_opened)
        summary.cases_closed += len(recorded.cases_closed)
