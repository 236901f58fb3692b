"""双随机 site draws: known probabilities, bounded, reproducible from the seed, unpredictable."""

from __future__ import annotations

import numpy as np
import pytest

from routing.draw import commitment, digest, inclusion_probabilities, systematic_sample
from routing.predictability import lag_lift

IDS = [f"S{i:03d}" for i in range(60)]
WEIGHTS = np.linspace(0.05, 1.0, 60)


def test_probabilities_grow_with_risk_are_bounded_and_sum_to_the_sample():
    p = inclusion_probabilities(WEIGHTS, 15, 0.05, 0.95)
    assert p.sum() == pytest.approx(15)
    assert np.all(np.diff(p) >= -1e-12)
    assert p.min() >= 0.05 and p.max() <= 0.95


def test_each_site_is_drawn_with_its_probability():
    p = inclusion_probabilities(WEIGHTS, 15, 0.05, 0.95)
    counts = dict.fromkeys(IDS, 0)
    runs = 3000
    for r in range(runs):
        drawn = systematic_sample(f"seed-{r}", "sites", IDS, p)
        assert len(drawn) == 15
        for site in drawn:
            counts[site] += 1
    freq = np.array([counts[i] / runs for i in IDS])
    # binomial standard error ≤ 0.0092 at 3000 runs; allow 4.5 of them
    assert np.max(np.abs(freq - p)) < 0.042
    assert freq.min() > 0 and freq.max() < 1  # nobody impossible, nobody certain


def test_same_inputs_other_day_give_another_draw_and_same_seed_the_same():
    p = inclusion_probabilities(WEIGHTS, 15, 0.05, 0.95)
    a = systematic_sample("monday", "sites", IDS, p)
    assert systematic_sample("monday", "sites", IDS, p) == a
    assert systematic_sample("tuesday", "sites", IDS, p) != a


def test_commitment_binds_seed_and_inputs():
    inputs = {"date": "2026-11-23", "sites": [["S1", 0.5, "c"]]}
    c = commitment("s3cret", digest(inputs))
    assert c == commitment("s3cret", digest(dict(inputs)))
    assert c != commitment("s3cret", digest({**inputs, "date": "2026-11-24"}))
    assert c != commitment("other", digest(inputs))


def _month(policy: str) -> tuple[np.ndarray, np.ndarray]:
    p = inclusion_probabilities(WEIGHTS, 15, 0.05, 0.95)
    visited = np.zeros((30, len(IDS)))
    for day in range(30):
        if policy == "draw":
            drawn = systematic_sample(f"month-{day}", "sites", IDS, p)
        else:  # a predictable rota: the 15 sites not visited for longest (a negative control)
            last = np.array([max([d for d in range(day) if visited[d, i]] or [-99]) for i in range(len(IDS))])
            drawn = [IDS[i] for i in np.argsort(last, kind="stable")[:15]]
        visited[day, [IDS.index(s) for s in drawn]] = 1
    return visited, np.tile(p, (30, 1))


def test_earlier_plans_do_not_predict_tomorrow():
    visited, p = _month("draw")
    for row in lag_lift(visited, p, max_lag=7):
        assert 0.85 < row["lift"] < 1.15, row
    rota, _ = _month("rota")
    lifts = {row["lag"]: row["lift"] for row in lag_lift(rota, np.full_like(p, 0.25), max_lag=4)}
    assert lifts[1] < 0.2 and lifts[4] > 3  # a rota is guessable, and the measure sees it


@pytest.mark.parametrize(("low", "high"), [(0.05, 0.95), (0.01, 0.99), (0.2, 0.8), (0.05, 0.5)])
def test_probabilities_return_for_every_pool_size_and_cap(low: float, high: float) -> None:
    rng = np.random.default_rng(7)
    for size in range(1, 201):
        weights = rng.random(size)
        for n in (0, 1, size // 3, size - 1, size, size * 2):  # the sample may ask for more than the cap allows
            p = inclusion_probabilities(weights, n, low, high)
            assert len(p) == size and p.min() >= low - 1e-12 and p.max() <= high + 1e-12
            wanted = min(max(n, low * size), high * size)
            assert p.sum() == pytest.approx(wanted, rel=1e-9, abs=1e-9)
    # all-equal, zero and non-finite weights return too
    assert inclusion_probabilities(np.zeros(13), 13, 0.05, 0.95).tolist() == [0.95] * 13
    assert np.isfinite(inclusion_probabilities(np.array([np.nan, np.inf, 1.0, 0.0]), 2, 0.05, 0.95)).all()


def test_a_revisit_day_is_spread_evenly_over_its_window() -> None:
    from routing.draw import revisits_due

    window, runs = 5, 4000
    first = np.zeros(window)
    for r in range(runs):
        for k in range(window):  # on day k of the window the hazard is 1 / (days left)
            if revisits_due(f"day{k}-seed{r}", [["R:ZG1", 1 / (window - k)]]):
                first[k] += 1
                break
    share = first / runs
    assert first.sum() == runs  # due by the window's last day at the latest
    assert np.all(np.abs(share - 1 / window) < 0.03), share  # each day equally likely (20 % ± 3)


def test_a_county_of_thousands_of_sites_draws_what_the_teams_can_visit() -> None:
    """The 5 % floor would draw 550 of 11,000 sites for 27 places: it takes at most [draw] floor_share of
    the sample instead, and every site keeps a chance above zero."""
    import numpy as np

    from routing.plan import draw_from_inputs

    rng = np.random.default_rng(4)
    sites = [[f"P:{i}", round(float(w), 4), "C1"] for i, w in enumerate(rng.uniform(0.05, 1.0, 11_000))]
    inputs = {
        "sites": sites, "sample_size": 27, "mandatory": [], "previous_pairs": [], "window": ["08:30", "17:30"],
        "teams": [{"team_id": "T1"}],
        "inspectors": [{"inspector_id": f"P{i}", "name": f"人{i}", "department": "教育局市场监管局"[i * 3:i * 3 + 3],
                        "law_cert": True, "home_community": "", "responsible_communities": ""} for i in range(2)],
        "rules": {"draw": {"min_probability": 0.05, "max_probability": 0.95, "floor_share": 0.5},
                  "teams": {"size": 2, "min_departments": 2, "min_law_cert": 1}},
    }
    drawn = draw_from_inputs(inputs, "many")
    probabilities = np.array(list(drawn["probabilities"].values()))
    assert abs(probabilities.sum() - 27) < 0.01 and probabilities.min() > 0
    assert 26 <= len(drawn["sites"]) <= 28  # systematic sampling: the size is the sum of the chances
    old = dict(inputs, rules={**inputs["rules"], "draw": {"min_probability": 0.05, "max_probability": 0.95}})
    assert len(draw_from_inputs(old, "many")["sites"]) == 550  # a plan made before the rule verifies as it was
