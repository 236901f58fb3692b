"""Road network per mode, snapping onto edges, and travel-time matrices against NetworkX."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from routing.matrix import HAVE_CCH, _reverse_edge, travel_times
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


BACKENDS = ["scipy", *(["cch"] if HAVE_CCH else [])]


def _split_graph_reference(net, snaps, walk_kmh: float) -> np.ndarray:
    """The oracle: every location inserted into its edge (and the reverse of a two-way road) as a
    node of its own, chained ``u→s₁→s₂→…→v`` beside the full arc, in NetworkX with the backend's
    integer arc weights (deciseconds; a part of an edge costs its share), then plain Dijkstra."""
    g = net.graph
    ref = nx.DiGraph()

    def add(a, b, w):
        if not ref.has_edge(a, b) or ref[a][b]["w"] > w:
            ref.add_edge(a, b, w=w)

    ticks = {}
    for u, v, key, tt in g.edges(keys=True, data="travel_time"):
        ticks[u, v, key] = max(float(np.rint(tt * 10)), 0.0)
        add(u, v, ticks[u, v, key] / 10)
    frame = snaps.frame.reset_index(drop=True)
    stops: dict[tuple, list[tuple[float, str]]] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        stops.setdefault((row.u, row.v, row.key), []).append((float(row.fraction), f"s{i}"))
        reverse = _reverse_edge(net, row.u, row.v, row.key)
        if reverse is not None:
            stops.setdefault(reverse, []).append((1.0 - float(row.fraction), f"s{i}"))
    for (u, v, key), on in stops.items():
        chain = [(0.0, u), *sorted(on), (1.0, v)]
        for (f0, a), (f1, b) in itertools.pairwise(chain):
            add(a, b, (f1 - f0) * ticks[u, v, key] / 10)
            if f1 == f0 and isinstance(a, str) and isinstance(b, str):
                add(b, a, 0.0)  # two points at one spot
    access = frame["snap_m"].to_numpy(float) / (walk_kmh / 3.6)
    out = np.zeros((len(frame), len(frame)))
    for i in range(len(frame)):
        lengths = nx.single_source_dijkstra_path_length(ref, f"s{i}", weight="w")
        for j in range(len(frame)):
            out[i, j] = 0.0 if i == j else lengths.get(f"s{j}", np.inf) + access[i] + access[j]
    return out


@pytest.mark.parametrize("backend", BACKENDS)
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
    np.testing.assert_allclose(tt.seconds, _split_graph_reference(net, snaps, 4.5), atol=0.01, rtol=0)


def _beside(net, u, v, fractions, offset):
    """Points at ``fractions`` along the straight line from node ``u`` to ``v``, ``offset`` m to its side."""
    a = np.array([net.graph.nodes[u]["x"], net.graph.nodes[u]["y"]])
    b = np.array([net.graph.nodes[v]["x"], net.graph.nodes[v]["y"]])
    normal = np.array([-(b - a)[1], (b - a)[0]]) / np.linalg.norm(b - a)
    return [a + f * (b - a) + offset * normal for f in fractions]


@pytest.mark.parametrize("backend", BACKENDS)
def test_matrix_matches_the_split_graph_with_points_sharing_edges(settings, backend):
    net = network_from_graph(grid_city(400, seed=3), "car", settings)
    g = net.graph
    two_way = next((u, v) for u, v, k in g.edges(keys=True) if g.has_edge(v, u) and u < v)
    one_way = [(u, v) for u, v, k in g.edges(keys=True) if not g.has_edge(v, u)][:2]
    points = _beside(net, *two_way, [0.2, 0.5, 0.8], 4.0)  # three on one two-way road, in line
    points += _beside(net, two_way[1], two_way[0], [0.35], -4.0)  # one more, from the other end
    points += _beside(net, *one_way[0], [0.3, 0.7], 4.0)  # two on a one-way street
    points += _beside(net, *one_way[1], [0.6], 4.0)
    points += _beside(net, *one_way[1], [0.6], 4.0)  # two at one spot
    points += [np.array([g.nodes[two_way[0]]["x"], g.nodes[two_way[0]]["y"]])]  # on a node
    px, py = np.array(points).T
    snaps = snap(net, px, py, far_m=300)
    frame = snaps.frame
    assert {frozenset((r.u, r.v)) for r in frame.iloc[:4].itertuples()} == {frozenset(two_way)}
    assert {(r.u, r.v) for r in frame.iloc[4:6].itertuples()} == {one_way[0]}
    tt = travel_times(net, snaps, walk_kmh=4.5, backend=backend)
    expected = _split_graph_reference(net, snaps, 4.5)
    np.testing.assert_allclose(tt.seconds, expected, atol=0.01, rtol=0)
    walk = frame["snap_m"].to_numpy() / (4.5 / 3.6)
    assert tt.seconds[6, 7] == pytest.approx(walk[6] + walk[7]) == tt.seconds[7, 6]  # one spot: no drive
    # along the one-way street: ahead is a short drive, back is round the block
    ahead, back = tt.seconds[4, 5], tt.seconds[5, 4]
    assert ahead < back
    for i, j in [(0, 1), (1, 0), (3, 2), (4, 5), (5, 4), (0, 8), (8, 6)]:
        line = tt.leg(i, j)
        assert line is not None
        assert line.coords[0] == pytest.approx((frame.road_x[i], frame.road_y[i]), abs=1e-6)
        assert line.coords[-1] == pytest.approx((frame.road_x[j], frame.road_y[j]), abs=1e-6)


def test_cch_and_scipy_agree_on_a_larger_network(settings):
    if not HAVE_CCH:
        pytest.skip("pyroutingkit is not installed here")
    net = network_from_graph(grid_city(3000, seed=5), "car", settings)
    rng = np.random.default_rng(11)
    box = np.array([[n["x"], n["y"]] for _, n in net.graph.nodes(data=True)])
    lo, hi = box.min(axis=0), box.max(axis=0)
    snaps = snap(net, rng.uniform(lo[0], hi[0], 150), rng.uniform(lo[1], hi[1], 150), far_m=300)
    cch = travel_times(net, snaps, walk_kmh=4.5, backend="cch")
    scipy = travel_times(net, snaps, walk_kmh=4.5, backend="scipy")
    np.testing.assert_allclose(cch.seconds, scipy.seconds, atol=1e-6, rtol=0)


def test_tables_made_at_once_in_two_threads_are_right(settings):
    """Streamlit serves each session in a thread; pyroutingkit is not thread-safe on its own."""
    import threading

    from routing import matrix as mx

    net = network_from_graph(grid_city(8000, seed=1), "car", settings)
    nets = [net, net]  # two sessions planning on one county: one backend
    rng = np.random.default_rng(3)
    snaps = []
    for net in nets:
        box = np.array([[d["x"], d["y"]] for _, d in net.graph.nodes(data=True)])
        lo, hi = box.min(axis=0), box.max(axis=0)
        snaps.append(snap(net, rng.uniform(lo[0], hi[0], 250), rng.uniform(lo[1], hi[1], 250), far_m=300))
    backend = "cch" if HAVE_CCH else "scipy"
    alone = [travel_times(net, s, 4.5, backend).seconds for net, s in zip(nets, snaps, strict=True)]
    for _ in range(3):
        mx._CACHE.clear()
        got: list = [None, None]

        def run(k):
            got[k] = travel_times(nets[k], snaps[k], 4.5, backend).seconds  # noqa: B023

        threads = [threading.Thread(target=run, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for k in (0, 1):
            np.testing.assert_array_equal(got[k], alone[k])


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


def _one_way_junction() -> nx.MultiDiGraph:
    """A → B one-way (1 km), B — C two-way (100 m), and the ring C — D — A two-way (1 km, 100 m)."""
    g = nx.MultiDiGraph(crs="EPSG:4548")
    for n, (x, y) in {1: (0, 0), 2: (1000, 0), 3: (1000, 100), 4: (0, 100)}.items():
        g.add_node(n, x=float(x), y=float(y))
    for u, v, length, two_way in [(1, 2, 1000.0, False), (2, 3, 100.0, True), (3, 4, 1000.0, True),
                                  (4, 1, 100.0, True)]:
        g.add_edge(u, v, length=length, highway="residential", oneway=not two_way, osmid=f"{u}{v}")
        if two_way:
            g.add_edge(v, u, length=length, highway="residential", oneway=False, osmid=f"{u}{v}")
    return g


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_site_at_a_one_way_junction_is_reached_from_the_cross_street(settings, backend):
    A, B, C, D = 1, 2, 3, 4
    net = network_from_graph(_one_way_junction(), "car", settings)
    # s0 just past B (nearest road point: B itself, on A→B and on B—C alike), s1 at C, s2 half way
    # along C—D, 5 m off, s3 half way along the one-way A→B, 5 m off, s4 half way along D—A, 5 m off
    px = np.array([1010.0, 1000.0, 500.0, 500.0, -5.0])
    py = np.array([-10.0, 100.0, 105.0, -5.0, 50.0])
    frame = snap(net, px, py, far_m=300).frame
    assert {frame.u[0], frame.v[0]} == {B, C}  # of the equally near, the two-way road
    snaps = snap(net, px, py, far_m=300)
    tt = travel_times(net, snaps, walk_kmh=4.5, backend=backend)
    # by hand: each site a node of its own, inserted where it lies; arcs cost their deciseconds
    t = {(u, v): float(np.rint(tt_ * 10)) / 10 for u, v, tt_ in net.graph.edges(data="travel_time")}
    ref = nx.DiGraph()
    for (u, v), w in t.items():
        ref.add_edge(u, v, w=w)
    for a, b in [("s0", B), (B, "s0"), ("s1", C), (C, "s1")]:  # at a node: in and out there
        ref.add_edge(a, b, w=0.0)
    for site, (u, v) in [("s2", (C, D)), ("s2", (D, C)), ("s3", (A, B)), ("s4", (D, A)), ("s4", (A, D))]:
        ref.add_edge(u, site, w=t[u, v] / 2)
        ref.add_edge(site, v, w=t[u, v] / 2)
    walk = np.array([np.hypot(10, 10), 0.0, 5.0, 5.0, 5.0]) / (4.5 / 3.6)
    expected = np.zeros((5, 5))
    for i in range(5):
        lengths = nx.single_source_dijkstra_path_length(ref, f"s{i}", weight="w")
        for j in range(5):
            expected[i, j] = 0.0 if i == j else lengths[f"s{j}"] + walk[i] + walk[j]
    np.testing.assert_allclose(tt.seconds, expected, atol=0.01, rtol=0)
    # C to the site: the 100 m of B—C and the walk, not the ring and the whole one-way street
    assert tt.seconds[1, 0] == pytest.approx(t[C, B] + walk[0], abs=0.01) and tt.seconds[1, 0] < 30
    assert tt.seconds[0, 1] == pytest.approx(t[B, C] + walk[0], abs=0.01)
    assert tt.seconds[3, 0] == pytest.approx(t[A, B] / 2 + walk[3] + walk[0], abs=0.01)  # along A→B
    # snapped to the one-way street instead (its first edge): the same times, for it is at B all the same
    one_way = snaps.frame.copy()
    one_way.loc[0, ["u", "v", "key", "fraction"]] = [A, B, 0, 1.0]
    again = travel_times(net, type(snaps)(one_way), walk_kmh=4.5, backend=backend)
    np.testing.assert_allclose(again.seconds, expected, atol=0.01, rtol=0)
    for i, j in [(1, 0), (0, 1), (3, 0), (0, 3), (2, 0), (0, 4)]:
        for table in (tt, again):
            line = table.leg(i, j)
            assert line is not None
            assert line.coords[0] == pytest.approx((frame.road_x[i], frame.road_y[i]), abs=1e-6)
            assert line.coords[-1] == pytest.approx((frame.road_x[j], frame.road_y[j]), abs=1e-6)
    assert tt.leg(1, 0).length == pytest.approx(100.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_travel_seconds_equals_the_all_pairs_table(settings, backend):
    from routing.matrix import travel_seconds

    net = network_from_graph(grid_city(400, seed=3), "car", settings)
    g = net.graph
    two_way = next((u, v) for u, v, k in g.edges(keys=True) if g.has_edge(v, u) and u < v)
    one_way = next((u, v) for u, v, k in g.edges(keys=True) if not g.has_edge(v, u))
    points = _beside(net, *two_way, [0.1, 0.3, 0.5, 0.7, 0.9], 4.0)  # several on one two-way road
    points += _beside(net, *one_way, [0.2, 0.5, 0.8], 4.0)  # and on a one-way street
    points += _beside(net, *one_way, [0.5], 4.0)  # two at one spot
    points += [np.array([g.nodes[two_way[1]]["x"], g.nodes[two_way[1]]["y"]])]  # at a node
    rng = np.random.default_rng(2)
    nodes = list(g.nodes)
    for n in rng.choice(len(nodes), 6, replace=False):
        points.append(np.array([g.nodes[nodes[n]]["x"] + rng.uniform(20, 50), g.nodes[nodes[n]]["y"] + 3.0]))
    px, py = np.array(points).T
    snaps = snap(net, px, py, far_m=300)
    full = travel_times(net, snaps, walk_kmh=4.5, backend=backend).seconds
    np.testing.assert_allclose(full, _split_graph_reference(net, snaps, 4.5), atol=0.01, rtol=0)
    n = len(px)
    for rows, cols in [(np.arange(n), np.arange(n)), ([0, 5, 9], np.arange(n)), (np.arange(n), [2, 4, 7]),
                       ([4, 1, 6, 8], [0, 3, 4, 6, 7, 8, 9]), ([2], [2, 3])]:
        got = travel_seconds(net, snaps, 4.5, np.asarray(rows), np.asarray(cols), backend=backend)
        np.testing.assert_array_equal(got, full[np.ix_(rows, cols)])
