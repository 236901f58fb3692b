"""The road network per travel mode, and sites snapped onto it.

``road_network(ws, mode)`` rebuilds the workspace's OSM roads (layers ``road_nodes`` and
``road_edges``) as an osmnx ``MultiDiGraph`` in the workspace's metric CRS, keeps the roads a
mode may use, gives each edge a ``travel_time`` in seconds from the speed of its road class
(``settings/patrol.toml``), and keeps the largest strongly connected part; what was cut off
is reported. Walking ignores one-way rules.

``snap(network, x, y)`` puts points on the nearest road *edge* (not node): the edge, the
fraction along it, the distance from the point to the road and whether that distance is
over the "far from road" threshold. One shapely ``STRtree`` of the edge geometries is built per
network (lazily) and serves every snap; of edges equally near (a two-way road's two directions
always are, and so is every road meeting at a junction for a point nearest the junction), a
two-way road before a one-way street, and then the first in the network's edge order is taken.

A built network is also kept on disk (``routing.cache``), keyed by the workspace, its road layers'
versions, its metric CRS, the mode, the mode's speeds and this module's code, so that a fresh
process (``patrol plan``) does not rebuild it from the layers; a file made for another key, or
damaged, is ignored and the network rebuilt.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
from shapely.geometry import LineString

from core.errors import InputError
from core.settings import MODES, PatrolSettings
from routing.cache import cache_dir, key_digest, prune, read_blob, write_blob
from store import Store

# Roads a mode may use (first value of OSM ``highway``); anything else (railways, rivers,
# construction sites, proposed roads) is not a road for a patrol.
ROAD_CLASSES: frozenset[str] = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "track", "road", "pedestrian",
        "footway", "path", "cycleway", "steps",
    }
)
NO_WALK_OR_EBIKE: frozenset[str] = frozenset({"motorway", "motorway_link", "trunk", "trunk_link"})
CAR_ONLY_NOT: frozenset[str] = frozenset({"pedestrian", "footway", "path", "cycleway", "steps"})


def road_class(highway: object) -> str:
    """The first value of an OSM ``highway`` tag (``"service;tertiary"`` → ``"service"``)."""
    if highway is None or (isinstance(highway, float) and np.isnan(highway)):
        return ""
    return str(highway).split(";")[0].strip()


def mode_allows(mode: str, cls: str) -> bool:
    """Whether ``mode`` may use a road of class ``cls``."""
    if cls not in ROAD_CLASSES:
        return False
    if mode in ("walk", "ebike") and cls in NO_WALK_OR_EBIKE:
        return False
    if mode in ("ebike", "car") and cls in CAR_ONLY_NOT:
        return mode == "ebike" and cls == "cycleway"
    return True


@dataclass
class RoadNetwork:
    """A routable graph for one mode, in a metric CRS, with a report of what was cut off."""

    mode: str
    graph: nx.MultiDiGraph
    crs: str
    report: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""

    @property
    def edges(self) -> gpd.GeoDataFrame:
        """The edges as a GeoDataFrame (computed once), in the graph's edge order."""
        if "_edges" not in self.__dict__:
            self.__dict__["_edges"] = ox.convert.graph_to_gdfs(self.graph, nodes=False, fill_edge_geometry=True)
        return self.__dict__["_edges"]

    @property
    def edge_tree(self) -> shapely.STRtree:
        """A spatial index of the edge geometries (built once); tree index = row of :attr:`edges`."""
        if "_edge_tree" not in self.__dict__:
            self.__dict__["_edge_tree"] = shapely.STRtree(self.edges.geometry.to_numpy())
        return self.__dict__["_edge_tree"]

    @property
    def edge_two_way(self) -> np.ndarray:
        """Whether each edge (row of :attr:`edges`) has an edge the other way between its ends (once)."""
        if "_edge_two_way" not in self.__dict__:
            index = self.edges.index
            u, v = index.get_level_values(0), index.get_level_values(1)
            pairs = pd.MultiIndex.from_arrays([u, v])
            self.__dict__["_edge_two_way"] = np.asarray(pd.MultiIndex.from_arrays([v, u]).isin(pairs) & (u != v))
        return self.__dict__["_edge_two_way"]


def _speed_kmh(mode: str, cls: str, maxspeed: object, speeds: Mapping[str, Mapping[str, float]]) -> float:
    table = speeds[mode]
    speed = float(table.get(cls, table["default"]))
    if mode == "car" and maxspeed is not None:
        limit = pd.to_numeric(str(maxspeed).split(";")[0].split()[0], errors="coerce")
        if pd.notna(limit) and limit > 0:
            speed = min(speed, float(limit))
    return speed


def network_from_graph(graph: nx.MultiDiGraph, mode: str, settings: PatrolSettings) -> RoadNetwork:
    """Make the routable network of ``mode`` from a projected osmnx-style graph."""
    if mode not in MODES:
        raise InputError(f"unknown travel mode {mode!r}; use one of {', '.join(MODES)}.")
    G = nx.MultiDiGraph(**graph.graph)
    G.add_nodes_from(graph.nodes(data=True))
    excluded = 0
    for u, v, key, data in graph.edges(keys=True, data=True):
        cls = road_class(data.get("highway"))
        if not mode_allows(mode, cls):
            excluded += 1
            continue
        speed = _speed_kmh(mode, cls, data.get("maxspeed"), settings.speeds)
        attrs = {**data, "road_class": cls, "speed_kph": speed, "travel_time": data["length"] / (speed / 3.6)}
        G.add_edge(u, v, key, **attrs)
        if mode == "walk" and not graph.has_edge(v, u):
            reverse = {**attrs, "reversed_of": (u, v, key)}
            if "geometry" in attrs:
                reverse["geometry"] = attrs["geometry"].reverse()
            G.add_edge(v, u, **reverse)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    nodes_before, edges_before = G.number_of_nodes(), G.number_of_edges()
    if nodes_before == 0:
        raise InputError(f"the workspace has no roads usable on {mode}; rebuild it from an OSM extract with roads.")
    G = ox.truncate.largest_component(G, strongly=True)
    report = {
        "edges_not_roads": excluded,
        "nodes": G.number_of_nodes(),
        "edges": G.number_of_edges(),
        "nodes_cut_off": nodes_before - G.number_of_nodes(),
        "edges_cut_off": edges_before - G.number_of_edges(),
    }
    digest = hashlib.sha256(mode.encode())
    for u, v, key, tt in G.edges(keys=True, data="travel_time"):
        digest.update(f"{u},{v},{key},{tt:.3f};".encode())
    return RoadNetwork(mode, G, str(graph.graph.get("crs")), report, digest.hexdigest()[:16])


def workspace_graph(ws: Store) -> nx.MultiDiGraph:
    """The workspace's road layers as an osmnx graph projected to its metric CRS."""
    if not (ws.has_layer("road_nodes") and ws.has_layer("road_edges")):
        raise InputError(f"{ws.label} has no road network; rebuild it with `patrol build-workspace`.")
    nodes = ws.read("road_nodes").set_index("osmid")
    edges = ws.read("road_edges")
    edges = edges[edges["u"].isin(nodes.index) & edges["v"].isin(nodes.index)].set_index(["u", "v", "key"])
    graph = ox.convert.graph_from_gdfs(nodes, edges, graph_attrs={"crs": nodes.crs})
    return ox.projection.project_graph(graph, to_crs=ws.meta()["metric_crs"])


_NETWORKS: dict[tuple[str, str, str, str], RoadNetwork] = {}
NETWORK_CACHE_FORMAT = 1


@functools.cache
def _code_digest() -> str:
    """The digest of this module's code: a cached network made by other code is not used."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def _disk_key(ws: Store, versions: tuple[str, str], mode: str, speeds: str) -> str:
    return key_digest("road-network", NETWORK_CACHE_FORMAT, _code_digest(), ws.location, versions, mode, speeds,
                      str(ws.meta().get("metric_crs")), ox.__version__, nx.__version__, gpd.__version__)


def _load_network(path: Path, key: str, mode: str) -> RoadNetwork | None:
    """The network cached in ``path`` for ``key``, or ``None`` (missing, stale or damaged)."""
    # read from a descriptor checked to be a regular file of ours that nobody else may write, in a
    # folder of ours that nobody else can replace (``routing.cache``): a pickle runs code when read
    payload = read_blob(path, key)
    if payload is None:
        return None
    try:
        state = pickle.loads(payload)
        network = RoadNetwork(state["mode"], state["graph"], state["crs"], state["report"], state["fingerprint"])
        edges = state["edges"]
    except Exception:  # a damaged file is rebuilt, whatever is wrong with it
        return None
    if network.mode != mode or not isinstance(network.graph, nx.MultiDiGraph) or len(edges) != len(network.graph.edges):
        return None
    network.__dict__["_edges"] = edges
    with contextlib.suppress(OSError):
        os.utime(path, follow_symlinks=False)  # in use: the last to be pruned
    return network


def _save_network(path: Path, key: str, network: RoadNetwork) -> None:
    state = {"mode": network.mode, "graph": network.graph, "crs": network.crs, "report": network.report,
             "fingerprint": network.fingerprint, "edges": network.edges}
    if write_blob(path, key, pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)):
        prune(path.parent)


def road_network(ws: Store, mode: str, settings: PatrolSettings) -> RoadNetwork:
    """The workspace's network for ``mode``; cached (in the process and on disk, see module doc)
    while the road layers and speeds are unchanged."""
    versions = (ws.layer_version("road_nodes"), ws.layer_version("road_edges"))
    speeds = repr(sorted(settings.speeds[mode].items()))
    key = (ws.location, "+".join(versions), mode, speeds)
    if key in _NETWORKS:
        return _NETWORKS[key]
    folder = cache_dir("networks") if all(versions) else None  # no version, no way to tell a stale file
    disk_key = _disk_key(ws, versions, mode, speeds) if folder is not None else ""
    path = folder / f"{disk_key}.pickle" if folder is not None else None
    network = _load_network(path, disk_key, mode) if path is not None else None
    if network is None:
        network = network_from_graph(workspace_graph(ws), mode, settings)
        if path is not None:
            _save_network(path, disk_key, network)
    if len(_NETWORKS) > 8:
        _NETWORKS.clear()
    _NETWORKS[key] = network
    return network


@dataclass
class Snaps:
    """Points snapped onto edges: one row per point, in input order."""

    frame: pd.DataFrame  # u, v, key, fraction, snap_m, far, road_x, road_y


def snap(network: RoadNetwork, x: np.ndarray, y: np.ndarray, far_m: float) -> Snaps:
    """Snap metric points to their nearest edge; keep the edge, fraction and distance."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if len(x) == 0:
        return Snaps(pd.DataFrame(columns=["u", "v", "key", "fraction", "snap_m", "far", "road_x", "road_y"]))
    points = shapely.points(x, y)
    tree = network.edge_tree
    found, nearest = tree.query_nearest(points, all_matches=False, return_distance=True)
    position = np.empty(len(x), dtype=np.int64)
    position[found[0]] = found[1]
    # every edge as near as the nearest (to a micrometre), and of those a two-way road before a one-way
    # street (a point nearest a junction is at the junction: a one-way edge into it could only be
    # entered from its far end), then the first in edge order
    which, candidate = tree.query(points[found[0]], predicate="dwithin", distance=np.asarray(nearest) + 1e-6)
    one_way = ~network.edge_two_way
    rank = np.full(len(x), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(rank, found[0][which], one_way[candidate] * len(one_way) + candidate)
    position[found[0]] = rank[found[0]] % max(len(one_way), 1)
    edges = network.edges
    lines = edges.geometry.to_numpy()[position]
    index = edges.index[position]
    fraction = shapely.line_locate_point(lines, points, normalized=True)
    on_road = shapely.line_interpolate_point(lines, fraction, normalized=True)
    frame = pd.DataFrame(
        {
            "u": [int(n) for n in index.get_level_values(0)],
            "v": [int(n) for n in index.get_level_values(1)],
            "key": [int(k) for k in index.get_level_values(2)],
            "fraction": np.clip(fraction, 0.0, 1.0),
            "snap_m": shapely.distance(lines, points),
            "road_x": shapely.get_x(on_road),
            "road_y": shapely.get_y(on_road),
        }
    )
    frame["far"] = frame["snap_m"] > far_m
    return Snaps(frame)


def edge_line(network: RoadNetwork, u: int, v: int, key: int) -> LineString:
    """The geometry of edge ``(u, v, key)`` (straight if OSM gave none)."""
    return network.edges.geometry.loc[(u, v, key)]
