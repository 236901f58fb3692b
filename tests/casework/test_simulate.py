"""A simulated county: plans, results and clues written through the store at the documented rates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from casework.results import cases_table, current_results, results_table
from casework.simulate import ACTOR, SimulationRates, simulate
from core.errors import InputError
from routing.model import Plan
from routing.register import plans_register
from store import Store
from tests.conftest import SHIPPED
from tests.helpers import on_backend


def test_a_simulated_week_is_written_as_a_bureau_would_and_repeats_with_its_seed(guixi_ws: Store,
                                                                               tmp_path: Path) -> None:
    summary = simulate(guixi_ws, "2026-11-02", 4, seed=7)
    register = plans_register(guixi_ws)
    assert set(register.loc[register["shift"] == "day", "date"]) == {"2026-11-02", "2026-11-03", "2026-11-04",
                                                                     "2026-11-05"}
    assert sorted(register["plan_id"]) == sorted(summary.plans)
    assert (register["status"] == "live").all() and set(register["created_by"]) == {ACTOR}
    results = current_results(results_table(guixi_ws))
    stops = sum(len(Plan.from_json(json.loads(text)).stops()) for text in register["plan_json"])
    assert len(results) == stops == summary.stops
    share = results["visited"].mean()
    assert abs(share - SimulationRates().visited) < 0.05, share
    assert set(results.loc[~results["visited"], "not_visited_reason"].str.len() > 0) <= {True}
    clues = guixi_ws.read("clues")
    new = clues[clues["clue_id"].str.startswith("SIM-")]
    assert len(new) == summary.clues_added and set(new["received_at"].str[:10]) <= {
        "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05"}
    assert len(cases_table(guixi_ws)) >= summary.cases_opened > 0
    log = guixi_ws.audit_log()
    assert {"plan", "record-results", "analyse"} <= set(log.loc[log["actor"] == ACTOR, "action"])
    # the same seed gives the same county; another seed another one
    first_day = [p for p in summary.plans if "-20261102-" in p]
    again = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "again.gpkg")))
    assert simulate(again, "2026-11-02", 1, seed=7).plans == first_day
    other = on_backend(Path(shutil.copy2(SHIPPED, tmp_path / "other.gpkg")))
    assert simulate(other, "2026-11-02", 1, seed=8).plans[0] not in first_day


def test_a_simulation_needs_teams_and_a_day(guixi_ws: Store) -> None:
    with pytest.raises(InputError, match="at least 1"):
        simulate(guixi_ws, "2026-11-02", 0)
