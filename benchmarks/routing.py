"""Routing benchmarks: travel-time matrices and plan quality, as ratios measured in one run.

    python benchmarks/routing.py            # everything (about 5 minutes on 2 cores)
    python benchmarks/routing.py --quick    # smaller sizes, to check the script works

The road network is SYNTHETIC (``routing.synthetic.grid_city``: a jittered town grid with
missing links, one-way streets and road classes), labelled as such in the output, because
no county extract shipped here has 100,000 nodes. Each part runs in a subprocess of its own
so that its peak memory (max RSS) is its own.

matrix
    1,000 sites snapped onto edges of a ≥100,000-node network; time of the full 1000×1000
    travel-time table with RoutingKit CCH, (a) the first time, when the network's CCH ordering
    is built and saved (build + customise + table), and (b) in a fresh process that loads the
    ordering from the disk cache (load, customise + table), against plain NetworkX
    ``single_source_dijkstra`` from each site, measured in process (b) (a sample of sources,
    timed and scaled to 1,000); scipy's Dijkstra for comparison, and whether the three tables
    agree; how long loading the pickled road network takes against building it; then how the
    time grows with network size and site count. The disk cache is a temporary folder
    (``$PATROL_CACHE``), emptied first and removed at the end.
plan
    20 teams, 1,000 candidate sites with random risk prizes, a 9-hour shift: PyVRP with the
    planning budget against PyVRP with ten times that budget; prize collected.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
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


def _checksum(seconds: np.ndarray) -> float:
    return float(np.nansum(np.where(np.isfinite(seconds), seconds, 0)))


def _timed_cch(net, snaps) -> tuple[dict, object]:
    """The CCH table in its phases: arrays, topology (built and saved, or loaded), customise, table."""
    from routing import matrix as mx

    mx.clear_caches()
    out = {}
    start = time.perf_counter()
    base = mx.base_graph(net)
    out["arrays_s"] = time.perf_counter() - start
    start = time.perf_counter()
    mx.cch_topology(base)
    out["topology_s"] = time.perf_counter() - start
    start = time.perf_counter()
    mx.make_backend(base, "cch")
    out["customise_s"] = time.perf_counter() - start
    start = time.perf_counter()
    table = mx.travel_times(net, snaps, walk_kmh=4.5, backend="cch")
    out["table_s"] = time.perf_counter() - start
    out["total_s"] = sum(out[k] for k in ("arrays_s", "topology_s", "customise_s", "table_s"))
    out["checksum"] = _checksum(table.seconds)
    exits, _ = table.phantoms.exits(base)
    entries, _ = table.phantoms.entries(base)
    out["endpoints"] = [len(np.unique(exits)), len(np.unique(entries))]
    return out, table


def part_matrix_first(nodes: int, sites: int) -> dict:
    """Empty disk cache: the ordering is built and saved; then scipy's table, and the network pickle."""
    from routing import matrix as mx
    from routing import network as rn

    start = time.perf_counter()
    net = _network(nodes)
    _ = net.edges
    build_network_s = time.perf_counter() - start
    snaps, _, _ = _sites(net, sites, seed=2)
    out, _table = _timed_cch(net, snaps)
    out = {f"cch_{k}": v for k, v in out.items()}
    out.update({"nodes": net.graph.number_of_nodes(), "edges": net.graph.number_of_edges(), "sites": sites})
    mx.clear_caches()
    start = time.perf_counter()
    table = mx.travel_times(net, snaps, walk_kmh=4.5, backend="scipy")
    out["scipy_s"] = time.perf_counter() - start
    out["scipy_checksum"] = _checksum(table.seconds)
    path = Path(os.environ["PATROL_CACHE"]) / "network.pickle"
    start = time.perf_counter()
    rn._save_network(path, "benchmark", net)
    out["network_save_s"] = time.perf_counter() - start
    start = time.perf_counter()
    loaded = rn._load_network(path, "benchmark", "car")
    out["network_load_s"] = time.perf_counter() - start
    assert loaded is not None and loaded.fingerprint == net.fingerprint
    out["network_build_s"] = build_network_s
    out["peak_mb"] = _peak_mb()
    return out


def part_matrix_cached(nodes: int, sites: int, sample: int) -> dict:
    """A fresh process with the ordering on disk: load, customise + table; NetworkX in the same process."""
    import networkx as nx

    net = _network(nodes)
    snaps, _, _ = _sites(net, sites, seed=2)
    out, table = _timed_cch(net, snaps)
    out = {f"cch_{k}": v for k, v in out.items()}
    start = time.perf_counter()
    legs = [table.leg(i, i + 1) for i in range(100)]
    out["legs_100_s"] = time.perf_counter() - start
    out["legs_ok"] = all(leg is not None and leg.length > 0 for leg in legs)
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

    os.environ["PATROL_CACHE"] = tempfile.mkdtemp(dir=os.environ["PATROL_CACHE"])  # its own: a first build
    net = _network(nodes)
    snaps, _, _ = _sites(net, sites, seed=3)
    first, _ = _timed_cch(net, snaps)
    mx.clear_caches()  # as a fresh process would: the ordering from disk
    again, _ = _timed_cch(net, snaps)
    return {"nodes": net.graph.number_of_nodes(), "sites": sites, "first_s": first["total_s"],
            "cached_s": again["customise_s"] + again["table_s"], "load_s": again["topology_s"],
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


PARTS = {"matrix_first": part_matrix_first, "matrix_cached": part_matrix_cached, "scaling": part_scaling,
         "plan": part_plan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the script")
    parser.add_argument("--plan-seconds", type=float, default=6.0, help="PyVRP budget of a plan (default 6 s)")
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--args", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part:
        result = PARTS[args.part](**json.loads(args.args))
        print(json.dumps(result))
        return
    cache = tempfile.mkdtemp(prefix="patrol-bench-cache.")
    os.environ["PATROL_CACHE"] = cache  # the subprocesses' disk cache: empty now, removed at the end
    try:
        _report(args)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def _report(args: argparse.Namespace) -> None:
    big, sites, sample = (10_000, 200, 5) if args.quick else (100_000, 1000, 20)
    print("SYNTHETIC road network (routing.synthetic.grid_city), car speeds; times in seconds\n")
    f = _run("matrix_first", nodes=big, sites=sites)
    c = _run("matrix_cached", nodes=big, sites=sites, sample=sample)
    nx_s = c["networkx_s"]
    print(f"matrix: {f['sites']} sites on {f['nodes']:,} nodes / {f['edges']:,} arcs; one table over "
          f"{c['cch_endpoints'][0]:,} exit × {c['cch_endpoints'][1]:,} entry nodes")
    print(f"  NetworkX single-source Dijkstra ×{f['sites']} (from {sample} timed)  : {nx_s:8.2f} s     1.0×")
    print(f"  cch, ordering cached on disk, customise + table  : "
          f"{c['cch_customise_s'] + c['cch_table_s']:8.2f} s {nx_s / (c['cch_customise_s'] + c['cch_table_s']):7.1f}×"
          f"   (customise {c['cch_customise_s']:.2f}, table {c['cch_table_s']:.2f})")
    print(f"  cch, same, with loading the ordering and arrays  : {c['cch_total_s']:8.2f} s "
          f"{nx_s / c['cch_total_s']:7.1f}×   (load {c['cch_topology_s']:.2f}, arrays {c['cch_arrays_s']:.2f})")
    print(f"  cch, first time: build + save ordering + table   : {f['cch_total_s']:8.2f} s "
          f"{nx_s / f['cch_total_s']:7.1f}×   (build + save {f['cch_topology_s']:.2f})")
    print(f"  scipy Dijkstra from the exit nodes               : {f['scipy_s']:8.2f} s {nx_s / f['scipy_s']:7.1f}×")
    agree = [abs(f["cch_checksum"] - x) <= 1e-6 * max(1.0, x) for x in (c["cch_checksum"], f["scipy_checksum"])]
    print(f"  tables agree (first cch = cached cch = scipy): {all(agree)}; 100 legs drawn in "
          f"{c['legs_100_s']:.2f} s ({'all on the road' if c['legs_ok'] else 'SOME EMPTY'})")
    print(f"  peak memory {f['peak_mb']:.0f} MB (first), {c['peak_mb']:.0f} MB (cached, with NetworkX)")
    print(f"  road network: built from the graph {f['network_build_s']:.2f} s; pickled {f['network_save_s']:.2f} s, "
          f"loaded from the disk cache {f['network_load_s']:.2f} s\n")
    print("scaling (cch; first = build + save ordering + table; cached = customise + table, ordering from disk):")
    print(f"  {'nodes':>9} {'sites':>6} {'first s':>8} {'cached s':>9} {'load s':>7} {'peak MB':>8}")
    grid = [(2_000, 100), (10_000, 200)] if args.quick else [
        (10_000, 100), (10_000, 1000), (30_000, 1000), (100_000, 100), (100_000, 300), (100_000, 1000),
        (100_000, 2000)]
    for nodes, n in grid:
        row = _run("scaling", nodes=nodes, sites=n)
        print(f"  {row['nodes']:9,} {row['sites']:6} {row['first_s']:8.2f} {row['cached_s']:9.2f} {row['load_s']:7.2f}"
              f" {row['peak_mb']:8.0f}")
    plan_nodes, plan_sites, teams = (3_000, 150, 4) if args.quick else (30_000, 1000, 20)
    p = _run("plan", nodes=plan_nodes, sites=plan_sites, teams=teams, seconds=args.plan_seconds, factor=10.0)
    print(f"\nplan: {p['teams']} teams, {p['sites']} candidate sites, 9-hour shift, on {p['nodes']:,} nodes")
    print(f"  PyVRP {p['budget_s']:5.1f} s : prize {p['budget_prize']:,} ({p['budget_visits']} visits)")
    print(f"  PyVRP {p['reference_s']:5.1f} s : prize {p['reference_prize']:,} ({p['reference_visits']} visits)")
    print(f"  prize collected with the budget: {100 * p['budget_prize'] / p['reference_prize']:.2f}% of ten times "
          f"the budget; peak memory {p['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
