"""A day plan on a county of thousands of candidate sites: time, peak memory, and whether the draw fits.

    python benchmarks/scale_plan.py [--buildings 8000] [--institutions 3000]

The county is the default one grown with SYNTHETIC buildings (``grid.synthetic.add_buildings``) and
demonstration institutions and clues (``patrol demo-layers``), 演示数据, made once and kept in
/tmp/patrol-bench-scale. The plan is made twice in one process (the second with the road network
and CCH ordering cached) and printed with the candidate pool, the drawn and due visits, the visits
routed and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = Path(tempfile.gettempdir()) / "patrol-bench-scale"


def county(buildings: int, institutions: int) -> Path:
    from tests.helpers import cached_county, grow_synthetic

    return cached_county(CACHE, f"county_{buildings}b_{institutions}i.gpkg", lambda ws, path: grow_synthetic(
        ws, path, buildings=buildings, institutions=institutions, clues=200, seed=5))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=8000)
    parser.add_argument("--institutions", type=int, default=3000)
    args = parser.parse_args()
    from routing.plan import make_plan, verify_plan
    from store import open_store

    ws = open_store(county(args.buildings, args.institutions))
    for attempt in ("first", "cached"):
        start = time.perf_counter()
        plan, seed = make_plan(ws, "2026-11-23", "day", seed="scale", iterations=300)
        seconds = time.perf_counter() - start
        drawn = set(plan.draw["sites"])
        routed = {s.visit_id for _, s in plan.stops()}
        print(f"{attempt:>6}: {seconds:.1f} s; pool {len(plan.inputs['sites'])} sites; drawn {len(drawn)} + due "
              f"{len(plan.inputs['mandatory'])}; routed {plan.summary.visits} ({len(drawn & routed)} drawn); "
              f"not planned {plan.summary.unplanned}; verify {'ok' if not verify_plan(plan, seed) else 'FAILED'}")
    print(f"peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (SYNTHETIC buildings)")


if __name__ == "__main__":
    main()
