"""Every knob of the product in one place: frozen dataclasses read from TOML, checked once.

Two files a planner edits, in ``settings/``:

* ``patrol.toml`` → :class:`PatrolSettings` — shifts (日查/夜查), service minutes per kind of visit,
  speeds per travel mode and road class, the network's snapping limits, the draw's probability
  bounds, the joint-team rules, the double-ten rule (双十), the clue verification deadline, the
  solver's time budget and the rectification periods. ``$PATROL_SETTINGS`` names another file.
* ``risk.toml`` → :class:`RiskSettings` — the weights and factors of the risk score and the
  hotspot analysis (Gi*). ``$PATROL_RISK_SETTINGS`` names another file.

A county may keep its own values in its workspace (layer ``settings``: one row per kind, the TOML
text of the keys it changes), laid over the file: ``load_patrol_settings(store=ws)``. Every bad
entry is an :class:`InputError` naming the file (or the workspace), the section and the key.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InputError

if TYPE_CHECKING:
    from store import Store

SETTINGS_DIR = Path(__file__).resolve().parents[1] / "settings"
DEFAULT_PATROL_SETTINGS = SETTINGS_DIR / "patrol.toml"
DEFAULT_RISK_SETTINGS = SETTINGS_DIR / "risk.toml"
DEFAULT_VOCABULARY = SETTINGS_DIR / "vocabulary.toml"
SETTINGS_LAYER = "settings"
MODES: tuple[str, ...] = ("walk", "ebike", "car")
SHIFTS: tuple[str, ...] = ("day", "night")
SHIFT_NAMES = {"day": "日查", "night": "夜查"}
VISIT_KINDS: tuple[str, ...] = ("institution", "place", "clue", "revisit")
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


# -- reading -------------------------------------------------------------------------------
def read_toml(file: Path) -> dict[str, Any]:
    """Parse a settings file; :class:`InputError` if it is missing or not TOML."""
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"settings file {file} does not exist.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: not valid TOML ({exc}).") from exc


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out


def county_override(store: Store | None, kind: str) -> tuple[dict[str, Any], str]:
    """The county's own settings of ``kind`` ("patrol" or "risk") kept in its workspace, and their origin."""
    if store is None or not store.has_layer(SETTINGS_LAYER):
        return {}, ""
    rows = store.read(SETTINGS_LAYER, where={"kind": kind})
    if rows.empty:
        return {}, ""
    text = str(rows["toml"].iloc[-1] or "")
    try:
        return tomllib.loads(text), f"{store.label} [{SETTINGS_LAYER}:{kind}]"
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{store.label}: the county's {kind} settings are not valid TOML ({exc}).") from exc


def _number(file: str, where: str, value: object, *, positive: bool = False, at_most: float | None = None) -> float:
    bad = not isinstance(value, int | float) or isinstance(value, bool) or value < 0 or (positive and value == 0)
    if bad or (at_most is not None and float(value) > at_most):  # type: ignore[arg-type]
        bound = "> 0" if positive else "≥ 0"
        bound += f" and ≤ {at_most:g}" if at_most is not None else ""
        raise InputError(f"{file}: {where} must be a number {bound} (found {value!r}).")
    return float(value)  # type: ignore[arg-type]


def _section(data: Mapping[str, Any], dotted: str) -> dict[str, Any]:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return dict(node) if isinstance(node, Mapping) else {}


def clock_minutes(text: str, where: str = "time") -> int:
    """Minutes after midnight of an ``HH:MM`` clock time; :class:`InputError` otherwise."""
    match = _CLOCK.match(str(text).strip())
    if not match:
        raise InputError(f"{where}: {text!r} is not a time of day like 08:30.")
    return int(match.group(1)) * 60 + int(match.group(2))


# -- patrol --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Shift:
    """A shift's window: ``start``/``end`` as typed, and in minutes after midnight."""

    start: str
    end: str
    start_min: int
    end_min: int


@dataclass(frozen=True)
class DrawSettings:
    """双随机: bounds of a site's inclusion probability, and the least weight a site has."""

    min_probability: float
    max_probability: float
    min_weight: float
    same_day_factor: float = 1.0  # a site visited in the other shift of the day keeps this share of its weight
    max_boost: float = 2.0  # the most a gap on the leaders' map may multiply a community's sites' weights by
    covert_share: float = 0.3  # 明察暗访: the share of stops drawn covert (暗访), the rest open (明察)
    floor_share: float = 0.5  # the probability floor takes at most this share of the sample (thousands of sites)
    departure_window_min: int = 40  # 四不两直: each team leaves at a drawn minute within this long after the start
    first_stop_drawn: bool = True  # 四不两直: each team's first stop is drawn among its sites (not the nearest)
    first_stop_reach_min: float = 30.0  # …among the drawn sites in communities this near its base…
    first_stop_candidates: int = 12  # …and the next nearest while fewer than this many sites are to draw from


@dataclass(frozen=True)
class TeamSettings:
    """Joint teams: members per team, departments and law-enforcement certificates required."""

    size: int
    min_departments: int
    min_law_cert: int


@dataclass(frozen=True)
class DoubleTenSettings:
    """双十原则: a round of ``days``, ``min_daily`` inspections a day, high-risk sites twice."""

    days: int
    min_daily: int
    high_risk: float


@dataclass(frozen=True)
class CaseSettings:
    """Rectification: days allowed to rectify, and days to a re-check when a revisit finds it not fixed."""

    rectify_days: int
    recheck_days: int
    revisit_window_days: int = 5


@dataclass(frozen=True)
class AccessSettings:
    """Logins and secrecy: when a team's route is released, how long a session lasts, lock-out."""

    release_minutes_before: int = 30  # a team leader sees the route this long before the shift starts
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    min_password_length: int = 10


@dataclass(frozen=True)
class UploadSettings:
    """Bounds on what a user may upload: file size, an XLSX's unpacked size, rows of a table."""

    max_mb: float = 20.0
    xlsx_unpacked_mb: float = 100.0
    max_rows: int = 100_000


@dataclass(frozen=True)
class AreaSettings:
    """``[areas]``: patrol areas (包片) — balance, time budget, travel estimate, cross-area days."""

    tolerance: float = 0.10  # each area's workload within ±this share of the mean, where the geography allows
    seconds: float = 8.0  # time budget of one computation (retries over seeds within it)
    detour: float = 1.3  # straight-line distance × this, where the workspace has no road network
    cross_share: float = 0.2  # share of days on which the teams swap areas (交叉检查)
    flip_steps: int = 400  # border moves tried after each tree split


@dataclass(frozen=True)
class BuildSettings:
    """``[build]``: ``patrol build-workspace`` — how far a name match may lie from its township, duplicate outlines."""

    match_distance_m: float = 5000.0  # a community's match this near its township's centre is never refused
    duplicate_iou: float = 0.9  # building outlines at least this alike (intersection over union) are one building


@dataclass(frozen=True)
class PatrolSettings:
    """The patrol planner's settings (``settings/patrol.toml``)."""

    shifts: Mapping[str, Shift]
    service_minutes: Mapping[str, float]
    speeds: Mapping[str, Mapping[str, float]]
    far_from_road_m: float
    walk_to_site_kmh: float
    draw: DrawSettings
    teams: TeamSettings
    double_ten: DoubleTenSettings
    verify_clues_within_days: int
    solver_seconds: float
    cases: CaseSettings
    source: str
    access: AccessSettings = AccessSettings()
    uploads: UploadSettings = UploadSettings()
    areas: AreaSettings = AreaSettings()
    build: BuildSettings = BuildSettings()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str) -> PatrolSettings:
        """Check ``data`` (parsed TOML) and build the settings; :class:`InputError` names the bad entry."""
        shifts = {}
        for name in SHIFTS:
            shift = _section(data, f"shifts.{name}")
            if not shift:
                raise InputError(f"{source}: the [shifts.{name}] section is missing.")
            start = clock_minutes(shift.get("start", ""), f"{source}: [shifts.{name}] start")
            end = clock_minutes(shift.get("end", ""), f"{source}: [shifts.{name}] end")
            if end <= start:
                msg = f"{source}: [shifts.{name}] ends ({shift['end']}) before it starts ({shift['start']})."
                raise InputError(msg)
            shifts[name] = Shift(str(shift["start"]), str(shift["end"]), start, end)
        service = _section(data, "service_minutes")
        service_minutes = {k: _number(source, f"[service_minutes] {k}", service.get(k)) for k in VISIT_KINDS}
        speeds = {}
        for mode in MODES:
            table = _section(data, f"speeds.{mode}")
            if "default" not in table:
                raise InputError(f"{source}: [speeds.{mode}] needs at least a default speed.")
            speeds[mode] = {k: _number(source, f"[speeds.{mode}] {k}", v, positive=True) for k, v in table.items()}
        network, draw, teams = _section(data, "network"), _section(data, "draw"), _section(data, "teams")
        rule, cases = _section(data, "double_ten"), _section(data, "cases")
        low, high, least = (_number(source, f"[draw] {k}", draw.get(k), at_most=1)
                            for k in ("min_probability", "max_probability", "min_weight"))
        bounds = DrawSettings(min_probability=low, max_probability=high, min_weight=least)
        if not 0 < bounds.min_probability < bounds.max_probability < 1:
            raise InputError(f"{source}: [draw] needs 0 < min_probability < max_probability < 1.")
        factor = _number(source, "[draw] same_day_factor", draw.get("same_day_factor", 1.0), positive=True, at_most=1)
        boost = _number(source, "[draw] max_boost", draw.get("max_boost", 2.0), positive=True, at_most=10)
        if boost < 1:
            raise InputError(f"{source}: [draw] max_boost must be at least 1 (found {boost}).")
        covert = _number(source, "[draw] covert_share", draw.get("covert_share", 0.3), at_most=0.95)
        floor_share = _number(source, "[draw] floor_share", draw.get("floor_share", 0.5), positive=True, at_most=1)
        window = int(_number(source, "[draw] departure_window_min", draw.get("departure_window_min", 40)))
        for name, hours in shifts.items():
            if window > (hours.end_min - hours.start_min) // 2:
                raise InputError(f"{source}：[draw] departure_window_min（{window} 分钟）超过{SHIFT_NAMES[name]}班次"
                                 f"（{hours.start}–{hours.end}）的一半，检查组会失去大半班次；请调小。 / "
                                 f"{source}: [draw] departure_window_min ({window}) is more than half the "
                                 f"{name} shift ({hours.start}–{hours.end}); teams would lose the shift.")
        first = draw.get("first_stop_drawn", True)
        if not isinstance(first, bool):
            raise InputError(f"{source}: [draw] first_stop_drawn must be true or false (found {first!r}).")
        reach = _number(source, "[draw] first_stop_reach_min", draw.get("first_stop_reach_min", 30.0), positive=True)
        candidates = int(_number(source, "[draw] first_stop_candidates", draw.get("first_stop_candidates", 12),
                                 positive=True))
        bounds = replace(bounds, same_day_factor=factor, max_boost=boost, covert_share=covert, floor_share=floor_share,
                         departure_window_min=window, first_stop_drawn=first, first_stop_reach_min=reach,
                         first_stop_candidates=candidates)
        return cls(
            shifts=shifts, service_minutes=service_minutes, speeds=speeds,
            far_from_road_m=_number(source, "[network] far_from_road_m", network.get("far_from_road_m"), positive=True),
            walk_to_site_kmh=_number(source, "[network] walk_to_site_kmh", network.get("walk_to_site_kmh"),
                                     positive=True),
            draw=bounds,
            teams=TeamSettings(*(int(_number(source, f"[teams] {k}", teams.get(k)))
                                 for k in ("size", "min_departments", "min_law_cert"))),
            double_ten=DoubleTenSettings(int(_number(source, "[double_ten] days", rule.get("days"), positive=True)),
                                         int(_number(source, "[double_ten] min_daily", rule.get("min_daily"))),
                                         _number(source, "[double_ten] high_risk", rule.get("high_risk"), at_most=1)),
            verify_clues_within_days=int(_number(source, "[clues] verify_within_days",
                                                 _section(data, "clues").get("verify_within_days"))),
            solver_seconds=_number(source, "[solver] seconds", _section(data, "solver").get("seconds"), positive=True),
            cases=CaseSettings(*(int(_number(source, f"[cases] {k}", cases.get(k, default), positive=True))
                                 for k, default in (("rectify_days", None), ("recheck_days", None),
                                                    ("revisit_window_days", 5)))),
            source=source,
            access=AccessSettings(**{
                k: int(_number(source, f"[access] {k}", _section(data, "access").get(k, default),
                               positive=k != "release_minutes_before"))
                for k, default in vars(AccessSettings()).items()}),
            uploads=UploadSettings(**{
                k: type(default)(_number(source, f"[uploads] {k}", _section(data, "uploads").get(k, default),
                                         positive=True))
                for k, default in vars(UploadSettings()).items()}),
            areas=_areas(source, _section(data, "areas")),
            build=_build(source, _section(data, "build")),
        )


def _areas(source: str, table: Mapping[str, Any]) -> AreaSettings:
    defaults = AreaSettings()
    values = {k: type(v)(_number(source, f"[areas] {k}", table.get(k, v), positive=k != "cross_share"))
              for k, v in vars(defaults).items()}
    if not 0 < values["tolerance"] < 1 or not 0 <= values["cross_share"] < 1:
        raise InputError(f"{source}: [areas] needs 0 < tolerance < 1 and 0 ≤ cross_share < 1.")
    unknown = sorted(set(table) - set(values))
    if unknown:
        raise InputError(f"{source}: [areas] has unknown keys: {', '.join(unknown)}.")
    return AreaSettings(**values)


def _build(source: str, table: Mapping[str, Any]) -> BuildSettings:
    defaults = BuildSettings()
    unknown = sorted(set(table) - set(vars(defaults)))
    if unknown:
        raise InputError(f"{source}: [build] has unknown keys: {', '.join(unknown)}.")
    distance = _number(source, "[build] match_distance_m", table.get("match_distance_m", defaults.match_distance_m),
                       positive=True)
    iou = _number(source, "[build] duplicate_iou", table.get("duplicate_iou", defaults.duplicate_iou), positive=True,
                  at_most=1)
    return BuildSettings(match_distance_m=distance, duplicate_iou=iou)


def patrol_settings_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The patrol settings file: ``path``, else ``$PATROL_SETTINGS``, else the shipped default."""
    return Path(path or os.environ.get("PATROL_SETTINGS") or DEFAULT_PATROL_SETTINGS)


def load_patrol_settings(path: str | os.PathLike[str] | None = None, *, store: Store | None = None) -> PatrolSettings:
    """Read and check the patrol settings, with the county's own values from ``store`` laid over them."""
    return PatrolSettings.from_mapping(*_layered(patrol_settings_path(path), "patrol", store))


def _layered(file: Path, kind: str, store: Store | None) -> tuple[dict[str, Any], str]:
    """The file's settings with the county's own laid over them, and where they came from."""
    override, origin = county_override(store, kind)
    return _merge(read_toml(file), override), f"{file}" + (f" + {origin}" if origin else "")


# -- risk ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class HotspotSettings:
    """The clue hotspot analysis (Gi*, FDR-corrected) and its smooth surface."""

    half_life_days: float
    lattice_m: float
    bandwidth_m: float
    alpha: float
    permutations: int
    seed: int
    min_clues: int


@dataclass(frozen=True)
class RiskSettings:
    """The risk score's weights and factors (``settings/risk.toml``); formula in docs/risk.md."""

    site_weights: Mapping[str, float]
    status_factors: Mapping[str, float]
    kind_factors: Mapping[str, float]
    place_factors: Mapping[str, float]
    clue_window_days: int
    clue_radius_m: float
    clue_saturation: float
    near_school_radius_m: float
    overdue_days: float
    cell_weights: Mapping[str, float]
    hotspots: HotspotSettings
    source: str

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str) -> RiskSettings:
        """Check ``data`` (parsed TOML) and build the settings; :class:`InputError` names the bad entry."""
        def numbers(dotted: str, keys: tuple[str, ...]) -> dict[str, float]:
            section = _section(data, dotted)
            return {k: _number(source, f"[{dotted}] {k}", section.get(k)) for k in keys}

        def factors(dotted: str) -> dict[str, float]:
            return {k: _number(source, f"[{dotted}] {k}", v, at_most=1) for k, v in _section(data, dotted).items()}

        site = numbers("site.weights", ("status", "clues", "hot_cell", "near_school", "overdue", "place"))
        cell = numbers("cell.weights", ("hot", "clues", "sites"))
        if sum(site.values()) <= 0 or sum(cell.values()) <= 0:
            raise InputError(f"{source}: the weights of a score must not all be 0.")
        clues = numbers("clues", ("window_days", "radius_m", "saturation"))
        hs = numbers("hotspots", ("half_life_days", "lattice_m", "bandwidth_m", "alpha", "permutations", "seed"))
        min_clues = _number(source, "[hotspots] min_clues", _section(data, "hotspots").get("min_clues", 0))
        return cls(
            site_weights=site, status_factors=factors("site.status"), kind_factors=factors("site.kind"),
            place_factors=factors("site.place"), clue_window_days=int(clues["window_days"]),
            clue_radius_m=clues["radius_m"], clue_saturation=clues["saturation"],
            near_school_radius_m=numbers("near_school", ("radius_m",))["radius_m"],
            overdue_days=numbers("overdue", ("days",))["days"], cell_weights=cell,
            hotspots=HotspotSettings(hs["half_life_days"], hs["lattice_m"], hs["bandwidth_m"], hs["alpha"],
                                     int(hs["permutations"]), int(hs["seed"]), int(min_clues)),
            source=source,
        )


def risk_settings_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The risk settings file: ``path``, else ``$PATROL_RISK_SETTINGS``, else the shipped default."""
    return Path(path or os.environ.get("PATROL_RISK_SETTINGS") or DEFAULT_RISK_SETTINGS)


def load_risk_settings(path: str | os.PathLike[str] | None = None, *, store: Store | None = None) -> RiskSettings:
    """Read and check the risk settings, with the county's own values from ``store`` laid over them."""
    return RiskSettings.from_mapping(*_layered(risk_settings_path(path), "risk", store))


# -- other names of vocabulary values ------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _aliases_from(file: Path, stamp: float) -> dict[str, dict[str, tuple[str, ...]]]:
    data = read_toml(file).get("aliases", {})
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for vocabulary, table in data.items():
        if not isinstance(table, Mapping):
            raise InputError(f"{file}: [aliases.{vocabulary}] must be a table of code = [names].")
        for code, names in table.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise InputError(f"{file}: [aliases.{vocabulary}] {code} must be a list of names in quotes.")
            out.setdefault(str(vocabulary), {})[str(code)] = tuple(names)
    return out


def vocabulary_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The vocabulary aliases file: ``path``, else ``$PATROL_VOCABULARY``, else the shipped default."""
    return Path(path or os.environ.get("PATROL_VOCABULARY") or DEFAULT_VOCABULARY)


def vocabulary_aliases(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, tuple[str, ...]]]:
    """Other names users type for vocabulary values: vocabulary → code → names (``settings/vocabulary.toml``)."""
    file = vocabulary_path(path)
    if not file.is_file():
        return {}
    return _aliases_from(file, file.stat().st_mtime)


# -- a county's own values -----------------------------------------------------------------
def save_county_settings(store: Store, kind: str, text: str, *, actor: str) -> None:
    """Keep ``text`` (TOML: only the keys the county changes) as the county's ``kind`` settings.

    The result is checked first; a value that would make the settings invalid is refused and
    nothing is saved.
    """
    import pandas as pd

    from core.clock import now_local

    if kind not in ("patrol", "risk"):
        raise InputError(f"settings kind {kind!r}: use 'patrol' or 'risk'.")
    try:
        override = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"the county's {kind} settings are not valid TOML ({exc}).") from exc
    base_file = patrol_settings_path() if kind == "patrol" else risk_settings_path()
    merged = _merge(read_toml(base_file), override)
    (PatrolSettings if kind == "patrol" else RiskSettings).from_mapping(merged, f"{store.label} [{kind}]")
    row = pd.DataFrame({"kind": [kind], "toml": [text], "updated_at": [now_local()], "updated_by": [actor]})
    with store.transaction(actor=actor, action=f"settings-{kind}", detail=text[:200]) as tx:
        tx.upsert(SETTINGS_LAYER, row, key="kind")
