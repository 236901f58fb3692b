"""The double-ten rule (双十原则): a 10-day round covering every active institution.

``schedule`` spreads the active institutions over the days of the round in a seeded random
order (so the round itself is not predictable), twice for those at or above the high-risk
score (in both halves of the round), and makes each day's plan with them as mandatory visits;
the draw fills what time is left. A visit a day cannot fit is carried to the next day; what is
still left at the end, and every day under the daily minimum, is reported with the number of
team-days the teams fall short by — nothing is dropped quietly.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.clock import local_day
from core.settings import PatrolSettings, load_patrol_settings
from routing.draw import new_seed, shuffled
from routing.plan import candidate_visits, make_plan
from routing.teams import team_pairs
from store import Store

INACTIVE = ("deregistered",)


def round_assignment(site_ids: list[str], high: set[str], days: int, seed: str) -> dict[int, list[str]]:
    """Seeded assignment of institutions to days; high-risk ones get a second day in the other half."""
    order = shuffled(seed, "double-ten", site_ids)
    by_day: dict[int, list[str]] = {d: [] for d in range(days)}
    half = max(1, days // 2)
    for i, site in enumerate(order):
        first = i % days
        by_day[first].append(site)
        if site in high and days > 1:
            by_day[(first + half) % days].append(site)
    return by_day


def day_seed(seed: str, day: int) -> str:
    """The seed of day ``day`` (0-based) of a round: fixed by the round's seed, so the round's commitment binds it."""
    return hashlib.sha256(f"{seed}:{day}".encode()).hexdigest()[:32]


def verify_round(record: dict[str, Any], seed: str) -> list[str]:
    """Every way a round's record differs from its commitment and ``seed``; empty when confirmed."""
    from routing.draw import commitment, digest

    problems = []
    if digest(record.get("inputs")) != record.get("inputs_digest"):
        problems.append("the round's recorded inputs were changed after its commitment.")
    if commitment(seed, str(record.get("inputs_digest"))) != record.get("commitment"):
        problems.append("the seed and inputs do not match the round's commitment (wrong seed, or altered).")
    for d, plan in enumerate(record.get("plans", [])):
        if commitment(day_seed(seed, d), str(plan.get("inputs_digest"))) != plan.get("commitment"):
            problems.append(f"day {plan.get('date')}: plan {plan.get('plan_id')} was not drawn with the round's "
                            "seed for that day.")
    return problems


def schedule(
    ws: Store,
    start: str,
    *,
    days: int | None = None,
    shift: str = "day",
    teams: pd.DataFrame | None = None,
    inspectors: pd.DataFrame | None = None,
    settings: PatrolSettings | None = None,
    seed: str | None = None,
    time_limit: float | None = None,
    iterations: int | None = None,
    actor: Any = None,
) -> dict[str, Any]:
    """Plan ``days`` days from ``start`` under the double-ten rule; return plans, seeds and shortfall
    (``actor``, a :class:`access.roles.Principal` or an operator's name, must be allowed to plan)."""
    settings = settings or load_patrol_settings(store=ws)
    rule = settings.double_ten
    days = int(days or rule.days)
    min_daily = rule.min_daily
    day0 = local_day(start)
    seed = seed or new_seed()
    pool, _ = candidate_visits(ws, day0, settings)
    sites = ws.read("risk_sites") if ws.has_layer("risk_sites") else None
    institutions = pool[pool["kind"] == "institution"]
    if sites is not None:
        status = dict(zip(sites["site_id"], sites["status"].fillna(""), strict=True))
        institutions = institutions[[status.get(i, "") not in INACTIVE for i in institutions["visit_id"]]]
    high = set(institutions.loc[institutions["weight"] >= rule.high_risk, "visit_id"])
    by_day = round_assignment(list(institutions["visit_id"]), high, days, seed)
    needed = {i: 1 + (i in high) for i in institutions["visit_id"]}
    done: dict[str, int] = dict.fromkeys(needed, 0)
    carry: list[str] = []
    out_days, previous = [], None
    placed: set[str] = set()  # mandatory tasks (clue checks, revisits) routed on an earlier day of the round
    for d in range(days):
        day = day0 + pd.Timedelta(days=d)
        today = list(dict.fromkeys(carry + by_day[d]))
        required = {s: "双十原则：本轮必检" + ("（高风险第二次）" if done[s] >= 1 else "") for s in today}
        plan, plan_seed = make_plan(
            ws,
            day,
            shift,
            teams=teams,
            inspectors=inspectors,
            settings=settings,
            seed=day_seed(seed, d),
            time_limit=time_limit,
            iterations=iterations,
            previous=previous,
            required=required,
            placed=placed,
            actor=actor,
        )
        placed |= {s.visit_id for _, s in plan.stops() if s.mandatory and s.visit_id not in required}
        visited = {stop.visit_id for _, stop in plan.stops()}
        for s in visited & set(done):
            done[s] += 1
        carry = [s for s in today if s not in visited]
        previous = sorted(team_pairs(plan.draw["teams"]))
        out_days.append(
            {
                "date": day.strftime("%Y-%m-%d"),
                "plan": plan,
                "seed": plan_seed,
                "visits": len(visited),
                "institutions": len(visited & set(done)),
                "carried": len(carry),
            }
        )
    team_days = days * len(out_days[0]["plan"].teams) if out_days else 0
    per_team_day = sum(d["visits"] for d in out_days) / max(team_days, 1)
    missing = {s: needed[s] - done[s] for s in needed if done[s] < needed[s]}
    short_visits = sum(missing.values())
    under_min = {d["date"]: min_daily - d["visits"] for d in out_days if d["visits"] < min_daily}
    short = max(short_visits, sum(under_min.values()))  # a missing visit made on a thin day counts for both
    return {
        "from": day0.strftime("%Y-%m-%d"),
        "days": days,
        "shift": shift,
        "institutions": len(needed),
        "high_risk": len(high),
        "visits_needed": sum(needed.values()),
        "visits_made": sum(min(done[s], needed[s]) for s in needed),
        "min_daily": min_daily,
        "per_team_day": round(per_team_day, 2),
        "days_under_minimum": under_min,
        "uncovered": sorted(missing),
        "met": short == 0,
        "shortfall_team_days": 0 if short == 0 else math.ceil(short / max(per_team_day, 0.1)),
        "plans": out_days,
        "seed": seed,  # secret until the round's last window has closed
        "round_sites": list(institutions["visit_id"]),
        "round_high": sorted(high),
    }


@dataclass(frozen=True)
class RoundOverview:
    """A registered double-ten round as planned: per day and team, and what falls short."""

    round_id: str
    start: str
    days: int
    shift: str
    commitment: str
    created_by: str
    created_at: str
    per_day: pd.DataFrame  # date, team_id, team_name, stops, round_visits
    visits_needed: int
    visits_made: int
    uncovered: list[str]
    days_under_minimum: dict[str, int]
    shortfall_team_days: int

    @property
    def met(self) -> bool:
        """Every institution of the round covered and every day at the daily minimum."""
        return not self.uncovered and not self.days_under_minimum


def rounds(ws: Store) -> pd.DataFrame:
    """The registered rounds, newest first: ``round_id, from, days, shift, created_at, created_by, commitment``."""
    from routing.register import ROUNDS

    columns = ["round_id", "from", "days", "shift", "created_at", "created_by", "commitment"]
    if not ws.has_layer(ROUNDS):
        return pd.DataFrame(columns=columns)
    return ws.read(ROUNDS)[columns].sort_values("created_at", ascending=False).reset_index(drop=True)


def round_overview(ws: Store, round_id: str, settings: PatrolSettings | None = None) -> RoundOverview:
    """Recount a registered round from the register: its live plans' stops per day and team, the
    visits its institutions needed (twice for the high-risk ones) and got, the days under the daily
    minimum and the shortfall in team-days — as ``patrol schedule`` reports it."""
    import json

    from core.errors import InputError
    from routing.plan import read_plan_stops
    from routing.register import ROUNDS, plans_register

    settings = settings or load_patrol_settings(store=ws)
    rows = ws.read(ROUNDS, where={"round_id": round_id}) if ws.has_layer(ROUNDS) else pd.DataFrame()
    if rows.empty:
        raise InputError(f"双十轮次 {round_id} 不在登记簿中。 / round {round_id} is not in the register.")
    row = rows.iloc[0]
    record = json.loads(str(row["round_json"]))
    institutions = list(record["inputs"]["institutions"])
    high = set(record["inputs"]["high_risk"])
    register = plans_register(ws)
    live = register[(register["round_id"] == round_id) & (register["status"] == "live")]
    stops = read_plan_stops(ws)
    stops = stops[stops["plan_id"].isin(set(live["plan_id"]))]
    in_round = stops["visit_id"].isin(set(institutions))
    per_day = (stops.assign(round_visit=in_round).groupby(["date", "team_id", "team_name"])
               .agg(stops=("visit_id", "size"), round_visits=("round_visit", "sum")).reset_index())
    done = stops[in_round].groupby("visit_id").size()
    needed = {i: 1 + (i in high) for i in institutions}
    made = {i: min(int(done.get(i, 0)), n) for i, n in needed.items()}
    uncovered = sorted(i for i, n in needed.items() if made[i] < n)
    daily = stops.groupby("date").size()
    dates = [(local_day(str(row["from"])) + pd.Timedelta(days=d)).strftime("%Y-%m-%d") for d in range(int(row["days"]))]
    minimum = settings.double_ten.min_daily
    under = {d: minimum - int(daily.get(d, 0)) for d in dates if int(daily.get(d, 0)) < minimum}
    teams = max(stops.groupby("date")["team_id"].nunique().max() if len(stops) else 0, 1)
    per_team_day = len(stops) / max(len(dates) * teams, 1)
    short = max(sum(needed[i] - made[i] for i in uncovered), sum(under.values()))
    return RoundOverview(round_id, str(row["from"]), int(row["days"]), str(row["shift"]), str(row["commitment"]),
                         str(row["created_by"]), str(row["created_at"]), per_day, sum(needed.values()),
                         sum(made.values()), uncovered, under,
                         0 if short == 0 else math.ceil(short / max(per_team_day, 0.1)))
