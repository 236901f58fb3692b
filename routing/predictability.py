"""Can the inspected guess tomorrow's plan from earlier ones? A measurement (四不两直).

For every lag ``k`` the question is: among sites visited ``k`` days before day ``t``, how
often is the site visited on day ``t``, against what its own probability predicts? The ratio
(lift) is 1 when earlier plans carry no information about the next one. A site's own
probability is allowed to differ from another's (risk is not public), so the expectation uses
each site's probability of that day.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pyproj import Transformer

from core.clock import local_day
from core.settings import PatrolSettings, clock_minutes
from routing.model import Plan
from routing.teams import team_pairs
from store import Store


def lag_lift(visited: np.ndarray, probability: np.ndarray, max_lag: int = 7) -> list[dict[str, float]]:
    """Observed vs expected revisit rate after ``k`` days, for k = 1..max_lag.

    ``visited`` and ``probability`` are (days × sites) arrays.
    """
    rows = []
    for k in range(1, max_lag + 1):
        if k >= len(visited):
            break
        earlier, later, chance = visited[:-k], visited[k:], probability[k:]
        mask = earlier.astype(bool)
        pairs = int(mask.sum())
        if pairs == 0:
            continue
        observed = float(later[mask].mean())
        expected = float(chance[mask].mean())
        rows.append({"lag": k, "pairs": pairs, "observed": round(observed, 4), "expected": round(expected, 4),
                     "lift": round(observed / expected, 3) if expected > 0 else float("nan")})
    return rows


def simulate_plans(ws: Store, start: str, days: int, *, teams: pd.DataFrame | None = None,
                   inspectors: pd.DataFrame | None = None, seed: str = "simulation", iterations: int = 200,
                   shift: str = "day", settings: PatrolSettings | None = None) -> dict[str, Any]:
    """Make ``days`` consecutive plans (not registered) and measure lag lifts on what was visited."""
    import hashlib

    from routing.plan import make_plan

    day0 = local_day(start)
    plans, previous = [], None
    for d in range(days):
        day_seed = hashlib.sha256(f"{seed}:{d}".encode()).hexdigest()[:32]
        plan, _ = make_plan(ws, day0 + pd.Timedelta(days=d), shift, teams=teams, inspectors=inspectors,
                            seed=day_seed, iterations=iterations, previous=previous, settings=settings)
        previous = sorted(team_pairs(plan.draw["teams"]))
        plans.append(plan)
    sites = sorted({s for p in plans for s in p.probabilities})
    index = {s: i for i, s in enumerate(sites)}
    visited = np.zeros((days, len(sites)))
    probability = np.zeros((days, len(sites)))
    for d, plan in enumerate(plans):
        for site, p in plan.probabilities.items():
            probability[d, index[site]] = p
        for _, stop in plan.stops():
            if stop.visit_id in index:
                visited[d, index[stop.visit_id]] = 1
    # The probability of being *visited* is the draw's times the share of drawn sites routed.
    routed = visited.sum(axis=1) / np.maximum(np.array([len(p.draw["sites"]) for p in plans]), 1)
    return {"lags": lag_lift(visited, probability * routed[:, None]), "days": days, "sites": len(sites),
            "visits_per_day": float(visited.sum(axis=1).mean())}


# -- when a site is visited (四不两直): measures over plans, for benchmarks/unpredictability.py -------
def first_arrivals(plans: list[Plan]) -> list[float]:
    """Minutes after its shift's start at which each team of each plan reaches its first stop."""
    out = []
    for plan in plans:
        start = clock_minutes(plan.window[0])
        out += [float(clock_minutes(t.stops[0].arrival) - start) for t in plan.teams if t.stops]
    return out


def nearest_first(plans: list[Plan], metric_crs: str) -> tuple[float, float, int]:
    """How often a team's first stop is its stop nearest the base (straight line), against chance
    (the mean of 1 / its number of stops); and how many team-days with two or more stops were counted."""
    to_metric = Transformer.from_crs("EPSG:4326", metric_crs, always_xy=True)
    hits, chance, counted = 0, 0.0, 0
    for plan in plans:
        for team in plan.teams:
            if len(team.stops) < 2:
                continue
            bx, by = to_metric.transform(team.base.lon, team.base.lat)
            sx, sy = to_metric.transform([s.lon for s in team.stops], [s.lat for s in team.stops])
            distance = np.hypot(np.asarray(sx) - bx, np.asarray(sy) - by)
            hits += int(np.argmin(distance) == 0)
            chance += 1 / len(team.stops)
            counted += 1
    return (hits / counted if counted else float("nan"), chance / counted if counted else float("nan"), counted)


def night_redraw(day_plan: Plan, night_plan: Plan) -> tuple[int, int, float]:
    """Of the sites the day shift visited as drawn (not mandatory) stops: how many the night shift's
    draw took, how many there were, and how many its probabilities predict."""
    seen = {s.visit_id for _, s in day_plan.stops() if not s.mandatory}
    drawn = set(night_plan.draw.get("sites", []))
    expected = sum(night_plan.probabilities.get(v, 0.0) for v in seen)
    return len(seen & drawn), len(seen), expected
