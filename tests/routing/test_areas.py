"""Patrol areas (包片): balance within ±10% or a stated reason, contiguity checked independently
(each area's polygons connected through shared borders), versions saved with who and when."""

from __future__ import annotations

import shutil
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from access.roles import Principal, Role
from core.errors import InputError, PermissionDeniedError
from core.settings import AreaSettings
from routing.areas import (
    Workloads,
    adjacency,
    area_history,
    compute_areas,
    current_areas,
    move_community,
    partition_areas,
    save_areas,
)
from tests.conftest import SHIPPED
from tests.helpers import on_backend


def _connected_by_borders(polygons: gpd.GeoSeries) -> bool:
    """Independent check: the polygons form one piece through borders longer than a metre."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(polygons)))
    for a in range(len(polygons)):
        for b in range(a + 1, len(polygons)):
            shared = polygons.iloc[a].intersection(polygons.iloc[b])
            if not shared.is_empty and shared.length > 1.0:
                graph.add_edge(a, b)
    return nx.is_connected(graph)


def _synthetic(rows: int = 15, cols: int = 20, teams: int = 20, seed: int = 7) -> Workloads:
    """A county of rows × cols square communities (500 m), sites of random weight, bases spread out."""
    rng = np.random.default_rng(seed)
    squares = [shapely.box(c * 500, r * 500, (c + 1) * 500, (r + 1) * 500) for r in range(rows) for c in range(cols)]
    communities = gpd.GeoDataFrame({"code": [f"C{k:03d}" for k in range(len(squares))],
                                    "name": [f"社区{k}" for k in range(len(squares))]},
                                   geometry=squares, crs="EPSG:4548")
    weight = rng.uniform(0.5, 2.0, len(squares))
    service = weight * 30
    centres = communities.geometry.centroid
    bases = np.column_stack([rng.uniform(0, cols * 500, teams), rng.uniform(0, rows * 500, teams)])
    travel = np.hypot(centres.x.to_numpy()[:, None] - bases[None, :, 0],
                      centres.y.to_numpy()[:, None] - bases[None, :, 1]) / 1000 * 1.3 / 30 * 60
    return Workloads(communities, [f"T{j:02d}" for j in range(teams)], service, weight, travel, "直线距离×1.3估算")


def test_synthetic_county_of_300_communities_is_split_into_20_balanced_contiguous_areas() -> None:
    loads = _synthetic()
    plan = partition_areas(loads, adjacency(loads.communities), AreaSettings(seconds=8.0), seed=3)
    assert len(plan.areas) == 20
    codes = [code for area in plan.areas for code in area.communities]
    assert sorted(codes) == sorted(loads.communities["code"])  # each community in exactly one area
    workloads = np.array([a.workload for a in plan.areas])
    deviation = np.abs(workloads - workloads.mean()) / workloads.mean()
    assert deviation.max() <= 0.10 + 1e-9 or plan.reasons, plan.summary()
    assert plan.balanced, plan.summary()  # uniform squares: balance is reachable and must be reached
    by_code = loads.communities.set_index("code").geometry
    for area in plan.areas:
        assert _connected_by_borders(by_code.loc[list(area.communities)]), area.team_id


def test_default_county_areas_are_contiguous_and_say_why_they_are_not_balanced(tmp_path: Path) -> None:
    ws = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "a.gpkg")))
    plan = compute_areas(ws, seed=1)
    teams = set(ws.read("teams")["team_id"])
    assert {a.team_id for a in plan.areas} == teams
    communities = ws.read("communities").to_crs(ws.meta()["metric_crs"]).set_index("code").geometry
    assert sorted(c for a in plan.areas for c in a.communities) == sorted(communities.index)
    for area in plan.areas:
        assert _connected_by_borders(communities.loc[list(area.communities)]), area.team_id
    workloads = np.array([a.workload for a in plan.areas])
    worst = float(np.abs(workloads - workloads.mean()).max() / workloads.mean())
    assert worst == pytest.approx(plan.max_deviation)
    if worst > 0.10:
        assert plan.reasons and not plan.balanced
        assert any("居民委员会" in r or "村民委员会" in r or "社区" in r for r in plan.reasons), plan.reasons
    assert "偏差" in plan.summary()


def test_areas_are_versioned_with_who_and_when_and_an_edit_moves_one_community(tmp_path: Path) -> None:
    ws = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "v.gpkg")))
    planner = Principal("planner1", Role.PLANNER)
    first = save_areas(ws, compute_areas(ws, seed=1), actor=planner)
    assert first.version == 1 and first.made_by == "planner1"
    area = max(first.areas, key=lambda a: len(a.communities))
    other = next(a for a in first.areas if a.team_id != area.team_id)
    moved = move_community(ws, first, area.communities[0], other.team_id)
    assert moved.assignment()[area.communities[0]] == other.team_id
    assert moved.area_of(area.team_id).communities == area.communities[1:]
    second = save_areas(ws, moved, actor=planner, method="edited", based_on=1)
    assert second.version == 2
    again = current_areas(ws)
    assert again is not None and again.version == 2 and again.assignment() == moved.assignment()
    history = area_history(ws)
    assert list(history["version"].astype(int)) == [2, 1]
    assert list(history["made_by"]) == ["planner1", "planner1"]
    audit = ws.audit_log()
    assert (audit["action"] == "save-areas").sum() == 2
    with pytest.raises(InputError, match="第 2 版"):  # an edit of version 1 saved after version 2
        save_areas(ws, moved, actor=planner, method="edited", based_on=1)
    with pytest.raises(PermissionDeniedError):
        save_areas(ws, moved, actor=Principal("lead", Role.TEAM_LEADER, team_id="T1"))


def test_plans_keep_to_the_areas_except_on_the_drawn_cross_inspection_days(tmp_path: Path) -> None:
    import dataclasses

    from core.settings import load_patrol_settings
    from routing.plan import make_plan, verify_plan

    ws = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "p.gpkg")))
    base = load_patrol_settings(store=ws)
    settings = dataclasses.replace(base, areas=dataclasses.replace(base.areas, cross_share=0.5), solver_seconds=2)
    save_areas(ws, compute_areas(ws, seed=1, settings=settings), actor=Principal("planner1", Role.PLANNER))
    saved = ws.read("patrol_areas")  # read here, not through the planner, to check it independently
    own = dict(zip(saved["community_code"], saved["team_id"], strict=True))
    people = ws.read("inspectors").set_index("inspector_id")
    kinds = set()
    for k, day in enumerate(["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10"]):
        plan, seed = make_plan(ws, day, "day", seed=f"areas-{k}", settings=settings, iterations=30)
        assert plan.inputs["areas"]["version"] == 1 and plan.inputs["areas"]["assignment"] == own
        cross = bool(plan.draw["areas"]["cross"])
        kinds.add(cross)
        works = {}  # the area each team works today: its own, or on a cross day one other team's
        for team in plan.teams:
            homes = {str(people.at[m.inspector_id, "home_community"]) for m in team.members}
            outside = []
            for stop in team.stops:
                owner = own.get(stop.community_code)
                if owner is None or (owner == team.team_id and not cross):
                    continue
                owner_team = next(t for t in plan.teams if t.team_id == owner)  # every team is out today
                owner_homes = {str(people.at[m.inspector_id, "home_community"]) for m in owner_team.members}
                if stop.community_code in owner_homes:  # the owner must avoid it: open to others
                    continue
                outside.append(owner)
            assert all(c not in homes for c in (s.community_code for s in team.stops))
            if not cross:
                assert outside == [], (team.team_id, outside)
            else:
                assert len(set(outside)) <= 1 and team.team_id not in outside
                if outside:
                    works[team.team_id] = outside[0]
        if cross:
            assert len(set(works.values())) == len(works)  # no two teams work the same area
        assert verify_plan(plan, seed) == []
    assert kinds == {True, False}  # at cross_share 0.5 both kinds of day occur in these four draws
    document = plan.to_json()  # a stop handed to a team the day's areas keep out is caught
    owner = document["draw"]["areas"]["owner"]
    giver = next(t for t in document["teams"] if any(owner.get(s["community_code"]) == t["team_id"]
                                                     for s in t["stops"]))
    stop = next(s for s in giver["stops"] if owner.get(s["community_code"]) == giver["team_id"])
    taker = next(t for t in document["teams"] if t["team_id"] != giver["team_id"])
    giver["stops"] = [dict(s, order=i + 1) for i, s in enumerate(x for x in giver["stops"] if x is not stop)]
    taker["stops"].append(dict(stop, order=len(taker["stops"]) + 1))
    problems = verify_plan(document, seed)
    assert any("outside the team's area" in p and stop["visit_id"] in p for p in problems), problems


def test_as_many_teams_as_communities_gives_one_each_at_once(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    ws = on_backend(Path(shutil.copy2(ROOT / "data" / "haidian_110108.gpkg", tmp_path / "h.gpkg")))
    plan = compute_areas(ws, seed=1)  # no border move is possible: the walk must not spin
    assert sorted(len(a.communities) for a in plan.areas) == [1] * len(plan.areas)


def test_a_team_the_saved_areas_do_not_know_makes_the_plan_ignore_them_and_say_so(tmp_path: Path) -> None:
    import dataclasses

    from core.settings import load_patrol_settings
    from routing.plan import make_plan

    ws = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "n.gpkg")))
    settings = dataclasses.replace(load_patrol_settings(store=ws), solver_seconds=1)
    save_areas(ws, compute_areas(ws, seed=1, settings=settings), actor=Principal("planner1", Role.PLANNER))
    teams = ws.read("teams").drop(columns="geometry")
    extra = teams.iloc[[0]].assign(team_id="T9", name="第九检查组")
    people = ws.read("inspectors").assign(law_cert=lambda f: f["law_cert"].astype(str).isin(["yes", "是"]))
    plan, _ = make_plan(ws, "2026-12-07", "day", teams=pd.concat([teams, extra], ignore_index=True),
                        inspectors=pd.concat([people, people.iloc[:4].assign(
                            inspector_id=lambda f: f["inspector_id"] + "x")], ignore_index=True),
                        seed="new-team", settings=settings, iterations=30)
    assert "areas" not in plan.inputs
    assert any("T9" in w and "包片区域" in w for w in plan.warnings)
