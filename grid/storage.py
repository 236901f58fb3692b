"""The workspace: one GeoPackage per county, and the only module that opens it.

Every other module reads and writes through :class:`Workspace`, so that a shared PostGIS
database can later stand in for the file without touching callers. Spatial layers are stored
in WGS84 (EPSG:4326); tables without geometry (``meta``, ``divisions``, ``audit_log``) are
GeoPackage attribute tables. Column-by-column documentation: ``docs/data-model.md``.

Writes are atomic and serialised: the file is copied to a temporary file beside it, the new
layers and an ``audit_log`` row (who, when, what) are written there, and the copy replaces
the original with ``os.replace``; an exclusive lock file keeps two writers from interleaving.
A crash half-way leaves the original untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd
import pyogrio

from grid.crs import DISPLAY_CRS
from core.errors import WorkspaceError

TIMEZONE = ZoneInfo("Asia/Shanghai")
GRID_LAYERS: tuple[str, ...] = ("county", "townships", "communities", "buildings")
REQUIRED_LAYERS: tuple[str, ...] = (*GRID_LAYERS, "divisions", "meta")
AUDIT_LAYER = "audit_log"


def now_local() -> str:
    """Return the current time in Asia/Shanghai as an ISO 8601 string (seconds)."""
    return datetime.now(TIMEZONE).isoformat(timespec="seconds")


def as_local(stamp: pd.Timestamp) -> pd.Timestamp:
    """``stamp`` in Asia/Shanghai; a time without zone is taken to be Asia/Shanghai already."""
    return stamp.tz_localize(TIMEZONE) if stamp.tzinfo is None else stamp.tz_convert(TIMEZONE)


def local_day(value: object = None) -> pd.Timestamp:
    """Midnight (Asia/Shanghai) of ``value`` (a date, time or text), or of today if ``None``."""
    stamp = pd.Timestamp.now(tz=TIMEZONE) if value is None else pd.Timestamp(value)  # type: ignore[arg-type]
    return as_local(stamp).normalize()


def default_actor() -> str:
    """Return who is acting, for the audit log: ``$PATROL_USER`` or the login name."""
    return os.environ.get("PATROL_USER") or getpass.getuser()


_HELD = threading.local()


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """The workspace's write lock (a ``flock`` on ``<file>.lock``), re-entrant within a thread."""
    key = str(path.resolve())
    held: set[str] = _HELD.__dict__.setdefault("paths", set())
    if key in held:
        yield
        return
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _nulls_as_none(frame: pd.DataFrame) -> pd.DataFrame:
    """Turn ``pd.NA``/NaN in text columns into real NULLs (pyogrio would write the text ``"<NA>"``)."""
    out = frame.copy()
    for column in out.columns:
        if column != getattr(out, "_geometry_column_name", None) and (
            out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype)
        ):
            values = out[column].astype(object)
            out[column] = values.where(values.notna(), None)
    return out


def _write_layer(path: Path, name: str, frame: pd.DataFrame) -> None:
    frame = _nulls_as_none(frame)
    if isinstance(frame, gpd.GeoDataFrame):
        if frame.crs is None:
            msg = f"layer {name!r} has no CRS; convert it to WGS84 before saving."
            raise WorkspaceError(msg)
        frame = frame.to_crs(DISPLAY_CRS)
    pyogrio.write_dataframe(frame, path, layer=name, driver="GPKG")


class Workspace:
    """A county workspace file.

    Parameters
    ----------
    path
        The ``.gpkg`` file. It must exist unless you call :meth:`create`.

    Examples
    --------
    >>> ws = Workspace("data/guixi_360681.gpkg")  # doctest: +SKIP
    >>> ws.read("townships").head()  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    # -- reading ---------------------------------------------------------------------------
    def _require_file(self) -> None:
        if not self.path.is_file():
            msg = (
                f"workspace {self.path} does not exist; build one with "
                "`patrol build-workspace ... --out FILE.gpkg`."
            )
            raise WorkspaceError(msg)

    def layer_names(self) -> list[str]:
        """Return the names of all layers and tables in the workspace."""
        self._require_file()
        try:
            return [str(name) for name, _ in pyogrio.list_layers(self.path)]
        except pyogrio.errors.DataSourceError as exc:
            msg = f"{self.path} is not a readable GeoPackage: {exc}"
            raise WorkspaceError(msg) from exc

    def has_layer(self, name: str) -> bool:
        """Tell whether the workspace holds layer ``name``."""
        return name in self.layer_names()

    def read(self, name: str) -> pd.DataFrame:
        """Read one layer: a GeoDataFrame in WGS84, or a DataFrame for an attribute table.

        Raises
        ------
        WorkspaceError
            If the file or the layer is missing.
        """
        names = self.layer_names()
        if name not in names:
            msg = f"workspace {self.path} has no layer {name!r}; it has: {', '.join(sorted(names))}."
            raise WorkspaceError(msg)
        frame = pyogrio.read_dataframe(self.path, layer=name)
        if isinstance(frame, gpd.GeoDataFrame) and frame.crs is None:
            frame = frame.set_crs(DISPLAY_CRS)
        return frame

    def meta(self) -> dict[str, str]:
        """Return the ``meta`` table as a dict (county code and name, metric CRS, sources…)."""
        table = self.read("meta")
        return dict(zip(table["key"].astype(str), table["value"].astype(str), strict=True))

    def audit_log(self) -> pd.DataFrame:
        """Return the audit log: one row per write, with time, actor, action and layers."""
        return self.read(AUDIT_LAYER)

    def validate_layout(self) -> None:
        """Raise :class:`WorkspaceError` naming every required layer that is missing."""
        missing = [name for name in REQUIRED_LAYERS if name not in self.layer_names()]
        if missing:
            msg = f"workspace {self.path} lacks layers {missing}; rebuild it with `patrol build-workspace`."
            raise WorkspaceError(msg)

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the write lock across a read-modify-write, so concurrent writers lose nothing.

        Other processes and threads wait; :meth:`write` inside the block does not.
        """
        self._require_file()
        with _exclusive_lock(self.path):
            yield

    def write(
        self,
        layers: Mapping[str, pd.DataFrame],
        *,
        action: str,
        detail: str = "",
        actor: str | None = None,
        create: bool = False,
    ) -> None:
        """Write (replace) ``layers`` atomically and append one audit-log row.

        Parameters
        ----------
        layers
            Layer name to frame; a frame replaces the whole layer of that name.
        action
            What was done, e.g. ``"build-workspace"``; recorded in the audit log.
        detail
            Free text for the audit log (counts, input files).
        actor
            Who did it; defaults to :func:`default_actor`.
        create
            Start a new file (replacing any existing one) instead of updating.
        """
        if not create:
            self._require_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _exclusive_lock(self.path):
            handle, tmp_name = tempfile.mkstemp(
                prefix=f".{self.path.stem}.tmp.", suffix=".gpkg", dir=self.path.parent
            )
            os.close(handle)
            tmp = Path(tmp_name)
            try:
                tmp.unlink()
                if not create:
                    shutil.copy2(self.path, tmp)
                for name, frame in layers.items():
                    _write_layer(tmp, name, frame)
                self._append_audit(tmp, action=action, detail=detail, actor=actor, layers=layers)
                os.replace(tmp, self.path)
            finally:
                tmp.unlink(missing_ok=True)

    def _append_audit(
        self, tmp: Path, *, action: str, detail: str, actor: str | None, layers: Mapping[str, object]
    ) -> None:
        names = [str(name) for name, _ in pyogrio.list_layers(tmp)] if tmp.exists() else []
        old = pyogrio.read_dataframe(tmp, layer=AUDIT_LAYER) if AUDIT_LAYER in names else None
        row = pd.DataFrame(
            {
                "time": [now_local()],
                "actor": [actor or default_actor()],
                "action": [action],
                "layers": [",".join(layers)],
                "detail": [detail],
            }
        )
        table = row if old is None or old.empty else pd.concat([old, row], ignore_index=True)
        pyogrio.write_dataframe(table, tmp, layer=AUDIT_LAYER, driver="GPKG")
