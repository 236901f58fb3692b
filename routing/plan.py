"""A day's or night's unannounced patrol plan (四不两直 + 双随机), and its verification.

``make_plan`` does, in order:

1. lists what must be visited (clues whose verification deadline has come, due follow-up
   revisits 回头看) and what may be drawn (every risk site, and open clues not yet due);
2. estimates how many visits the teams can make in the shift on the road network;
3. records the draw's inputs and publishes ``commitment = SHA-256(seed, SHA-256(inputs))``;
4. draws the sites (systematic PPS: each site with a known probability between the
   configured bounds, growing with its risk) and the inspectors into teams (双随机 rules);
5. routes each team from its base straight to its sites with PyVRP — a route never passes
   through a township or community office, because offices are never visits;
6. lists every visit that could not be fitted, with the reason.

``verify_plan(plan, seed)`` redoes steps 3–4 from the plan's recorded inputs and the revealed
seed and lists every difference (an empty list means the draw is confirmed).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely.geometry import Point

from access.roles import Permission, Principal, authorize
from core.actor import cli_actor
from core.clock import TIMEZONE, as_local, local_day, now_local
from core.errors import InputError
from core.settings import SHIFTS, PatrolSettings, TeamSettings, clock_minutes, load_patrol_settings
from core.visits import VisitKind, VisitRef, visit_ids
from layers import schema
from routing.areas import out_of_area, plan_areas, working_areas
from routing.draw import (
    commitment,
    digest,
    inclusion_probabilities,
    new_seed,
    revisits_due,
    shuffled,
    systematic_sample,
    uniform,
)
from routing.exports import plan_geojson, team_gpx, team_kml
from routing.matrix import TravelTimes, travel_seconds, travel_times
from routing.model import Plan
from routing.network import RoadNetwork, Snaps, road_network, snap
from routing.solve import Routes, Vehicle, Visit, solve_routes
from routing.teams import avoided_communities, draw_teams, workspace_teams
from store import Store, Transaction

PLAN_VERSION = 1
OPEN_CLUES = ("received", "verifying")


def clock(seconds: int) -> str:
    """``HH:MM`` of a time given in seconds after midnight."""
    minutes = round(seconds / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _addresses(ws: Store) -> dict[str, str]:
    buildings = ws.read("buildings")[["code", "name", "parent_code"]]
    cells = ws.read("communities")
    communities = dict(zip(cells["code"], cells["name"], strict=True))
    return {b.code: f"{communities.get(b.parent_code, '')}{b.name}" for b in buildings.itertuples()}


def candidate_visits(ws: Store, day: pd.Timestamp, settings: PatrolSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pool to draw from and the mandatory visits, both with lon/lat and community.

    Columns: ``visit_id, kind, name, address, status, reason, weight, community_code, lon, lat``.
    """
    columns = ["visit_id", "kind", "name", "address", "status", "reason", "weight", "community_code", "lon", "lat"]
    addresses = _addresses(ws)
    if ws.has_layer("risk_sites"):
        sites = ws.read("risk_sites")
    else:
        from layers.risk import analyse

        sites = analyse(ws, today=day)["risk_sites"]
    institutions = ws.read("institutions").set_index("institution_id") if ws.has_layer("institutions") else None
    low = settings.draw.min_weight
    pool = pd.DataFrame(
        {
            "visit_id": sites["site_id"],
            "kind": sites["site_type"].map({"institution": "institution"}).fillna("place"),
            "name": sites["name"].fillna(""),
            "address": [
                (
                    str(institutions.at[v.target, "address"])
                    if institutions is not None and v.kind == VisitKind.INSTITUTION and v.target in institutions.index
                    else addresses.get(b, "")
                )
                for v, b in zip(map(VisitRef.parse, sites["site_id"]), sites["building_code"], strict=True)
            ],
            "status": sites["status"].fillna(""),
            "reason": sites["risk_reasons"].fillna(""),
            "weight": np.maximum(pd.to_numeric(sites["risk_score"], errors="coerce").fillna(0).to_numpy(), low),
            "community_code": sites["community_code"].fillna(""),
            "lon": sites.geometry.x.to_numpy(),
            "lat": sites.geometry.y.to_numpy(),
        }
    )
    mandatory = pd.DataFrame(columns=columns)
    if ws.has_layer("clues"):
        clues = ws.read("clues")
        clues = clues[clues["status"].isin(OPEN_CLUES) & clues.geometry.notna()]
        received = pd.to_datetime(clues["received_at"], errors="coerce", utc=True).dt.tz_convert(day.tz)
        known = (received.isna() | (received < day.normalize() + pd.Timedelta(days=1))).to_numpy()
        clues, received = clues[known], received[known]  # a plan for a past day knows only the clues received by then
        due = received.dt.normalize() + pd.Timedelta(days=settings.verify_clues_within_days)
        frame = pd.DataFrame(
            {
                "visit_id": visit_ids(VisitKind.CLUE, clues["clue_id"]),
                "kind": "clue",
                "name": "核查线索 " + clues["clue_id"].astype(str),
                "address": clues["address"].fillna(""),
                "status": clues["status"],
                "community_code": clues["community_code"].fillna(""),
                "reason": [
                    f"{c}；{t}"
                    for c, t in zip(clues["content"].fillna(""), "核查时限 " + due.dt.strftime("%Y-%m-%d"), strict=True)
                ],
                "weight": 1.0,
                "lon": clues.geometry.x.to_numpy(),
                "lat": clues.geometry.y.to_numpy(),
            }
        )
        is_due = (due <= day).to_numpy() & (received <= day + pd.Timedelta(days=1)).to_numpy()
        mandatory = frame[is_due]
        pool = pd.concat([pool, frame[~is_due]], ignore_index=True)
    if ws.has_layer("cases"):
        cases = ws.read("cases")
        due_day = pd.to_datetime(cases["revisit_due"]).dt.tz_localize(day.tz)
        due_cases = cases[(cases["status"] == "rectifying") & (due_day <= day)]
        last_day = due_day[due_cases.index] + pd.Timedelta(days=settings.cases.revisit_window_days - 1)
        days_left = ((last_day - day).dt.days).clip(lower=0)
        revisits = pd.DataFrame(
            {
                "visit_id": visit_ids(VisitKind.REVISIT, due_cases["case_id"]),
                "kind": "revisit",
                "name": due_cases["name"].fillna(""),
                "address": due_cases.get("address", "").fillna(""),
                "status": due_cases["status"],
                "reason": "回头看：整改期满复查（期满 " + due_cases["revisit_due"].astype(str) + "，最迟 "
                + last_day.dt.strftime("%Y-%m-%d") + "）",
                "hazard": (1.0 / (days_left + 1)).round(6).to_numpy(),
                "weight": 1.0,
                "community_code": due_cases["community_code"].fillna(""),
                "lon": due_cases.geometry.x.to_numpy(),
                "lat": due_cases.geometry.y.to_numpy(),
            }
        )
        mandatory = pd.concat([mandatory, revisits], ignore_index=True)
    mandatory = mandatory.assign(hazard=mandatory["hazard"].fillna(1.0) if "hazard" in mandatory else 1.0)
    return pool[columns].reset_index(drop=True), mandatory[[*columns, "hazard"]].reset_index(drop=True)


OFFICE_RADIUS_M = 30.0
OFFICE_BUILDINGS = ("government", "civic", "public", "townhall")


#: Names that say a place is a township or community office, whatever its OSM tag (四不两直: never a stop).
OFFICE_NAME_ENDINGS = ("人民政府", "办事处", "街道办", "居委会", "居民委员会", "村委会", "村民委员会", "社会服务中心",
                       "党群服务中心", "便民服务中心", "社区服务中心", "综合服务中心", "党群服务站", "社区服务站")


def is_office_name(names: pd.Series) -> pd.Series:
    """Which names say the place is a township or community office."""
    return names.fillna("").astype(str).str.strip().str.endswith(OFFICE_NAME_ENDINGS)


def office_points(ws: Store) -> gpd.GeoSeries:
    """Township and community offices (townhall POIs and places, government buildings), WGS84."""
    parts = []
    for layer in ("pois", "places"):
        if ws.has_layer(layer):
            frame = ws.read(layer)
            parts.append(frame.geometry[(frame["kind"] == "townhall") | is_office_name(frame["name"])])
    buildings = ws.read("buildings")
    office = buildings["building_type"].isin(OFFICE_BUILDINGS) | is_office_name(buildings["osm_name"])
    parts.append(buildings.geometry[office].representative_point())
    return gpd.GeoSeries(pd.concat(parts, ignore_index=True), crs="EPSG:4326")


def at_offices(ws: Store, visits: pd.DataFrame) -> np.ndarray:
    """Which visits lie at a township or community office (四不两直: never a stop)."""
    if visits.empty:
        return np.zeros(0, dtype=bool)
    named = is_office_name(visits["name"]).to_numpy()  # "…党群服务中心" is an office, whatever its OSM tag
    offices = office_points(ws)
    if offices.empty:
        return named
    metric = ws.meta()["metric_crs"]
    points = gpd.GeoSeries(gpd.points_from_xy(visits["lon"], visits["lat"]), crs="EPSG:4326").to_crs(metric)
    office_union = offices.to_crs(metric).buffer(OFFICE_RADIUS_M).union_all()
    return named | points.intersects(office_union).to_numpy()


WITHDRAWN = "withdrawn"


def live_plans(source: Store | Transaction, **where: object) -> pd.DataFrame:
    """Rows of the plan register matching ``where`` that were not withdrawn."""
    if not source.has_layer("plans"):
        return pd.DataFrame(columns=["plan_id", "date", "shift", "pairs", "status"])
    rows = source.read("plans", where=where or None)
    if "status" in rows.columns:
        rows = rows[rows["status"].fillna("live") != WITHDRAWN]
    return rows.reset_index(drop=True)


def _regular(rows: pd.DataFrame) -> pd.DataFrame:
    """Register rows that are not flying checks (a regular plan is made knowing nothing of those)."""
    return rows if "kind" not in rows.columns else rows[rows["kind"].fillna("").astype(str) != FLYING]


def _pairs_on(source: Store | Transaction, day: str, *, regular_only: bool = False) -> set[str]:
    pairs: set[str] = set()
    rows = live_plans(source, date=day)
    for text in (_regular(rows) if regular_only else rows)["pairs"].fillna(""):
        pairs.update(p for p in str(text).split(";") if p)
    return pairs


def previous_pairs(ws: Store, day: pd.Timestamp) -> list[str]:
    """Inspector pairs who rode together on the day before ``day`` (from the plan register)."""
    return sorted(_pairs_on(ws, (day - pd.Timedelta(days=1)).strftime("%Y-%m-%d"), regular_only=True))


PLAN_STOP_COLUMNS = ["plan_id", "date", "shift", "created_at", "created_by", "team_id", "team_name", "order",
                     "visit_id", "kind", "target_id", "name", "community_code", "arrival", "mandatory", "lon", "lat"]


def plan_stop_rows(plan: Plan, *, created_by: str) -> pd.DataFrame:
    """The register's ``plan_stops`` rows of a plan: one per stop, so readers query rows, not documents."""
    rows = [
        {"plan_id": plan.plan_id, "date": plan.date, "shift": plan.shift, "created_at": plan.created_at,
         "created_by": created_by, "team_id": team.team_id, "team_name": team.name, "order": stop.order,
         "visit_id": stop.visit_id, "kind": stop.kind, "target_id": stop.visit.target, "name": stop.name,
         "community_code": stop.community_code, "arrival": stop.arrival, "mandatory": stop.mandatory,
         "lon": stop.lon, "lat": stop.lat}
        for team, stop in plan.stops()
    ]
    return pd.DataFrame(rows, columns=PLAN_STOP_COLUMNS).astype({"order": "int64", "mandatory": "bool",
                                                                 "lon": "float64", "lat": "float64"})


def read_plan_stops(source: Store | Transaction, **query: Any) -> pd.DataFrame:
    """Rows of ``plan_stops`` matching ``query`` (``where=``, ``between=``); derived from the plan
    documents for a register written before the table existed."""
    if source.has_layer("plan_stops"):
        return source.read("plan_stops", **query)
    if not source.has_layer("plans"):
        return pd.DataFrame(columns=PLAN_STOP_COLUMNS)
    frames = [plan_stop_rows(Plan.from_json(json.loads(text)), created_by=by) for text, by in
              zip(*[source.read("plans", columns=["plan_json", "created_by"])[c] for c in ("plan_json", "created_by")],
                  strict=True)]
    stops = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=PLAN_STOP_COLUMNS)
    for column, value in (query.get("where") or {}).items():
        values = value if isinstance(value, list | set | tuple) else [value]
        stops = stops[stops[column].isin(values)]
    return stops.reset_index(drop=True)


def planned_stops(source: Store | Transaction, day: str, *, regular_only: bool = False) -> pd.DataFrame:
    """The ``plan_stops`` rows of the live (not withdrawn) plans of ``day`` (``regular_only``: not of
    the flying checks, which a regular plan must not reveal)."""
    stops = read_plan_stops(source, where={"date": day})
    plans = live_plans(source, date=day)
    plans = _regular(plans) if regular_only else plans
    return stops[stops["plan_id"].isin(set(plans["plan_id"]))].reset_index(drop=True)


def _visits_on(source: Store | Transaction, day: str, *, shift: str | None = None,
               regular_only: bool = False) -> set[str]:
    stops = planned_stops(source, day, regular_only=regular_only)
    return set(stops["visit_id"] if shift is None else stops.loc[stops["shift"] == shift, "visit_id"])


CAPACITY_SAMPLE = 400  # pool sites whose mutual travel times stand for the pool's density


def capacity_sample(pool_size: int) -> np.ndarray:
    """The pool rows (0-based) the capacity estimate measures hops among: all of a small pool, else
    an evenly spread fixed sample (the estimate is recorded as the sample size, so any fixed rule will do)."""
    if pool_size <= CAPACITY_SAMPLE:
        return np.arange(pool_size)
    return np.unique(np.linspace(0, pool_size - 1, CAPACITY_SAMPLE).round().astype(int))


def estimate_capacity(out: np.ndarray, back: np.ndarray, block: np.ndarray, service_s: float, shift_s: float) -> int:
    """How many visits the teams can make: each base's typical way out and home (``out``, ``back``:
    bases × pool seconds) and the typical hop between drawn sites at the sample's density (``block``:
    seconds among a fixed sample of the pool, :func:`capacity_sample`)."""
    if out.shape[1] == 0 or len(block) == 0:
        return 0
    ordered = np.sort(np.where(np.eye(len(block), dtype=bool), np.inf, block), axis=1)
    total = 0.0
    bases = len(out)
    for b in range(bases):
        out_back = float(np.median(out[b])) + float(np.median(back[b]))
        n = max(1.0, (shift_s - out_back) / (service_s + 600))
        for _ in range(5):
            k = min(len(block) - 2, max(0, round(len(block) / max(n * bases, 1)) - 1))
            hop = float(np.median(ordered[:, max(k, 0)])) if len(block) > 1 else 0.0
            n = max(0.0, (shift_s - out_back) / (service_s + (hop if np.isfinite(hop) else 1800)))
        total += n
    return int(0.9 * total)


def draw_from_inputs(inputs: dict[str, Any], seed: str) -> dict[str, Any]:
    """Redo the draw of a plan from its recorded inputs: site probabilities, drawn sites, teams."""
    ids = [s[0] for s in inputs["sites"]]
    weights = np.array([s[1] for s in inputs["sites"]], dtype=float)
    rules = inputs["rules"]
    low = float(rules["draw"]["min_probability"])
    if "floor_share" in rules["draw"] and len(ids):  # the floor takes at most this share of the sample
        low = min(low, float(rules["draw"]["floor_share"]) * float(inputs["sample_size"]) / len(ids))
    probabilities = inclusion_probabilities(weights, inputs["sample_size"], low, rules["draw"]["max_probability"])
    drawn = systematic_sample(seed, "sites", ids, probabilities) if inputs["sample_size"] > 0 else []
    inspectors = pd.DataFrame(inputs["inspectors"])
    team_rules = TeamSettings(**{k: int(v) for k, v in rules["teams"].items()})
    team_ids = [t["team_id"] for t in inputs["teams"]]
    teams = draw_teams(team_ids, inspectors, seed, set(inputs["previous_pairs"]), team_rules,
                       must_enter=inputs.get("mandatory_communities", ()))
    result = {
        "probabilities": {i: round(float(p), 6) for i, p in zip(ids, probabilities, strict=True)},
        "sites": drawn,
        "teams": teams,
        **({"areas": working_areas(inputs["areas"], team_ids, seed)} if inputs.get("areas") else {}),
        **({"covert": covert_visits(drawn + list(inputs["mandatory"]), seed, rules["draw"]["covert_share"])}
           if "covert_share" in rules["draw"] else {}),
    }
    if "departure_window_min" in rules["draw"]:
        window_min = int(rules["draw"]["departure_window_min"])
        result["departures"] = departures(seed, team_ids, inputs["window"][0], window_min)
    if rules["draw"].get("first_stop_drawn"):
        result["first_stops"] = first_stops(seed, inputs, drawn, team_bans(result, inspectors))
    return result


def departures(seed: str, team_ids: list[str], shift_start: str, window_min: int) -> dict[str, str]:
    """Each team's departure (HH:MM): a minute drawn from the seed within ``window_min`` of the
    shift's start (四不两直: no site can count on the inspectors' first hour)."""
    start = clock_minutes(shift_start)
    return {t: clock(60 * (start + int(uniform(seed, "depart", t) * (window_min + 1)))) for t in team_ids}


def first_stops(seed: str, inputs: Mapping[str, Any], drawn: list[str],
                bans: Mapping[str, frozenset[str]]) -> dict[str, str]:
    """Each team's first stop, one site per team, drawn from the seed among the day's drawn sites it
    may enter and could reach, serve and leave for home within the shift even at its latest
    departure: those in the communities within ``[draw] first_stop_reach_min`` of its base, and the
    next nearest communities too while there are fewer than ``[draw] first_stop_candidates`` of them
    (``inputs["first_stop_reach"]``: each team's communities by travel minutes, and its unfit sites).

    四不两直: without it a route starts at the site nearest its base far more often than by chance.
    """
    community = {str(s[0]): str(s[2]) for s in inputs["sites"]}
    rules = inputs["rules"]["draw"]
    reach_min, enough = float(rules["first_stop_reach_min"]), int(rules.get("first_stop_candidates", 1))
    taken: set[str] = set()
    chosen = {}
    for team in (t["team_id"] for t in inputs["teams"]):
        reach = inputs.get("first_stop_reach", {}).get(team, {})
        unfit, banned = set(reach.get("unfit", [])), bans.get(team, frozenset())
        open_sites: dict[str, list[str]] = {}
        for v in drawn:
            if v not in taken and v not in unfit and community.get(v) not in banned:
                open_sites.setdefault(community.get(v, ""), []).append(v)
        candidates: list[str] = []
        for code, minutes in reach.get("communities", []):
            if minutes > reach_min and len(candidates) >= enough:
                break
            candidates += open_sites.get(code, [])
        if candidates:
            chosen[team] = shuffled(seed, f"first:{team}", candidates)[0]
            taken.add(chosen[team])
    return chosen


FLYING = "flying"  # a plan's kind in its inputs: a flying check (飞行检查)
LIVE_STATUS = "live"


def _flying(ws: Store, township: str, teams: pd.DataFrame, pool: pd.DataFrame,
            mandatory: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A flying check's candidates: the township's own sites and tasks, for teams based elsewhere."""
    towns = ws.read("townships", where={"code": township})
    if towns.empty:
        raise InputError(f"乡镇（街道）{township} 不在本县区。 / township {township} is not in this county.")
    shape = towns.geometry.union_all()
    inside = [t.name for t in teams.itertuples() if shape.contains(Point(float(t.base_lon), float(t.base_lat)))]
    if inside:
        raise InputError(f"飞行检查须由外乡镇的检查组执行；{'、'.join(inside)} 的驻地在{towns['name'].iloc[0]}。 / "
                         f"a flying check takes teams from elsewhere; {', '.join(inside)} are based in the township.")
    communities = ws.read("communities", where={"parent_code": township}, columns=["code"])
    own = set(communities["code"])
    return pool[pool["community_code"].isin(own)], mandatory[mandatory["community_code"].isin(own)]


def _inspectors_out(ws: Store, day: str, shift: str) -> set[str]:
    """The inspectors drawn into a live plan of ``day`` and ``shift`` (a flying check takes others)."""
    people: set[str] = set()
    for text in live_plans(ws, date=day, shift=shift).get("plan_json", pd.Series(dtype=object)):
        people.update(m["inspector_id"] for t in json.loads(str(text))["teams"] for m in t["members"])
    return people


def flying_not_done(ws: Store, now: datetime | None = None) -> set[str]:
    """The flying checks whose shift is not over: their stops and results are counted nowhere yet
    (figures, coverage, gaps, histories), so nothing of them reaches a planner early."""
    layer = ws.schemas().get("plans") if ws.has_layer("plans") else None
    if layer is None or "kind" not in layer.column_names:
        return set()
    flying = ws.read("plans", where={"kind": FLYING})  # only these documents are parsed
    moment = now or datetime.now(TIMEZONE)
    return {str(r.plan_id) for r in flying.itertuples()
            if str(r.status or LIVE_STATUS) != WITHDRAWN and not plan_done(Plan.from_json(json.loads(str(r.plan_json))),
                                                                         moment)}


def is_flying(inputs: Mapping[str, Any]) -> bool:
    """Whether a plan (by its inputs) is a flying check."""
    return inputs.get("kind") == FLYING


def plan_done(plan: Plan, now: datetime) -> bool:
    """Whether the plan's shift is over (its date at the window's end, Asia/Shanghai)."""
    return now >= datetime.fromisoformat(f"{plan.date}T{plan.window[1]}:00").replace(tzinfo=TIMEZONE)


def covert_visits(visit_ids: list[str], seed: str, share: float) -> list[str]:
    """The visits made covert (暗访): each institution, place or clue check with probability ``share``,
    drawn from the plan's seed (a 回头看 stays open)."""
    return sorted(v for v in set(visit_ids)
                  if VisitRef.parse(v).kind.value in schema.COVERT_KINDS and uniform(seed, "covert", v) < share)


def team_bans(drawn: Mapping[str, Any], inspectors: pd.DataFrame) -> dict[str, frozenset[str]]:
    """Communities each team may not enter: its members' own (回避) and, with patrol areas, those
    other teams work today (see :func:`routing.areas.out_of_area`)."""
    avoid = {team: frozenset(avoided_communities(members, inspectors)) for team, members in drawn["teams"].items()}
    if "areas" not in drawn:
        return avoid
    return out_of_area(drawn["areas"]["owner"], list(drawn["teams"]), avoid)


def _record(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def make_plan(
    ws: Store,
    date: str | pd.Timestamp,
    shift: str,
    *,
    teams: pd.DataFrame | None = None,
    inspectors: pd.DataFrame | None = None,
    seed: str | None = None,
    settings: PatrolSettings | None = None,
    actor: Principal | str | None = None,
    time_limit: float | None = None,
    iterations: int | None = None,
    previous: list[str] | None = None,
    required: dict[str, str] | None = None,
    placed: Collection[str] = (),
    release: Mapping[str, str] | None = None,
    boost: Mapping[str, float] | None = None,
    flying_township: str | None = None,
) -> tuple[Plan, str]:
    """Make the plan of ``date`` and ``shift``; return ``(plan, secret seed)`` (see module doc).

    ``required`` maps pool site ids to the rule that makes them mandatory today (the
    double-ten schedule uses it); ``previous`` overrides the pairs of the day before; ``placed`` are
    mandatory tasks an earlier day of the same round already routes (a round sets each task once);
    ``release`` gives a team's release time (ISO; default: the shift's start less
    ``[access] release_minutes_before``); ``boost`` maps community codes (the leaders' gap map) to
    a factor their sites' weights are multiplied by, capped at ``[draw] max_boost`` and recorded in
    the inputs. ``flying_township`` makes a flying check (飞行检查, a leader's): the draw keeps to that
    township's sites, its teams must be based outside it, and the plan is kept from the planners
    until its shift is over (:mod:`access.plans`).
    """
    actor = authorize(actor if actor is not None else cli_actor(),
                      Permission.FLYING_CHECK if flying_township else Permission.PLAN)
    settings = settings or load_patrol_settings(store=ws)
    if shift not in SHIFTS:
        raise InputError(f"unknown shift {shift!r}; use day (日查) or night (夜查).")
    day = local_day(date)
    window = (settings.shifts[shift].start_min * 60, settings.shifts[shift].end_min * 60)
    if teams is None or inspectors is None:
        own_teams, own_people = workspace_teams(ws)
        teams = own_teams if teams is None else teams
        inspectors = own_people if inspectors is None else inspectors
    if teams.empty:
        raise InputError("没有可执行本计划的检查组。 / No team can carry out this plan: choose at least one.")
    seed = seed or new_seed()
    pool, mandatory = candidate_visits(ws, day, settings)
    if flying_township:
        pool, mandatory = _flying(ws, flying_township, teams, pool, mandatory)
        busy = _inspectors_out(ws, day.strftime("%Y-%m-%d"), shift)  # people already drawn for this shift
        inspectors = inspectors[~inspectors["inspector_id"].astype(str).isin(busy)].reset_index(drop=True)
        if len(inspectors) < 2 * len(teams):
            raise InputError(f"本班次已有 {len(busy)} 名检查人员在其他计划中，余下 {len(inspectors)} 人"
                             f"不够 {len(teams)} 个检查组；请换一个班次或少派检查组。 / "
                             f"{len(busy)} inspectors are out on another plan of this shift; the {len(inspectors)} "
                             f"left cannot make {len(teams)} teams.")
    # 回头看 within its window: drawn today with hazard 1/(days left), recorded for verify (四不两直)
    windowed = mandatory["hazard"] < 1
    hazards = [[v, float(h)] for v, h in zip(mandatory.loc[windowed, "visit_id"], mandatory.loc[windowed, "hazard"],
                                            strict=True)]
    due_revisits = set(revisits_due(seed, hazards))
    mandatory = mandatory[~windowed | mandatory["visit_id"].isin(due_revisits)].drop(columns="hazard")
    # the other shift of the day: its sites stay in this draw (四不两直), its mandatory tasks are done
    same_day = planned_stops(ws, day.strftime("%Y-%m-%d"), regular_only=not flying_township)
    this_shift = set(same_day.loc[same_day["shift"] == shift, "visit_id"])
    pool = pool[~pool["visit_id"].isin(this_shift)]
    mandatory = mandatory[~mandatory["visit_id"].isin(set(same_day["visit_id"]) | set(placed))]
    seen_today = pool["visit_id"].isin(set(same_day["visit_id"]))
    pool = pool.assign(weight=np.where(seen_today, pool["weight"] * settings.draw.same_day_factor, pool["weight"]))
    boosts = {str(c): round(min(max(float(f), 1.0), settings.draw.max_boost), 3) for c, f in (boost or {}).items()}
    if boosts:
        factor = pool["community_code"].map(boosts).fillna(1.0)
        pool = pool.assign(weight=pool["weight"] * factor)
    if required:
        moved = pool["visit_id"].isin(list(required))
        extra = pool[moved].assign(
            reason=lambda f: [f"{required[v]}；{r}" for v, r in zip(f["visit_id"], f["reason"], strict=True)]
        )
        pool, mandatory = pool[~moved], pd.concat([mandatory, extra])
    pool, mandatory = pool.reset_index(drop=True), mandatory.reset_index(drop=True)
    offices = at_offices(ws, pool)
    at_office = pool[offices]
    pool = pool[~offices].reset_index(drop=True)
    visits_all = pd.concat([mandatory.assign(mandatory=True), pool.assign(mandatory=False)], ignore_index=True)
    metric = ws.meta()["metric_crs"]
    to_metric = Transformer.from_crs("EPSG:4326", metric, always_xy=True)
    bx, by = to_metric.transform(teams["base_lon"].to_numpy(float), teams["base_lat"].to_numpy(float))
    vx, vy = to_metric.transform(visits_all["lon"].to_numpy(float), visits_all["lat"].to_numpy(float))
    xs, ys = np.concatenate([bx, vx]), np.concatenate([by, vy])
    n_bases = len(teams)
    far_m, walk_kmh = settings.far_from_road_m, settings.walk_to_site_kmh
    networks: dict[str, dict[str, int]] = {}
    warnings: list[str] = []
    snap_m = np.zeros(len(xs))
    snapped: dict[str, tuple[RoadNetwork, Snaps]] = {}
    for mode in sorted(set(teams["mode"])):
        network = road_network(ws, mode, settings)
        snapped[mode] = network, snap(network, xs, ys, far_m)
        networks[mode] = network.report
        snap_m = np.maximum(snap_m, snapped[mode][1].frame["snap_m"].to_numpy())
    labels = list(teams["name"]) + list(visits_all["name"])
    for i in np.flatnonzero(snap_m > far_m):
        note = f"{labels[i]} 距最近道路 {snap_m[i]:.0f} 米（超过 {far_m:.0f} 米），请核实位置"
        if note not in warnings:
            warnings.append(note)
    service = settings.service_minutes
    # before the draw, travel only from each base to every site and back, and among a sample of the
    # pool (a county of thousands of sites never needs its all-pairs table)
    sites = np.arange(n_bases, len(xs))
    sample = n_bases + len(mandatory) + capacity_sample(len(pool))
    out = np.zeros((n_bases, len(sites)))
    back = np.zeros((n_bases, len(sites)))
    capacity = 0
    late = 60 * settings.draw.departure_window_min / 2  # a team leaves this long after the start, on average
    mean_service = 60 * float(np.mean([service[k] for k in pool["kind"]])) if len(pool) else 0.0
    for mode, group in teams.groupby("mode"):
        network, snaps = snapped[str(mode)]
        bases = group.index.to_numpy()
        out[bases] = travel_seconds(network, snaps, walk_kmh, bases, sites)
        back[bases] = travel_seconds(network, snaps, walk_kmh, sites, bases).T
        block = travel_seconds(network, snaps, walk_kmh, sample, sample)
        in_pool = slice(len(mandatory), None)
        capacity += estimate_capacity(out[bases, in_pool], back[bases, in_pool], block, mean_service,
                                      window[1] - window[0] - late)
    sample_size = max(0, capacity - len(mandatory))
    if len(mandatory) > capacity:
        warnings.append(f"必查任务 {len(mandatory)} 项，超过本班次约 {capacity} 项的能力；未排入的必查任务见清单")
    areas = None if flying_township else plan_areas(ws, settings)
    unplaced = sorted(set(teams["team_id"].astype(str)) - set((areas or {}).get("assignment", {}).values()))
    if areas and unplaced:  # a team with no area would be kept out of every community: use no areas today
        warnings.append(f"检查组 {'、'.join(unplaced)} 不在包片区域第 {areas['version']} 版中，本计划不按片区；"
                        "请在“包片区域”页重新划分。")
        areas = None
    inputs = {
        "version": PLAN_VERSION,
        "county_code": ws.meta()["county_code"],
        "date": day.strftime("%Y-%m-%d"),
        "shift": shift,
        "window": [clock(window[0]), clock(window[1])],
        "sites": [[r.visit_id, round(float(r.weight), 4), r.community_code] for r in pool.itertuples()],
        "mandatory": list(mandatory["visit_id"]),
        "mandatory_communities": sorted(set(mandatory["community_code"].astype(str)) - {""}),
        "sample_size": int(sample_size),
        "teams": _record(teams[["team_id", "name", "base_lon", "base_lat", "mode"]]),
        "inspectors": _record(inspectors),
        "previous_pairs": previous if previous is not None else previous_pairs(ws, day),
        **({"revisit_hazards": hazards} if hazards else {}),
        **({"boost": boosts} if boosts else {}),
        **({"areas": areas} if areas else {}),
        **({"kind": FLYING, "township": flying_township} if flying_township else {}),
        **({"first_stop_reach": first_stop_reach(out[:, len(mandatory):], back[:, len(mandatory):], teams, pool,
                                                 settings, window, service)}
           if settings.draw.first_stop_drawn else {}),
        "rules": {
            "draw": {k: getattr(settings.draw, k) for k in ("min_probability", "max_probability", "floor_share",
                                                            "covert_share",
                                                            "departure_window_min", "first_stop_drawn",
                                                            "first_stop_reach_min", "first_stop_candidates")},
            "teams": {k: getattr(settings.teams, k) for k in ("min_departments", "min_law_cert", "size")},
        },
    }
    inputs_digest = digest(inputs)
    drawn = draw_from_inputs(inputs, seed)
    bans = team_bans(drawn, inspectors)
    chosen = set(drawn["sites"]) | set(mandatory["visit_id"])
    rows = [i for i, vid in enumerate(visits_all["visit_id"]) if vid in chosen]
    # the all-pairs table of the bases and today's visits only: what the solver and the legs need
    kept = list(range(n_bases)) + [n_bases + i for i in rows]
    matrices = {mode: travel_times(network, Snaps(snaps.frame.iloc[kept].reset_index(drop=True)), walk_kmh)
                for mode, (network, snaps) in snapped.items()}
    visits = [
        Visit(
            visits_all.at[i, "visit_id"],
            n_bases + k,
            int(60 * service[visits_all.at[i, "kind"]]),
            float(visits_all.at[i, "weight"]),
            bool(visits_all.at[i, "mandatory"]),
            str(visits_all.at[i, "community_code"]),
        )
        for k, i in enumerate(rows)
    ]
    position = {visit.visit_id: k for k, visit in enumerate(visits)}
    firsts = drawn.get("first_stops", {})
    vehicles = [
        Vehicle(t.team_id, i, t.mode, bans[t.team_id], depart_s=clock_minutes(drawn["departures"][t.team_id]) * 60,
                first=position.get(firsts[t.team_id]) if t.team_id in firsts else None)
        for i, t in enumerate(teams.itertuples())
    ]
    budget = float(time_limit if time_limit is not None else settings.solver_seconds)
    routes = solve_routes(
        {m: tt.seconds for m, tt in matrices.items()},
        np.column_stack([xs, ys])[kept],
        visits,
        vehicles,
        window,
        seed=int(inputs_digest[:8], 16),
        time_limit=budget,
        iterations=iterations,
    )
    plan = _assemble(
        ws,
        inputs,
        inputs_digest,
        seed,
        drawn,
        teams,
        inspectors,
        visits_all.loc[rows].reset_index(drop=True),  # row k is visit k: what the small tables hold
        visits,
        vehicles,
        routes,
        matrices,
        n_bases,
        window,
        snap_m[kept],
        networks,
        warnings,
        actor,
    )
    plan["not_visited_offices"] = [
        {"visit_id": r.visit_id, "name": r.name, "reason": "位于乡镇（街道）或社区办公地点：四不两直，不在此停靠"}
        for r in at_office.itertuples()
    ]
    for team in plan["teams"]:  # a route is seen this long before its team's own (drawn) departure
        given = (release or {}).get(team["team_id"])
        default = (day + pd.Timedelta(minutes=clock_minutes(team["depart"]))
                   - pd.Timedelta(minutes=settings.access.release_minutes_before))
        team["release_at"] = (as_local(pd.Timestamp(given)) if given else default).isoformat()
    document = json.loads(json.dumps(plan, ensure_ascii=False))
    document["plan_digest"] = content_digest(document)
    return Plan.from_json(document), seed


def first_stop_reach(out: np.ndarray, back: np.ndarray, teams: pd.DataFrame, pool: pd.DataFrame,
                     settings: PatrolSettings, window: tuple[int, int],
                     service: Mapping[str, float]) -> dict[str, dict[str, list[Any]]]:
    """For each team, where its first stop may be drawn (:func:`first_stops`): the communities with a
    pool site by the whole minutes to their nearest site from its base (``out``: teams × pool seconds;
    ``back`` the way home), nearest first; and the pool sites it could not reach, serve and leave for
    home within the shift at its latest departure."""
    codes = pool["community_code"].astype(str).to_numpy()
    ids = pool["visit_id"].astype(str).to_numpy()
    service_s = 60 * pool["kind"].map(service).to_numpy(float)
    room = window[1] - window[0] - 60 * settings.draw.departure_window_min - 60  # a minute to spare
    reach = {}
    for i, team in enumerate(teams.itertuples()):
        there, home = out[i], back[i]
        fits = np.isfinite(there + home) & (there + service_s + home <= room)
        nearest = pd.Series(np.ceil(there[fits] / 60)).groupby(codes[fits]).min()
        order = sorted(((int(m), str(c)) for c, m in nearest.items()))
        unfit = sorted(ids[~fits])
        reach[str(team.team_id)] = {"communities": [[c, m] for m, c in order], **({"unfit": unfit} if unfit else {})}
    return reach


def content_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of a plan document without its own ``plan_digest``: binds every team's route."""
    return digest({k: v for k, v in document.items() if k != "plan_digest"})


def _assemble(
    ws,
    inputs,
    inputs_digest,
    seed,
    drawn,
    teams,
    inspectors,
    visits_all,
    visits,
    vehicles,
    routes: Routes,
    matrices,
    n_bases,
    window,
    snap_m,
    networks,
    warnings,
    actor,
) -> dict[str, Any]:
    metric = ws.meta()["metric_crs"]
    to_wgs84 = Transformer.from_crs(metric, "EPSG:4326", always_xy=True)
    people = inspectors.set_index("inspector_id")
    probability = drawn["probabilities"]
    covert = set(drawn.get("covert", []))
    out_teams = []
    for vehicle, team in zip(vehicles, teams.itertuples(), strict=True):
        tt = matrices[vehicle.mode]
        stops, legs, previous_row = [], [], vehicle.base
        for order, stop in enumerate(routes.stops[vehicle.team_id], start=1):
            visit = visits[stop.visit]
            row = visits_all.loc[visit.location - n_bases]
            stops.append(
                {
                    "order": order,
                    "visit_id": visit.visit_id,
                    "kind": row["kind"],
                    "name": row["name"],
                    "address": row["address"],
                    "status": row["status"],
                    "reason": row["reason"],
                    "mandatory": visit.mandatory,
                    "probability": 1.0 if visit.mandatory else probability[visit.visit_id],
                    "community_code": visit.community_code,
                    "lon": round(float(row["lon"]), 6),
                    "lat": round(float(row["lat"]), 6),
                    "arrival": clock(stop.arrival_s),
                    "departure": clock(stop.departure_s),
                    "service_min": round(visit.service_s / 60),
                    "snap_m": round(float(snap_m[visit.location]), 1),
                    "covert": visit.visit_id in covert,
                }
            )
            legs.append(_leg(tt, previous_row, visit.location, to_wgs84))
            previous_row = visit.location
        if stops:
            legs.append(_leg(tt, previous_row, vehicle.base, to_wgs84))
        members = [
            {
                "inspector_id": p,
                "name": people.at[p, "name"],
                "department": people.at[p, "department"],
                "law_cert": bool(people.at[p, "law_cert"]),
            }
            for p in drawn["teams"][vehicle.team_id]
        ]
        out_teams.append(
            {
                "team_id": vehicle.team_id,
                "name": team.name,
                "mode": vehicle.mode,
                "base": {"lon": float(team.base_lon), "lat": float(team.base_lat)},
                "members": members,
                "avoid_communities": sorted(vehicle.avoid),
                "depart": clock(routes.departs.get(vehicle.team_id, window[0])),
                "back": clock(routes.back_s[vehicle.team_id]) if stops
                else clock(routes.departs.get(vehicle.team_id, window[0])),
                "travel_min": round(sum(leg["minutes"] for leg in legs)),
                "service_min": sum(s["service_min"] for s in stops),
                "stops": stops,
                "legs": legs,
            }
        )
    unplanned = []
    for i in routes.unplanned:
        visit = visits[i]
        row = visits_all.loc[visit.location - n_bases]
        avoided_by_all = all(visit.community_code in v.avoid for v in vehicles)
        why = "所有检查组都有成员居住或包保该社区（回避）" if avoided_by_all else "本班次时间内排不下"
        unplanned.append(
            {
                "visit_id": visit.visit_id,
                "name": row["name"],
                "kind": row["kind"],
                "mandatory": visit.mandatory,
                "reason": why,
            }
        )
    county = ws.meta()
    day_text = inputs["date"].replace("-", "")
    plan_id = f"{inputs['county_code']}-{day_text}-{inputs['shift']}-{commitment(seed, inputs_digest)[:8]}"
    return {
        "plan_id": plan_id,
        "county_code": county["county_code"],
        "county_name": county.get("county_name", ""),
        "date": inputs["date"],
        "shift": inputs["shift"],
        "window": inputs["window"],
        "created_at": now_local(),
        "created_by": actor or cli_actor(),
        "commitment": commitment(seed, inputs_digest),
        "inputs_digest": inputs_digest,
        "inputs": inputs,
        "draw": {"sites": drawn["sites"], "teams": drawn["teams"],
                 **({"areas": drawn["areas"]} if "areas" in drawn else {}),
                 **({"covert": drawn["covert"]} if "covert" in drawn else {}),
                 **{k: drawn[k] for k in ("departures", "first_stops") if k in drawn}},
        "probabilities": drawn["probabilities"],
        "teams": out_teams,
        "unplanned": unplanned,
        "network": networks,
        "warnings": warnings,
        "attribution": county.get("attribution", "© OpenStreetMap contributors"),
        "summary": {
            "visits": sum(len(t["stops"]) for t in out_teams),
            "mandatory": len(inputs["mandatory"]),
            "drawn": len(drawn["sites"]),
            "unplanned": len(unplanned),
            "unplanned_mandatory": sum(u["mandatory"] for u in unplanned),
            "prize": routes.prize,
        },
    }


def _leg(tt: TravelTimes, i: int, j: int, to_wgs84: Transformer) -> dict[str, Any]:
    line = tt.leg(i, j)
    coords = (
        []
        if line is None
        else [[round(x, 6), round(y, 6)] for x, y in zip(*to_wgs84.transform(*np.asarray(line.coords).T), strict=True)]
    )
    return {"minutes": round(float(tt.seconds[i, j]) / 60, 1), "coordinates": coords}


def verify_plan(plan: Plan | Mapping[str, Any], seed: str, *, registered: Mapping[str, Any] | None = None,
                published: Mapping[str, str] | None = None) -> list[str]:
    """Every way the plan differs from what was committed and drawn; empty when confirmed.

    Takes the plan document as it was handed over (it may have been altered) or a :class:`Plan`.
    The draw is redone from the recorded inputs and ``seed``; the whole document — date, shift,
    teams, members, every stop's site, order, times, coordinates, reasons and probabilities — is
    checked against its content digest, and against the register's document (``registered``) or
    the published record (``published``: ``commitment`` and ``plan_digest``) when given, which
    bind it beyond anyone's reach who holds the file.
    """
    if isinstance(plan, Plan):
        plan = plan.to_json()
    try:
        return _verify_document(plan, seed, registered, published)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:  # an edit broke the document
        return [f"the plan file is malformed and cannot be the plan that was committed ({type(exc).__name__}: {exc})."]


def _verify_document(plan: Mapping[str, Any], seed: str, registered: Mapping[str, Any] | None,
                     published: Mapping[str, str] | None) -> list[str]:
    inputs = plan.get("inputs")
    if not isinstance(inputs, dict):
        return ["the plan has no recorded inputs; it cannot be verified."]
    problems = _binding_problems(plan, registered, published) + _route_problems(plan, inputs)
    actual = digest(inputs)
    if actual != plan.get("inputs_digest"):
        problems.append(
            f"the recorded inputs were changed: their hash is {actual[:16]}…, "
            f"the plan says {str(plan.get('inputs_digest'))[:16]}…"
        )
    if commitment(seed, plan.get("inputs_digest", "")) != plan.get("commitment"):
        problems.append(
            "the seed and inputs do not match the published commitment "
            f"{str(plan.get('commitment'))[:16]}… (wrong seed, or the plan was altered)."
        )
    try:
        redo = draw_from_inputs(inputs, seed)
    except (InputError, KeyError, TypeError, ValueError) as exc:
        return [*problems, f"the draw cannot be redone from the recorded inputs: {exc}"]
    recorded = plan.get("draw", {})
    missing = sorted(set(redo["sites"]) - set(recorded.get("sites", [])))
    extra = sorted(set(recorded.get("sites", [])) - set(redo["sites"]))
    if missing:
        problems.append(f"sites the draw gives but the plan lacks: {', '.join(missing)}")
    if extra:
        problems.append(f"sites in the plan the draw does not give: {', '.join(extra)}")
    for team, members in redo["teams"].items():
        if sorted(recorded.get("teams", {}).get(team, [])) != members:
            problems.append(
                f"team {team}: the draw gives {', '.join(members)}, the plan has "
                f"{', '.join(recorded.get('teams', {}).get(team, [])) or 'nobody'}"
            )
    due = set(revisits_due(seed, inputs.get("revisit_hazards", [])))
    for visit_id, _ in inputs.get("revisit_hazards", []):
        if (visit_id in due) != (visit_id in set(inputs.get("mandatory", []))):
            problems.append(f"revisit {visit_id}: the draw makes it {'due' if visit_id in due else 'not due'} today, "
                            "the plan does not")
    allowed = set(redo["sites"]) | set(inputs.get("mandatory", []))
    for team in plan.get("teams", []):
        for stop in team.get("stops", []):
            if stop["visit_id"] not in allowed:
                problems.append(
                    f"team {team['team_id']} stop {stop['order']} ({stop['visit_id']}) was neither drawn nor mandatory"
                )
        names = sorted(m["inspector_id"] for m in team.get("members", []))
        if names != redo["teams"].get(team["team_id"], names):
            problems.append(f"team {team['team_id']}: members on the route sheet differ from the draw")
        for stop in team.get("stops", []):
            expected = 1.0 if stop.get("mandatory") else redo["probabilities"].get(stop["visit_id"])
            if expected is not None and abs(float(stop.get("probability", -1)) - expected) > 1e-6:
                problems.append(f"team {team['team_id']} stop {stop['order']} ({stop['visit_id']}): probability "
                                f"{stop.get('probability')} on the sheet, the draw gives {expected}")
    if "areas" in redo:
        if recorded.get("areas") != redo["areas"]:
            problems.append("the day's patrol areas (交叉检查 or not, and who works where) differ from the draw")
        bans = team_bans(redo, pd.DataFrame(inputs.get("inspectors", [])))
        for team in plan.get("teams", []):
            for stop in team.get("stops", []):
                if stop.get("community_code") in bans.get(team["team_id"], frozenset()):
                    problems.append(f"team {team['team_id']} stop {stop['order']} ({stop['visit_id']}) is in "
                                    f"community {stop['community_code']}, outside the team's area today")
    if "covert" in redo:
        covert = set(redo["covert"])
        for team in plan.get("teams", []):
            for stop in team.get("stops", []):
                if bool(stop.get("covert")) != (stop["visit_id"] in covert):
                    problems.append(f"team {team['team_id']} stop {stop['order']} ({stop['visit_id']}): marked "
                                    f"{'covert' if stop.get('covert') else 'open'}, the draw makes it "
                                    f"{'covert' if stop['visit_id'] in covert else 'open'}")
    listed = {u.get("visit_id") for u in plan.get("unplanned", [])}
    for team in plan.get("teams", []):
        departs = redo.get("departures", {}).get(team["team_id"])
        if departs is not None and team.get("depart") != departs:
            problems.append(f"team {team['team_id']} leaves at {team.get('depart')}, the draw says {departs}")
        first = redo.get("first_stops", {}).get(team["team_id"])
        stops = team.get("stops", [])
        if first is not None and (not stops or stops[0]["visit_id"] != first):
            problems.append(f"team {team['team_id']}: the draw makes {first} its first stop, the plan starts with "
                            f"{stops[0]['visit_id'] if stops else 'nothing'}")
    routed = {s["visit_id"] for t in plan.get("teams", []) for s in t.get("stops", [])}
    for visit_id in sorted((set(redo["sites"]) | set(inputs.get("mandatory", []))) - routed - listed):
        problems.append(f"{visit_id} was drawn or due but is on no route and not listed as unplanned")
    return problems


def _binding_problems(plan: Mapping[str, Any], registered: Mapping[str, Any] | None,
                      published: Mapping[str, str] | None) -> list[str]:
    """What the content digest, the register and the published record say about the document."""
    problems = []
    actual = content_digest(plan)
    recorded = str(plan.get("plan_digest") or "")
    if not recorded:
        problems.append("the plan carries no content digest (plan_digest): its routes are bound to nothing.")
    elif actual != recorded:
        problems.append(f"the plan's contents were changed after it was made: they hash to {actual[:16]}…, "
                        f"the plan says {recorded[:16]}…")
    if registered is not None:
        differences = document_differences(registered, plan)
        problems += [f"differs from the registered plan at {where}: registered {a}, this file {b}"
                     for where, a, b in differences[:25]]
        if len(differences) > 25:
            problems.append(f"… and {len(differences) - 25} more differences from the registered plan")
    if published is not None:
        for key, value in (("commitment", plan.get("commitment")), ("plan_digest", actual)):
            if published.get(key) and published[key] != value:
                problems.append(f"the published {key} {published[key][:16]}… does not match this file's "
                                f"{str(value)[:16]}…")
    return problems


def _route_problems(plan: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
    """Checks of the routes that need no register: date, shift, plan id, orders, repeated stops, flags."""
    problems = []
    for key in ("date", "shift"):
        if plan.get(key) != inputs.get(key):
            problems.append(f"the plan's {key} is {plan.get(key)!r}, its draw inputs say {inputs.get(key)!r}")
    expected_id = (f"{inputs.get('county_code')}-{str(inputs.get('date', '')).replace('-', '')}-{inputs.get('shift')}"
                   f"-{str(plan.get('commitment', ''))[:8]}")
    if plan.get("plan_id") != expected_id:
        problems.append(f"the plan id is {plan.get('plan_id')!r}; its inputs and commitment give {expected_id!r}")
    seen: dict[str, str] = {}
    mandatory = set(inputs.get("mandatory", []))
    for team in plan.get("teams", []):
        problems += _time_problems(team, inputs)
        orders = [stop.get("order") for stop in team.get("stops", [])]
        if orders != list(range(1, len(orders) + 1)):
            problems.append(f"team {team.get('team_id')}: the stops are numbered {orders}, not 1…{len(orders)}")
        for stop in team.get("stops", []):
            where = f"team {team.get('team_id')} stop {stop.get('order')}"
            if stop.get("visit_id") in seen:
                problems.append(f"{where}: {stop.get('visit_id')} is visited twice (also {seen[stop['visit_id']]})")
            seen[stop.get("visit_id")] = where
            if bool(stop.get("mandatory")) != (stop.get("visit_id") in mandatory):
                problems.append(f"{where}: marked {'mandatory' if stop.get('mandatory') else 'drawn'}, the inputs "
                                f"say {'mandatory' if stop.get('visit_id') in mandatory else 'drawn'}")
    return problems


def _time_problems(team: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
    """A route's clock: it leaves at its departure, its times only move on, and it is back in the shift."""
    where = f"team {team.get('team_id')}"
    clock_now, problems = str(team.get("depart", "")), []
    for stop in team.get("stops", []):
        arrival, departure = str(stop.get("arrival", "")), str(stop.get("departure", ""))
        if not clock_now <= arrival <= departure:
            problems.append(f"{where} stop {stop.get('order')}: arrives {arrival} and leaves {departure} after "
                            f"{clock_now}; a route's times only move on from its departure")
        clock_now = max(clock_now, departure)
    back, end = str(team.get("back", "")), str(inputs.get("window", ["", ""])[1])
    if not clock_now <= back <= end:
        problems.append(f"{where} is back at {back}, after its last stop ({clock_now}) and by the shift's end ({end}) "
                        "it must be")
    return problems


def document_differences(expected: Any, actual: Any, where: str = "") -> list[tuple[str, str, str]]:
    """Every place two plan documents differ: ``(path, expected, actual)``; lists of teams and stops are
    named by team id and stop order."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        out = []
        for key in sorted(set(expected) | set(actual), key=str):
            path = f"{where}.{key}" if where else str(key)
            if key not in actual:
                out.append((path, _short(expected[key]), "(missing)"))
            elif key not in expected:
                out.append((path, "(missing)", _short(actual[key])))
            else:
                out += document_differences(expected[key], actual[key], path)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        def label(item: Any, i: int) -> str:
            if isinstance(item, Mapping) and "team_id" in item:
                return str(item["team_id"])
            return str(item.get("order", i)) if isinstance(item, Mapping) and "visit_id" in item else str(i)
        left = {label(x, i): x for i, x in enumerate(expected)}
        right = {label(x, i): x for i, x in enumerate(actual)}
        if len(left) != len(expected) or len(right) != len(actual):
            left, right = dict(enumerate(expected)), dict(enumerate(actual))  # type: ignore[arg-type]
        out = []
        for key in list(left) + [k for k in right if k not in left]:
            path = f"{where}[{key}]"
            if key not in right:
                out.append((path, _short(left[key]), "(missing)"))
            elif key not in left:
                out.append((path, "(missing)", _short(right[key])))
            else:
                out += document_differences(left[key], right[key], path)
        return out
    return [] if expected == actual else [(where, _short(expected), _short(actual))]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "…"


# -- files ---------------------------------------------------------------------------------
def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(tmp, path)


def write_secret(path: Path, text: str) -> None:
    """Write a secret file readable by its owner only, never over an existing one."""
    if path.exists():
        raise InputError(f"{path} exists already: a seed is never overwritten; choose another folder.")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)


def check_plan_folder(out_dir: str | Path) -> None:
    """Refuse a folder that already holds a plan's seed (a seed is never overwritten: one plan per folder)."""
    out = Path(out_dir)
    if (out / "SECRET_seed.txt").exists():
        held = (out / "plan.json").read_text(encoding="utf-8") if (out / "plan.json").exists() else ""
        plan_id = json.loads(held).get("plan_id", "another plan") if held.strip().startswith("{") else "another plan"
        raise InputError(f"{out} already holds the seed of {plan_id}; a seed is never overwritten — give another "
                         "--out folder.")


def write_plan_files(plan: Plan, seed: str, out_dir: str | Path) -> list[Path]:
    """Write plan.json, plan.geojson, a GPX and a KML per team, and the secret seed file; return the paths.

    A folder that already holds a seed is refused (a seed is never overwritten): one plan per folder.
    """
    out = Path(out_dir)
    check_plan_folder(out)
    written = []
    files = {
        "plan.json": json.dumps(plan.to_json(), ensure_ascii=False, indent=1),
        "plan.geojson": json.dumps(plan_geojson(plan), ensure_ascii=False),
        **{f"team_{t.team_id}.gpx": team_gpx(plan, t) for t in plan.teams},
        **{f"team_{t.team_id}.kml": team_kml(plan, t) for t in plan.teams},
        "SECRET_seed.txt": (
            f"{seed}\n# 本文件为计划 {plan.plan_id} 的随机种子，须由计划编制人保管，出发前不得外传。\n"
            f"# Keep this seed secret until the inspections are done; then publish it so anyone can run\n"
            f"#   patrol verify plan.json --seed {seed}\n"
        ),
    }
    for name, text in files.items():
        if name.startswith("SECRET_"):
            write_secret(out / name, text)
        else:
            _atomic_write(out / name, text)
        written.append(out / name)
    return written


def read_plan(path: str | Path) -> Plan:
    """Read a plan.json; :class:`InputError` if it is not one."""
    document = read_plan_document(path)
    try:
        return Plan.from_json(document)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc


def read_plan_document(path: str | Path) -> dict[str, Any]:
    """A plan.json as the document it is (for ``verify``, which must examine even an altered one)."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"plan file {path} does not exist.") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not a plan (not JSON: {exc}).") from exc
    if not isinstance(plan, dict) or "commitment" not in plan:
        raise InputError(f"{path} is not a plan made by `patrol plan` (no commitment).")
    return plan
