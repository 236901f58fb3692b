"""Team routes with PyVRP: a prize-collecting VRP with time windows.

Every team is a vehicle of its own type: it starts and ends at its base, works within the
shift, travels on its mode's matrix, and has its own routing profile in which the sites of
communities it may not inspect cannot be reached. Mandatory visits carry a prize far above
any route's cost; drawn visits carry a prize that grows with their weight; a visit that does
not fit is left out by the solver and reported by the caller, never dropped silently.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pyvrp
from pyvrp import Client, Depot, Location, ProblemData, VehicleType
from pyvrp.stop import MaxIterations, MaxRuntime

UNREACHABLE_S = 10**9  # seconds; far beyond any shift, so never worth travelling
MANDATORY_PRIZE = 10**7
OPTIONAL_PRIZE = 20_000  # seconds of travel a drawn visit of weight 0 is worth; weight 1 doubles it


log = logging.getLogger(__name__)


@dataclass
class Visit:
    """One place to inspect: its row in the travel matrix, service time, prize and community."""

    visit_id: str
    location: int
    service_s: int
    weight: float
    mandatory: bool
    community_code: str = ""


@dataclass
class Vehicle:
    """One team: its base's row in the matrix, its mode, the communities it must avoid, when it
    leaves (seconds after midnight; the shift's start if unset) and the visit drawn as its first stop."""

    team_id: str
    base: int
    mode: str
    avoid: frozenset[str] = field(default_factory=frozenset)
    depart_s: int | None = None
    first: int | None = None  # index into the visits; the route starts with it (四不两直)


@dataclass
class Stop:
    visit: int  # index into the visits list
    arrival_s: int
    departure_s: int


@dataclass
class Routes:
    stops: dict[str, list[Stop]]
    unplanned: list[int]
    back_s: dict[str, int]
    objective: int
    prize: int
    departs: dict[str, int] = field(default_factory=dict)  # when each team leaves its base


def prize_of(visit: Visit) -> int:
    return MANDATORY_PRIZE if visit.mandatory else int(OPTIONAL_PRIZE * (1.0 + visit.weight))


def _fit_to_shift(order: list[int], matrix: np.ndarray, visits: list[Visit], rows: dict[int, int], origin: int,
                  home: int, start: int, end: int) -> tuple[list[Stop], int]:
    """The stops of ``order`` that fit the shift when driven from ``origin`` at ``start`` in that order,
    and the time back at ``home`` (``rows`` gives each visit's row in ``matrix``)."""
    clock, here, kept = start, origin, []
    for visit in order:
        row = rows[visit]
        arrival = clock + int(matrix[here, row])
        departure = arrival + int(visits[visit].service_s)
        if departure + int(matrix[row, home]) <= end:
            kept.append(Stop(visit, arrival, departure))
            clock, here = departure, row
    return kept, clock + int(matrix[here, home])


def solve_routes(
    seconds_by_mode: dict[str, np.ndarray],
    xy: np.ndarray,
    visits: list[Visit],
    vehicles: list[Vehicle],
    window: tuple[int, int],
    *,
    seed: int = 1,
    time_limit: float = 10.0,
    iterations: int | None = None,
) -> Routes:
    """Route ``vehicles`` over ``visits`` within ``window`` (seconds after midnight).

    A vehicle with a ``first`` visit starts its route there: PyVRP sees it as a depot reached at
    departure + travel + service, so the rest of the route is optimised from it. (A first visit
    that cannot be reached and left for home within the shift is routed as any other.)
    """
    start, end = window
    depart = {v.team_id: min(max(start, v.depart_s if v.depart_s is not None else start), end) for v in vehicles}
    firsts: dict[str, int] = {}
    for vehicle in vehicles:
        if vehicle.first is None:
            continue
        seconds = seconds_by_mode[vehicle.mode]
        there = float(seconds[vehicle.base, visits[vehicle.first].location])
        home = float(seconds[visits[vehicle.first].location, vehicle.base])
        total = depart[vehicle.team_id] + there + visits[vehicle.first].service_s + home
        if np.isfinite(total) and total <= end:
            firsts[vehicle.team_id] = vehicle.first
        else:  # the draw keeps to sites that fit (routing.plan.first_stop_reach): route it as any other
            log.warning("the first stop drawn for %s does not fit the shift; routed as any other", vehicle.team_id)
    first_teams = [v for v in vehicles if v.team_id in firsts]
    client_visits = [i for i in range(len(visits)) if i not in set(firsts.values())]
    bases = sorted({v.base for v in vehicles})
    base_slot = {b: i for i, b in enumerate(bases)}
    first_slot = {v.team_id: len(bases) + k for k, v in enumerate(first_teams)}
    n_depots = len(bases) + len(first_teams)
    rows = np.array(bases + [visits[firsts[v.team_id]].location for v in first_teams]
                    + [visits[i].location for i in client_visits], dtype=np.int64)
    visit_row = {i: n_depots + k for k, i in enumerate(client_visits)}
    locations = [Location(x=float(xy[r, 0]), y=float(xy[r, 1])) for r in rows]
    depots = [Depot(location=i) for i in range(n_depots)]
    clients = [
        Client(location=visit_row[i], service_duration=int(visits[i].service_s), tw_early=start, tw_late=end,
               prize=prize_of(visits[i]), required=False, name=visits[i].visit_id)
        for i in client_visits
    ]
    profiles: dict[tuple[str, frozenset[str]], int] = {}
    matrices: list[np.ndarray] = []
    for vehicle in vehicles:
        key = (vehicle.mode, vehicle.avoid)
        if key in profiles:
            continue
        full = seconds_by_mode[vehicle.mode][np.ix_(rows, rows)]
        matrix = np.where(np.isfinite(full), np.rint(full), UNREACHABLE_S).astype(np.int64)
        banned = [visit_row[i] for i in client_visits if visits[i].community_code in vehicle.avoid]
        if banned:
            matrix[:, banned] = UNREACHABLE_S
        np.fill_diagonal(matrix, 0)
        profiles[key] = len(matrices)
        matrices.append(matrix)
    leaves: dict[str, int] = {}  # when each team's route (as PyVRP sees it) starts, at its start depot
    first_stop: dict[str, Stop] = {}
    for vehicle in vehicles:
        leaves[vehicle.team_id] = depart[vehicle.team_id]
        if vehicle.team_id in firsts:
            visit = firsts[vehicle.team_id]
            arrival = depart[vehicle.team_id] + int(np.rint(seconds_by_mode[vehicle.mode][vehicle.base,
                                                                                        visits[visit].location]))
            first_stop[vehicle.team_id] = Stop(visit, arrival, arrival + int(visits[visit].service_s))
            leaves[vehicle.team_id] = first_stop[vehicle.team_id].departure_s
    origin = {v.team_id: first_slot.get(v.team_id, base_slot[v.base]) for v in vehicles}
    types = [
        VehicleType(1, start_depot=origin[v.team_id], end_depot=base_slot[v.base], tw_early=leaves[v.team_id],
                    tw_late=end, start_late=leaves[v.team_id], unit_distance_cost=0, unit_duration_cost=1,
                    profile=profiles[(v.mode, v.avoid)], name=v.team_id)
        for v in vehicles
    ]
    # pyvrp's stub types the matrices as np.ndarray[int], i.e. with int as the shape parameter, which no
    # array matches; at run time it takes any 2-D integer array.
    data = ProblemData(locations, clients, depots, types, matrices, matrices)  # type: ignore[arg-type]
    stop = MaxIterations(iterations) if iterations else MaxRuntime(time_limit)
    with warnings.catch_warnings(record=True) as caught:
        # every visit is optional (a prize), so an empty route is always feasible: PyVRP's warning that a
        # penalty hit its bound (a shift over-full of mandatory visits) is logged; overruns are cut below
        warnings.simplefilter("always", pyvrp.exceptions.PenaltyBoundWarning)
        result = pyvrp.solve(data, stop=stop, seed=seed, display=False, collect_stats=False)
    for warning in caught:
        if issubclass(warning.category, pyvrp.exceptions.PenaltyBoundWarning):
            log.info("PyVRP: a penalty reached its bound (a shift over-full of mandatory visits)")
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    best = result.best
    stops: dict[str, list[Stop]] = {v.team_id: [first_stop[v.team_id]] if v.team_id in first_stop else []
                                    for v in vehicles}
    back: dict[str, int] = {}
    for vehicle in vehicles:
        team_id, matrix = vehicle.team_id, matrices[profiles[(vehicle.mode, vehicle.avoid)]]
        alone = int(matrix[origin[team_id], base_slot[vehicle.base]]) if team_id in first_stop else 0
        back[team_id] = leaves[team_id] + alone  # a team whose route PyVRP leaves empty
    for route in best.routes():
        team = vehicles[route.vehicle_type()]
        order = [client_visits[int(a.idx)] for a in route.schedule() if a.is_client()]
        if route.has_time_warp():  # a short search may end on a route that overruns: keep what fits the shift
            matrix = matrices[profiles[(team.mode, team.avoid)]]
            kept, back[team.team_id] = _fit_to_shift(order, matrix, visits, visit_row, origin[team.team_id],
                                                     base_slot[team.base], leaves[team.team_id], end)
            log.warning("PyVRP's route for %s overran the shift; %d of %d stops kept", team.team_id, len(kept),
                        len(order))
            stops[team.team_id] += kept
            continue
        for activity in route.schedule():
            if activity.is_client():
                visit = client_visits[int(activity.idx)]
                stops[team.team_id].append(Stop(visit, int(activity.start_time), int(activity.end_time)))
        back[team.team_id] = int(route.end_time())
    planned = {stop.visit for team_stops in stops.values() for stop in team_stops}
    for team_id, team_stops in stops.items():
        vehicle = next(v for v in vehicles if v.team_id == team_id)
        bad = [s for s in team_stops if visits[s.visit].community_code in vehicle.avoid]
        if bad:
            raise RuntimeError(f"PyVRP sent {team_id} to a community it must avoid.")
    unplanned = [i for i in range(len(visits)) if i not in planned]
    return Routes(stops, unplanned, back, int(best.distance_cost() + best.duration_cost()),
                  int(sum(prize_of(visits[i]) for i in planned)), departs=depart)
