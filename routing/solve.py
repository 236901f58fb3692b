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
    """One team: its base's row in the matrix, its mode and the communities it must avoid."""

    team_id: str
    base: int
    mode: str
    avoid: frozenset[str] = field(default_factory=frozenset)


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


def prize_of(visit: Visit) -> int:
    return MANDATORY_PRIZE if visit.mandatory else int(OPTIONAL_PRIZE * (1.0 + visit.weight))


def _fit_to_shift(order: list[int], matrix: np.ndarray, visits: list[Visit], depot: int, n_depots: int,
                  window: tuple[int, int]) -> tuple[list[Stop], int]:
    """The stops of ``order`` that fit the shift when driven in that order, and the time back at base."""
    start, end = window
    clock, here, kept = start, depot, []
    for visit in order:
        row = n_depots + visit
        arrival = clock + int(matrix[here, row])
        departure = arrival + int(visits[visit].service_s)
        if departure + int(matrix[row, depot]) <= end:
            kept.append(Stop(visit, arrival, departure))
            clock, here = departure, row
    return kept, clock + int(matrix[here, depot]) if kept else start


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
    """Route ``vehicles`` over ``visits`` within ``window`` (seconds after midnight)."""
    start, end = window
    bases = sorted({v.base for v in vehicles})
    base_slot = {b: i for i, b in enumerate(bases)}
    rows = np.array(bases + [v.location for v in visits], dtype=np.int64)
    locations = [Location(x=float(xy[r, 0]), y=float(xy[r, 1])) for r in rows]
    depots = [Depot(location=i) for i in range(len(bases))]
    clients = [
        Client(location=len(bases) + i, service_duration=int(v.service_s), tw_early=start, tw_late=end,
               prize=prize_of(v), required=False, name=v.visit_id)
        for i, v in enumerate(visits)
    ]
    profiles: dict[tuple[str, frozenset[str]], int] = {}
    matrices: list[np.ndarray] = []
    for vehicle in vehicles:
        key = (vehicle.mode, vehicle.avoid)
        if key in profiles:
            continue
        full = seconds_by_mode[vehicle.mode][np.ix_(rows, rows)]
        matrix = np.where(np.isfinite(full), np.rint(full), UNREACHABLE_S).astype(np.int64)
        banned = [len(bases) + i for i, v in enumerate(visits) if v.community_code in vehicle.avoid]
        if banned:
            matrix[:, banned] = UNREACHABLE_S
        np.fill_diagonal(matrix, 0)
        profiles[key] = len(matrices)
        matrices.append(matrix)
    types = [
        VehicleType(1, start_depot=base_slot[v.base], end_depot=base_slot[v.base], tw_early=start, tw_late=end,
                    unit_distance_cost=0, unit_duration_cost=1, profile=profiles[(v.mode, v.avoid)], name=v.team_id)
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
    stops: dict[str, list[Stop]] = {v.team_id: [] for v in vehicles}
    back: dict[str, int] = {v.team_id: start for v in vehicles}
    planned: set[int] = set()
    for route in best.routes():
        team = vehicles[route.vehicle_type()]
        order = [int(a.idx) for a in route.schedule() if a.is_client()]
        if route.has_time_warp():  # a short search may end on a route that overruns: keep what fits the shift
            matrix = matrices[profiles[(team.mode, team.avoid)]]
            kept, back[team.team_id] = _fit_to_shift(order, matrix, visits, base_slot[team.base], len(bases), window)
            log.warning("PyVRP's route for %s overran the shift; %d of %d stops kept", team.team_id, len(kept),
                        len(order))
            stops[team.team_id] = kept
            planned.update(stop.visit for stop in kept)
            continue
        for activity in route.schedule():
            if activity.is_client():
                visit = int(activity.idx)
                stops[team.team_id].append(Stop(visit, int(activity.start_time), int(activity.end_time)))
                planned.add(visit)
        back[team.team_id] = int(route.end_time())
    for team_id, team_stops in stops.items():
        vehicle = next(v for v in vehicles if v.team_id == team_id)
        bad = [s for s in team_stops if visits[s.visit].community_code in vehicle.avoid]
        if bad:
            raise RuntimeError(f"PyVRP sent {team_id} to a community it must avoid.")
    unplanned = [i for i in range(len(visits)) if i not in planned]
    return Routes(stops, unplanned, back, int(best.distance_cost() + best.duration_cost()),
                  int(sum(prize_of(visits[i]) for i in planned)))
