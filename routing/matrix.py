"""Travel-time matrices between bases and sites, and the road geometry of a leg.

Each location (a team's base or a site) is snapped to its nearest edge and inserted into the
graph as a node of its own: the edge ``u→v`` gets a chain ``u→s₁→s₂→…→v`` through the sites
on it, in order, and so does the reverse edge of a two-way road. Travel time from ``i`` to
``j`` is then a plain shortest path between two nodes, plus the walk from the road to each
door. The NetworkX graph is not changed; the arcs go to a compiled backend:

* ``cch`` — RoutingKit's customizable contraction hierarchies (PyPI ``pyroutingkit``, wheels
  for Linux and macOS): a one-off build per graph and site set, then a many-to-many table;
* ``scipy`` — ``scipy.sparse.csgraph.dijkstra`` from every location; portable, and slower on
  large networks (see ``benchmarks/``).

Results are cached by (network fingerprint, snapped site set).
"""

from __future__ import annotations

import hashlib
import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.ops import substring

from routing.network import RoadNetwork, Snaps, edge_line

try:  # pragma: no cover - depends on the platform's wheels
    import pyroutingkit

    HAVE_CCH = True
except ImportError:  # pragma: no cover
    pyroutingkit = None
    HAVE_CCH = False

TICKS_PER_SECOND = 10  # arc weights are integer deciseconds
UNREACHABLE = np.inf


@dataclass
class SiteGraph:
    """The network's arcs plus one node per location, as arrays for a compiled backend."""

    tail: np.ndarray
    head: np.ndarray
    ticks: np.ndarray  # travel time in deciseconds
    arc_edge: list[tuple[int, int, int]]  # the network edge each arc lies on
    arc_span: np.ndarray  # (n_arcs, 2) fractions along that edge
    node_xy: np.ndarray  # (n_nodes, 2) metric coordinates
    location_node: np.ndarray  # node index of each location
    access_s: np.ndarray  # walk from road to door, seconds
    key: str = ""
    _arc_lookup: dict[tuple[int, int], int] = field(default_factory=dict, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    def arc_between(self, a: int, b: int) -> int:
        """The cheapest arc from node ``a`` to node ``b``."""
        if not self._arc_lookup:
            order = np.lexsort((self.ticks, self.head, self.tail))
            for arc in order[::-1]:
                self._arc_lookup[(int(self.tail[arc]), int(self.head[arc]))] = int(arc)
        return self._arc_lookup[(a, b)]


def _reverse_edge(network: RoadNetwork, u: int, v: int, key: int) -> tuple[int, int, int] | None:
    graph = network.graph
    if not graph.has_edge(v, u):
        return None
    data = graph.edges[u, v, key]
    best = None
    for k, other in graph[v][u].items():
        if other.get("osmid") == data.get("osmid") or abs(other["length"] - data["length"]) < 1.0:
            best = (v, u, k)
            break
    return best


def site_graph(network: RoadNetwork, snaps: Snaps, walk_kmh: float) -> SiteGraph:
    """Insert every snapped location into the network's arcs (see module doc)."""
    graph = network.graph
    node_ids = list(graph.nodes)
    index = {n: i for i, n in enumerate(node_ids)}
    tails, heads, ticks, spans, edges_of = [], [], [], [], []
    for u, v, key, tt in graph.edges(keys=True, data="travel_time"):
        tails.append(index[u])
        heads.append(index[v])
        ticks.append(tt * TICKS_PER_SECOND)
        spans.append((0.0, 1.0))
        edges_of.append((u, v, key))
    xy = [(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in node_ids]
    frame = snaps.frame.reset_index(drop=True)
    location_node = np.arange(len(node_ids), len(node_ids) + len(frame))
    xy.extend(zip(frame["road_x"], frame["road_y"], strict=True))
    on_edge: dict[tuple[int, int, int], list[tuple[float, int]]] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        edge = (row.u, row.v, row.key)
        on_edge.setdefault(edge, []).append((float(row.fraction), int(location_node[i])))
        reverse = _reverse_edge(network, *edge)
        if reverse is not None:
            on_edge.setdefault(reverse, []).append((1.0 - float(row.fraction), int(location_node[i])))
    for (u, v, key), stops in on_edge.items():
        tt = graph.edges[u, v, key]["travel_time"]
        stops.sort()
        chain = [(0.0, index[u]), *stops, (1.0, index[v])]
        for (f0, a), (f1, b) in itertools.pairwise(chain):
            tails.append(a)
            heads.append(b)
            ticks.append(max(f1 - f0, 0.0) * tt * TICKS_PER_SECOND)
            spans.append((f0, f1))
            edges_of.append((u, v, key))
    digest = hashlib.sha256(network.fingerprint.encode())
    digest.update(np.round(frame[["road_x", "road_y"]].to_numpy(float), 1).tobytes())
    return SiteGraph(
        tail=np.asarray(tails, dtype=np.int64),
        head=np.asarray(heads, dtype=np.int64),
        ticks=np.maximum(np.rint(ticks), 0).astype(np.int64),
        arc_edge=edges_of,
        arc_span=np.asarray(spans, dtype=float),
        node_xy=np.asarray(xy, dtype=float),
        location_node=location_node,
        access_s=frame["snap_m"].to_numpy(float) / (walk_kmh / 3.6),
        key=digest.hexdigest()[:16],
    )


class CCHBackend:
    """Shortest paths with RoutingKit's customizable contraction hierarchies."""

    name = "cch"

    def __init__(self, sg: SiteGraph) -> None:
        origin = sg.node_xy.min(axis=0)
        local_km = ((sg.node_xy - origin) / 1000.0).astype(np.float32)
        self.topology = pyroutingkit.CCHTopology()
        # contiguous copies: the binding reads the raw buffer, and a strided view gives it garbage
        lat, lon = np.ascontiguousarray(local_km[:, 1]), np.ascontiguousarray(local_km[:, 0])
        self.topology.build(sg.tail.astype(np.uint32), sg.head.astype(np.uint32), lat, lon, sg.n_nodes)
        self.metric = pyroutingkit.CCHMetric(self.topology)
        self.metric.customize(sg.ticks.astype(np.uint32))

    def table(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        raw = self.metric.distances_many_to_many(sources.astype(np.uint32), targets.astype(np.uint32))
        out = raw.astype(float)
        out[raw == pyroutingkit.INF_WEIGHT] = UNREACHABLE
        return out

    def path(self, source: int, target: int) -> list[int]:
        _distance, nodes, _arcs = self.metric.query(int(source), int(target))
        return [int(n) for n in nodes]


class ScipyBackend:
    """Shortest paths with ``scipy.sparse.csgraph.dijkstra`` (portable fallback)."""

    name = "scipy"

    def __init__(self, sg: SiteGraph) -> None:
        n = sg.n_nodes
        # csr sums duplicate arcs, so keep only the cheapest arc per node pair (plus a tiny
        # epsilon so that zero-length arcs are not taken as missing).
        frame = pd.DataFrame({"t": sg.tail, "h": sg.head, "w": sg.ticks.astype(float) + 1e-6})
        frame = frame.groupby(["t", "h"], as_index=False)["w"].min()
        self.csr = sp.csr_matrix((frame["w"], (frame["t"], frame["h"])), shape=(n, n))

    def table(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        dist = dijkstra(self.csr, directed=True, indices=sources)
        return np.rint(dist[:, targets])

    def path(self, source: int, target: int) -> list[int]:
        _dist, pred = dijkstra(self.csr, directed=True, indices=[source], return_predecessors=True)
        nodes = [int(target)]
        while nodes[-1] != source:
            prev = pred[0, nodes[-1]]
            if prev < 0:
                return []
            nodes.append(int(prev))
        return nodes[::-1]


def make_backend(sg: SiteGraph, backend: str = "auto") -> CCHBackend | ScipyBackend:
    """``cch`` when pyroutingkit is installed (or asked for), else ``scipy``."""
    if backend == "cch" or (backend == "auto" and HAVE_CCH):
        if not HAVE_CCH:
            raise RuntimeError("pyroutingkit is not installed; use backend='scipy'.")
        return CCHBackend(sg)
    if backend == "auto":
        warnings.warn("pyroutingkit is not available here; using scipy's Dijkstra (slower).", stacklevel=2)
    return ScipyBackend(sg)


@dataclass
class TravelTimes:
    """Travel times (seconds) between locations, and the means to draw each leg."""

    seconds: np.ndarray
    site_graph: SiteGraph
    backend: CCHBackend | ScipyBackend
    network: RoadNetwork

    def leg(self, i: int, j: int) -> LineString | None:
        """Road geometry (metric CRS) from location ``i`` to ``j``; ``None`` if the same spot."""
        sg = self.site_graph
        nodes = self.backend.path(sg.location_node[i], sg.location_node[j])
        parts = []
        for a, b in itertools.pairwise(nodes):
            arc = sg.arc_between(a, b)
            f0, f1 = sg.arc_span[arc]
            line = edge_line(self.network, *sg.arc_edge[arc])
            if f1 - f0 <= 1e-9:
                continue
            piece = line if (f0, f1) == (0.0, 1.0) else substring(line, f0, f1, normalized=True)
            parts.extend(shapely.get_coordinates(piece).tolist())
        if len(parts) < 2:
            return None
        return LineString(parts)


_CACHE: dict[str, TravelTimes] = {}


def travel_times(network: RoadNetwork, snaps: Snaps, walk_kmh: float, backend: str = "auto") -> TravelTimes:
    """The all-pairs travel-time matrix of the snapped locations (cached; see module doc)."""
    sg = site_graph(network, snaps, walk_kmh)
    cache_key = f"{sg.key}:{backend}"
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    engine = make_backend(sg, backend)
    nodes = sg.location_node
    table = engine.table(nodes, nodes) / TICKS_PER_SECOND
    access = sg.access_s
    seconds = table + access[:, None] + access[None, :]
    np.fill_diagonal(seconds, 0.0)
    result = TravelTimes(seconds, sg, engine, network)
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[cache_key] = result
    return result
