"""Can earlier plans predict tomorrow's? A month of simulated plans on the default county.

    python benchmarks/unpredictability.py [--days 30] [--workspace data/guixi_360681.gpkg]

For each lag k it prints how often a site visited k days ago is visited again, against what
its own probability predicts (lift 1.0 = earlier plans tell nothing). The plans are made with
the real planner (draw, team draw, PyVRP with a short iteration budget) and not registered.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from routing.predictability import simulate_plans
    from store import open_store

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", default=str(ROOT / "data" / "guixi_360681.gpkg"))
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--start", default="2026-11-23")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(shutil.copy2(args.workspace, Path(tmp) / "ws.gpkg"))
        result = simulate_plans(open_store(copy), args.start, args.days, iterations=100)
    print(f"{result['days']} simulated days, {result['sites']} sites, {result['visits_per_day']:.1f} drawn-site "
          "visits a day")
    print(f"{'lag':>4} {'pairs':>6} {'observed':>9} {'expected':>9} {'lift':>6}")
    for row in result["lags"]:
        print(f"{row['lag']:4d} {row['pairs']:6d} {row['observed']:9.3f} {row['expected']:9.3f} {row['lift']:6.3f}")


if __name__ == "__main__":
    main()
