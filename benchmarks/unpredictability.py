"""Can the inspected guess when they will be visited? A simulated month on the default county (四不两直).

    python benchmarks/unpredictability.py [--days 30] [--workspace data/guixi_360681.gpkg]

Part 1 (lags) makes a month of real plans and, for each lag k, prints how often a site visited
k days ago is visited again against what its own probability predicts (lift 1.0 = earlier plans
tell nothing).

Part 2 (when) runs `patrol simulate` day by day — the product's own planner, results recorded
and risk refreshed each evening, night shifts on the seeded 30 % of days — twice in the same
run: with the shipped rules, and with the baseline rules of a planner that sends every team out
at the shift's start and lets the solver pick its first stop. It prints, against the targets of
docs/routing.md §4:

* the revisit-day spread: on which day of its window each 回头看 was made;
* the night re-draw share: of the sites the day shift visited, the share the night draw took,
  against what the night's probabilities predict;
* the first-arrival spread: minutes after the shift's start of each team's first arrival;
* the nearest-first share: how often the first stop is the team's stop nearest its base,
  against chance (1 / its number of stops);
* what it costs: visits per team and shift, against the baseline.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def lags(workspace: Path, start: str, days: int) -> None:
    from routing.predictability import simulate_plans
    from store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(shutil.copy2(workspace, Path(tmp) / "ws.gpkg"))
        result = simulate_plans(open_store(copy), start, days, iterations=100)
    print(f"{result['days']} simulated days, {result['sites']} sites, {result['visits_per_day']:.1f} drawn-site "
          "visits a day")
    print(f"{'lag':>4} {'pairs':>6} {'observed':>9} {'expected':>9} {'lift':>6}")
    for row in result["lags"]:
        print(f"{row['lag']:4d} {row['pairs']:6d} {row['observed']:9.3f} {row['expected']:9.3f} {row['lift']:6.3f}")


def month(workspace: Path, start: str, days: int, baseline: bool) -> dict[str, object]:
    """Simulate ``days`` days on a copy of ``workspace``; the measures of part 2."""
    from casework.simulate import simulate
    from core.settings import load_patrol_settings
    from routing.model import Plan
    from routing.plan import live_plans
    from store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        ws = open_store(Path(shutil.copy2(workspace, Path(tmp) / "ws.gpkg")))
        settings = load_patrol_settings(store=ws)
        if baseline:
            settings = replace(settings, draw=replace(settings.draw, departure_window_min=0, first_stop_drawn=False))
        window = settings.cases.revisit_window_days
        plans: dict[str, list[Plan]] = {}
        offsets: list = []
        for d in range(days):
            day = (pd.Timestamp(start) + pd.Timedelta(days=d)).strftime("%Y-%m-%d")
            due = {}
            if ws.has_layer("cases"):
                cases = ws.read("cases", where={"status": "rectifying"})
                due = {f"R:{c}": pd.Timestamp(str(r)) for c, r in zip(cases["case_id"], cases["revisit_due"],
                                                                         strict=True)}
            simulate(ws, day, 1, seed=2026, settings=settings)
            rows = live_plans(ws, date=day)
            for text in rows["plan_json"]:
                plan = Plan.from_json(json.loads(str(text)))
                plans.setdefault(plan.shift, []).append(plan)
                offsets += [((pd.Timestamp(day) - due[s.visit_id]).days, due[s.visit_id]) for _, s in plan.stops()
                            if s.kind == "revisit" and s.visit_id in due]
        # a window that runs past the last simulated day cannot show its late days: count whole windows only
        last = pd.Timestamp(start) + pd.Timedelta(days=days - window)
        offsets = [offset for offset, due_day in offsets if due_day <= last]
        metric = ws.meta()["metric_crs"]
    return {"plans": plans, "offsets": offsets, "window": window, "metric": metric,
            "window_min": settings.draw.departure_window_min}


def report(name: str, result: dict) -> dict[str, float]:
    from routing.predictability import first_arrivals, nearest_first, night_redraw

    plans = result["plans"]
    every = plans.get("day", []) + plans.get("night", [])
    offsets = np.array(result["offsets"])
    window = int(result["window"])
    print(f"\n== {name} ({len(plans.get('day', []))} day and {len(plans.get('night', []))} night plans)")
    if len(offsets):
        shares = [float(np.mean(offsets == k)) for k in range(window)]
        late = float(np.mean(offsets >= window))
        print(f"revisit day in its window ({len(offsets)} revisits whose window lies in the simulated days): "
              + ", ".join(f"day {k + 1}: {s:.0%}" for k, s in enumerate(shares))
              + f", later: {late:.0%}; on the due day {shares[0]:.0%} (target ≈ {1 / window:.0%}, ≤ 35%)")
    nights = {p.date: p for p in plans.get("night", [])}
    taken = total = 0
    expected = 0.0
    for day_plan in plans.get("day", []):
        if day_plan.date in nights:
            a, b, e = night_redraw(day_plan, nights[day_plan.date])
            taken, total, expected = taken + a, total + b, expected + e
    if total:
        print(f"night re-draw: {taken} of {total} day-visited sites drawn at night ({taken / total:.1%}); their night "
              f"probabilities predict {expected / total:.1%}; ratio {taken / max(expected, 1e-9):.2f} (target 0.7–1.3)")
    day_first = np.array(first_arrivals(plans.get("day", [])))
    if len(day_first):
        print(f"first arrival after the day shift's start: mean {day_first.mean():.0f} min, standard deviation "
              f"{day_first.std():.1f} min, range {day_first.min():.0f}–{day_first.max():.0f} min "
              f"(target: standard deviation ≥ {result['window_min'] / np.sqrt(12) * 0.8:.0f} min)")
    share, chance, counted = nearest_first(every, str(result["metric"]))
    print(f"nearest-first: {share:.1%} of {counted} team-shifts against {chance:.1%} by chance, "
          f"ratio {share / chance:.2f} (target ≤ 1.5)")
    team_shifts = sum(len(p.teams) for p in every)
    visits = sum(len(t.stops) for p in every for t in p.teams)
    print(f"visits: {visits} in {team_shifts} team-shifts, {visits / max(team_shifts, 1):.2f} per team-shift")
    return {"visits_per_team_shift": visits / max(team_shifts, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", default=str(ROOT / "data" / "guixi_360681.gpkg"))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default="2026-11-23")
    parser.add_argument("--skip-lags", action="store_true", help="only part 2")
    args = parser.parse_args()
    workspace = Path(args.workspace)
    if not args.skip_lags:
        lags(workspace, args.start, args.days)
    shipped = report("shipped rules", month(workspace, args.start, args.days, baseline=False))
    base = report("baseline: all leave at the start, the solver picks the first stop",
                  month(workspace, args.start, args.days, baseline=True))
    cost = 1 - shipped["visits_per_team_shift"] / max(base["visits_per_team_shift"], 1e-9)
    print(f"\ncost of the drawn departures and first stops: {cost:.1%} fewer visits per team-shift than the baseline")


if __name__ == "__main__":
    main()
