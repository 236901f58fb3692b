"""Risk and hotspot settings from a TOML file a planner can edit (``settings/risk.toml``)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from core.errors import InputError

DEFAULT_SETTINGS = Path(__file__).resolve().parents[1] / "settings" / "risk.toml"
REQUIRED = {
    "site.weights": ("status", "clues", "hot_cell", "near_school", "overdue", "place"),
    "cell.weights": ("hot", "clues", "sites"),
    "clues": ("window_days", "radius_m", "saturation"),
    "near_school": ("radius_m",),
    "overdue": ("days",),
    "hotspots": ("half_life_days", "lattice_m", "bandwidth_m", "alpha", "permutations", "seed"),
}


def settings_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The settings file to use: ``path``, else ``$PATROL_RISK_SETTINGS``, else the shipped default."""
    return Path(path or os.environ.get("PATROL_RISK_SETTINGS") or DEFAULT_SETTINGS)


def _section(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def read_toml(file: Path) -> dict[str, Any]:
    """Parse a settings file; :class:`InputError` if it is missing or not TOML."""
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"settings file {file} does not exist.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{file}: not valid TOML ({exc}).") from exc


def load_settings(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Read and check the settings; raise :class:`InputError` naming the bad entry."""
    file = settings_path(path)
    data = read_toml(file)
    for dotted, keys in REQUIRED.items():
        section = _section(data, dotted)
        for key in keys:
            value = section.get(key)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise InputError(f"{file}: [{dotted}] {key} must be a number ≥ 0 (found {value!r}).")
    if sum(_section(data, "site.weights").values()) <= 0 or sum(_section(data, "cell.weights").values()) <= 0:
        raise InputError(f"{file}: the weights of a score must not all be 0.")
    for dotted in ("site.status", "site.kind", "site.place"):
        for key, value in _section(data, dotted).items():
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise InputError(f"{file}: [{dotted}] {key} must be between 0 and 1 (found {value!r}).")
    data["_path"] = str(file)
    return data
