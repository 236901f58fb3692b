"""Patrol settings from a TOML file a planner can edit (``settings/patrol.toml``)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from core.errors import InputError
from layers.settings import read_toml

DEFAULT_PATROL_SETTINGS = Path(__file__).resolve().parents[1] / "settings" / "patrol.toml"
MODES: tuple[str, ...] = ("walk", "ebike", "car")
SHIFTS: tuple[str, ...] = ("day", "night")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _number(file: Path, where: str, value: object, *, positive: bool = False) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else "≥ 0"
        raise InputError(f"{file}: {where} must be a number {bound} (found {value!r}).")
    return float(value)


def clock_minutes(text: str, where: str = "time") -> int:
    """Minutes after midnight of an ``HH:MM`` clock time; :class:`InputError` otherwise."""
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise InputError(f"{where}: {text!r} is not a time of day like 08:30.")
    return int(match.group(1)) * 60 + int(match.group(2))


def load_patrol_settings(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read and check the patrol settings; raise :class:`InputError` naming the bad entry."""
    file = Path(path or os.environ.get("PATROL_SETTINGS") or DEFAULT_PATROL_SETTINGS)
    data = read_toml(file)
    shifts = data.get("shifts", {})
    for name in SHIFTS:
        shift = shifts.get(name)
        if not isinstance(shift, dict):
            raise InputError(f"{file}: the [shifts.{name}] section is missing.")
        start = clock_minutes(shift.get("start", ""), f"{file}: [shifts.{name}] start")
        end = clock_minutes(shift.get("end", ""), f"{file}: [shifts.{name}] end")
        if end <= start:
            raise InputError(f"{file}: [shifts.{name}] ends ({shift['end']}) before it starts ({shift['start']}).")
        shift["start_min"], shift["end_min"] = start, end
    for key in ("institution", "place", "clue", "revisit"):
        _number(file, f"[service_minutes] {key}", data.get("service_minutes", {}).get(key))
    for mode in MODES:
        speeds = data.get("speeds", {}).get(mode)
        if not isinstance(speeds, dict) or "default" not in speeds:
            raise InputError(f"{file}: [speeds.{mode}] needs at least a default speed.")
        for key, value in speeds.items():
            _number(file, f"[speeds.{mode}] {key}", value, positive=True)
    for key in ("far_from_road_m", "walk_to_site_kmh"):
        _number(file, f"[network] {key}", data.get("network", {}).get(key), positive=True)
    draw = data.get("draw", {})
    for key in ("min_probability", "max_probability", "min_weight"):
        value = _number(file, f"[draw] {key}", draw.get(key))
        if value > 1:
            raise InputError(f"{file}: [draw] {key} must be between 0 and 1 (found {value}).")
    if not 0 < draw["min_probability"] < draw["max_probability"] < 1:
        raise InputError(f"{file}: [draw] needs 0 < min_probability < max_probability < 1.")
    for key in ("min_departments", "min_law_cert", "size"):
        _number(file, f"[teams] {key}", data.get("teams", {}).get(key))
    for key in ("days", "min_daily", "high_risk"):
        _number(file, f"[double_ten] {key}", data.get("double_ten", {}).get(key))
    for key in ("rectify_days", "recheck_days"):
        _number(file, f"[cases] {key}", data.get("cases", {}).get(key), positive=True)
    data["_path"] = str(file)
    return data
