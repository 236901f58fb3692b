"""Daily plans on the default county: CLI, verification, 四不两直 rules, double-ten schedule."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from core.errors import InputError
from patrol.cli import main
from routing.plan import make_plan, read_plan, verify_plan
from routing.predictability import simulate_plans
from routing.register import register_plan
from routing.schedule import schedule
from routing.teams import workspace_teams
from tests.helpers import replace_layers

DAY = "2026-11-23"


@pytest.fixture
def day_plan(guixi_ws, settings):
    plan, seed = make_plan(guixi_ws, DAY, "day", seed="fixed-seed", settings=settings, iterations=300)
    return plan, seed


def test_day_plan_routes_every_team_within_the_shift(day_plan):
    plan, _ = day_plan
    assert plan.summary.visits >= 40
    for team in plan.teams:
        assert team.stops, team.team_id
        times = [s.arrival for s in team.stops]
        assert times == sorted(times) and times[0] >= "08:30" and team.back <= "17:30"
        assert len(team.legs) == len(team.stops) + 1
        assert team.legs[0].coordinates, "a leg follows the roads"
    # mandatory visits (clues past their verification deadline) are planned first
    assert plan.summary.unplanned_mandatory == 0
    assert plan.summary.mandatory > 0


def test_verify_confirms_and_rejects_tampering(day_plan):
    plan, seed = day_plan
    assert verify_plan(plan, seed) == []
    assert any("commitment" in p for p in verify_plan(plan, "wrong-seed"))
    swapped = plan.to_json()
    a, b = swapped["teams"][0], swapped["teams"][1]
    a["members"], b["members"] = b["members"], a["members"]
    swapped["draw"]["teams"][a["team_id"]], swapped["draw"]["teams"][b["team_id"]] = (
        plan.draw["teams"][b["team_id"]], plan.draw["teams"][a["team_id"]])
    assert any(f"team {a['team_id']}" in p for p in verify_plan(swapped, seed))
    weights = json.loads(json.dumps(plan.to_json()))
    weights["inputs"]["sites"][0][1] = 0.99  # someone raising a site's weight after the fact
    assert any("recorded inputs were changed" in p for p in verify_plan(weights, seed))
    extra = json.loads(json.dumps(plan.to_json()))
    undrawn = next(s[0] for s in plan.inputs["sites"] if s[0] not in plan.draw["sites"])
    extra["teams"][0]["stops"].append({**extra["teams"][0]["stops"][0], "visit_id": undrawn, "order": 99})
    assert any("neither drawn nor mandatory" in p for p in verify_plan(extra, seed))


def test_draw_reports_probabilities_and_changes_between_days(guixi_ws, settings):
    a, _ = make_plan(guixi_ws, DAY, "day", seed="s-monday", settings=settings, iterations=50)
    b, _ = make_plan(guixi_ws, DAY, "day", seed="s-tuesday", settings=settings, iterations=50)
    assert a.inputs["sites"] == b.inputs["sites"]  # same inputs…
    assert set(a.draw["sites"]) != set(b.draw["sites"])  # …other plan
    probs = pd.Series(a.probabilities)
    low, high = settings.draw.min_probability, settings.draw.max_probability
    assert probs.between(low - 1e-9, high + 1e-9).all()
    weights = pd.Series({s[0]: s[1] for s in a.inputs["sites"]})
    assert probs[weights.idxmax()] >= probs[weights.idxmin()]


def test_no_team_visits_its_members_communities_or_an_office(guixi_ws, settings):
    teams, people = workspace_teams(guixi_ws)
    people = people.copy()
    communities = guixi_ws.read("communities")["code"].tolist()
    people["home_community"] = [communities[i % len(communities)] for i in range(len(people))]
    plan, _ = make_plan(guixi_ws, DAY, "day", seed="avoid", teams=teams, inspectors=people, settings=settings,
                        iterations=200)
    for team in plan.teams:
        homes = set(people.set_index("inspector_id").loc[[m.inspector_id for m in team.members],
                                                         "home_community"])
        assert set(team.avoid_communities) >= homes
        assert not {s.community_code for s in team.stops} & homes
    # put a township office on a drawn site: it must drop out and be reported
    site = next(s for t in plan.teams for s in reversed(t.stops) if not s.mandatory)  # a drawn site
    pois = guixi_ws.read("pois")
    office = gpd.GeoDataFrame({"osm_type": ["node"], "osm_id": [1], "name": ["某街道办事处"], "kind": ["townhall"]},
                              geometry=[shapely.Point(site.lon, site.lat)], crs=pois.crs)
    replace_layers(guixi_ws, {"pois": pd.concat([pois, office], ignore_index=True)})
    again, _ = make_plan(guixi_ws, DAY, "day", seed="avoid", teams=teams, inspectors=people, settings=settings,
                         iterations=200)
    stops = {s.visit_id for t in again.teams for s in t.stops}
    assert site.visit_id not in stops
    assert site.visit_id in {o.visit_id for o in again.not_visited_offices}


def test_the_night_draw_keeps_the_days_sites_and_skips_its_done_tasks(guixi_ws, settings, day_plan):
    plan, seed = day_plan
    register_plan(guixi_ws, plan, seed=seed, actor="tester")
    night, _ = make_plan(guixi_ws, DAY, "night", seed="night", settings=settings, iterations=200)
    day_visits = {s.visit_id for t in plan.teams for s in t.stops}
    night_visits = {s.visit_id for t in night.teams for s in t.stops}
    assert night_visits
    # 四不两直: a site visited by day is still drawn at night at its ordinary probability…
    drawn_by_day = {s.visit_id for _, s in plan.stops() if not s.mandatory}
    night_pool = {v for v, _, _ in night.inputs["sites"]}
    assert drawn_by_day <= night_pool
    assert all(night.probabilities[v] > 0 for v in drawn_by_day)
    # …but a mandatory task the day shift does is not set again
    done_by_day = {s.visit_id for _, s in plan.stops() if s.mandatory}
    assert not done_by_day & set(night.inputs["mandatory"])
    assert not (day_visits & night_visits) - drawn_by_day
    # a county may lower their weight at night, never to zero
    from dataclasses import replace

    halved = replace(settings, draw=replace(settings.draw, same_day_factor=0.5))
    lowered, _ = make_plan(guixi_ws, DAY, "night", seed="night", settings=halved, iterations=50)
    full = {v: w for v, w, _ in night.inputs["sites"]}
    half = {v: w for v, w, _ in lowered.inputs["sites"]}
    assert all(half[v] == pytest.approx(full[v] / 2, abs=1e-4) for v in drawn_by_day)
    assert all(half[v] == full[v] for v in full if v not in day_visits)
    assert all(t.back <= "21:30" and t.stops[0].arrival >= "18:00" for t in night.teams if t.stops)
    audit = guixi_ws.audit_log()
    assert (audit["action"] == "plan").any() and "tester" in set(audit["actor"])
    # the next day's draw keeps yesterday's pairs apart
    tomorrow, _ = make_plan(guixi_ws, "2026-11-24", "day", seed="tue", settings=settings, iterations=50)
    assert set(tomorrow.inputs["previous_pairs"]) == set(guixi_ws.read("plans")["pairs"][0].split(";"))


def test_cli_plan_verify_and_bad_files(guixi_ws, tmp_path, capsys):
    out = tmp_path / "plan"
    assert main(["plan", guixi_ws.location, "--date", DAY, "--shift", "night", "--out", str(out),
                 "--seconds", "1"]) == 0
    assert {p.name for p in out.iterdir()} >= {"plan.json", "plan.geojson", "team_T1.gpx", "SECRET_seed.txt"}
    seed = (out / "SECRET_seed.txt").read_text(encoding="utf-8").split()[0]
    assert seed not in (out / "plan.json").read_text(encoding="utf-8")
    assert main(["verify", str(out / "plan.json"), "--seed", seed]) == 1  # nothing binds a lone file…
    assert "NOT BOUND" in capsys.readouterr().out
    assert main(["verify", str(out / "plan.json"), "--seed", seed, "--workspace", guixi_ws.location]) == 0
    assert "every route, stop and member matches the registered plan" in capsys.readouterr().out
    plan = read_plan(out / "plan.json").to_json()
    plan["draw"]["sites"].append(next(s[0] for s in plan["inputs"]["sites"] if s[0] not in plan["draw"]["sites"]))
    (tmp_path / "tampered.json").write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    assert main(["verify", str(tmp_path / "tampered.json"), "--seed", seed]) == 1
    assert "NOT CONFIRMED" in capsys.readouterr().out
    geo = json.loads((out / "plan.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["role"] for f in geo["features"]} == {"base", "stop", "leg"}
    bad = tmp_path / "teams.csv"
    bad.write_text("team_id,name,base_lon,base_lat,mode\nT1,甲,117.22,28.29,plane\n", encoding="utf-8")
    assert main(["plan", guixi_ws.location, "--date", DAY, "--teams", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert "row 2, mode: 'plane'" in capsys.readouterr().err


def test_double_ten_is_met_or_the_shortfall_stated(guixi_ws, settings):
    met = schedule(guixi_ws, DAY, days=10, seed="round", settings=settings, iterations=100)
    assert met["met"] and met["shortfall_team_days"] == 0
    covered = {s.visit_id for d in met["plans"] for t in d["plan"].teams for s in t.stops}
    institutions = guixi_ws.read("risk_sites")
    active = institutions[(institutions["site_type"] == "institution") & (institutions["status"] != "deregistered")]
    assert set("" + active["site_id"]) <= covered
    assert all(d["visits"] >= 10 for d in met["plans"])
    # a mandatory task (an overdue clue check) is set once in the round, not again every day
    mandatory = [s.visit_id for d in met["plans"] for _, s in d["plan"].stops()
                 if s.mandatory and not s.reason.startswith("双十原则")]
    assert mandatory and len(mandatory) == len(set(mandatory))
    teams, people = workspace_teams(guixi_ws)
    short = schedule(guixi_ws, DAY, days=10, shift="night", teams=teams.iloc[:1], inspectors=people, seed="round",
                     settings=settings, iterations=50)
    assert not short["met"] and short["shortfall_team_days"] > 0 and short["uncovered"]
    # registered, the round is recounted from the register alone, with the same shortfall
    from routing.register import register_round
    from routing.schedule import round_overview, rounds

    record = register_round(guixi_ws, short, seed=short["seed"], actor="planner")
    assert list(rounds(guixi_ws)["round_id"]) == [record["round_id"]]
    overview = round_overview(guixi_ws, record["round_id"], settings)
    assert not overview.met and overview.uncovered == short["uncovered"]
    assert overview.visits_made == short["visits_made"] and overview.visits_needed == short["visits_needed"]
    assert overview.days_under_minimum == short["days_under_minimum"]
    assert overview.shortfall_team_days == short["shortfall_team_days"]
    assert overview.per_day["stops"].sum() == sum(d["visits"] for d in short["plans"])
    assert set(overview.per_day["team_id"]) == {str(teams["team_id"].iloc[0])}


def test_a_simulated_month_of_plans_is_not_guessable(guixi_ws, settings):
    result = simulate_plans(guixi_ws, DAY, 20, iterations=30, settings=settings)
    for row in result["lags"]:
        assert 0.85 < row["lift"] < 1.15, row


def test_a_county_keeps_its_own_settings_in_its_workspace(guixi_ws, capsys) -> None:
    from core.settings import load_patrol_settings, save_county_settings

    base = load_patrol_settings()
    own = '[shifts.day]\nstart = "09:00"\n[cases]\nrectify_days = 20\n'
    save_county_settings(guixi_ws, "patrol", own, actor="科长")
    county = load_patrol_settings(store=guixi_ws)
    assert county.shifts["day"].start_min == 9 * 60 and county.cases.rectify_days == 20
    assert county.shifts["day"].end == base.shifts["day"].end  # what the county did not change stays
    assert "[settings:patrol]" in county.source and guixi_ws.audit_log().iloc[-1]["actor"] == "科长"
    with pytest.raises(InputError, match=r"\[shifts.day\] ends"):
        save_county_settings(guixi_ws, "patrol", '[shifts.day]\nstart = "18:00"\n', actor="科长")
    assert load_patrol_settings(store=guixi_ws).shifts["day"].start == "09:00"  # the refused one changed nothing
    assert main(["settings", guixi_ws.location]) == 0
    assert "rectify_days': 20" in capsys.readouterr().out


def test_a_place_whose_name_says_office_is_never_a_stop() -> None:
    from routing.plan import is_office_name

    names = pd.Series(["北街社区党群服务中心", "雄石街道社会服务中心", "东门居委会", "星火培训学校", None,
                       "花园村村民委员会"])
    assert is_office_name(names).tolist() == [True, True, True, False, False, True]


def test_a_route_that_overruns_the_shift_keeps_the_stops_that_fit() -> None:
    import numpy as np

    from routing.solve import Visit, _fit_to_shift

    matrix = np.array([[0, 600, 600, 600], [600, 0, 600, 600], [600, 600, 0, 600], [600, 600, 600, 0]])
    visits = [Visit(f"I:{i}", i + 1, 1800, 1.0, False, "") for i in range(3)]
    rows = {i: i + 1 for i in range(3)}
    kept, back = _fit_to_shift([0, 1, 2], matrix, visits, rows, 0, 0, 0, 3 * 3600)
    assert [s.visit for s in kept] == [0, 1, 2] and back == 3 * 600 + 3 * 1800 + 600
    kept, back = _fit_to_shift([0, 1, 2], matrix, visits, rows, 0, 0, 0, 5400)  # 1.5 h: two stops fit, not three
    assert [s.visit for s in kept] == [0, 1] and back <= 5400
    assert kept[1].arrival_s == kept[0].departure_s + 600


def test_each_team_leaves_at_a_drawn_minute_and_starts_at_a_drawn_site(day_plan, settings):
    """四不两直: departures within [draw] departure_window_min of the start, first stops drawn, both verified."""
    from routing.plan import content_digest

    plan, seed = day_plan
    window = settings.draw.departure_window_min
    assert window > 0 and settings.draw.first_stop_drawn
    departs = {t.team_id: t.depart for t in plan.teams}
    assert departs == plan.draw["departures"]
    from core.settings import clock_minutes

    assert all(0 <= clock_minutes(d) - clock_minutes("08:30") <= window for d in departs.values())
    assert len(set(departs.values())) > 1, "the teams do not all leave at the same minute"
    for team in plan.teams:
        assert team.stops[0].visit_id == plan.draw["first_stops"][team.team_id]
        assert team.stops[0].arrival > team.depart
        assert not team.stops[0].mandatory
    reach = plan.inputs["first_stop_reach"]
    assert set(reach) == set(departs) and all(r["communities"] for r in reach.values())
    for team in plan.teams:  # a route is released relative to its own departure, not the shift's start
        released = pd.Timestamp(team.release_at)
        assert released == pd.Timestamp(f"{plan.date}T{team.depart}:00+08:00") - pd.Timedelta(
            minutes=settings.access.release_minutes_before)
    edited = plan.to_json()
    edited["teams"][0]["depart"] = "08:30" if edited["teams"][0]["depart"] != "08:30" else "08:31"
    stops = edited["teams"][1]["stops"]
    stops[0], stops[1] = stops[1], stops[0]
    for order, stop in enumerate(stops, start=1):
        stop["order"] = order
    edited["plan_digest"] = content_digest(edited)
    problems = verify_plan(edited, seed)
    assert any("leaves at" in p and "the draw says" in p for p in problems), problems
    assert any("its first stop" in p for p in problems), problems
    dropped = plan.to_json()  # the drawn first stop moved to "unplanned": still not the drawn start
    first = dropped["teams"][0]["stops"].pop(0)
    for order, stop in enumerate(dropped["teams"][0]["stops"], start=1):
        stop["order"] = order
    dropped["unplanned"].append({"visit_id": first["visit_id"], "name": first["name"], "kind": first["kind"],
                                 "mandatory": False, "reason": "本班次时间内排不下"})
    dropped["plan_digest"] = content_digest(dropped)
    assert any("its first stop" in p for p in verify_plan(dropped, seed))
    early = plan.to_json()  # the drawn departure kept, the first arrival moved before it
    early["teams"][0]["stops"][0]["arrival"] = "08:29"
    early["plan_digest"] = content_digest(early)
    assert any("only move on from its departure" in p for p in verify_plan(early, seed))


def test_departures_and_first_stops_are_uniform_over_their_draws() -> None:
    from routing.plan import departures, first_stops

    counts = pd.Series([departures(f"s{i}", ["T1"], "08:30", 40)["T1"] for i in range(4100)]).value_counts()
    assert len(counts) == 41 and counts.min() > 50 and counts.max() < 160  # 100 expected for each minute
    sites = [[f"I:{k}", 1.0, "A" if k < 6 else "B" if k < 10 else "C"] for k in range(30)]
    rules = {"draw": {"first_stop_reach_min": 30, "first_stop_candidates": 8}}
    inputs = {"sites": sites, "rules": rules, "teams": [{"team_id": t} for t in ("T1", "T2", "T3")],
              "first_stop_reach": {"T1": {"communities": [["A", 5], ["B", 20], ["C", 45]], "unfit": ["I:5"]},
                                   "T2": {"communities": [["B", 12], ["A", 14]]},
                                   "T3": {"communities": [["C", 50], ["B", 60]]}}}
    drawn = [f"I:{k}" for k in range(30)]
    picks = pd.DataFrame([first_stops(f"s{i}", inputs, drawn, {"T2": frozenset({"A"})}) for i in range(3000)])
    assert set(picks["T1"]) == {f"I:{k}" for k in range(10) if k != 5}  # within 30 min and fit, each about 1/9
    assert picks["T1"].value_counts().between(250, 420).all()
    assert set(picks["T2"]) <= {f"I:{k}" for k in range(6, 10)}  # kept out of A (回避 or areas)
    # nothing within 30 minutes: the nearest communities until 8 sites are to draw from (C holds 20)
    assert set(picks["T3"]) <= {f"I:{k}" for k in range(10, 30)} and picks["T3"].nunique() > 15


def test_a_departure_window_longer_than_half_a_shift_is_refused(tmp_path) -> None:
    from core.settings import DEFAULT_PATROL_SETTINGS, load_patrol_settings

    text = DEFAULT_PATROL_SETTINGS.read_text(encoding="utf-8").replace("departure_window_min = 40",
                                                                       "departure_window_min = 120")
    (tmp_path / "patrol.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match="departure_window_min"):
        load_patrol_settings(tmp_path / "patrol.toml")
