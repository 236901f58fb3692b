"""Patrol areas (包片): the county's communities split among the teams into contiguous, compact
areas of balanced workload, versioned in the store with who made them and when.

**Workload.** Each risk site ``i`` is expected to be visited in proportion to its draw weight
``w_i = max(risk_score, [draw] min_weight)``. A visit costs its service time (``[service_minutes]``
by kind) plus the one-way travel from the team's base to the site's community (on the road
network of the team's mode where the workspace has one, else the straight line × ``[areas]
detour`` at the mode's default speed). The workload of a community for a team is the sum over its
sites of ``w_i × (service_i + travel_i)``, in risk-weighted minutes; an area's is the sum over its
communities for the team it belongs to.

**Partition.** The communities form a graph by shared borders (rook adjacency; islands are joined
to their nearest neighbour). GerryChain's recursive tree partition splits that graph into
contiguous parts whose team-independent workload (each community's mean over the teams) is within
``[areas] tolerance`` of the mean; the parts are handed to teams by the least total travel
(Hungarian assignment); then a GerryChain flip walk moves border communities while the largest
deviation of the *real* workload does not grow. This repeats over seeds within ``[areas]
seconds`` and keeps the best. When ±tolerance cannot be met, the result says how far it is and
why (for example a community whose workload alone exceeds the bound).
"""

from __future__ import annotations

import json
import random
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, cast

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from access.roles import Permission, Principal, authorize
from core.clock import now_local
from core.errors import InputError
from core.settings import AreaSettings, PatrolSettings, load_patrol_settings
from routing.teams import in_use
from store import Store

AREAS = "patrol_areas"
VERSIONS = "area_versions"
AREA_COLUMNS = ["version", "team_id", "community_code"]
VERSION_COLUMNS = ["version", "made_at", "made_by", "method", "note", "seed", "max_deviation", "balanced",
                   "summary_json"]


@dataclass(frozen=True)
class Area:
    """One team's patrol area and its workload."""

    team_id: str
    communities: tuple[str, ...]
    workload: float  # risk-weighted minutes (see module doc)
    service: float
    travel: float
    deviation: float  # (workload − mean) / mean
    contiguous: bool


@dataclass(frozen=True)
class AreaPlan:
    """A split of the county's communities among the teams, with its balance."""

    areas: tuple[Area, ...]
    tolerance: float
    reasons: tuple[str, ...] = ()  # why the balance could not be met (Chinese), empty when it was
    version: int = 0  # 0 until saved
    made_at: str = ""
    made_by: str = ""
    method: str = "computed"
    seed: int = 0
    travel_method: str = ""

    @property
    def mean(self) -> float:
        """The mean workload of an area."""
        return float(np.mean([a.workload for a in self.areas])) if self.areas else 0.0

    @property
    def max_deviation(self) -> float:
        """The largest |deviation| from the mean, as a share of it."""
        return max((abs(a.deviation) for a in self.areas), default=0.0)

    @property
    def balanced(self) -> bool:
        """Every area within ±tolerance of the mean, and each one piece."""
        return self.max_deviation <= self.tolerance + 1e-9 and all(a.contiguous for a in self.areas)

    def assignment(self) -> dict[str, str]:
        """Community code → team id."""
        return {code: area.team_id for area in self.areas for code in area.communities}

    def area_of(self, team_id: str) -> Area:
        """The area of ``team_id``."""
        for area in self.areas:
            if area.team_id == team_id:
                return area
        raise InputError(f"检查组 {team_id} 没有包片区域。 / team {team_id} has no patrol area.")

    def summary(self) -> str:
        """The balance in a few lines (Chinese, with the figures)."""
        state = "已均衡" if self.balanced else "未达均衡"
        lines = [(f"包片区域：{len(self.areas)} 个，平均工作量 {self.mean:.0f}，"
                  f"最大偏差 {100 * self.max_deviation:.1f}%（允许 ±{100 * self.tolerance:.0f}%），{state}。")]
        for area in self.areas:
            lines.append(f"  {area.team_id}：{len(area.communities)} 个社区，工作量 {area.workload:.0f}"
                         f"（现场 {area.service:.0f} + 路程 {area.travel:.0f}），偏差 {100 * area.deviation:+.1f}%"
                         + ("" if area.contiguous else "，不连片"))
        lines.extend(f"  原因：{reason}" for reason in self.reasons)
        return "\n".join(lines)


@dataclass
class Workloads:
    """What the partition balances: each community's workload for each team."""

    communities: gpd.GeoDataFrame  # code, name, geometry (metric CRS)
    teams: list[str]
    service: np.ndarray  # per community
    weight: np.ndarray  # risk weight per community (Σ w_i)
    travel_min: np.ndarray  # communities × teams, one-way minutes
    travel_method: str
    names: dict[str, str] = field(default_factory=dict)

    def load(self) -> np.ndarray:
        """communities × teams: service plus weighted travel."""
        return self.service[:, None] + self.weight[:, None] * self.travel_min

    def travel(self) -> np.ndarray:
        """communities × teams: weighted travel only."""
        return self.weight[:, None] * self.travel_min


def workloads(ws: Store, settings: PatrolSettings | None = None, teams: pd.DataFrame | None = None) -> Workloads:
    """Each community's workload for each team (see module doc)."""
    settings = settings or load_patrol_settings(store=ws)
    crs = ws.meta().get("metric_crs") or "EPSG:3857"
    communities = ws.read("communities", columns=["code", "name"]).to_crs(crs).reset_index(drop=True)
    if teams is None:
        if not ws.has_layer("teams"):
            raise InputError(f"{ws.label} 没有检查组，请先添加。 / {ws.label} has no teams; add them first.")
        teams = pd.DataFrame(ws.read("teams")).drop(columns="geometry", errors="ignore")
    teams = teams[in_use(teams)]
    if teams.empty:
        raise InputError(f"{ws.label} 没有在用的检查组。 / {ws.label} has no active teams.")
    if len(teams) > len(communities):
        raise InputError(f"{len(teams)} 个检查组多于 {len(communities)} 个社区，无法每组一片。 / "
                         f"{len(teams)} teams for {len(communities)} communities: each area needs a community.")
    index = {code: k for k, code in enumerate(communities["code"])}
    service = np.zeros(len(communities))
    weight = np.zeros(len(communities))
    sites = ws.read_optional("risk_sites", columns=["site_type", "community_code", "risk_score"])
    sites = (gpd.GeoDataFrame(columns=["site_type", "community_code", "risk_score", "geometry"], geometry="geometry",
                              crs=crs) if sites is None else sites.to_crs(crs))
    rows = sites["community_code"].map(index)
    sites = sites[rows.notna().to_numpy()]
    rows = rows.dropna().astype(int).to_numpy()
    w = np.maximum(pd.to_numeric(sites["risk_score"], errors="coerce").fillna(0).to_numpy(), settings.draw.min_weight)
    minutes = sites["site_type"].map(settings.service_minutes).fillna(
        settings.service_minutes.get("institution", 30)).to_numpy(dtype=float)
    np.add.at(service, rows, w * minutes)
    np.add.at(weight, rows, w)
    bases = gpd.GeoSeries(gpd.points_from_xy(teams["base_lon"].astype(float), teams["base_lat"].astype(float)),
                          crs="EPSG:4326").to_crs(crs)
    modes = [str(m) if str(m) in settings.speeds else "car" for m in teams.get("mode", pd.Series(["car"] * len(teams)))]
    # travel to a community: the weighted mean over its sites; to one without sites, to a point inside it
    targets = pd.concat([sites.geometry, communities.geometry.representative_point()], ignore_index=True)
    minutes_to, method = _travel_minutes(ws, settings, gpd.GeoSeries(targets, crs=crs), bases, modes)
    travel = minutes_to[len(sites):].copy()
    for k in np.unique(rows):
        mine = rows == k
        travel[k] = (w[mine, None] * minutes_to[:len(sites)][mine]).sum(axis=0) / w[mine].sum()
    return Workloads(communities, [str(t) for t in teams["team_id"]], service, weight, travel, method,
                     dict(zip(communities["code"], communities["name"], strict=True)))


def _travel_minutes(ws: Store, settings: PatrolSettings, points: gpd.GeoSeries, bases: gpd.GeoSeries,
                    modes: Sequence[str]) -> tuple[np.ndarray, str]:
    """Minutes from each base to each community point: on the road network, else straight × detour."""
    detour = settings.areas.detour
    out = np.zeros((len(points), len(bases)))
    px, py = points.x.to_numpy(), points.y.to_numpy()
    for j, (base, mode) in enumerate(zip(bases, modes, strict=True)):
        km = np.hypot(px - base.x, py - base.y) / 1000 * detour
        out[:, j] = km / settings.speeds[mode]["default"] * 60
    if not (ws.has_layer("road_edges") and ws.has_layer("road_nodes")) or ws.read("road_edges",
                                                                                   columns=["u"]).empty:
        return out, f"直线距离×{detour:g}估算"
    from routing.matrix import travel_times
    from routing.network import road_network, snap

    for mode in sorted(set(modes)):
        network = road_network(ws, mode, settings)
        if network.graph.number_of_edges() == 0:
            continue
        columns = [j for j, m in enumerate(modes) if m == mode]
        xs = np.concatenate([[bases.iloc[j].x for j in columns], px])
        ys = np.concatenate([[bases.iloc[j].y for j in columns], py])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = travel_times(network, snap(network, xs, ys, settings.far_from_road_m),
                                 settings.walk_to_site_kmh).seconds
        for k, j in enumerate(columns):
            road = table[k, len(columns):] / 60
            out[:, j] = np.where(np.isfinite(road), road, out[:, j])
    return out, "道路网络行程时间"


def adjacency(communities: gpd.GeoDataFrame) -> nx.Graph:
    """Communities (by row number) joined where their borders touch along a line; islands are
    joined to the nearest other community so that the graph is connected."""
    geometry = communities.geometry.reset_index(drop=True)
    graph = nx.Graph()
    graph.add_nodes_from(range(len(geometry)))
    tree = shapely.STRtree(geometry.to_numpy())
    left, right = tree.query(geometry.to_numpy(), predicate="intersects")
    for a, b in zip(left, right, strict=True):
        if a < b:
            shared = geometry.iloc[a].boundary.intersection(geometry.iloc[b].boundary).length
            if shared > 1.0:  # metres: a shared border, not a corner
                graph.add_edge(int(a), int(b))
    components = [sorted(c) for c in nx.connected_components(graph)]
    while len(components) > 1:
        first, rest = components[0], [n for c in components[1:] for n in c]
        one = geometry.iloc[first].union_all()
        distances = geometry.iloc[rest].distance(one).to_numpy()
        near = rest[int(np.argmin(distances))]
        anchor = first[int(np.argmin(geometry.iloc[first].distance(geometry.iloc[near]).to_numpy()))]
        graph.add_edge(anchor, near, joined=True)
        components = [sorted(c) for c in nx.connected_components(graph)]
    return graph


def contiguous_parts(graph: nx.Graph, assignment: Mapping[int, str]) -> dict[str, bool]:
    """Whether each part of ``assignment`` is one connected piece of ``graph``."""
    parts: dict[str, list[int]] = {}
    for node, part in assignment.items():
        parts.setdefault(part, []).append(node)
    return {part: nx.is_connected(graph.subgraph(nodes)) for part, nodes in parts.items()}


def evaluate(loads: Workloads, assignment: Mapping[str, str], graph: nx.Graph | None = None,
             tolerance: float = 0.10, **extra: object) -> AreaPlan:
    """The :class:`AreaPlan` of ``assignment`` (community code → team id) with its balance."""
    codes = list(loads.communities["code"])
    missing = [c for c in codes if c not in assignment]
    if missing:
        raise InputError(f"社区 {', '.join(missing[:5])} 未分配给任何检查组。 / communities {', '.join(missing[:5])} "
                         "have no team.")
    graph = graph if graph is not None else adjacency(loads.communities)
    full, travel = loads.load(), loads.travel()
    column = {team: j for j, team in enumerate(loads.teams)}
    unknown = sorted({t for t in assignment.values() if t not in column})
    if unknown:
        raise InputError(f"未知的检查组：{', '.join(unknown)}。 / unknown teams: {', '.join(unknown)}.")
    by_row = {k: assignment[code] for k, code in enumerate(codes)}
    pieces = contiguous_parts(graph, by_row)
    totals = dict.fromkeys(loads.teams, 0.0)
    moving = dict.fromkeys(loads.teams, 0.0)
    for k, team in by_row.items():
        totals[team] += full[k, column[team]]
        moving[team] += travel[k, column[team]]
    mean = float(np.mean(list(totals.values()))) or 1.0
    areas = tuple(Area(team, tuple(sorted(c for c in codes if assignment[c] == team)), totals[team],
                       totals[team] - moving[team], moving[team], (totals[team] - mean) / mean,
                       pieces.get(team, False)) for team in loads.teams)
    plan = AreaPlan(areas, tolerance, travel_method=loads.travel_method, **extra)  # type: ignore[arg-type]
    return replace(plan, reasons=_reasons(loads, plan))


def _reasons(loads: Workloads, plan: AreaPlan) -> tuple[str, ...]:
    """Why ±tolerance was not met, in Chinese."""
    if plan.balanced:
        return ()
    out = []
    mean = plan.mean
    full = loads.load()
    upper = mean * (1 + plan.tolerance)
    for k, code in enumerate(loads.communities["code"]):
        alone = float(full[k].min())
        if alone > upper:
            out.append(f"{loads.names.get(code, code)}单独的工作量 {alone:.0f} 已超过上限 {upper:.0f}"
                       f"（平均 {mean:.0f} 的 {100 * (1 + plan.tolerance):.0f}%），无法再均衡。")
    busy = int((full.min(axis=1) > 0).sum())
    if busy < len(loads.teams):
        out.append(f"只有 {busy} 个社区有巡查任务，少于 {len(loads.teams)} 个检查组。")
    if not out:
        out.append(f"社区数量少、工作量集中，在 {len(loads.communities)} 个社区的连片划分中找到的最好结果偏差为 "
                   f"{100 * plan.max_deviation:.1f}%。")
    return tuple(out)


def _gerry_graph(loads: Workloads, graph: nx.Graph):
    from gerrychain import Graph

    g = nx.Graph()
    proxy = loads.load().mean(axis=1)
    for node in graph.nodes:
        g.add_node(node, load=float(proxy[node]))
    g.add_edges_from(graph.edges)
    return Graph.from_networkx(g), proxy


def _tree_split(ggraph, parts: int, total: float, tolerance: float, rng: random.Random) -> dict[int, int] | None:
    """A contiguous split into ``parts`` with the proxy load within ±tolerance, or ``None``."""
    from gerrychain.partition.initial_partition_generators import recursive_tree_part
    from gerrychain.tree import bipartition_tree

    if parts == 1:
        return dict.fromkeys(ggraph.node_indices, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cut = partial(bipartition_tree, max_attempts=200, warn_attempts=10**9)
            split = recursive_tree_part(ggraph, list(range(parts)), total / parts, "load", tolerance,
                                        node_repeats=2, bipartition_tree_fn=cut, rng=rng)
            return cast(dict[int, int], split)
        except Exception:
            return None


def _to_teams(loads: Workloads, split: Mapping[int, int]) -> dict[int, str]:
    """Hand each part to the team that reaches it with the least travel (Hungarian assignment)."""
    parts = sorted(set(split.values()))
    travel = loads.travel()
    cost = np.array([[sum(travel[n, j] for n, p in split.items() if p == part) for j in range(len(loads.teams))]
                     for part in parts])
    rows, cols = linear_sum_assignment(cost)
    team_of = {parts[r]: loads.teams[c] for r, c in zip(rows, cols, strict=True)}
    return {node: team_of[part] for node, part in split.items()}


def _improve(loads: Workloads, graph: nx.Graph, start: dict[int, str], steps: int, rng: random.Random,
             deadline: float) -> dict[int, str]:
    """GerryChain flip walk: move border communities while the largest real deviation does not grow."""
    from gerrychain import MarkovChain, Partition
    from gerrychain.constraints import contiguous
    from gerrychain.proposals import propose_random_flip

    full = loads.load()
    column = {team: j for j, team in enumerate(loads.teams)}

    def totals(partition: Partition) -> dict[str, float]:
        out = dict.fromkeys(loads.teams, 0.0)
        for node, team in partition.assignment.items():
            out[cast(str, team)] += float(full[cast(int, node), column[cast(str, team)]])
        return out

    def spread(partition: Partition) -> float:
        values = np.array(list(partition["workload"].values()))
        mean = values.mean() or 1.0
        return float(np.abs(values - mean).max() / mean)

    def no_worse(partition: Partition, *, rng: random.Random) -> bool:
        parent = partition.parent
        return parent is None or spread(partition) <= spread(parent) + 1e-12

    def all_parts(partition: Partition) -> bool:
        return len(partition.parts) == len(loads.teams) and all(len(n) for n in partition.parts.values())

    from gerrychain import Graph

    if len(set(start.values())) >= graph.number_of_nodes():  # one community per team: nothing can move
        return dict(start)
    proposals = [0]

    def propose(partition: Partition, *, rng: random.Random) -> Partition:
        # the chain retries a refused move without end: bound the tries and the time here
        proposals[0] += 1
        if proposals[0] > 20 * steps or time.monotonic() > deadline:
            raise _WalkOverError
        return propose_random_flip(partition, rng=rng)

    initial = Partition(Graph.from_networkx(graph), assignment=dict(start), updaters={"workload": totals})
    chain = MarkovChain(propose, [contiguous, all_parts], no_worse, initial, steps, rng=rng)
    best, best_spread = dict(start), spread(initial)
    try:
        for state in chain:
            value = spread(state)
            if value < best_spread - 1e-12:
                best = {node: cast(str, state.assignment[node]) for node in graph.nodes}
                best_spread = value
            if time.monotonic() > deadline:
                break
    except _WalkOverError:
        pass
    return best


class _WalkOverError(Exception):
    """The flip walk's tries or time are used up."""


def compute_areas(ws: Store, *, seed: int = 2026, settings: PatrolSettings | None = None,
                  teams: pd.DataFrame | None = None, loads: Workloads | None = None) -> AreaPlan:
    """Split the communities among the teams (see module doc); nothing is saved."""
    settings = settings or load_patrol_settings(store=ws)
    options = settings.areas
    loads = loads or workloads(ws, settings, teams)
    graph = adjacency(loads.communities)
    return partition_areas(loads, graph, options, seed=seed)


def partition_areas(loads: Workloads, graph: nx.Graph, options: AreaSettings, *, seed: int = 2026) -> AreaPlan:
    """The best balanced contiguous split found within ``options.seconds`` (see module doc)."""
    ggraph, proxy = _gerry_graph(loads, graph)
    total = float(proxy.sum())
    codes = list(loads.communities["code"])
    deadline = time.monotonic() + options.seconds
    rng = random.Random(seed)
    best: AreaPlan | None = None
    tries = 0
    epsilon = options.tolerance
    # a community heavier alone than the bound allows: balance is out of reach, a few tries find the best
    limit = 20 if float(loads.load().min(axis=1).max()) > total / len(loads.teams) * (1 + options.tolerance) else 200
    while time.monotonic() < deadline or best is None:
        tries += 1
        split = _tree_split(ggraph, len(loads.teams), total, epsilon, rng) if total > 0 else None
        if split is None:
            split = _grow(graph, proxy, len(loads.teams), rng)
        by_team = _to_teams(loads, split)
        by_team = _improve(loads, graph, by_team, options.flip_steps, rng, deadline)
        plan = evaluate(loads, {codes[n]: t for n, t in by_team.items()}, graph, options.tolerance, seed=seed)
        if best is None or (plan.max_deviation, not all(a.contiguous for a in plan.areas)) < (
                best.max_deviation, not all(a.contiguous for a in best.areas)):
            best = plan
        if best.balanced or tries >= limit:
            break
        if tries % 5 == 0:  # cuts at this tolerance keep failing: let the tree cut more freely, the walk evens out
            epsilon = min(epsilon * 1.5, 0.95)
    assert best is not None
    return best


def _grow(graph: nx.Graph, proxy: np.ndarray, parts: int, rng: random.Random) -> dict[int, int]:
    """A contiguous split by growing ``parts`` regions from spread-out seeds (the fallback when no
    tree cut fits, e.g. when the workload sits in a few communities)."""
    nodes = list(graph.nodes)
    seeds = [rng.choice(nodes)]
    while len(seeds) < parts:  # farthest-first seeds in graph distance
        distance = nx.multi_source_dijkstra_path_length(graph, seeds, weight=None)
        far = max(d for n, d in distance.items() if n not in seeds)
        seeds.append(rng.choice([n for n, d in distance.items() if d == far and n not in seeds]))
    owner = {s: k for k, s in enumerate(seeds)}
    size = [float(proxy[s]) + 1e-9 for s in seeds]
    while len(owner) < len(nodes):
        order = sorted(range(parts), key=lambda k: size[k])
        for k in order:
            frontier = sorted({n for o, p in owner.items() if p == k for n in graph.neighbors(o)} - set(owner))
            if frontier:
                pick = frontier[0] if len(frontier) == 1 else rng.choice(frontier)
                owner[pick] = k
                size[k] += float(proxy[pick]) + 1e-9
                break
    return owner


# ---------------------------------------------------------------------------------------------
# The store: versions of the areas, each with who made it and when.


def current_areas(ws: Store, settings: PatrolSettings | None = None) -> AreaPlan | None:
    """The latest saved areas (re-evaluated on today's workloads), or ``None`` if none are saved."""
    if not ws.has_layer(VERSIONS):
        return None
    versions = ws.read(VERSIONS)
    if versions.empty:
        return None
    latest = versions.loc[pd.to_numeric(versions["version"]).idxmax()]
    return saved_areas(ws, int(latest["version"]), settings)


def saved_areas(ws: Store, version: int, settings: PatrolSettings | None = None) -> AreaPlan:
    """Version ``version`` of the areas, with its balance on today's workloads."""
    rows = ws.read(AREAS, where={"version": int(version)}) if ws.has_layer(AREAS) else pd.DataFrame()
    if rows.empty:
        raise InputError(f"包片区域第 {version} 版不存在。 / patrol areas version {version} does not exist.")
    meta = ws.read(VERSIONS, where={"version": int(version)}).iloc[0]
    settings = settings or load_patrol_settings(store=ws)
    assignment = dict(zip(rows["community_code"].astype(str), rows["team_id"].astype(str), strict=True))
    loads = workloads(ws, settings)
    for code in loads.communities["code"]:  # a community added since: reported as unassigned
        assignment.setdefault(code, "")
    known = {k: v for k, v in assignment.items() if v in loads.teams}
    if len(known) < len(assignment):
        lost = sorted(set(assignment) - set(known))
        raise InputError(f"包片区域第 {version} 版有社区没有在用的检查组：{', '.join(lost[:5])}；请重新划分。 / "
                         f"areas version {version} leave communities without an active team; compute them again.")
    return evaluate(loads, known, tolerance=settings.areas.tolerance, version=int(version),
                    made_at=str(meta["made_at"]), made_by=str(meta["made_by"]), method=str(meta["method"]),
                    seed=int(meta["seed"] or 0))


def area_history(ws: Store) -> pd.DataFrame:
    """Every saved version: ``version, made_at, made_by, method, note, max_deviation, balanced``."""
    if not ws.has_layer(VERSIONS):
        return pd.DataFrame(columns=VERSION_COLUMNS[:-1])
    rows = ws.read(VERSIONS)
    return rows.drop(columns="summary_json").sort_values("version", ascending=False).reset_index(drop=True)


def save_areas(ws: Store, plan: AreaPlan, *, actor: Principal | str, method: str = "computed",
               note: str = "", based_on: int | None = None) -> AreaPlan:
    """Save ``plan`` as the next version (one transaction, audited); return it with its version.

    ``based_on`` is the version an edit started from: if someone saved a newer one meanwhile the
    save is refused, so that nobody's change is lost unseen."""
    by = authorize(actor, Permission.PLAN)
    made_at = now_local()
    with ws.transaction(actor=by, action="save-areas", detail=f"{method}: {len(plan.areas)} areas, max deviation "
                        f"{100 * plan.max_deviation:.1f}%") as tx:
        versions = tx.read(VERSIONS) if tx.has_layer(VERSIONS) else pd.DataFrame(columns=VERSION_COLUMNS)
        latest = int(pd.to_numeric(versions["version"]).max()) if len(versions) else 0
        if based_on is not None and based_on != latest:
            raise InputError(f"包片区域已被他人另存为第 {latest} 版，请重新打开后再改。 / the areas were saved "
                             f"as version {latest} meanwhile; open them again before editing.")
        version = latest + 1
        rows = pd.DataFrame([{"version": version, "team_id": area.team_id, "community_code": code}
                             for area in plan.areas for code in area.communities], columns=AREA_COLUMNS)
        tx.append(AREAS, rows)
        summary = {"areas": [{"team_id": a.team_id, "communities": list(a.communities),
                              "workload": round(a.workload, 2), "deviation": round(a.deviation, 4),
                              "contiguous": a.contiguous} for a in plan.areas],
                   "reasons": list(plan.reasons), "tolerance": plan.tolerance, "travel": plan.travel_method}
        tx.append(VERSIONS, pd.DataFrame([{
            "version": version, "made_at": made_at, "made_by": by, "method": method, "note": note,
            "seed": str(plan.seed), "max_deviation": round(plan.max_deviation, 4),
            "balanced": "yes" if plan.balanced else "no",
            "summary_json": json.dumps(summary, ensure_ascii=False)}], columns=VERSION_COLUMNS))
    return AreaPlan(plan.areas, plan.tolerance, plan.reasons, version=version, made_at=made_at, made_by=by,
                    method=method, seed=plan.seed, travel_method=plan.travel_method)


def move_community(ws: Store, plan: AreaPlan, community: str, team_id: str,
                   settings: PatrolSettings | None = None) -> AreaPlan:
    """``plan`` with ``community`` handed to ``team_id``, its balance and contiguity recomputed
    (not saved: the planner saves or undoes)."""
    assignment = plan.assignment()
    if community not in assignment:
        raise InputError(f"社区 {community} 不在包片区域中。 / community {community} is not in the areas.")
    assignment[community] = team_id
    settings = settings or load_patrol_settings(store=ws)
    loads = workloads(ws, settings)
    return evaluate(loads, assignment, tolerance=plan.tolerance, version=plan.version, made_at=plan.made_at,
                    made_by=plan.made_by, method="edited", seed=plan.seed)


def latest_assignment(ws: Store) -> tuple[int, dict[str, str]] | None:
    """The latest saved version and its community → team map (read only; ``None`` if none saved)."""
    if not (ws.has_layer(VERSIONS) and ws.has_layer(AREAS)):
        return None
    versions = ws.read(VERSIONS, columns=["version"])
    if versions.empty:
        return None
    version = int(pd.to_numeric(versions["version"]).max())
    rows = ws.read(AREAS, where={"version": version}, columns=["team_id", "community_code"])
    return version, dict(zip(rows["community_code"].astype(str), rows["team_id"].astype(str), strict=True))


def plan_areas(ws: Store, settings: PatrolSettings) -> dict[str, Any] | None:
    """What a day's plan records of the areas (its inputs, so that ``verify`` redoes the day's
    working areas): the version, its assignment and the cross-area share."""
    latest = latest_assignment(ws)
    if latest is None:
        return None
    version, assignment = latest
    return {"version": version, "assignment": dict(sorted(assignment.items())),
            "cross_share": settings.areas.cross_share}


def working_areas(areas: Mapping[str, Any], team_ids: Sequence[str], seed: str) -> dict[str, Any]:
    """The day's areas from a plan's recorded ``areas``: on a cross-inspection day (交叉检查, drawn
    with probability ``cross_share`` from the plan's seed) each team works the area of the next
    team in a drawn order, so no team always inspects its own patch. Returns ``{"cross": bool,
    "owner": {community: team working it today}}``; communities of teams not out today are free."""
    from routing.draw import shuffled, uniform

    teams = [str(t) for t in team_ids]
    present = {c: t for c, t in areas.get("assignment", {}).items() if t in teams}
    cross = len(teams) > 1 and uniform(seed, "cross-area") < float(areas.get("cross_share", 0))
    if cross:
        order = shuffled(seed, "cross-area-order", sorted(teams))
        works = {order[k]: order[(k + 1) % len(order)] for k in range(len(order))}  # team → area it works
        by_area = {area: team for team, area in works.items()}
        present = {c: by_area[t] for c, t in present.items()}
    return {"cross": cross, "owner": dict(sorted(present.items()))}


def out_of_area(owner: Mapping[str, str], team_ids: Sequence[str],
                avoid: Mapping[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Communities each team may not enter today: those other teams work, plus its own avoidances;
    a community whose owner must avoid it (回避) is open to every team that need not."""
    out = {}
    for team in team_ids:
        others = {c for c, t in owner.items() if t != team and c not in avoid.get(t, frozenset())}
        out[team] = frozenset(others | set(avoid.get(team, frozenset())))
    return out
