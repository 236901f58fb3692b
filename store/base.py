"""The store API both backends implement: layers read by query, writes in transactions.

A *layer* is a table of rows, with or without a geometry column (WGS84). A write is a
:class:`Transaction`: the caller says what changed — rows appended, rows upserted by key, a
derived layer replaced, rows deleted — and the transaction writes exactly that, plus one row of
``audit_log`` naming the actor, in the same database transaction. Nothing rewrites a table to
add a row, and a crash leaves the last committed state.

Backends provide a :class:`Session` (one connection, perhaps inside a transaction) with a few
primitives; everything else — value conversion, schemas, queries, audit rows — is here, once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from core.clock import now_local
from core.errors import InputError, StoreError, WorkspaceError

log = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
GRID_LAYERS: tuple[str, ...] = ("county", "townships", "communities", "buildings")
REQUIRED_LAYERS: tuple[str, ...] = (*GRID_LAYERS, "divisions", "meta")
AUDIT_LAYER = "audit_log"
AUDIT_COLUMNS = ("time", "actor", "action", "layers", "detail")
KINDS = ("text", "integer", "real", "boolean")
RESERVED_COLUMNS = frozenset({"fid", "county_code", "geom", "geometry"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

Rows = list[tuple[Any, ...]]


def check_identifier(name: str, what: str = "name") -> str:
    """Return ``name`` if it is a plain SQL identifier (letters, digits, ``_``), else raise."""
    if not _IDENTIFIER.match(str(name)):
        msg = f"{what} {name!r} cannot be stored: use letters, digits and '_' only, starting with a letter."
        raise InputError(msg)
    return str(name)


@dataclass(frozen=True)
class LayerInfo:
    """What a layer holds: its columns with their kinds, and its geometry type (``None``: no geometry)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    geometry_type: str | None = None

    @property
    def column_names(self) -> list[str]:
        """The attribute columns, in order (the geometry is not one of them)."""
        return [name for name, _ in self.columns]

    def kind(self, column: str) -> str:
        """The kind of ``column`` (``text``, ``integer``, ``real`` or ``boolean``)."""
        return dict(self.columns)[column]

    def with_columns(self, extra: Sequence[tuple[str, str]]) -> LayerInfo:
        """This layer with ``extra`` columns appended."""
        return replace(self, columns=(*self.columns, *extra))


@dataclass(frozen=True)
class Filter:
    """Which rows to read: equal or in a set of values, within a range, or meeting a bounding box."""

    where: Mapping[str, object] = field(default_factory=dict)
    between: Mapping[str, tuple[object, object]] = field(default_factory=dict)
    bbox: tuple[float, float, float, float] | None = None

    def is_empty(self) -> bool:
        """Tell whether the filter selects every row."""
        return not self.where and not self.between and self.bbox is None


def _is_collection(value: object) -> bool:
    return isinstance(value, Collection | pd.Series | np.ndarray) and not isinstance(value, str | bytes)


def frame_schema(name: str, frame: pd.DataFrame) -> LayerInfo:
    """The layer schema a frame implies: a kind per column, and the geometry type if it has one."""
    geometry_column = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    columns = []
    for column in frame.columns:
        if column == geometry_column:
            continue
        if column in RESERVED_COLUMNS:
            msg = f"layer {name!r}: the column name {column!r} is reserved by the store; rename it."
            raise InputError(msg)
        columns.append((check_identifier(column, f"layer {name!r}: column"), _kind_of(frame[column])))
    geometry_type = None
    if geometry_column is not None:
        types = set(frame.geometry.dropna().geom_type)
        geometry_type = types.pop().upper() if len(types) == 1 else "GEOMETRY"
    return LayerInfo(check_identifier(name, "layer"), tuple(columns), geometry_type)


def _kind_of(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "real"
    if dtype == object:  # noqa: E721 - an object column of Python bools/ints keeps its kind
        present = series.dropna()
        if len(present) and all(isinstance(v, bool | np.bool_) for v in present):
            return "boolean"
    return "text"


def _text(value: object) -> str:
    text = value.isoformat() if isinstance(value, pd.Timestamp | dt.datetime | dt.date) else str(value)
    if "\x00" in text:
        msg = f"text {text[:40]!r} holds a NUL character, which cannot be stored; remove it from the file."
        raise ValueError(msg)
    return text


_TRUE = {"1", "true", "yes", "y", "是", "t"}
_FALSE = {"0", "false", "no", "n", "否", "f", ""}


def _boolean(value: object) -> bool:
    if isinstance(value, bool | np.bool_ | int | np.integer | float | np.floating):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    msg = f"{value!r} is not yes/no"
    raise ValueError(msg)


def column_values(series: pd.Series, kind: str, *, layer: str) -> list[Any]:
    """The values of ``series`` as Python objects of ``kind`` (missing values as ``None``)."""
    objects = series.astype(object)
    missing = pd.isna(objects).to_numpy()
    values = objects.to_numpy()
    out: list[Any] = [None] * len(values)
    converters: dict[str, Callable[[Any], Any]] = {"text": _text, "real": float, "boolean": _boolean,
                                                   "integer": _integer}
    convert = converters[kind]
    for i in np.flatnonzero(~missing):
        try:
            out[i] = convert(values[i])
        except (TypeError, ValueError) as exc:
            msg = (f"layer {layer!r}, column {series.name!r}, row {i + 1}: {values[i]!r} is not a valid "
                   f"{kind} value for the stored column ({exc}).")
            raise InputError(msg) from exc
    return out


def _integer(value: object) -> int:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return int(value)  # exactly, however large (no detour through float)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    number = float(value)  # type: ignore[arg-type]
    if not number.is_integer():
        msg = f"{value!r} is not a whole number"
        raise ValueError(msg)
    return int(number)


def build_frame(info: LayerInfo, rows: Rows, geometries: np.ndarray | None, *,
                columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A frame from fetched rows, with dtypes as a reader of the layer expects them."""
    names = list(columns) if columns is not None else info.column_names
    data: dict[str, pd.Series] = {}
    transposed = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    for name, values in zip(names, transposed, strict=True):
        data[name] = _series(list(values), info.kind(name))
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
    if info.geometry_type is None:
        return frame
    geometry = gpd.GeoSeries(geometries if geometries is not None else [], crs=WGS84, index=frame.index)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=WGS84)


def _series(values: list[Any], kind: str) -> pd.Series:
    has_missing = any(v is None for v in values)
    if kind == "integer":
        return pd.Series(values, dtype="float64" if has_missing else "int64")
    if kind == "real":
        return pd.Series(values, dtype="float64")
    if kind == "boolean":
        return pd.Series([None if v is None else bool(v) for v in values], dtype=object if has_missing else bool)
    if not values or all(v is None for v in values):
        return pd.Series(values, dtype=object)
    return pd.Series([None if v is None else str(v) for v in values])


class Session(ABC):
    """One connection of a backend, perhaps inside a transaction: the primitives the store needs."""

    @abstractmethod
    def layers(self) -> dict[str, LayerInfo]:
        """Every layer of the county, by name."""

    @abstractmethod
    def fetch(self, info: LayerInfo, columns: Sequence[str], query: Filter) -> tuple[Rows, list[Any] | None]:
        """Rows of ``columns`` matching ``query``, and their geometries (raw, for :meth:`decode`)."""

    @abstractmethod
    def decode(self, raw: list[Any]) -> np.ndarray:
        """Shapely geometries from what :meth:`fetch` returned."""

    @abstractmethod
    def insert(self, info: LayerInfo, columns: Sequence[str], rows: Rows, geometries: np.ndarray | None) -> None:
        """Insert rows (values in ``columns`` order) and their shapely geometries."""

    @abstractmethod
    def delete(self, info: LayerInfo, query: Filter) -> int:
        """Delete the rows matching ``query``; return how many."""

    @abstractmethod
    def create(self, info: LayerInfo) -> None:
        """Create an empty layer."""

    @abstractmethod
    def add_columns(self, info: LayerInfo, extra: Sequence[tuple[str, str]]) -> None:
        """Add columns to an existing layer."""

    @abstractmethod
    def drop(self, info: LayerInfo) -> None:
        """Remove a layer (its rows, and its schema where the backend can)."""

    @abstractmethod
    def index(self, info: LayerInfo, columns: Sequence[str]) -> None:
        """Make sure lookups by ``columns`` are indexed."""

    def touched(self, info: LayerInfo) -> None:  # noqa: B027 - optional hook
        """Note that a layer changed (backends update their own bookkeeping)."""


def read_layer(session: Session, name: str, query: Filter, *, label: str,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read layer ``name`` through ``session``: a GeoDataFrame (WGS84) or a DataFrame."""
    layers = session.layers()
    info = layers.get(name)
    if info is None:
        msg = f"workspace {label} has no layer {name!r}; it has: {', '.join(sorted(layers))}."
        raise WorkspaceError(msg)
    wanted = list(columns) if columns is not None else info.column_names
    unknown = [c for c in [*wanted, *query.where, *query.between] if c not in info.column_names]
    if unknown:
        msg = f"layer {name!r} of {label} has no column(s) {unknown}; it has {info.column_names}."
        raise WorkspaceError(msg)
    if query.bbox is not None and info.geometry_type is None:
        msg = f"layer {name!r} has no geometry; it cannot be read by bounding box."
        raise WorkspaceError(msg)
    rows, raw = _fetch_chunked(session, info, wanted, query)
    geometries = session.decode(raw) if raw is not None else None
    return build_frame(info, rows, geometries, columns=wanted)


_CHUNK = 5000


def _fetch_chunked(session: Session, info: LayerInfo, columns: Sequence[str],
                   query: Filter) -> tuple[Rows, list[Any] | None]:
    """Fetch in chunks when a filter lists many values (databases bound the parameters of one query)."""
    big = [(c, v) for c, v in query.where.items() if _is_collection(v) and len(v) > _CHUNK]  # type: ignore[arg-type]
    if not big:
        return session.fetch(info, columns, _normalised(query))
    column, values = big[0]
    unique = list(dict.fromkeys(_values(values)))
    rows: Rows = []
    raw: list[Any] | None = [] if info.geometry_type else None
    for start in range(0, len(unique), _CHUNK):
        part = replace(query, where={**query.where, column: unique[start:start + _CHUNK]})
        got, geoms = _fetch_chunked(session, info, columns, part)
        rows.extend(got)
        if raw is not None and geoms is not None:
            raw.extend(geoms)
    return rows, raw


def _values(value: object) -> list[Any]:
    return [v.item() if isinstance(v, np.generic) else v for v in list(value)]  # type: ignore[call-overload]


def _scalar(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _normalised(query: Filter) -> Filter:
    """Plain Python values in a filter (a numpy integer would be bound as a BLOB by SQLite)."""
    where = {c: (_values(v) if _is_collection(v) else _scalar(v)) for c, v in query.where.items()}
    between = {c: (_scalar(lo), _scalar(hi)) for c, (lo, hi) in query.between.items()}
    return replace(query, where=where, between=between)


class Transaction:
    """The writes of one transaction, and reads that see them; commits with one audit row.

    Obtain it from :meth:`Store.transaction`; do not build it yourself.
    """

    def __init__(self, session: Session, *, label: str, actor: str, action: str, detail: str) -> None:
        self._session = session
        self._label = label
        self.actor = actor
        self.action = action
        self.detail = detail
        self.changed: dict[str, int] = {}

    # -- reads -----------------------------------------------------------------------------
    def layer_names(self) -> list[str]:
        """The layers as this transaction sees them."""
        return sorted(self._session.layers())

    def has_layer(self, name: str) -> bool:
        """Tell whether the layer exists, as this transaction sees it."""
        return name in self._session.layers()

    def read(self, name: str, *, where: Mapping[str, object] | None = None,
             between: Mapping[str, tuple[object, object]] | None = None,
             bbox: tuple[float, float, float, float] | None = None,
             columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Read a layer inside the transaction (it sees the transaction's own writes)."""
        query = Filter(where or {}, between or {}, bbox)
        return read_layer(self._session, name, query, label=self._label, columns=columns)

    # -- writes ----------------------------------------------------------------------------
    def append(self, name: str, frame: pd.DataFrame, *, schema: LayerInfo | None = None) -> int:
        """Add ``frame``'s rows to layer ``name`` (created if missing); return how many."""
        info, frame = self._prepare(name, frame, schema)
        self._insert(info, frame)
        return self._count(name, len(frame))

    def upsert(self, name: str, frame: pd.DataFrame, *, key: str | Sequence[str],
               schema: LayerInfo | None = None) -> int:
        """Insert ``frame``'s rows, replacing the stored rows with the same ``key``; return how many."""
        keys = [key] if isinstance(key, str) else list(key)
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            msg = f"upsert into {name!r}: the rows lack the key column(s) {missing}."
            raise InputError(msg)
        if frame.duplicated(subset=keys).any():
            dupes = frame.loc[frame.duplicated(subset=keys, keep=False), keys].drop_duplicates().head(5)
            msg = f"upsert into {name!r}: the rows repeat the key {keys}: {dupes.to_dict('records')}."
            raise InputError(msg)
        info, frame = self._prepare(name, frame, schema)
        self._session.index(info, keys)
        if len(frame):
            self._delete_keys(info, frame, keys)
        self._insert(info, frame)
        return self._count(name, len(frame))

    def replace(self, name: str, frame: pd.DataFrame, *, schema: LayerInfo | None = None) -> int:
        """Make layer ``name`` hold exactly ``frame`` (for derived layers recomputed whole)."""
        wanted = schema or frame_schema(name, frame)
        current = self._session.layers().get(name)
        if current is not None and (current.columns != wanted.columns
                                    or current.geometry_type != wanted.geometry_type):
            self._session.drop(current)
            current = None
        if current is None:
            self._session.create(wanted)
        else:
            self._session.delete(current, Filter())
        return self.append(name, frame, schema=wanted)

    def delete(self, name: str, *, where: Mapping[str, object]) -> int:
        """Delete the rows of ``name`` matching ``where``; return how many."""
        info = self._session.layers().get(name)
        if info is None:
            return 0
        if not where:
            msg = "delete needs a condition; use replace() to empty a layer."
            raise InputError(msg)
        query = _normalised(Filter(where))
        big = [(c, v) for c, v in query.where.items() if isinstance(v, list) and len(v) > _CHUNK]
        if big:
            column, values = big[0]
            count = sum(self._session.delete(info, replace(query, where={**query.where, column: values[i:i + _CHUNK]}))
                        for i in range(0, len(values), _CHUNK))
        else:
            count = self._session.delete(info, query)
        self._session.touched(info)
        return self._count(name, count)

    def drop_layer(self, name: str) -> None:
        """Remove layer ``name`` and its rows."""
        info = self._session.layers().get(name)
        if info is not None:
            self._session.drop(info)
            self._count(name, 0)

    def note(self) -> None:
        """Commit the audit row even if nothing else is written (e.g. a secret plan was viewed)."""
        self.changed.setdefault(AUDIT_LAYER, 0)

    def set_meta(self, values: Mapping[str, object]) -> None:
        """Set keys of the ``meta`` table."""
        frame = pd.DataFrame({"key": [str(k) for k in values], "value": [str(v) for v in values.values()]})
        self.upsert("meta", frame, key="key")

    # -- helpers ---------------------------------------------------------------------------
    def _count(self, name: str, count: int) -> int:
        self.changed[name] = self.changed.get(name, 0) + count
        return count

    def _prepare(self, name: str, frame: pd.DataFrame, schema: LayerInfo | None) -> tuple[LayerInfo, pd.DataFrame]:
        if isinstance(frame, gpd.GeoDataFrame):
            if frame.crs is None:
                msg = f"layer {name!r} has no CRS; convert it to WGS84 before saving."
                raise InputError(msg)
            if not frame.crs.equals(WGS84):
                frame = frame.to_crs(WGS84)
        wanted = schema or frame_schema(name, frame)
        current = self._session.layers().get(name)
        if current is None:
            self._session.create(wanted)
            return wanted, frame
        if (wanted.geometry_type is None) != (current.geometry_type is None):
            msg = (f"layer {name!r} {'has' if current.geometry_type else 'has no'} geometry, "
                   "but the rows to store differ; replace the layer instead.")
            raise InputError(msg)
        extra = [(c, k) for c, k in wanted.columns if c not in current.column_names]
        if extra:
            self._session.add_columns(current, extra)
            current = current.with_columns(extra)
        return current, frame

    def _insert(self, info: LayerInfo, frame: pd.DataFrame) -> None:
        if frame.empty:
            self._session.touched(info)
            return
        columns = [c for c in info.column_names if c in frame.columns]
        values = [column_values(frame[c], info.kind(c), layer=info.name) for c in columns]
        rows = list(zip(*values, strict=True)) if values else [()] * len(frame)
        geometries = None
        if info.geometry_type is not None:
            geometries = np.asarray(frame.geometry.array if isinstance(frame, gpd.GeoDataFrame)
                                    else [None] * len(frame), dtype=object)
        self._session.insert(info, columns, rows, geometries)
        self._session.touched(info)

    def _delete_keys(self, info: LayerInfo, frame: pd.DataFrame, keys: list[str]) -> None:
        if len(keys) == 1:
            values = list(dict.fromkeys(column_values(frame[keys[0]], info.kind(keys[0]), layer=info.name)))
            for start in range(0, len(values), _CHUNK):
                self._session.delete(info, Filter({keys[0]: values[start:start + _CHUNK]}))
            return
        for combination in frame[keys].drop_duplicates().itertuples(index=False):
            where = {k: column_values(pd.Series([v], name=k), info.kind(k), layer=info.name)[0]
                     for k, v in zip(keys, combination, strict=True)}
            self._session.delete(info, Filter(where))

    def audit_row(self) -> pd.DataFrame:
        """The ``audit_log`` row this transaction commits with."""
        layers = ",".join(n for n in self.changed if n != AUDIT_LAYER)
        return pd.DataFrame({"time": [now_local()], "actor": [self.actor], "action": [self.action],
                             "layers": [layers], "detail": [self.detail]})


class Store(ABC):
    """A county's workspace: read layers by query, write them in audited transactions.

    Open one with :func:`store.open_store` (a ``.gpkg`` path or a ``postgresql://`` URL).
    """

    #: How the workspace is named in messages (a path, or a URL without its password).
    label: str
    #: The location string that opens this workspace again (for caches and subprocesses).
    location: str

    @abstractmethod
    @contextlib.contextmanager
    def _session(self, *, write: bool) -> Iterator[Session]:
        """A session; with ``write``, inside a transaction that commits when the block ends."""

    @abstractmethod
    def version(self) -> str:
        """A key that changes whenever anything in the workspace is written (for caches)."""

    @abstractmethod
    def layer_version(self, name: str) -> str:
        """A key that changes whenever layer ``name`` is written (empty if it does not exist)."""

    @abstractmethod
    def exists(self) -> bool:
        """Tell whether the workspace has been created."""

    @abstractmethod
    def creating(self) -> contextlib.AbstractContextManager[Store]:
        """A fresh workspace to fill in one transaction, put in place only when the block succeeds."""

    def bind(self, county: str) -> Store:
        """This workspace as the home of ``county`` (a database URL may name it; a file holds one county)."""
        return self

    # -- reads -----------------------------------------------------------------------------
    def layer_names(self) -> list[str]:
        """The names of all layers of the workspace."""
        with self._session(write=False) as session:
            return sorted(session.layers())

    def has_layer(self, name: str) -> bool:
        """Tell whether the workspace holds layer ``name``."""
        return name in self.layer_names()

    def read(self, name: str, *, where: Mapping[str, object] | None = None,
             between: Mapping[str, tuple[object, object]] | None = None,
             bbox: tuple[float, float, float, float] | None = None,
             columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Read a layer, whole or by query.

        Parameters
        ----------
        name
            The layer.
        where
            Column → value (equal) or collection of values (any of them).
        between
            Column → ``(low, high)``, both inclusive; ``None`` leaves that side open. ISO dates
            and times compare as text.
        bbox
            ``(min_lon, min_lat, max_lon, max_lat)``: rows whose geometry's box meets it.
        columns
            Only these attribute columns (the geometry comes along for spatial layers).

        Raises
        ------
        WorkspaceError
            If the workspace, the layer or a column is missing.
        """
        query = Filter(where or {}, between or {}, bbox)
        with self._session(write=False) as session:
            return read_layer(session, name, query, label=self.label, columns=columns)

    def schemas(self) -> dict[str, LayerInfo]:
        """Every layer's schema (columns with kinds, geometry type), by name."""
        with self._session(write=False) as session:
            return dict(session.layers())

    def read_optional(self, name: str, **query: Any) -> pd.DataFrame | None:
        """Like :meth:`read`, but ``None`` when the layer does not exist yet."""
        with self._session(write=False) as session:
            if name not in session.layers():
                return None
            return read_layer(session, name, Filter(query.get("where") or {}, query.get("between") or {},
                                                     query.get("bbox")), label=self.label,
                              columns=query.get("columns"))

    def meta(self) -> dict[str, str]:
        """The ``meta`` table as a dict (county code and name, metric CRS, sources…)."""
        table = self.read("meta")
        return dict(zip(table["key"].astype(str), table["value"].astype(str), strict=True))

    def audit_log(self) -> pd.DataFrame:
        """The audit log: one row per write, with time, actor, action, layers and detail."""
        return self.read(AUDIT_LAYER)

    def validate_layout(self) -> None:
        """Raise :class:`WorkspaceError` naming every required layer that is missing."""
        names = self.layer_names()
        missing = [name for name in REQUIRED_LAYERS if name not in names]
        if missing:
            msg = f"workspace {self.label} lacks layers {missing}; rebuild it with `patrol build-workspace`."
            raise WorkspaceError(msg)

    # -- writes ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, actor: str, action: str, detail: str = "") -> Iterator[Transaction]:
        """A transaction: every write inside commits together with one audit row, or none does.

        Parameters
        ----------
        actor
            Who is acting (a login, or the CLI user); required and recorded.
        action
            What is done, e.g. ``"import-clues"``.
        detail
            Free text for the audit log; the block may change ``tx.detail`` before it ends.
        """
        if not str(actor or "").strip():
            msg = "every write must name the person acting (actor); none was given."
            raise InputError(msg)
        with self._session(write=True) as session:
            tx = Transaction(session, label=self.label, actor=str(actor).strip(), action=action, detail=detail)
            yield tx
            if not tx.changed:
                return
            audit = tx.audit_row()
            tx.append(AUDIT_LAYER, audit)
            log.info("%s: %s by %s (%s)", self.label, action, tx.actor, tx.detail)

    def record_event(self, *, actor: str, action: str, detail: str = "") -> None:
        """Write one audit row for something that changed no layer (a login, a view of a secret plan)."""
        with self.transaction(actor=actor, action=action, detail=detail) as tx:
            tx.note()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r})"


def database_failure(label: str, exc: Exception) -> StoreError:
    """A store error for a database that failed (not the user's fault)."""
    return StoreError(f"the workspace database {label} failed: {exc}. Nothing was changed; "
                      "try again, and tell the administrator if it persists.")
