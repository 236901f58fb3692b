"""A synthetic road network for benchmarks and tests, labelled as such.

``grid_city(n_nodes, seed)`` lays nodes on a jittered square lattice 120 m apart (a town grid
as it looks after OSM simplification), drops 8 % of the lattice links, makes 15 % of the
remaining links one-way, and gives every link a road class: every 10th row and column is a
``primary`` road, every 5th a ``secondary``, the rest ``residential``. The result is a
``networkx.MultiDiGraph`` in the form osmnx produces (``x``/``y`` in metres of EPSG:4548,
``length``, ``highway``, ``oneway``), so the routing code treats it like a county's roads.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

SYNTHETIC_CRS = "EPSG:4548"
SPACING_M = 120.0
_ORIGIN = (500_000.0, 3_130_000.0)


def grid_city(n_nodes: int, seed: int = 0) -> nx.MultiDiGraph:
    """Return a synthetic grid-like road graph with about ``n_nodes`` nodes (see module doc)."""
    side = max(2, math.ceil(math.sqrt(n_nodes)))
    rng = np.random.default_rng(seed)
    xs = _ORIGIN[0] + np.arange(side) * SPACING_M
    ys = _ORIGIN[1] + np.arange(side) * SPACING_M
    jitter = rng.uniform(-25, 25, size=(side, side, 2))
    graph = nx.MultiDiGraph(crs=SYNTHETIC_CRS, synthetic=True)
    node_id = np.arange(side * side).reshape(side, side)
    for r in range(side):
        for c in range(side):
            graph.add_node(int(node_id[r, c]), x=float(xs[c] + jitter[r, c, 0]), y=float(ys[r] + jitter[r, c, 1]))
    links = []
    for r in range(side):
        for c in range(side):
            if c + 1 < side:
                links.append((r, c, r, c + 1, r))
            if r + 1 < side:
                links.append((r, c, r + 1, c, c))
    keep = rng.random(len(links)) >= 0.08
    oneway = rng.random(len(links)) < 0.15
    for (r0, c0, r1, c1, line), kept, one in zip(links, keep, oneway, strict=True):
        if not kept:
            continue
        u, v = int(node_id[r0, c0]), int(node_id[r1, c1])
        du, dv = graph.nodes[u], graph.nodes[v]
        length = math.hypot(du["x"] - dv["x"], du["y"] - dv["y"])
        highway = "primary" if line % 10 == 0 else "secondary" if line % 5 == 0 else "residential"
        data = {"length": length, "highway": highway, "oneway": bool(one)}
        graph.add_edge(u, v, **data)
        if not one:
            graph.add_edge(v, u, **data)
    return graph
