"""The plan as typed objects: a plan, its teams' routes, their stops and members.

``Plan.from_json(document)`` reads what ``patrol plan`` writes to ``plan.json`` (and the register
keeps in ``plans.plan_json``); ``plan.to_json()`` gives the same document back, key for key, so a
plan read and written again hashes and verifies as before. The recorded draw inputs
(``plan.inputs``) stay the JSON document they are: ``verify`` redoes the draw from exactly them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from core.errors import InputError
from core.visits import VisitRef


@dataclass(frozen=True)
class LonLat:
    """A point in WGS84."""

    lon: float
    lat: float


@dataclass(frozen=True)
class Member:
    """An inspector on a team."""

    inspector_id: str
    name: str
    department: str
    law_cert: bool


@dataclass(frozen=True)
class Stop:
    """One stop of a route: what is visited, why, and when."""

    order: int
    visit_id: str
    kind: str
    name: str
    address: str
    status: str
    reason: str
    mandatory: bool
    probability: float
    community_code: str
    lon: float
    lat: float
    arrival: str
    departure: str
    service_min: int
    snap_m: float
    covert: bool = False  # 暗访: no marking of inspectors on this stop's sheet and phone view

    @property
    def visit(self) -> VisitRef:
        """The typed reference of what is visited."""
        return VisitRef.parse(self.visit_id)


@dataclass(frozen=True)
class Leg:
    """The drive or walk between two stops: minutes and the road geometry (WGS84)."""

    minutes: float
    coordinates: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TeamRoute:
    """A team's route for the shift: who rides, where it starts, its stops and legs."""

    team_id: str
    name: str
    mode: str
    base: LonLat
    members: tuple[Member, ...]
    avoid_communities: tuple[str, ...]
    depart: str
    back: str
    travel_min: float
    service_min: float
    stops: tuple[Stop, ...]
    legs: tuple[Leg, ...]
    release_at: str = ""  # when the team leader may first see this route (ISO, Asia/Shanghai)


@dataclass(frozen=True)
class Unplanned:
    """A visit that was drawn or due but could not be routed, and why."""

    visit_id: str
    name: str
    kind: str
    mandatory: bool
    reason: str


@dataclass(frozen=True)
class SkippedOffice:
    """A drawn site at a township or community office, never a stop (四不两直)."""

    visit_id: str
    name: str
    reason: str


@dataclass(frozen=True)
class PlanSummary:
    """Counts of a plan."""

    visits: int
    mandatory: int
    drawn: int
    unplanned: int
    unplanned_mandatory: int
    prize: float


@dataclass(frozen=True)
class Plan:
    """A patrol plan for one day and shift: the draw, its commitment, and every team's route."""

    plan_id: str
    county_code: str
    county_name: str
    date: str
    shift: str
    window: tuple[str, str]
    created_at: str
    created_by: str
    commitment: str
    inputs_digest: str
    inputs: Mapping[str, Any]
    draw: Mapping[str, Any]
    probabilities: Mapping[str, float]
    teams: tuple[TeamRoute, ...]
    unplanned: tuple[Unplanned, ...]
    network: Mapping[str, Any]
    warnings: tuple[str, ...]
    attribution: str
    summary: PlanSummary
    not_visited_offices: tuple[SkippedOffice, ...] = field(default_factory=tuple)
    plan_digest: str = ""  # SHA-256 of everything else in the document: binds what every team is sent to do

    # -- reading and writing ---------------------------------------------------------------
    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Plan:
        """The plan of a ``plan.json`` document; :class:`InputError` if it is not one."""
        try:
            return cls(
                plan_id=str(document["plan_id"]), county_code=str(document["county_code"]),
                county_name=str(document.get("county_name", "")), date=str(document["date"]),
                shift=str(document["shift"]), window=(str(document["window"][0]), str(document["window"][1])),
                created_at=str(document["created_at"]), created_by=str(document.get("created_by", "")),
                commitment=str(document["commitment"]), inputs_digest=str(document["inputs_digest"]),
                inputs=dict(document["inputs"]), draw=dict(document["draw"]),
                probabilities={str(k): float(v) for k, v in document.get("probabilities", {}).items()},
                teams=tuple(_team(t) for t in document["teams"]),
                unplanned=tuple(Unplanned(**u) for u in document.get("unplanned", [])),
                network=dict(document.get("network", {})), warnings=tuple(document.get("warnings", [])),
                attribution=str(document.get("attribution", "")), summary=PlanSummary(**document["summary"]),
                not_visited_offices=tuple(SkippedOffice(**o) for o in document.get("not_visited_offices", [])),
                plan_digest=str(document.get("plan_digest", "")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            msg = f"not a plan made by `patrol plan` ({type(exc).__name__}: {exc})."
            raise InputError(msg) from exc

    def to_json(self) -> dict[str, Any]:
        """The ``plan.json`` document (the same keys and values :meth:`from_json` read)."""
        return {
            "plan_id": self.plan_id, "county_code": self.county_code, "county_name": self.county_name,
            "date": self.date, "shift": self.shift, "window": list(self.window), "created_at": self.created_at,
            "created_by": self.created_by, "commitment": self.commitment, "inputs_digest": self.inputs_digest,
            "inputs": dict(self.inputs), "draw": dict(self.draw), "probabilities": dict(self.probabilities),
            "teams": [_team_json(t) for t in self.teams],
            "unplanned": [vars(u).copy() for u in self.unplanned], "network": dict(self.network),
            "warnings": list(self.warnings), "attribution": self.attribution, "summary": vars(self.summary).copy(),
            "not_visited_offices": [vars(o).copy() for o in self.not_visited_offices],
            **({"plan_digest": self.plan_digest} if self.plan_digest else {}),
        }

    # -- questions -------------------------------------------------------------------------
    def team(self, team_id: str) -> TeamRoute:
        """The route of team ``team_id``; :class:`InputError` naming the plan's teams otherwise."""
        for team in self.teams:
            if team.team_id == team_id:
                return team
        names = ", ".join(f"{t.team_id} ({t.name})" for t in self.teams)
        msg = f"team {team_id!r} is not in plan {self.plan_id}; its teams are {names}."
        raise InputError(msg)

    def only_team(self, team_id: str) -> Plan:
        """The plan cut down to one team: what that team's leader may see — its route, members and
        stops, and nothing of the other teams, the rest of the draw, its inputs or its warnings."""
        team = self.team(team_id)
        visits = {s.visit_id for s in team.stops}
        drawn = [v for v in self.draw.get("sites", []) if v in visits]
        summary = PlanSummary(visits=len(team.stops), mandatory=sum(s.mandatory for s in team.stops),
                              drawn=len(drawn), unplanned=0, unplanned_mandatory=0, prize=0.0)
        return replace(self, teams=(team,), inputs={}, draw={"sites": drawn, "teams": {team_id: [
            m.inspector_id for m in team.members]}}, probabilities={v: p for v, p in self.probabilities.items()
                                                                    if v in visits},
            unplanned=(), not_visited_offices=(), warnings=(), network={}, summary=summary, plan_digest="")

    def stops(self) -> list[tuple[TeamRoute, Stop]]:
        """Every stop with its team, in team order then stop order."""
        return [(team, stop) for team in self.teams for stop in team.stops]

    def released_at(self, team_id: str) -> str:
        """When team ``team_id``'s leader may first see its route (the shift's start if unset)."""
        return self.team(team_id).release_at or f"{self.date}T{self.window[0]}:00+08:00"

    def window_closes_at(self) -> str:
        """When the plan's inspection window closes: the end of its shift (ISO, Asia/Shanghai)."""
        return f"{self.date}T{self.window[1]}:00+08:00"

    def stop_of(self, visit_id: str) -> tuple[TeamRoute, Stop] | None:
        """The team and stop that visit ``visit_id``, if the plan has it."""
        return next(((t, s) for t, s in self.stops() if s.visit_id == visit_id), None)


def _team(document: Mapping[str, Any]) -> TeamRoute:
    return TeamRoute(
        team_id=str(document["team_id"]), name=str(document["name"]), mode=str(document["mode"]),
        base=LonLat(float(document["base"]["lon"]), float(document["base"]["lat"])),
        members=tuple(Member(str(m["inspector_id"]), str(m["name"]), str(m["department"]), bool(m["law_cert"]))
                      for m in document["members"]),
        avoid_communities=tuple(document.get("avoid_communities", [])), depart=str(document["depart"]),
        back=str(document["back"]), travel_min=document["travel_min"], service_min=document["service_min"],
        stops=tuple(Stop(**s) for s in document["stops"]),
        legs=tuple(Leg(float(leg["minutes"]), tuple((float(x), float(y)) for x, y in leg["coordinates"]))
                   for leg in document["legs"]),
        release_at=str(document.get("release_at", "")),
    )


def _team_json(team: TeamRoute) -> dict[str, Any]:
    return {
        "team_id": team.team_id, "name": team.name, "mode": team.mode,
        "base": {"lon": team.base.lon, "lat": team.base.lat},
        "members": [vars(m).copy() for m in team.members], "avoid_communities": list(team.avoid_communities),
        "depart": team.depart, "back": team.back, "travel_min": team.travel_min, "service_min": team.service_min,
        "stops": [vars(s).copy() for s in team.stops],
        "legs": [{"minutes": leg.minutes, "coordinates": [list(c) for c in leg.coordinates]} for leg in team.legs],
        **({"release_at": team.release_at} if team.release_at else {}),
    }
