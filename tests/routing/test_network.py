"""Road network per mode, snapping onto edges, and travel-time matrices against NetworkX."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from routing.matrix import HAVE_CCH, travel_times
from routing.network import network_from_graph, snap
from routing.synthetic import grid_city


def _line_graph() -> nx.MultiDiGraph:
    """0 —— 1 —— 2 (two-way residential), 2 → 3 one-way primary, 3 — 0 footway, 9 → 8 island."""
    g = nx.MultiDiGraph(crs="EPSG:4548")
    for n, (x, y) in {0: (0, 0), 1: (100, 0), 2: (200, 0), 3: (200, 100), 8: (900, 900), 9: (950, 900)}.items():
        g.add_node(n, x=float(x), y=float(y))

    def road(u, v, highway, oneway=False):
        length = float(np.hypot(g.nodes[u]["x"] - g.nodes[v]["x"], g.nodes[u]["y"] - g.nodes[v]["y"]))
        g.add_edge(u, v, length=length, highway=highway, oneway=oneway, osmid=f"{min(u, v)}-{max(u, v)}")
        if not oneway:
            g.add_edge(v, u, length=length, highway=highway, oneway=oneway, osmid=f"{min(u, v)}-{max(u, v)}")

    road(0, 1, "residential")
    road(1, 2, "residential")
    road(2, 3, "primary", oneway=True)
    road(3, 0, "footway")
    road(9, 8, "residential", oneway=True)
    g.add_edge(1, 3, length=150.0, highway=None, osmid="rail")  # a railway: not a road
    return g


def test_modes_keep_their_roads_and_report_what_is_cut_off(settings):
    g = _line_graph()
    car = network_from_graph(g, "car", settings)
    walk = network_from_graph(g, "walk", settings)
    assert car.report["edges_not_roads"] == 3  # two footway directions and the railway
    assert car.report["nodes_cut_off"] >= 2  # the one-way island 9 → 8, and 3 (one-way in, no way out by car)
    assert 9 not in car.graph and 3 not in car.graph
    assert walk.graph.has_edge(3, 2)  # walking ignores one-way
    assert 3 in walk.graph and walk.report["nodes_cut_off"] == 2
    speed = settings.speeds["car"]["residential"]
    assert car.graph.edges[0, 1, 0]["travel_time"] == pytest.approx(100 / (speed / 3.6))


def test_snap_uses_the_nearest_edge_with_fraction_and_distance(settings):
    net = network_from_graph(_line_graph(), "walk", settings)
    snaps = snap(net, np.array([130.0, 50.0]), np.array([-40.0, -500.0]), far_m=300)
    first, second = snaps.frame.iloc[0], snaps.frame.iloc[1]
    assert {first.u, first.v} == {1, 2}
    assert first.snap_m == pytest.approx(40.0)
    assert min(first.fraction, 1 - first.fraction) == pytest.approx(0.3)
    assert not first.far and second.far and second.snap_m == pytest.approx(500.0)


def test_snap_agrees_with_osmnx_nearest_edges_and_breaks_ties_by_edge_order(settings):
    import osmnx as ox
    import shapely

    net = network_from_graph(grid_city(900, seed=2), "walk", settings)
    rng = np.random.default_rng(4)
    box = np.array([[n["x"], n["y"]] for _, n in net.graph.nodes(data=True)])
    px, py = rng.uniform(box[:, 0].min(), box[:, 0].max(), 300), rng.uniform(box[:, 1].min(), box[:, 1].max(), 300)
    frame = snap(net, px, py, far_m=300).frame
    old, dist = ox.distance.nearest_edges(net.graph, px, py, return_dist=True)
    lines = net.edges.loc[[tuple(k) for k in old]].geometry.to_numpy()
    on_old = shapely.line_interpolate_point(lines, shapely.line_locate_point(lines, shapely.points(px, py)))
    np.testing.assert_allclose(frame["snap_m"], dist, atol=1e-9)
    np.testing.assert_allclose(frame["road_x"], shapely.get_x(on_old), atol=1e-6)
    np.testing.assert_allclose(frame["road_y"], shapely.get_y(on_old), atol=1e-6)
    # the same road (the same edge or its other direction), or, for a point nearest a junction, another
    # road at the same distance; of edges equally near, always the first in edge order
    same = [{r.u, r.v} == {int(k[0]), int(k[1])} for r, k in zip(frame.itertuples(), old, strict=True)]
    assert sum(same) >= 250
    at_node = [(r.fraction in (0.0, 1.0)) for r in frame.itertuples()]
    assert all(s or n for s, n in zip(same, at_node, strict=True))
    order = {edge: i for i, edge in enumerate(net.edges.index)}
    for r in frame.itertuples():
        if net.graph.has_edge(r.v, r.u):
            assert order[(r.u, r.v, r.key)] < order[(r.v, r.u, 0)]
    again = snap(net, px, py, far_m=300).frame
    assert again.equals(frame)


@pytest.mark.parametrize("backend", ["scipy", *(["cch"] if HAVE_CCH else [])])
def test_matrix_matches_networkx_on_a_split_graph(settings, backend):
    graph = grid_city(400, seed=3)
    net = network_from_graph(graph, "car", settings)
    rng = np.random.default_rng(7)
    nodes = list(net.graph.nodes)
    xs = np.array([net.graph.nodes[n]["x"] for n in nodes])
    ys = np.array([net.graph.nodes[n]["y"] for n in nodes])
    pick = rng.choice(len(nodes), 12, replace=False)
    px, py = xs[pick] + rng.uniform(20, 50, 12), ys[pick] + 3.0  # points beside roads, off the nodes
    snaps = snap(net, px, py, far_m=300)
    tt = travel_times(net, snaps, walk_kmh=4.5, backend=backend)
    # Reference: the same split graph (network arcs plus the chains through the points) in
    # NetworkX, with the backend's integer weights, run with plain Dijkstra.
    sg = tt.site_graph
    ref = nx.DiGraph()
    for a, b, w in zip(sg.tail, sg.head, sg.ticks, strict=True):
        name_a = nodes[a] if a < len(nodes) else f"s{a}"
        name_b = nodes[b] if b < len(nodes) else f"s{b}"
        if not ref.has_edge(name_a, name_b) or ref[name_a][name_b]["w"] > w / 10:
            ref.add_edge(name_a, name_b, w=w / 10)
    for i in range(12):
        lengths = nx.single_source_dijkstra_path_length(ref, f"s{sg.location_node[i]}", weight="w")
        for j in range(12):
            if i == j:
                continue
            expected = lengths[f"s{sg.location_node[j]}"] + sg.access_s[i] + sg.access_s[j]
            assert tt.seconds[i, j] == pytest.approx(expected, abs=0.01)


def test_matrix_is_cached_by_graph_and_site_set(settings):
    net = network_from_graph(grid_city(100, seed=1), "car", settings)
    node = next(iter(net.graph.nodes))
    x, y = net.graph.nodes[node]["x"] + 10, net.graph.nodes[node]["y"] + 10
    snaps = snap(net, np.array([x, x + 200]), np.array([y, y + 200]), far_m=300)
    first = travel_times(net, snaps, walk_kmh=4.5, backend="scipy")
    assert travel_times(net, snaps, walk_kmh=4.5, backend="scipy") is first
    other = snap(net, np.array([x, x + 300]), np.array([y, y + 200]), far_m=300)
    assert travel_times(net, other, walk_kmh=4.5, backend="scipy") is not first


def test_leg_geometry_follows_the_road(settings):
    net = network_from_graph(_line_graph(), "walk", settings)
    snaps = snap(net, np.array([20.0, 200.0]), np.array([-5.0, 80.0]), far_m=300)
    tt = travel_times(net, snaps, walk_kmh=4.5, backend="scipy")
    line = tt.leg(0, 1)
    assert line is not None
    # along 0→1→2 (180 m from the snapped point) then up the primary road to y = 80
    assert line.length == pytest.approx(180 + 80, abs=1.0)
    assert line.coords[0] == pytest.approx((20.0, 0.0)) and line.coords[-1] == pytest.approx((200.0, 80.0))
