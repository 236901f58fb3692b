"""Navigation exports of a plan: GeoJSON of the whole plan, GPX and KML per team (WGS84).

GPX opens in most phone navigation and outdoor apps; KML opens in 奥维互动地图 (Ovital), Google
Earth and most GIS. Waypoints are numbered in visiting order; the track follows the roads.
"""

from __future__ import annotations

from typing import Any

import gpxpy
import gpxpy.gpx
import simplekml

from routing.model import Plan, TeamRoute


def plan_geojson(plan: Plan) -> dict[str, Any]:
    """The plan as a GeoJSON FeatureCollection (bases, stops and road legs, WGS84)."""
    features = []
    for team in plan.teams:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [team.base.lon, team.base.lat]},
                "properties": {"role": "base", "team_id": team.team_id, "name": team.name},
            }
        )
        for stop in team.stops:
            props = {k: v for k, v in vars(stop).items() if k not in ("lon", "lat")}
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop.lon, stop.lat]},
                    "properties": {"role": "stop", "team_id": team.team_id, **props},
                }
            )
        for n, leg in enumerate(team.legs, start=1):
            if len(leg.coordinates) >= 2:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": [list(c) for c in leg.coordinates]},
                        "properties": {"role": "leg", "team_id": team.team_id, "leg": n, "minutes": leg.minutes},
                    }
                )
    return {"type": "FeatureCollection", "name": plan.plan_id, "features": features}


def team_gpx(plan: Plan, team: TeamRoute) -> str:
    """GPX of one team's route: numbered waypoints and the road track."""
    gpx = gpxpy.gpx.GPX()
    gpx.name = f"{plan.plan_id} {team.name}"
    gpx.description = f"{plan.date} {plan.shift} — {plan.attribution}"
    for stop in team.stops:
        gpx.waypoints.append(
            gpxpy.gpx.GPXWaypoint(
                stop.lat,
                stop.lon,
                name=f"{stop.order:02d} {stop.name}",
                description=f"{stop.arrival} {stop.address}",
            )
        )
    track = gpxpy.gpx.GPXTrack(name=team.name)
    for leg in team.legs:
        segment = gpxpy.gpx.GPXTrackSegment([gpxpy.gpx.GPXTrackPoint(lat, lon) for lon, lat in leg.coordinates])
        if segment.points:
            track.segments.append(segment)
    gpx.tracks.append(track)
    return gpx.to_xml()


def team_kml(plan: Plan, team: TeamRoute, color: str = "#1565c0") -> str:
    """KML of one team's route: a folder of numbered stops, the base and the road track."""
    doc = simplekml.Kml(name=f"{plan.plan_id} {team.name}")
    doc.document.description = f"{plan.date} {plan.shift} — {plan.attribution}"
    rgb = color.lstrip("#")
    kml_color = f"ff{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}"  # KML is aabbggrr
    base = doc.newpoint(name=f"起点 {team.name}", coords=[(team.base.lon, team.base.lat)])
    base.style.iconstyle.color = kml_color
    base.style.iconstyle.icon.href = None  # simplekml's default icon is on an outside host; viewers use their own
    stops = doc.newfolder(name="检查点")
    for stop in team.stops:
        point = stops.newpoint(
            name=f"{stop.order:02d} {stop.name}",
            coords=[(stop.lon, stop.lat)],
            description=f"{stop.arrival} {stop.address}\n{stop.visit_id}",
        )
        point.style.iconstyle.color = kml_color
        point.style.iconstyle.icon.href = None
    coords = [tuple(c) for leg in team.legs for c in leg.coordinates]
    if len(coords) >= 2:
        track = doc.newlinestring(name=f"{team.name} 路线", coords=coords)
        track.style.linestyle.color = kml_color
        track.style.linestyle.width = 4
    return doc.kml()
