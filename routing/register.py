"""The plan register (计划登记): one live plan per date and shift, seeds kept until the window closes.

* :func:`register_plan` records a plan, its content digest and its secret seed in one
  transaction, and refuses a second live plan for the same date and shift (no redraw until the
  result suits): the planner first withdraws the live one with a reason (:func:`withdraw_plan`).
  Withdrawn plans stay in the register; :func:`redraws_per_month` counts them for the leaders.
* :func:`plan_seed` reveals a seed only once the plan's inspection window has closed.
* :func:`register_round` records a double-ten round (双十) — its seed, commitment and inputs —
  with every day's plan, all or none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from access.roles import Permission, Principal, authorize
from core.clock import TIMEZONE, now_local
from core.errors import InputError, PermissionDeniedError
from routing.draw import commitment, digest
from routing.model import Plan
from routing.plan import (
    FLYING,
    WITHDRAWN,
    _pairs_on,
    _visits_on,
    content_digest,
    is_flying,
    live_plans,
    plan_stop_rows,
    read_plan_stops,
)
from routing.teams import team_pairs
from store import Store, Transaction

PLANS, SEEDS, ROUNDS = "plans", "plan_seeds", "rounds"
LIVE = "live"
REGISTER_COLUMNS = ["plan_id", "date", "shift", "created_at", "created_by", "commitment", "inputs_digest",
                    "plan_digest", "visits", "pairs", "status", "round_id", "withdrawn_at", "withdrawn_by",
                    "withdraw_reason", "plan_json", "kind"]


def _moment(now: datetime | None) -> datetime:
    return (now or datetime.now(TIMEZONE)).astimezone(TIMEZONE)


def register_plan(ws: Store, plan: Plan, *, seed: str, actor: Principal | str) -> None:
    """Record the plan, its digest and its seed in the register (see module doc).

    Raises
    ------
    InputError
        If a live plan exists for the date and shift, if the plan was changed after it was made,
        or if another plan registered meanwhile clashes with it.
    """
    by = authorize(actor, Permission.FLYING_CHECK if is_flying(plan.inputs) else Permission.PLAN)
    detail = f"{plan.plan_id}: {plan.summary.visits} visits, commitment {plan.commitment}"
    with ws.transaction(actor=by, action="plan", detail=detail) as tx:
        _register_in(tx, plan, seed, by)


def _register_in(tx: Transaction, plan: Plan, seed: str, by: str, *, round_id: str = "") -> None:
    document = plan.to_json()
    if not plan.plan_digest or content_digest(document) != plan.plan_digest:
        raise InputError(f"计划 {plan.plan_id} 生成后被改动过，请重新生成。 / plan {plan.plan_id} was changed "
                         "after it was made (its contents do not match its digest); make the plan again.")
    if commitment(seed, plan.inputs_digest) != plan.commitment:
        raise InputError(f"随机种子与计划 {plan.plan_id} 不符。 / the seed given with plan {plan.plan_id} is not "
                         "its own.")
    if tx.has_layer(PLANS) and len(tx.read(PLANS, where={"plan_id": plan.plan_id}, columns=["plan_id"])):
        raise InputError(f"计划 {plan.plan_id} 已登记。 / plan {plan.plan_id} is registered already.")
    live = live_plans(tx, date=plan.date, shift=plan.shift)
    kind = FLYING if is_flying(plan.inputs) else ""
    live = live[live.get("kind", pd.Series("", index=live.index)).fillna("").astype(str) == kind]  # one of each kind
    if not live.empty:
        first = live.iloc[0]
        raise InputError(
            f"{plan.date} 的{'日查' if plan.shift == 'day' else '夜查'}已有生效计划 {first['plan_id']}"
            f"（{first['created_by']} 于 {str(first['created_at'])[:16]} 登记），不能再登记第二个。如确需重排，"
            f"请先说明理由撤回原计划（计划页，或 `patrol withdraw WORKSPACE {first['plan_id']} --reason …`）。 / "
            f"{plan.date} ({plan.shift}) already has the live plan {first['plan_id']}; withdraw it with a reason "
            "first.")
    twice = sorted({s.visit_id for _, s in plan.stops()} & _visits_on(tx, plan.date, shift=plan.shift,
                                                                      regular_only=not kind))
    if twice:
        raise InputError(f"同一班次另一计划已安排检查 {'、'.join(twice[:10])}，请重新生成。 / "
                         f"another plan registered for {plan.date} ({plan.shift}) already visits "
                         f"{', '.join(twice[:10])}; make this plan again.")
    pairs = team_pairs(plan.draw["teams"])
    day = pd.Timestamp(plan.date)
    neighbours = _pairs_on(tx, (day - pd.Timedelta(days=1)).strftime("%Y-%m-%d"), regular_only=not kind) | _pairs_on(
        tx, (day + pd.Timedelta(days=1)).strftime("%Y-%m-%d"), regular_only=not kind)
    repeated = sorted(pairs & neighbours)
    if repeated:
        raise InputError(f"检查人员 {'、'.join(repeated[:5])} 在前一天或后一天的计划中已同组，请重新生成。 / "
                         f"inspectors {', '.join(repeated[:5])} ride together on the day before or after in a "
                         "plan registered meanwhile; make this plan again.")
    if tx.has_layer(PLANS) and not tx.has_layer("plan_stops"):  # a register older than the table
        tx.append("plan_stops", read_plan_stops(tx))
    row = {"plan_id": plan.plan_id, "date": plan.date, "shift": plan.shift, "created_at": plan.created_at,
           "created_by": by, "commitment": plan.commitment, "inputs_digest": plan.inputs_digest,
           "plan_digest": plan.plan_digest, "visits": plan.summary.visits, "pairs": ";".join(sorted(pairs)),
           "status": LIVE, "round_id": round_id, "withdrawn_at": "", "withdrawn_by": "", "withdraw_reason": "",
           "plan_json": json.dumps(document, ensure_ascii=False), "kind": kind}
    tx.append(PLANS, pd.DataFrame([row], columns=REGISTER_COLUMNS))
    tx.append("plan_stops", plan_stop_rows(plan, created_by=by))
    tx.append(SEEDS, pd.DataFrame([{"key": plan.plan_id, "kind": "plan", "seed": seed, "created_at": now_local()}]))


def withdraw_plan(ws: Store, plan_id: str, *, reason: str, actor: Principal | str) -> None:
    """Withdraw a live plan with a reason (it stays in the register, shown to leaders as withdrawn).

    A plan with recorded results cannot be withdrawn: its visits were made.
    """
    kinds = ws.read(PLANS, where={"plan_id": plan_id}) if ws.has_layer(PLANS) else pd.DataFrame()
    flying = not kinds.empty and str(kinds.iloc[0].get("kind") or "") == FLYING
    by = authorize(actor, Permission.FLYING_CHECK if flying else Permission.PLAN)  # a flying check: the leaders
    reason = " ".join(str(reason or "").split())
    if len(reason) < 2:
        raise InputError("撤回计划须写明理由。 / Give the reason for withdrawing the plan.")
    with ws.transaction(actor=by, action="plan-withdraw", detail=f"{plan_id}: {reason}") as tx:
        rows = tx.read(PLANS, where={"plan_id": plan_id}) if tx.has_layer(PLANS) else pd.DataFrame()
        if rows.empty:
            raise InputError(f"计划 {plan_id} 不在登记簿中。 / Plan {plan_id} is not registered.")
        row = rows.iloc[[0]].copy()
        if str(row["status"].iloc[0] if "status" in row else LIVE) == WITHDRAWN:
            raise InputError(f"计划 {plan_id} 已于 {row['withdrawn_at'].iloc[0]} 撤回。 / Plan {plan_id} is withdrawn "
                             "already.")
        if tx.has_layer("results") and len(tx.read("results", where={"plan_id": plan_id}, columns=["plan_id"])):
            raise InputError(f"计划 {plan_id} 已录入检查结果，不能撤回。 / Plan {plan_id} has recorded results; it "
                             "cannot be withdrawn.")
        for column, value in (("status", WITHDRAWN), ("withdrawn_at", now_local()), ("withdrawn_by", by),
                              ("withdraw_reason", reason)):
            row[column] = value
        tx.upsert(PLANS, row, key="plan_id")


def plans_register(ws: Store) -> pd.DataFrame:
    """The plan register, every plan with its status (``live`` or ``withdrawn``); empty if none."""
    if not ws.has_layer(PLANS):
        return pd.DataFrame(columns=REGISTER_COLUMNS)
    rows = ws.read(PLANS)
    for column in REGISTER_COLUMNS:
        if column not in rows.columns:
            rows[column] = ""
    rows["status"] = rows["status"].replace("", LIVE).fillna(LIVE)
    return rows.sort_values(["date", "shift", "created_at"]).reset_index(drop=True)


def redraws_per_month(ws: Store) -> pd.DataFrame:
    """Plans registered and withdrawn (redraws) per month: ``month, plans, withdrawn``."""
    rows = plans_register(ws)
    if rows.empty:
        return pd.DataFrame(columns=["month", "plans", "withdrawn"])
    rows["month"] = rows["date"].astype(str).str[:7]
    return (rows.assign(withdrawn=rows["status"] == WITHDRAWN).groupby("month")
            .agg(plans=("plan_id", "size"), withdrawn=("withdrawn", "sum")).reset_index())


def registered_plan(ws: Store, plan_id: str) -> dict[str, Any]:
    """The document registered for ``plan_id`` (for ``verify`` against the register)."""
    rows = ws.read(PLANS, where={"plan_id": plan_id}, columns=["plan_json"]) if ws.has_layer(PLANS) else None
    if rows is None or rows.empty:
        raise InputError(f"计划 {plan_id} 不在登记簿中。 / plan {plan_id} is not in the register of {ws.label}.")
    return json.loads(str(rows["plan_json"].iloc[0]))


def plan_seed(ws: Store, plan_id: str, *, actor: Principal | str, now: datetime | None = None) -> str:
    """A plan's seed, once its inspection window has closed (planners, leaders); refused before."""
    authorize(actor, Permission.VIEW_SEEDS)
    plan = Plan.from_json(registered_plan(ws, plan_id))
    closes = datetime.fromisoformat(plan.window_closes_at())
    if _moment(now) < closes:
        raise PermissionDeniedError(f"计划 {plan_id} 的随机种子在检查时段结束（{closes:%Y-%m-%d %H:%M}）后才能查看。 / "
                                    f"The seed of {plan_id} is revealed after {closes:%Y-%m-%d %H:%M}.")
    return _stored_seed(ws, plan_id)


def _stored_seed(ws: Store, key: str) -> str:
    rows = ws.read(SEEDS, where={"key": key}, columns=["seed"]) if ws.has_layer(SEEDS) else None
    if rows is None or rows.empty:
        raise InputError(f"登记簿中没有 {key} 的随机种子（在保存种子之前生成）。 / no seed of {key} is kept in "
                         f"{ws.label} (made before seeds were kept in the register).")
    return str(rows["seed"].iloc[0])


# -- the double-ten round ------------------------------------------------------------------
def round_document(result: Mapping[str, Any], seed: str, county_code: str) -> dict[str, Any]:
    """The round's public record: its inputs (institutions, high-risk ones), digest and commitment."""
    inputs = {"county_code": county_code, "from": result["from"], "days": result["days"], "shift": result["shift"],
              "institutions": sorted(result["round_sites"]), "high_risk": sorted(result["round_high"])}
    inputs_digest = digest(inputs)
    promise = commitment(seed, inputs_digest)
    return {"round_id": f"{county_code}-R{result['from'].replace('-', '')}-{result['shift']}-{promise[:8]}",
            "inputs": inputs, "inputs_digest": inputs_digest, "commitment": promise,
            "plans": [{"date": d["date"], "plan_id": d["plan"].plan_id, "commitment": d["plan"].commitment,
                       "inputs_digest": d["plan"].inputs_digest}
                      for d in result["plans"]]}


def register_round(ws: Store, result: Mapping[str, Any], *, seed: str, actor: Principal | str) -> dict[str, Any]:
    """Record a double-ten round and each of its days' plans, all in one transaction; return its record."""
    by = authorize(actor, Permission.PLAN)
    record = round_document(result, seed, ws.meta()["county_code"])
    with ws.transaction(actor=by, action="round", detail=f"{record['round_id']}: {len(result['plans'])} days, "
                                                        f"commitment {record['commitment']}") as tx:
        for day in result["plans"]:
            _register_in(tx, day["plan"], day["seed"], by, round_id=record["round_id"])
        tx.append(ROUNDS, pd.DataFrame([{"round_id": record["round_id"], "from": result["from"],
                                         "days": int(result["days"]), "shift": result["shift"],
                                         "commitment": record["commitment"], "created_at": now_local(),
                                         "created_by": by, "round_json": json.dumps(record, ensure_ascii=False)}]))
        tx.append(SEEDS, pd.DataFrame([{"key": record["round_id"], "kind": "round", "seed": seed,
                                        "created_at": now_local()}]))
    return record


def round_seed(ws: Store, round_id: str, *, actor: Principal | str, now: datetime | None = None) -> str:
    """A double-ten round's seed, once the window of its last day has closed (it reveals every day's)."""
    authorize(actor, Permission.VIEW_SEEDS)
    rows = ws.read(ROUNDS, where={"round_id": round_id}, columns=["round_json"]) if ws.has_layer(ROUNDS) else None
    if rows is None or rows.empty:
        raise InputError(f"双十轮次 {round_id} 不在登记簿中。 / Round {round_id} is not registered.")
    last = json.loads(str(rows["round_json"].iloc[0]))["plans"][-1]["plan_id"]
    closes = datetime.fromisoformat(Plan.from_json(registered_plan(ws, last)).window_closes_at())
    if _moment(now) < closes:
        raise PermissionDeniedError(f"双十轮次 {round_id} 的随机种子在最后一天检查结束（{closes:%Y-%m-%d %H:%M}）"
                                    f"后才能查看。 / The seed of round {round_id} is revealed after "
                                    f"{closes:%Y-%m-%d %H:%M}.")
    return _stored_seed(ws, round_id)
