"""Patrol-area benchmark: balance and time of :func:`routing.areas.partition_areas` on synthetic
counties, against region growing from far-apart seeds (the plain NetworkX baseline, also the
fallback inside the partitioner), measured in the same run.

    python benchmarks/areas.py            # 100/5, 300/20 and 1,000/50 communities/teams
    python benchmarks/areas.py --quick    # 100/5 only

The counties are SYNTHETIC (square communities of random workload, team bases at random), labelled
as such in the output. Both methods get the same communities, workloads and adjacency; the
baseline's areas are handed to teams by the same Hungarian assignment. Printed: seconds, the
largest deviation from the mean workload, and the ratio of the baseline's deviation to ours.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.settings import AreaSettings  # noqa: E402
from routing.areas import _grow, _to_teams, adjacency, evaluate, partition_areas  # noqa: E402
from tests.routing.test_areas import _synthetic  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [(10, 10, 5)] if args.quick else [(10, 10, 5), (15, 20, 20), (25, 40, 50)]
    print("SYNTHETIC counties (square communities, random workloads and bases)")
    print(f"{'communities/teams':>18} {'ours s':>8} {'ours dev':>9} {'grow s':>8} {'grow dev':>9} {'dev ratio':>10}")
    for rows, cols, teams in sizes:
        loads = _synthetic(rows, cols, teams, seed=11)
        graph = adjacency(loads.communities)
        start = time.perf_counter()
        ours = partition_areas(loads, graph, AreaSettings(seconds=8.0), seed=1)
        ours_s = time.perf_counter() - start
        start = time.perf_counter()
        proxy = loads.load().mean(axis=1)
        grown = _to_teams(loads, _grow(graph, proxy, teams, random.Random(1)))
        codes = list(loads.communities["code"])
        base = evaluate(loads, {codes[n]: t for n, t in grown.items()}, graph)
        grow_s = time.perf_counter() - start
        ratio = base.max_deviation / max(ours.max_deviation, 1e-9)
        print(f"{rows * cols:>12}/{teams:<5} {ours_s:>8.2f} {100 * ours.max_deviation:>8.1f}% {grow_s:>8.2f} "
              f"{100 * base.max_deviation:>8.1f}% {ratio:>9.1f}×  balanced: {ours.balanced}")


if __name__ == "__main__":
    main()
