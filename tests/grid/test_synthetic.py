"""A county at scale from the demo commands: thousands of buildings and institutions, still a clean
grid, and a plan made and verified on it."""

from __future__ import annotations

from grid.check import check_workspace
from grid.synthetic import add_buildings
from patrol.cli import main
from routing.plan import make_plan, verify_plan
from store import Store


def test_a_synthetic_county_of_thousands_builds_checks_and_plans(guixi_ws: Store, settings) -> None:
    before = len(guixi_ws.read("buildings"))
    assert add_buildings(guixi_ws, 3000, seed=3) == 3000
    buildings = guixi_ws.read("buildings")
    assert len(buildings) == before + 3000 and buildings["code"].is_unique
    assert buildings["code"].str[:12].eq(buildings["parent_code"]).all()  # a code names its community
    assert check_workspace(guixi_ws) == []  # inside their communities, no overlaps, everyone responsible
    assert main(["demo-layers", guixi_ws.location, "--seed", "3", "--institutions", "1500", "--clues", "300"]) == 0
    assert len(guixi_ws.read("institutions")) == 1500
    plan, seed = make_plan(guixi_ws, "2026-11-23", "day", seed="scale", settings=settings, iterations=50)
    assert verify_plan(plan, seed) == [] and plan.summary.visits >= 20
    # the draw fits what the teams can do: not hundreds drawn for a few dozen visits (a 5 % floor of 4,500 sites)
    assert plan.summary.drawn + plan.summary.mandatory <= 1.5 * plan.summary.visits
