"""Travel-time matrices between bases and sites, and the road geometry of a leg.

The shortest-path backend sees the road network alone, with node and arc numbers fixed per
network, so that its preprocessing serves every site set. A location (a team's base or a site)
snapped onto edge ``u→v`` at fraction ``f`` is a *phantom* point on that edge, and on its reverse
``v→u`` at ``1 − f`` when the road is two-way. It leaves by the head of either edge — ``v`` after
``(1 − f)·t(u→v)``, ``u`` after ``f·t(v→u)`` — and is reached from the tail — from ``u`` after
``f·t(u→v)``, from ``v`` after ``(1 − f)·t(v→u)``. A location at a node (``f`` within
:data:`NODE_TOLERANCE_M` of 0 or 1: a point nearest a junction) is also left and entered at that
node at no cost, whichever of the roads meeting there it was snapped to; so a site at the end of a
one-way street is reached from the cross street too. The road time from ``i`` to ``j`` is the least of

* ``exit_i + D(a, b) + entry_j`` over the (≤ 3 × ≤ 3) exit nodes ``a`` of ``i`` and entry nodes ``b``
  of ``j``, where ``D`` is one many-to-many table over the distinct exit and entry nodes, and
* ``(p_j − p_i)·t(e)`` when both lie on the same directed edge ``e`` with ``j`` ahead (``p_j ≥ p_i``),

taken in numpy for all pairs at once, plus the walk from the road to each door. This is what
Dijkstra gives on the graph with every location inserted into its edges (tests check it entry by
entry). Arc weights are integer deciseconds; a part of an edge costs that share of its arc's weight.

Backends:

* ``cch`` — RoutingKit's customizable contraction hierarchies (PyPI ``pyroutingkit``, wheels for
  Linux and macOS). The topology (the nested-dissection order, the expensive part) depends only on
  the network's arcs and node positions: it is built once, kept in the process and on disk
  (``routing.cache``, folder ``cch/<key>``, every file's digest checked before it is loaded), and
  each process customises it with the arcs' travel times and asks one table;
* ``scipy`` — ``scipy.sparse.csgraph.dijkstra`` from each distinct exit node; portable, and slower
  on large networks (see ``benchmarks/``).

A leg's geometry follows the road: the rest of the first edge, the backend's path between the
exit and entry nodes, the start of the last edge (or the stretch between two points of one edge).
Tables are cached in the process by (the network's arcs and weights, snapped site set, walking
speed, backend).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString
from shapely.ops import substring

from routing.cache import cache_dir, file_sha256, private_folder, prune, read_private
from routing.network import RoadNetwork, Snaps

try:  # pragma: no cover - depends on the platform's wheels
    import pyroutingkit

    HAVE_CCH = True
except ImportError:  # pragma: no cover
    pyroutingkit = None
    HAVE_CCH = False

TICKS_PER_SECOND = 10  # arc weights are integer deciseconds
UNREACHABLE = np.inf
TOPOLOGY_FORMAT = 1
PRESENCES = 3  # a location's exits and entries: its edge, the reverse (if two-way), its node (if at one)
DIRECT = PRESENCES * PRESENCES  # ``via`` code of a leg that stays on one edge; below it, 3·exit + entry


@dataclass
class BaseGraph:
    """The network's arcs as arrays for a compiled backend (node ``i`` = ``i``-th node of the graph)."""

    tail: np.ndarray  # node index of each arc's tail
    head: np.ndarray
    ticks: np.ndarray  # travel time in deciseconds
    edge_u: np.ndarray  # the network edge (u, v, key) of each arc
    edge_v: np.ndarray
    edge_key: np.ndarray
    node_xy: np.ndarray  # (n_nodes, 2) metric coordinates
    key: str  # digest of the arcs and their weights
    topology_key: str  # digest of the arcs and node positions: all the CCH order depends on
    _arc_index: pd.MultiIndex | None = field(default=None, repr=False)
    _pair_order: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _lines: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_nodes(self) -> int:
        return len(self.node_xy)

    def arcs_of(self, u: np.ndarray, v: np.ndarray, key: np.ndarray) -> np.ndarray:
        """The arc number of each network edge ``(u, v, key)`` (−1 where there is none)."""
        if self._arc_index is None:
            self._arc_index = pd.MultiIndex.from_arrays([self.edge_u, self.edge_v, self.edge_key])
        wanted = pd.MultiIndex.from_arrays([np.asarray(u), np.asarray(v), np.asarray(key)])
        return np.asarray(self._arc_index.get_indexer(wanted), dtype=np.int64)

    def arc_lines(self, network: RoadNetwork) -> np.ndarray:
        """The road geometry of each arc (from the network's edges, looked up once)."""
        if self._lines is None:
            edges = network.edges
            at = edges.index.get_indexer(pd.MultiIndex.from_arrays([self.edge_u, self.edge_v, self.edge_key]))
            self._lines = edges.geometry.to_numpy()[at]
        return self._lines

    def cheapest_arcs(self, nodes: list[int]) -> list[int]:
        """The cheapest arc between each two consecutive nodes of a node path."""
        if len(nodes) < 2:
            return []
        if self._pair_order is None:
            code = self.tail * self.n_nodes + self.head
            order = np.lexsort((self.ticks, code))
            self._pair_order = (code[order], order)
        codes, order = self._pair_order
        path = np.asarray(nodes, dtype=np.int64)
        at = np.searchsorted(codes, path[:-1] * self.n_nodes + path[1:])
        return [int(arc) for arc in order[at]]


def base_graph(network: RoadNetwork) -> BaseGraph:
    """The network's arcs as arrays (computed once per network)."""
    if "_base_graph" in network.__dict__:
        return network.__dict__["_base_graph"]
    graph = network.graph
    node_ids = list(graph.nodes)
    index = {n: i for i, n in enumerate(node_ids)}
    rows = list(graph.edges(keys=True, data="travel_time"))
    tail = np.fromiter((index[r[0]] for r in rows), dtype=np.int64, count=len(rows))
    head = np.fromiter((index[r[1]] for r in rows), dtype=np.int64, count=len(rows))
    seconds = np.fromiter((r[3] for r in rows), dtype=float, count=len(rows))
    ticks = np.maximum(np.rint(seconds * TICKS_PER_SECOND), 0).astype(np.int64)
    xy = np.array([(graph.nodes[n]["x"], graph.nodes[n]["y"]) for n in node_ids], dtype=float).reshape(-1, 2)
    shape = hashlib.sha256(f"{len(node_ids)}:{len(rows)}".encode())
    shape.update(tail.astype(np.uint32).tobytes())
    shape.update(head.astype(np.uint32).tobytes())
    shape.update(_local_km(xy).tobytes())
    weights = hashlib.sha256(shape.digest())
    weights.update(ticks.tobytes())
    base = BaseGraph(
        tail=tail, head=head, ticks=ticks,
        edge_u=np.array([r[0] for r in rows]), edge_v=np.array([r[1] for r in rows]),
        edge_key=np.array([r[2] for r in rows]), node_xy=xy,
        key=weights.hexdigest()[:32], topology_key=shape.hexdigest()[:32],
    )
    network.__dict__["_base_graph"] = base
    return base


def _local_km(xy: np.ndarray) -> np.ndarray:
    """Node positions in km from the south-west corner, as the CCH's (lon, lat) columns."""
    if len(xy) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    return np.ascontiguousarray(((xy - xy.min(axis=0)) / 1000.0).astype(np.float32))


def _reverse_edge(network: RoadNetwork, u: int, v: int, key: int) -> tuple[int, int, int] | None:
    """The other direction of the two-way road ``(u, v, key)`` lies on, if any."""
    graph = network.graph
    if not graph.has_edge(v, u):
        return None
    data = graph.edges[u, v, key]
    for k, other in graph[v][u].items():
        if (v, u, k) == (u, v, key):  # a loop is not its own reverse
            continue
        if other.get("osmid") == data.get("osmid") or abs(other["length"] - data["length"]) < 1.0:
            return (v, u, k)
    return None


NODE_TOLERANCE_M = 0.01  # a location this near an end of its edge is at that node


@dataclass
class Phantoms:
    """Each location as points on directed arcs: column 0 its own edge, column 1 the reverse (if any);
    and, for a location at a node (fraction 0 or 1 of its edge), that node, where it is entered and
    left at no cost (−1 elsewhere)."""

    arc: np.ndarray  # (n, 2) arc number, −1 where there is no reverse
    pos: np.ndarray  # (n, 2) fraction along that arc
    access_s: np.ndarray  # walk from road to door, seconds
    node: np.ndarray  # (n,) node index, −1 where the location is not at a node

    def __len__(self) -> int:
        return len(self.arc)

    def exits(self, base: BaseGraph) -> tuple[np.ndarray, np.ndarray]:
        """Exit node and cost (deciseconds) of each presence, (n, 3): the two arcs and the node; a
        missing one costs ∞ (and names the node of column 0)."""
        arc = np.where(self.arc >= 0, self.arc, self.arc[:, :1])
        cost = np.where(self.arc >= 0, (1.0 - self.pos) * base.ticks[arc], np.inf)
        return self._with_node(base.head[arc], cost)

    def entries(self, base: BaseGraph) -> tuple[np.ndarray, np.ndarray]:
        """Entry node and cost (deciseconds) of each presence, (n, 3) as :meth:`exits`."""
        arc = np.where(self.arc >= 0, self.arc, self.arc[:, :1])
        cost = np.where(self.arc >= 0, self.pos * base.ticks[arc], np.inf)
        return self._with_node(base.tail[arc], cost)

    def _with_node(self, nodes: np.ndarray, cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at = self.node >= 0
        node = np.where(at, self.node, nodes[:, 0])
        return np.column_stack([nodes, node]), np.column_stack([cost, np.where(at, 0.0, np.inf)])


def phantoms(network: RoadNetwork, snaps: Snaps, walk_kmh: float) -> Phantoms:
    """Where each snapped location lies on the network's arcs (see module doc)."""
    base = base_graph(network)
    frame = snaps.frame.reset_index(drop=True)
    n = len(frame)
    if n == 0:
        return Phantoms(np.zeros((0, 2), dtype=np.int64), np.zeros((0, 2)), np.zeros(0), np.zeros(0, dtype=np.int64))
    own = base.arcs_of(frame["u"].to_numpy(), frame["v"].to_numpy(), frame["key"].to_numpy())
    if (own < 0).any():
        raise ValueError("a location is snapped to an edge that is not in this network")
    reverse = np.full(n, -1, dtype=np.int64)
    edges = list(zip(frame["u"], frame["v"], frame["key"], strict=True))
    twins = {edge: _reverse_edge(network, *edge) for edge in set(edges)}
    found = [(i, twin) for i, edge in enumerate(edges) if (twin := twins[edge]) is not None]
    if found:
        rows = np.array([i for i, _ in found])
        reverse[rows] = base.arcs_of(*(np.array([t[k] for _, t in found]) for k in range(3)))
    fraction = frame["fraction"].to_numpy(float)
    # at a node: within NODE_TOLERANCE_M of an end of the edge (a junction's point is at both ends'
    # node whichever of the roads meeting there it was snapped to)
    length = shapely.length(base.arc_lines(network)[own])
    node = np.full(n, -1, dtype=np.int64)
    at_tail = fraction * length <= NODE_TOLERANCE_M
    at_head = ~at_tail & ((1.0 - fraction) * length <= NODE_TOLERANCE_M)
    node[at_tail] = base.tail[own[at_tail]]
    node[at_head] = base.head[own[at_head]]
    return Phantoms(
        arc=np.column_stack([own, reverse]),
        pos=np.column_stack([fraction, 1.0 - fraction]),
        access_s=frame["snap_m"].to_numpy(float) / (walk_kmh / 3.6),
        node=node,
    )


# -- backends -------------------------------------------------------------------------------------

_TOPOLOGIES: dict[str, Any] = {}
# pyroutingkit releases the GIL but is not thread-safe, even across separate topologies and metrics
# (two tables at once come out wrong, or crash the process), and Streamlit serves each session in
# a thread of its own: every call into it holds this lock.
_ROUTINGKIT = threading.RLock()


def _pyroutingkit_version() -> str:
    try:
        return importlib.metadata.version("pyroutingkit")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _load_topology(folder: Path, base: BaseGraph) -> Any | None:
    """The topology saved in ``folder`` if it was made for exactly these arcs; else ``None``. The folder
    and every file must be ours alone (``routing.cache``), and are read through checked descriptors."""
    if not private_folder(folder):
        return None
    try:
        manifest = json.loads(read_private(folder / "manifest.json"))
        if (manifest.get("format"), manifest.get("key"), manifest.get("pyroutingkit")) != (
                TOPOLOGY_FORMAT, base.topology_key, _pyroutingkit_version()):
            return None
        files = manifest["files"]
        if not files or any(file_sha256(folder / name) != digest for name, digest in files.items()):
            return None
        for name, column in (("tail", base.tail), ("head", base.head)):
            if not np.array_equal(np.frombuffer(read_private(folder / name), dtype="<u4"), column):
                return None
        topology = pyroutingkit.CCHTopology()
        with _ROUTINGKIT:
            topology.load(str(folder))
    except Exception:  # whatever is wrong with a cached topology, it is rebuilt
        return None
    if (topology.node_count, topology.arc_count) != (base.n_nodes, len(base.tail)):
        return None
    with contextlib.suppress(OSError):
        os.utime(folder)  # in use: the last to be pruned
    return topology


def _save_topology(root: Path, folder: Path, base: BaseGraph, topology: Any) -> None:
    """Save ``topology`` into ``folder`` whole or not at all (a temporary folder renamed into place)."""
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=root))
    try:
        with _ROUTINGKIT:
            topology.save(str(work))
        files = {path.name: file_sha256(path) for path in sorted(work.iterdir())}
        manifest = {"format": TOPOLOGY_FORMAT, "key": base.topology_key, "pyroutingkit": _pyroutingkit_version(),
                    "nodes": base.n_nodes, "arcs": len(base.tail), "files": files}
        (work / "manifest.json").write_text(json.dumps(manifest, indent=1))
        if folder.is_symlink() or folder.is_file():
            folder.unlink()
        elif folder.exists():
            shutil.rmtree(folder)
        os.rename(work, folder)
        prune(root)
    except Exception:  # a cache that cannot be written is no reason to fail: the next run builds again
        shutil.rmtree(work, ignore_errors=True)


def cch_topology(base: BaseGraph) -> Any:
    """The CCH topology of these arcs: from this process, else from disk, else built (and saved)."""
    with _ROUTINGKIT:  # one build per network even when two sessions ask at once
        return _cch_topology(base)


def _cch_topology(base: BaseGraph) -> Any:
    key = base.topology_key
    if key in _TOPOLOGIES:
        return _TOPOLOGIES[key]
    root = cache_dir("cch")
    folder = root / key if root is not None else None
    topology = _load_topology(folder, base) if folder is not None and folder.is_dir() else None
    if topology is None:
        local = _local_km(base.node_xy)
        topology = pyroutingkit.CCHTopology()
        # contiguous copies: the binding reads the raw buffer, and a strided view gives it garbage
        lat, lon = np.ascontiguousarray(local[:, 1]), np.ascontiguousarray(local[:, 0])
        with _ROUTINGKIT:
            topology.build(base.tail.astype(np.uint32), base.head.astype(np.uint32), lat, lon, base.n_nodes)
        if root is not None and folder is not None:
            _save_topology(root, folder, base, topology)
    if len(_TOPOLOGIES) >= 4:
        _TOPOLOGIES.clear()
    _TOPOLOGIES[key] = topology
    return topology


class CCHBackend:
    """Shortest paths with RoutingKit's customizable contraction hierarchies."""

    name = "cch"

    def __init__(self, base: BaseGraph) -> None:
        self.topology = cch_topology(base)
        with _ROUTINGKIT:
            self.metric = pyroutingkit.CCHMetric(self.topology)
            self.metric.customize(base.ticks.astype(np.uint32))

    def table(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Deciseconds from each source node to each target node (∞ if unreachable)."""
        with _ROUTINGKIT:
            raw = self.metric.distances_many_to_many(sources.astype(np.uint32), targets.astype(np.uint32))
        out = raw.astype(float)
        out[raw == pyroutingkit.INF_WEIGHT] = UNREACHABLE
        return out

    def path(self, source: int, target: int) -> list[int]:
        """The arcs of a shortest path between two nodes."""
        if source == target:
            return []
        with _ROUTINGKIT:
            _distance, _nodes, arcs = self.metric.query(int(source), int(target))
        return [int(arc) for arc in arcs]


class ScipyBackend:
    """Shortest paths with ``scipy.sparse.csgraph.dijkstra`` (portable fallback)."""

    name = "scipy"
    CHUNK = 128  # sources per Dijkstra call: bounds the (sources × nodes) array

    def __init__(self, base: BaseGraph) -> None:
        self.base = base
        n = base.n_nodes
        # csr sums duplicate arcs, so keep only the cheapest arc per node pair (plus a tiny
        # epsilon so that zero-length arcs are not taken as missing; tables are rounded).
        frame = pd.DataFrame({"t": base.tail, "h": base.head, "w": base.ticks.astype(float) + 1e-6})
        frame = frame.groupby(["t", "h"], as_index=False)["w"].min()
        self.csr = sp.csr_matrix((frame["w"], (frame["t"], frame["h"])), shape=(n, n))

    def table(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Deciseconds from each source node to each target node (∞ if unreachable)."""
        out = np.empty((len(sources), len(targets)))
        for start in range(0, len(sources), self.CHUNK):
            dist = dijkstra(self.csr, directed=True, indices=sources[start:start + self.CHUNK])
            out[start:start + self.CHUNK] = np.rint(dist[:, targets])
        return out

    def path(self, source: int, target: int) -> list[int]:
        """The arcs of a shortest path between two nodes."""
        if source == target:
            return []
        _dist, pred = dijkstra(self.csr, directed=True, indices=[source], return_predecessors=True)
        nodes = [int(target)]
        while nodes[-1] != source:
            prev = pred[0, nodes[-1]]
            if prev < 0:
                return []
            nodes.append(int(prev))
        return self.base.cheapest_arcs(nodes[::-1])


_BACKENDS: dict[tuple[str, str], CCHBackend | ScipyBackend] = {}


def make_backend(base: BaseGraph, backend: str = "auto") -> CCHBackend | ScipyBackend:
    """``cch`` when pyroutingkit is installed (or asked for), else ``scipy``; one per network in the process."""
    if backend == "cch" or (backend == "auto" and HAVE_CCH):
        if not HAVE_CCH:
            raise RuntimeError("pyroutingkit is not installed; use backend='scipy'.")
        name = "cch"
    else:
        if backend == "auto":
            warnings.warn("pyroutingkit is not available here; using scipy's Dijkstra (slower).", stacklevel=2)
        name = "scipy"
    key = (name, base.key)
    if key not in _BACKENDS:
        if len(_BACKENDS) >= 8:
            _BACKENDS.clear()
        _BACKENDS[key] = CCHBackend(base) if name == "cch" else ScipyBackend(base)
    return _BACKENDS[key]


# -- the table ------------------------------------------------------------------------------------


def road_ticks(ph: Phantoms, base: BaseGraph, engine: CCHBackend | ScipyBackend,
               sources: np.ndarray | None = None, targets: np.ndarray | None = None,
               ) -> tuple[np.ndarray, np.ndarray, dict[tuple[int, int], tuple[int, float, float]]]:
    """Road time (deciseconds) from the locations ``sources`` to ``targets`` (indices; all of them when
    ``None``), which way each pair goes, and the one-edge legs.

    ``via[r, c]`` is ``3·a + b`` for exit ``a`` of ``sources[r]`` and entry ``b`` of ``targets[c]``
    (0, 1 its arcs, 2 its node), :data:`DIRECT` for a leg along one edge (``direct[i, j] = (arc, p_i,
    p_j)``, keyed by location), −1 if unreachable. A location to itself is left to the caller.
    """
    n = len(ph)
    rows = np.arange(n) if sources is None else np.asarray(sources, dtype=np.int64)
    cols = np.arange(n) if targets is None else np.asarray(targets, dtype=np.int64)
    if len(rows) == 0 or len(cols) == 0:
        return np.zeros((len(rows), len(cols))), np.zeros((len(rows), len(cols)), dtype=np.int8), {}
    exit_node, exit_cost = ph.exits(base)
    entry_node, entry_cost = ph.entries(base)
    exit_node, exit_cost = exit_node[rows], exit_cost[rows]
    entry_node, entry_cost = entry_node[cols], entry_cost[cols]
    out_nodes, out_at = np.unique(exit_node, return_inverse=True)
    in_nodes, in_at = np.unique(entry_node, return_inverse=True)
    out_at, in_at = out_at.reshape(exit_node.shape), in_at.reshape(entry_node.shape)
    table = engine.table(out_nodes, in_nodes)
    best = np.full((len(rows), len(cols)), np.inf)
    via = np.full((len(rows), len(cols)), -1, dtype=np.int8)
    for a in range(PRESENCES):
        if not np.isfinite(exit_cost[:, a]).any():
            continue
        for b in range(PRESENCES):
            if not np.isfinite(entry_cost[:, b]).any():
                continue
            candidate = table[np.ix_(out_at[:, a], in_at[:, b])]
            candidate += exit_cost[:, a, None]
            candidate += entry_cost[None, :, b]
            better = candidate < best
            best[better] = candidate[better]
            via[better] = PRESENCES * a + b
    direct: dict[tuple[int, int], tuple[int, float, float]] = {}

    def presences(at: np.ndarray) -> pd.DataFrame:
        valid = ph.arc[at].ravel() >= 0
        return pd.DataFrame({"at": np.repeat(np.arange(len(at)), 2)[valid], "loc": np.repeat(at, 2)[valid],
                             "arc": ph.arc[at].ravel()[valid], "pos": ph.pos[at].ravel()[valid]})

    on_i, on_j = presences(rows), presences(cols)
    on_i, on_j = on_i[on_i["arc"].isin(on_j["arc"])], on_j[on_j["arc"].isin(on_i["arc"])]
    if len(on_i):
        pairs = on_i.merge(on_j, on="arc", suffixes=("_i", "_j"))
        pairs = pairs[(pairs["loc_i"] != pairs["loc_j"]) & (pairs["pos_j"] >= pairs["pos_i"])]
        pairs = pairs.assign(cost=(pairs["pos_j"] - pairs["pos_i"]) * base.ticks[pairs["arc"].to_numpy()])
        pairs = pairs.sort_values(["cost", "arc"], kind="stable").drop_duplicates(["at_i", "at_j"])
        r, c = pairs["at_i"].to_numpy(), pairs["at_j"].to_numpy()
        take = pairs["cost"].to_numpy() <= best[r, c]
        for row in pairs[take].itertuples(index=False):
            direct[(int(row.loc_i), int(row.loc_j))] = (int(row.arc), float(row.pos_i), float(row.pos_j))
        best[r[take], c[take]] = pairs["cost"].to_numpy()[take]
        via[r[take], c[take]] = DIRECT
    return best, via, direct


@dataclass
class TravelTimes:
    """Travel times (seconds) between locations, and the means to draw each leg."""

    seconds: np.ndarray
    phantoms: Phantoms
    via: np.ndarray
    direct: dict[tuple[int, int], tuple[int, float, float]]
    base: BaseGraph
    backend: CCHBackend | ScipyBackend
    network: RoadNetwork

    def _piece(self, arc: int, f0: float, f1: float) -> np.ndarray:
        if f1 - f0 <= 1e-9:
            return np.zeros((0, 2))
        line = self.base.arc_lines(self.network)[arc]
        piece = line if (f0, f1) == (0.0, 1.0) else substring(line, f0, f1, normalized=True)
        return shapely.get_coordinates(piece)

    def leg(self, i: int, j: int) -> LineString | None:
        """Road geometry (metric CRS) from location ``i`` to ``j``; ``None`` if the same spot."""
        choice = int(self.via[i, j])
        if i == j or choice < 0:
            return None
        if choice == DIRECT:
            arc, p_i, p_j = self.direct[(i, j)]
            pieces = [self._piece(arc, p_i, p_j)]
        else:
            a, b = divmod(choice, PRESENCES)
            ph, base = self.phantoms, self.base
            pieces = []
            if a < 2:  # out along the rest of its edge (else it starts at its node)
                first = int(ph.arc[i, a])
                pieces.append(self._piece(first, float(ph.pos[i, a]), 1.0))
                start = int(base.head[first])
            else:
                start = int(ph.node[i])
            if b < 2:
                last = int(ph.arc[j, b])
                end = int(base.tail[last])
            else:
                end = int(ph.node[j])
            pieces += [self._piece(arc, 0.0, 1.0) for arc in self.backend.path(start, end)]
            if b < 2:
                pieces.append(self._piece(last, 0.0, float(ph.pos[j, b])))
        coords = np.concatenate(pieces)
        if len(coords):
            keep = np.ones(len(coords), dtype=bool)
            keep[1:] = np.any(coords[1:] != coords[:-1], axis=1)
            coords = coords[keep]
        if len(coords) < 2:
            return None
        return LineString(coords)


_CACHE: dict[str, TravelTimes] = {}


def _sites_key(base: BaseGraph, snaps: Snaps, walk_kmh: float, backend: str) -> str:
    frame = snaps.frame
    digest = hashlib.sha256(f"{base.key}:{backend}:{walk_kmh!r}:{len(frame)}".encode())
    for column in ("u", "v", "key"):
        digest.update(frame[column].to_numpy(np.int64).tobytes())
    digest.update(frame[["fraction", "snap_m"]].to_numpy(float).tobytes())
    return digest.hexdigest()


def travel_times(network: RoadNetwork, snaps: Snaps, walk_kmh: float, backend: str = "auto") -> TravelTimes:
    """The all-pairs travel-time matrix of the snapped locations (cached; see module doc)."""
    base = base_graph(network)
    cache_key = _sites_key(base, snaps, walk_kmh, backend)
    if cache_key in _CACHE:
        return _CACHE[cache_key]
    engine = make_backend(base, backend)
    ph = phantoms(network, snaps, walk_kmh)
    ticks, via, direct = road_ticks(ph, base, engine)
    access = ph.access_s
    seconds = ticks / TICKS_PER_SECOND + access[:, None] + access[None, :]
    np.fill_diagonal(seconds, 0.0)
    result = TravelTimes(seconds, ph, via, direct, base, engine, network)
    if len(_CACHE) > 16:
        _CACHE.clear()
    _CACHE[cache_key] = result
    return result


def travel_seconds(network: RoadNetwork, snaps: Snaps, walk_kmh: float, sources: np.ndarray, targets: np.ndarray,
                   backend: str = "auto") -> np.ndarray:
    """Seconds from the locations ``sources`` to ``targets`` (indices into ``snaps``), without the
    all-pairs table: one ``table`` over their exit and entry nodes, and the stretch along one edge
    (:func:`road_ticks`), so each entry equals that of :func:`travel_times`."""
    sources, targets = np.asarray(sources, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    if len(sources) == 0 or len(targets) == 0:
        return np.zeros((len(sources), len(targets)))
    base = base_graph(network)
    engine = make_backend(base, backend)
    ph = phantoms(network, snaps, walk_kmh)
    ticks, _via, _direct = road_ticks(ph, base, engine, sources, targets)
    seconds = ticks / TICKS_PER_SECOND + ph.access_s[sources][:, None] + ph.access_s[targets][None, :]
    seconds[sources[:, None] == targets[None, :]] = 0.0
    return seconds


def clear_caches() -> None:
    """Forget every table, backend and topology held in this process (the disk cache stays)."""
    _CACHE.clear()
    _BACKENDS.clear()
    _TOPOLOGIES.clear()
