"""The plan as typed objects: read from and written back to the same plan.json, key for key."""

from __future__ import annotations

import json

import pytest

from core.errors import InputError
from core.visits import VisitKind, VisitRef
from routing.model import Plan
from routing.plan import make_plan, plan_stop_rows


def test_a_plan_round_trips_through_json_unchanged(guixi_ws, settings) -> None:
    plan, _ = make_plan(guixi_ws, "2026-11-23", "day", seed="model", settings=settings, iterations=30)
    text = json.dumps(plan.to_json(), ensure_ascii=False)
    again = Plan.from_json(json.loads(text))
    assert again == plan
    assert json.dumps(again.to_json(), ensure_ascii=False) == text
    team, stop = plan.stops()[0]
    assert plan.team(team.team_id) is team and plan.stop_of(stop.visit_id) == (team, stop)
    assert stop.visit.kind in set(VisitKind) and str(stop.visit) == stop.visit_id
    assert [t.team_id for t in plan.only_team(team.team_id).teams] == [team.team_id]
    rows = plan_stop_rows(plan, created_by="planner")
    assert len(rows) == plan.summary.visits and set(rows["visit_id"]) == {s.visit_id for _, s in plan.stops()}


def test_a_document_that_is_not_a_plan_is_refused_clearly() -> None:
    with pytest.raises(InputError, match="not a plan made by `patrol plan`"):
        Plan.from_json({"plan_id": "x"})
    with pytest.raises(InputError, match="not a visit id"):
        VisitRef.parse("X:123")
    assert VisitRef.parse("R:ZG20261124-8FB82E") == VisitRef.revisit("ZG20261124-8FB82E")
