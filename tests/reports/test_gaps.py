"""The gap between clues and patrols, and sending its top communities into the next plan's draw."""

from __future__ import annotations

import pandas as pd

from casework.simulate import simulate
from reports.gaps import gaps
from routing.plan import make_plan, verify_plan
from store import Store


def test_gaps_rank_communities_by_clues_and_risk_against_patrols(guixi_ws: Store) -> None:
    simulate(guixi_ws, "2026-11-02", 2, seed=3, iterations=30)
    ranked = gaps(guixi_ws, "2026-11-20")
    clues = guixi_ws.read("clues")
    day = clues["received_at"].str[:10]
    recent = clues[(day >= "2026-10-22") & (day <= "2026-11-20")].groupby("community_code").size()
    results = guixi_ws.read("results")
    patrols = results[results["visited"].astype(bool) & (results["date"] >= "2026-11-11")]
    for row in ranked.itertuples():
        assert row.clues == int(recent.get(row.code, 0))
        assert row.inspections == len(patrols[patrols["community_code"] == row.code])
        assert f"近30天举报{row.clues}起" in row.reason
    assert ranked["gap"].is_monotonic_decreasing
    assert "近10天未巡查" in ranked["reason"].iloc[0]  # nobody patrolled after 11-03


def test_a_boost_from_the_gap_map_is_capped_recorded_and_verifiable(guixi_ws: Store, settings) -> None:
    plain, _ = make_plan(guixi_ws, "2026-11-23", "day", seed="boost", settings=settings, iterations=30)
    community = plain.inputs["sites"][0][2]
    boosted, seed = make_plan(guixi_ws, "2026-11-23", "day", seed="boost", settings=settings, iterations=30,
                              boost={community: 9.0})
    assert boosted.inputs["boost"] == {community: settings.draw.max_boost}  # capped at [draw] max_boost
    before = {v: w for v, w, c in plain.inputs["sites"]}
    for visit, weight, code in boosted.inputs["sites"]:
        expected = before[visit] * (settings.draw.max_boost if code == community else 1.0)
        assert abs(weight - round(expected, 4)) < 1e-3, visit
    assert verify_plan(boosted, seed) == []
    assert pd.Series([p for v, p in boosted.probabilities.items() if v in before]).sum() > 0
