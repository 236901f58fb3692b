"""Store benchmark: import time at 5,000 and 50,000 rows (and their ratio), how long a team
leader's `record` waits while a 50,000-row import runs, and one result write on a county that
holds a year of results.

    python benchmarks/store.py [--backend gpkg|postgis] [--small 5000] [--large 50000]

For PostGIS set PATROL_TEST_POSTGRES_URL (``bash scripts/postgres.sh start /tmp/pg`` prints one).
All times are wall-clock seconds measured in this run; the ratio is what the issue bounds (≤ 12
for ten times the rows: linear, not quadratic).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from casework.results import RESULT_COLUMNS, StopResult, record_results  # noqa: E402
from core.settings import load_patrol_settings  # noqa: E402
from layers.importer import import_file  # noqa: E402
from routing.plan import make_plan  # noqa: E402
from routing.register import register_plan  # noqa: E402
from store import Store  # noqa: E402
from tests.helpers import on_backend  # noqa: E402

SHIPPED = ROOT / "data" / "guixi_360681.gpkg"


def registry(path: Path, rows: int, seed: int) -> Path:
    """A registry CSV of ``rows`` institutions with coordinates inside the county town."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "机构名称": [f"基准测试培训中心{i:06d}" for i in range(rows)],
        "状态": rng.choice(["白名单", "无证无照", "有照无证"], rows),
        "类别": rng.choice(["学科类", "艺术类", "托管机构"], rows),
        "地址": [f"贵溪市测试路{i % 500}号" for i in range(rows)],
        "经度": 117.20 + rng.random(rows) * 0.04,
        "纬度": 28.27 + rng.random(rows) * 0.04,
        "坐标系": "WGS84",
    })
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


def fresh(backend: str, folder: Path, name: str) -> Store:
    return on_backend(Path(shutil.copy2(SHIPPED, folder / f"{name}.gpkg")), backend)


def time_import(ws: Store, path: Path) -> float:
    start = time.perf_counter()
    import_file(ws, "institutions", path, actor="benchmark")
    return time.perf_counter() - start


def one_stop_plan(ws: Store, day: str) -> tuple[dict, list[StopResult]]:
    plan, seed = make_plan(ws, day, "day", seed=f"bench-{day}", settings=load_patrol_settings(), iterations=30)
    register_plan(ws, plan, seed=seed, actor="benchmark")
    stop = next(s for _, s in plan.stops() if s.kind == "institution")
    return plan, [StopResult(stop.visit_id, True, "10:00", checklist={"permits": "ok"})]


def record_during_import(ws: Store, path: Path, day: str) -> tuple[float, float]:
    """Seconds one record takes while a big import runs, and the import's own time."""
    plan, results = one_stop_plan(ws, day)
    took: dict[str, float] = {}

    def run_import() -> None:
        took["import"] = time_import(ws, path)

    worker = threading.Thread(target=run_import)
    worker.start()
    time.sleep(1.0)
    start = time.perf_counter()
    record_results(ws, plan, results, actor="组长")
    took["record"] = time.perf_counter() - start
    worker.join()
    return took["record"], took["import"]


def year_of_results(ws: Store, day: str) -> float:
    """Seconds for one result write after 365 days × 20 results are on record."""
    plan, results = one_stop_plan(ws, day)
    rng = np.random.default_rng(1)
    n = 365 * 20
    days = pd.date_range("2025-11-01", periods=365, freq="D").strftime("%Y-%m-%d")
    history = pd.DataFrame({c: [""] * n for c in RESULT_COLUMNS})
    history["plan_id"] = [f"HIST-{days[i // 20]}" for i in range(n)]
    history["date"] = [days[i // 20] for i in range(n)]
    history["shift"], history["team_id"], history["kind"] = "day", "T1", "institution"
    history["visit_id"] = [f"I:HIST{i % 400:04d}" for i in range(n)]
    history["visited"] = 1
    history["visited_at"] = [f"{days[i // 20]}T10:{i % 60:02d}:00+08:00" for i in range(n)]
    history["finding"], history["action"], history["checklist"] = "", "none", "{}"
    history["lon"], history["lat"] = 117.21 + rng.random(n) * 0.01, 28.29 + rng.random(n) * 0.01
    history["rectify_days"] = pd.array([None] * n, dtype="Int64")
    history["recorded_by"], history["recorded_at"] = "history", history["visited_at"]
    with ws.transaction(actor="benchmark", action="history") as tx:
        tx.append("results", history)
    start = time.perf_counter()
    record_results(ws, plan, results, actor="组长")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["gpkg", "postgis"], default="gpkg")
    parser.add_argument("--small", type=int, default=5000)
    parser.add_argument("--large", type=int, default=50000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small = registry(folder / "small.csv", args.small, 1)
        large = registry(folder / "large.csv", args.large, 2)
        t_small = time_import(fresh(args.backend, folder, "a"), small)
        t_large = time_import(fresh(args.backend, folder, "b"), large)
        print(f"[{args.backend}] import {args.small:,} rows: {t_small:.1f} s; {args.large:,} rows: {t_large:.1f} s; "
              f"ratio {t_large / t_small:.1f} for {args.large / args.small:.0f}× the rows (bound: 12)")
        waited, took = record_during_import(fresh(args.backend, folder, "c"), large, "2026-11-24")
        print(f"[{args.backend}] record during a {args.large:,}-row import ({took:.1f} s): {waited:.2f} s (bound: 5)")
        one = year_of_results(fresh(args.backend, folder, "d"), "2026-11-25")
        print(f"[{args.backend}] one result write with a year of results (7,300 rows) on record: {one:.2f} s")


if __name__ == "__main__":
    main()
