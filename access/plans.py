"""Who may open which plan, and when (保密): the rules every page and command asks.

* A team leader sees nothing of a plan before their team's release time, and after it only
  their own team's route (the team they lead, or the team their inspector was drawn into).
* Planners and leaders may open any plan; a view before a team's release is written to the
  audit log with the person's name.
* Nobody sees a seed before the plan's window has closed (:func:`routing.register.plan_seed`).
* 一公开: after the window a leader publishes the plan's commitment, digest, seed and results
  (:func:`publish_plan`); the publication is public and checkable with ``patrol verify``.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from access.roles import Permission, Principal, Role, as_principal, authorize
from core.clock import TIMEZONE, now_local
from core.errors import InputError, PermissionDeniedError
from core.untrusted import safe_cell
from routing.model import Plan, TeamRoute
from routing.plan import FLYING, is_flying, plan_done
from routing.register import LIVE, PLANS, plan_seed, plans_register
from store import Store

PUBLICATIONS = "publications"
PUBLIC_COLUMNS = ["plan_id", "date", "shift", "teams", "visits", "visited", "problems_found", "commitment",
                  "inputs_digest", "plan_digest", "seed", "published_at", "published_by"]


@dataclass(frozen=True)
class RouteView:
    """A plan as one person may see it now: the whole plan, or one team's route."""

    plan: Plan
    team_id: str  # the team this view is cut to ("" for the whole plan)
    released: bool  # every team shown has been released


def _moment(now: datetime | None) -> datetime:
    return (now or datetime.now(TIMEZONE)).astimezone(TIMEZONE)


def _released(plan: Plan, team_id: str, now: datetime) -> bool:
    return now >= datetime.fromisoformat(plan.released_at(team_id))


def own_team(plan: Plan, person: Principal) -> TeamRoute | None:
    """The team of ``plan`` a team leader leads: bound by team id, or by the inspector drawn into it."""
    for team in plan.teams:
        if (person.team_id and team.team_id == person.team_id) or (
                person.inspector_id and any(m.inspector_id == person.inspector_id for m in team.members)):
            return team
    return None


def _live_plans(ws: Store, day: str | None) -> list[Plan]:
    rows = plans_register(ws)
    rows = rows[rows["status"] == LIVE]
    if day is not None:
        rows = rows[rows["date"] == day]
    return [Plan.from_json(json.loads(text)) for text in rows["plan_json"]]


def kept_from(plan: Plan, person: Principal, now: datetime) -> bool:
    """A flying check (飞行检查) is kept from everyone but those who make them (leaders) and the teams
    that carry it out, until its shift is over — the township's planners above all."""
    if not is_flying(plan.inputs) or person.allows(Permission.FLYING_CHECK) or plan_done(plan, now):
        return False
    return not (person.role == Role.TEAM_LEADER and own_team(plan, person) is not None)


def visible_register(ws: Store, actor: Principal | str, *, now: datetime | None = None) -> pd.DataFrame:
    """The plan register as the person may see it: without the flying checks kept from them."""
    person, moment = as_principal(actor), _moment(now)
    authorize(person, Permission.VIEW_PLANS)
    rows = plans_register(ws)
    if rows.empty or "kind" not in rows.columns:
        return rows
    hidden = [i for i, row in rows.iterrows() if str(row.get("kind") or "") == FLYING
              and kept_from(Plan.from_json(json.loads(str(row["plan_json"]))), person, moment)]
    return rows.drop(index=hidden).reset_index(drop=True)


def routes_for(ws: Store, actor: Principal | str, *, day: str, now: datetime | None = None) -> list[RouteView]:
    """The plans of ``day`` the person may open now, as they may see them (nothing is audited here:
    a team leader gets only released routes of their own team; planners and leaders every plan)."""
    person, moment = as_principal(actor), _moment(now)
    views = []
    for plan in _live_plans(ws, day):
        if kept_from(plan, person, moment):
            continue
        if person.allows(Permission.VIEW_PLANS):
            views.append(RouteView(plan, "", all(_released(plan, t.team_id, moment) for t in plan.teams)))
        elif person.role == Role.TEAM_LEADER:
            team = own_team(plan, person)
            if team is not None and _released(plan, team.team_id, moment):
                views.append(RouteView(plan.only_team(team.team_id), team.team_id, True))
    return views


def open_route(ws: Store, actor: Principal | str, plan_id: str, team_id: str = "", *,
               now: datetime | None = None) -> RouteView:
    """Open one plan (or one team's route of it) as the person may; refused with the reason otherwise.

    A planner's or leader's view before release is written to the audit log.
    """
    person, moment = as_principal(actor), _moment(now)
    rows = ws.read_optional(PLANS, where={"plan_id": plan_id})
    plans = [] if rows is None or rows.empty or str(rows.iloc[0].get("status") or LIVE) != LIVE else [
        Plan.from_json(json.loads(str(rows["plan_json"].iloc[0])))]
    if not plans:
        raise InputError(f"计划 {plan_id} 不存在或已撤回。 / Plan {plan_id} is not a live plan.")
    plan = plans[0]
    if kept_from(plan, person, moment):
        ws.record_event(actor=person.audit_name, action="plan-view-refused", detail=f"{plan_id}: a flying check")
        raise PermissionDeniedError("飞行检查计划在检查结束前不对计划编制人公开。 / A flying check is kept from the "
                                    "planners until its shift is over.")
    if person.role == Role.TEAM_LEADER:
        team = own_team(plan, person)
        if team is None or (team_id and team.team_id != team_id):
            ws.record_event(actor=person.audit_name, action="plan-view-refused",
                            detail=f"{plan_id} team {team_id or '?'}: not the leader's team")
            raise PermissionDeniedError("只能查看本组的路线。 / A team leader sees only their own team's route.")
        if not _released(plan, team.team_id, moment):
            at = datetime.fromisoformat(plan.released_at(team.team_id))
            raise PermissionDeniedError(f"本组路线将于 {at:%m-%d %H:%M} 下发，之前不能查看（四不两直）。 / "
                                        f"Your route is released at {at:%m-%d %H:%M}.")
        return RouteView(plan.only_team(team.team_id), team.team_id, True)
    authorize(person, Permission.VIEW_PLANS)
    shown = plan.only_team(team_id) if team_id else plan
    early = [t.team_id for t in shown.teams if not _released(plan, t.team_id, moment)]
    if early:
        ws.record_event(actor=person.audit_name, action="plan-view-before-release",
                        detail=f"{plan_id}: teams {', '.join(early)}")
    return RouteView(shown, team_id, not early)


def publish_plan(ws: Store, plan_id: str, *, actor: Principal | str, now: datetime | None = None) -> dict[str, object]:
    """一公开: publish a plan's commitment, digest, seed and results once its window has closed."""
    by = authorize(actor, Permission.PUBLISH)
    seed = plan_seed(ws, plan_id, actor=actor, now=now)  # refuses before the window closes
    register = plans_register(ws)
    row = register[register["plan_id"] == plan_id].iloc[0]
    if row["status"] != LIVE:
        raise InputError(f"计划 {plan_id} 已撤回，不公开其结果。 / Plan {plan_id} was withdrawn.")
    plan = Plan.from_json(json.loads(str(row["plan_json"])))
    from casework.results import current_results, results_from_layer

    results = current_results(results_from_layer(ws.read_optional("results", where={"plan_id": plan_id})))
    visited = int(results["visited"].astype(bool).sum())
    problems = int((results["problems"].fillna("").astype(str).str.strip() != "").sum())
    record = {"plan_id": plan_id, "date": plan.date, "shift": plan.shift, "teams": len(plan.teams),
              "visits": plan.summary.visits, "visited": visited, "problems_found": problems,
              "commitment": plan.commitment, "inputs_digest": plan.inputs_digest, "plan_digest": plan.plan_digest,
              "seed": seed, "published_at": now_local(), "published_by": by}
    with ws.transaction(actor=by, action="publish", detail=f"{plan_id}: commitment {plan.commitment}") as tx:
        if tx.has_layer(PUBLICATIONS) and len(tx.read(PUBLICATIONS, where={"plan_id": plan_id})):
            raise InputError(f"计划 {plan_id} 已公开。 / Plan {plan_id} is published already.")
        if (tx.read(PLANS, where={"plan_id": plan_id}, columns=["status"])["status"] == "withdrawn").any():
            raise InputError(f"计划 {plan_id} 已撤回，不公开其结果。 / Plan {plan_id} was withdrawn.")
        tx.append(PUBLICATIONS, pd.DataFrame([record], columns=PUBLIC_COLUMNS))
    return record


def publications(ws: Store) -> pd.DataFrame:
    """Every published plan (public: anyone may read and check these)."""
    if not ws.has_layer(PUBLICATIONS):
        return pd.DataFrame(columns=PUBLIC_COLUMNS)
    return ws.read(PUBLICATIONS).sort_values(["date", "shift"]).reset_index(drop=True)


def publications_csv(table: pd.DataFrame) -> bytes:
    """The published list as CSV (UTF-8 with BOM, opens in Excel), every formula-like text defused."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(table.columns))
    writer.writerows([[safe_cell(v) for v in row] for row in table.itertuples(index=False)])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def published_plan(ws: Store, plan_id: str) -> dict[str, object]:
    """The plan document of a published plan (public once published; refused before)."""
    if publications(ws).query("plan_id == @plan_id").empty:
        raise PermissionDeniedError(f"计划 {plan_id} 尚未公开。 / Plan {plan_id} is not published.")
    rows = ws.read(PLANS, where={"plan_id": plan_id}, columns=["plan_json"])
    return json.loads(str(rows["plan_json"].iloc[0]))


def audit_log(ws: Store, *, actor: Principal | str) -> pd.DataFrame:
    """The audit log, newest first (leaders and administrators; nobody edits it)."""
    authorize(actor, Permission.READ_AUDIT)
    log = ws.audit_log()
    return log.sort_values("time", ascending=False).reset_index(drop=True)
