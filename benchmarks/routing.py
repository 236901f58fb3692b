"""Routing benchmarks: travel-time matrices and plan quality, as ratios measured in one run.

    python benchmarks/routing.py            # everything (about 5 minutes on 2 cores)
    python benchmarks/routing.py --quick    # smaller sizes, to check the script works

The road network is SYNTHETIC (``routing.synthetic.grid_city``: a jittered town grid with
missing links, one-way streets and road classes), labelled as such in the output, because
no county extract shipped here has 100,000 nodes. Each part runs in a subprocess of its own
so that its peak memory (max RSS) is its own.

matrix
    1,000 sites snapped onto edges of a ≥100,000-node network; time of the full 1000×1000
    travel-time table with RoutingKit CCH (build + customise + table, i.e. preprocessing
    included) and with scipy's Dijkstra, against plain NetworkX ``single_source_dijkstra``
    from each site (a sample of sources, timed and scaled to 1,000); then how the time
    grows with network size and site count.
plan
    20 teams, 1,000 candidate sites with random risk prizes, a 9-hour shift: PyVRP with the
    planning budget against PyVRP with ten times that budget; prize collected.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sites(net, n: int, seed: int):
    from routing.network import snap

    rng = np.random.default_rng(seed)
    nodes = list(net.graph.nodes)
    pick = rng.choice(len(nodes), n, replace=False)
    xs = np.array([net.graph.nodes[nodes[i]]["x"] for i in pick]) + rng.uniform(-40, 40, n)
    ys = np.array([net.graph.nodes[nodes[i]]["y"] for i in pick]) + rng.uniform(-40, 40, n)
    return snap(net, xs, ys, far_m=300), xs, ys


def _network(n_nodes: int):
    from core.settings import load_patrol_settings
    from routing.network import network_from_graph
    from routing.synthetic import grid_city

    return network_from_graph(grid_city(n_nodes, seed=1), "car", load_patrol_settings())


def part_matrix(nodes: int, sites: int, sample: int) -> dict:
    import networkx as nx

    from routing import matrix as mx

    net = _network(nodes)
    snaps, _, _ = _sites(net, sites, seed=2)
    out = {"nodes": net.graph.number_of_nodes(), "edges": net.graph.number_of_edges(), "sites": sites}
    for backend in ("cch", "scipy"):
        mx._CACHE.clear()
        start = time.perf_counter()
        table = mx.travel_times(net, snaps, walk_kmh=4.5, backend=backend)
        out[f"{backend}_s"] = time.perf_counter() - start
        out[f"{backend}_checksum"] = float(np.nansum(np.where(np.isfinite(table.seconds), table.seconds, 0)))
    sources = [(r.u, r.v) for r in snaps.frame.itertuples()][:sample]
    start = time.perf_counter()
    for u, _v in sources:
        nx.single_source_dijkstra_path_length(net.graph, u, weight="travel_time")
    out["networkx_per_source_s"] = (time.perf_counter() - start) / sample
    out["networkx_s"] = out["networkx_per_source_s"] * sites
    out["peak_mb"] = _peak_mb()
    return out


def part_scaling(nodes: int, sites: int) -> dict:
    from routing import matrix as mx

    net = _network(nodes)
    snaps, _, _ = _sites(net, sites, seed=3)
    mx._CACHE.clear()
    start = time.perf_counter()
    mx.travel_times(net, snaps, walk_kmh=4.5, backend="cch")
    return {"nodes": net.graph.number_of_nodes(), "sites": sites, "cch_s": time.perf_counter() - start,
            "peak_mb": _peak_mb()}


def part_plan(nodes: int, sites: int, teams: int, seconds: float, factor: float) -> dict:
    from routing.matrix import travel_times
    from routing.solve import Vehicle, Visit, solve_routes

    net = _network(nodes)
    snaps, xs, ys = _sites(net, sites + teams, seed=4)
    tt = travel_times(net, snaps, walk_kmh=4.5)
    rng = np.random.default_rng(5)
    risk = rng.uniform(0.05, 1.0, sites)
    visits = [Visit(f"S{i}", teams + i, 20 * 60, float(risk[i]), False) for i in range(sites)]
    vehicles = [Vehicle(f"T{k}", k, "car") for k in range(teams)]
    xy = np.column_stack([xs, ys])
    window = (8 * 3600 + 1800, 17 * 3600 + 1800)
    out = {"nodes": net.graph.number_of_nodes(), "sites": sites, "teams": teams}
    for label, budget in (("budget", seconds), ("reference", seconds * factor)):
        start = time.perf_counter()
        routes = solve_routes({"car": tt.seconds}, xy, visits, vehicles, window, seed=1, time_limit=budget)
        out[f"{label}_s"] = time.perf_counter() - start
        out[f"{label}_prize"] = routes.prize
        out[f"{label}_visits"] = sum(len(s) for s in routes.stops.values())
    out["peak_mb"] = _peak_mb()
    return out


def _run(part: str, **kwargs: object) -> dict:
    args = [sys.executable, __file__, "--part", part, "--args", json.dumps(kwargs)]
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--plan-seconds", type=float, default=6.0, help="PyVRP budget of a plan (default 6 s)")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        result = {"matrix": part_matrix, "scaling": part_scaling, "plan": part_plan}[args.part](**json.loads(args.args))
        print(json.dumps(result))
        return
    big, sites, sample = (10_000, 200, 5) if args.quick else (100_000, 1000, 20)
    print("SYNTHETIC road network (routing.synthetic.grid_city), car speeds; times in seconds\n")
    m = _run("matrix", nodes=big, sites=sites, sample=sample)
    print(f"matrix: {m['sites']} sites on {m['nodes']:,} nodes / {m['edges']:,} arcs")
    print(f"  NetworkX single-source Dijkstra ×{m['sites']} (from {sample} timed): {m['networkx_s']:8.1f} s   1.0×")
    for backend in ("cch", "scipy"):
        print(f"  {backend:5s} (preprocessing included)               : {m[f'{backend}_s']:8.1f} s "
              f"{m['networkx_s'] / m[f'{backend}_s']:6.1f}×")
    same = abs(m["cch_checksum"] - m["scipy_checksum"]) <= 1e-6 * max(1.0, m["scipy_checksum"])
    print(f"  cch and scipy tables agree: {same}; peak memory {m['peak_mb']:.0f} MB\n")
    print("scaling (cch, build + table):")
    print(f"  {'nodes':>9} {'sites':>6} {'seconds':>8} {'peak MB':>8}")
    grid = [(2_000, 100), (10_000, 200)] if args.quick else [
        (10_000, 100), (10_000, 1000), (30_000, 1000), (100_000, 100), (100_000, 300), (100_000, 1000),
        (100_000, 2000)]
    for nodes, n in grid:
        row = _run("scaling", nodes=nodes, sites=n)
        print(f"  {row['nodes']:9,} {row['sites']:6} {row['cch_s']:8.2f} {row['peak_mb']:8.0f}")
    plan_nodes, plan_sites, teams = (3_000, 150, 4) if args.quick else (30_000, 1000, 20)
    p = _run("plan", nodes=plan_nodes, sites=plan_sites, teams=teams, seconds=args.plan_seconds, factor=10.0)
    print(f"\nplan: {p['teams']} teams, {p['sites']} candidate sites, 9-hour shift, on {p['nodes']:,} nodes")
    print(f"  PyVRP {p['budget_s']:5.1f} s : prize {p['budget_prize']:,} ({p['budget_visits']} visits)")
    print(f"  PyVRP {p['reference_s']:5.1f} s : prize {p['reference_prize']:,} ({p['reference_visits']} visits)")
    print(f"  prize collected with the budget: {100 * p['budget_prize'] / p['reference_prize']:.2f}% of ten times "
          f"the budget; peak memory {p['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
