"""The PostGIS backend: many counties in one PostgreSQL database, for a bureau, a city or a province.

A workspace is named by a URL, ``postgresql://user[:password]@host:5432/patrol?county=360681``
(optionally ``&schema=NAME`` to keep the tables in a schema of their own). Every table carries a
``county_code`` column and every query filters on it; a catalogue table ``patrol_layers`` says
which layers a county has and with which columns, since two counties may differ. Writers of one
county are serialised by a transaction-scoped advisory lock; readers never wait.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import psycopg
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from core.errors import StoreError, WorkspaceError
from store.base import AUDIT_LAYER, Filter, LayerInfo, Rows, Session, Store, database_failure

log = logging.getLogger(__name__)

CATALOGUE = "patrol_layers"
_PG_TYPES = {"text": "TEXT", "integer": "BIGINT", "real": "DOUBLE PRECISION", "boolean": "BOOLEAN"}
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, name: str) -> str:
    """``"schema"."name"``: every table is named with its schema, so none is found in another one."""
    return f"{_quote(schema)}.{_quote(name)}"


def parse_url(location: str) -> tuple[URL, str | None, str | None]:
    """The database URL (psycopg driver), the county code and the schema named in ``location``."""
    try:
        url = make_url(location)
    except sa.exc.ArgumentError as exc:
        msg = f"{location!r} is not a database URL: {exc}"
        raise WorkspaceError(msg) from exc
    query = dict(url.query)
    county = query.pop("county", None)
    schema = query.pop("schema", None)
    if isinstance(county, tuple) or isinstance(schema, tuple):
        msg = f"{url.render_as_string(hide_password=True)}: give county= and schema= once each."
        raise WorkspaceError(msg)
    if county is not None and not re.fullmatch(r"\d{6}", county):
        msg = f"county={county!r} in the workspace URL is not a 6-digit county code (e.g. county=360681)."
        raise WorkspaceError(msg)
    if schema is not None and not _SCHEMA.match(schema):
        msg = f"schema={schema!r} in the workspace URL: use lower-case letters, digits and '_'."
        raise WorkspaceError(msg)
    return url.set(drivername="postgresql+psycopg", query=query), county, schema


def _engine(url: URL, schema: str | None) -> Engine:
    key = url.render_as_string(hide_password=False) + f"#{schema}"
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = sa.create_engine(
                url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args={"connect_timeout": 10}
            )
            _ENGINES[key] = engine
    return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests and forked processes call this)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


class PostGISSession(Session):
    """A connection to the database, scoped to one county."""

    def __init__(self, connection: Connection, county: str, schema: str) -> None:
        self.connection = connection
        self.county = county
        self.schema = schema
        self._layers: dict[str, LayerInfo] | None = None

    def _t(self, name: str) -> str:
        """A table of this workspace's schema, always qualified (never found on the search path)."""
        return qualified(self.schema, name)

    def _ddl_lock(self) -> None:
        """Schema changes of any county wait for each other (tables are shared between counties)."""
        self._execute("SELECT pg_advisory_xact_lock(hashtext('patrol:ddl'))")

    def _execute(self, sql: str, params: dict[str, Any] | None = None) -> Any:
        return self.connection.execute(sa.text(sql), params or {})

    def layers(self) -> dict[str, LayerInfo]:
        if self._layers is None:
            self._layers = {}
            if self._has_catalogue():
                rows = self._execute(
                    f"SELECT name, geometry_type, columns FROM {self._t(CATALOGUE)} "
                    "WHERE county_code = :county ORDER BY name",
                    {"county": self.county},
                )
                for name, geometry_type, columns in rows:
                    self._layers[name] = LayerInfo(name, tuple(tuple(c) for c in json.loads(columns)), geometry_type)
        return self._layers

    def _has_catalogue(self) -> bool:
        return bool(self._execute("SELECT to_regclass(:name) IS NOT NULL", {"name": self._t(CATALOGUE)}).scalar())

    def _where(self, query: Filter) -> tuple[str, dict[str, Any]]:
        clauses = ["county_code = :_county"]
        params: dict[str, Any] = {"_county": self.county}
        for i, (column, value) in enumerate(query.where.items()):
            if isinstance(value, list):
                clauses.append(f"{_quote(column)} = ANY(:w{i})")
                params[f"w{i}"] = value
            elif value is None:
                clauses.append(f"{_quote(column)} IS NULL")
            else:
                clauses.append(f"{_quote(column)} = :w{i}")
                params[f"w{i}"] = value
        for i, (column, (low, high)) in enumerate(query.between.items()):
            if low is not None:
                clauses.append(f"{_quote(column)} >= :lo{i}")
                params[f"lo{i}"] = low
            if high is not None:
                clauses.append(f"{_quote(column)} <= :hi{i}")
                params[f"hi{i}"] = high
        if query.bbox is not None:
            clauses.append("geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
            params.update(dict(zip(("minx", "miny", "maxx", "maxy"), query.bbox, strict=True)))
        return " WHERE " + " AND ".join(clauses), params

    def fetch(self, info: LayerInfo, columns: Sequence[str], query: Filter) -> tuple[Rows, list[Any] | None]:
        selected = [_quote(c) for c in columns]
        spatial = info.geometry_type is not None
        if spatial:
            selected.append("ST_AsBinary(geom)")
        where, params = self._where(query)
        rows = self._execute(
            f"SELECT {', '.join(selected) or 'NULL'} FROM {self._t(info.name)}{where} ORDER BY fid", params
        ).all()
        if not spatial:
            return [tuple(r[: len(columns)]) for r in rows], None
        return [tuple(r[:-1]) for r in rows], [None if r[-1] is None else bytes(r[-1]) for r in rows]

    def decode(self, raw: list[Any]) -> np.ndarray:
        return shapely.from_wkb(np.asarray(raw, dtype=object))

    def insert(self, info: LayerInfo, columns: Sequence[str], rows: Rows, geometries: np.ndarray | None) -> None:
        names = ["county_code", *(_quote(c) for c in columns)]
        if geometries is not None:
            names.append("geom")
            with_srid = shapely.set_srid(geometries, 4326)
            ewkb = shapely.to_wkb(with_srid, hex=True, include_srid=True, output_dimension=2)
            rows = [(*row, g) for row, g in zip(rows, ewkb, strict=True)]
        raw: Any = self.connection.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(  # type: ignore[union-attr]
                f"COPY {self._t(info.name)} ({', '.join(names)}) FROM STDIN"
            ) as copy,
        ):
            for row in rows:
                copy.write_row((self.county, *row))

    def delete(self, info: LayerInfo, query: Filter) -> int:
        where, params = self._where(query)
        return int(self._execute(f"DELETE FROM {self._t(info.name)}{where}", params).rowcount)

    def _physical_columns(self, table: str) -> dict[str, str] | None:
        rows = self._execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = :t AND table_schema = :s",
            {"t": table, "s": self.schema},
        ).all()
        if not rows:
            return None
        kinds = {
            "text": "text",
            "bigint": "integer",
            "integer": "integer",
            "double precision": "real",
            "boolean": "boolean",
        }
        return {str(r[0]): kinds.get(str(r[1]), "text") for r in rows}

    def _ensure_catalogue(self) -> None:
        if self._has_catalogue():
            return
        self._ddl_lock()
        self._execute(
            f"CREATE TABLE IF NOT EXISTS {self._t(CATALOGUE)} (county_code TEXT NOT NULL, name TEXT NOT NULL, "
            "geometry_type TEXT, columns TEXT NOT NULL, changed TEXT, PRIMARY KEY (county_code, name))"
        )

    def _save_catalogue(self, info: LayerInfo) -> None:
        self._execute(
            f"INSERT INTO {self._t(CATALOGUE)} (county_code, name, geometry_type, columns) "
            "VALUES (:county, :name, :geometry_type, :columns) "
            "ON CONFLICT (county_code, name) DO UPDATE SET geometry_type = EXCLUDED.geometry_type, "
            "columns = EXCLUDED.columns",
            {
                "county": self.county,
                "name": info.name,
                "geometry_type": info.geometry_type,
                "columns": json.dumps([list(c) for c in info.columns]),
            },
        )
        self.layers()[info.name] = info

    def create(self, info: LayerInfo) -> None:
        self._ensure_catalogue()
        self._ddl_lock()
        physical = self._physical_columns(info.name)
        if physical is None:
            columns = [
                "fid BIGSERIAL PRIMARY KEY",
                "county_code TEXT NOT NULL",
                *(f"{_quote(c)} {_PG_TYPES[k]}" for c, k in info.columns),
            ]
            if info.geometry_type is not None:
                columns.append("geom geometry(Geometry, 4326)")
            self._execute(f"CREATE TABLE {self._t(info.name)} ({', '.join(columns)})")
            self._execute(f"CREATE INDEX {_quote(f'{info.name}_county')} ON {self._t(info.name)} (county_code)")
            if info.geometry_type is not None:
                self._execute(f"CREATE INDEX {_quote(f'{info.name}_geom')} ON {self._t(info.name)} USING GIST (geom)")
        else:
            if info.geometry_type is not None and "geom" not in physical:
                msg = f"table {info.name!r} exists without geometry in the database; another county's layer clashes."
                raise StoreError(msg)
            info = self._align(info, physical)
        self._save_catalogue(info)

    def _align(self, info: LayerInfo, physical: dict[str, str]) -> LayerInfo:
        """Add the columns the table lacks; a column another county made keeps its stored kind."""
        missing = [(c, k) for c, k in info.columns if c not in physical]
        if missing:
            self._ddl_lock()
        for column, kind in missing:
            self._execute(
                f"ALTER TABLE {self._t(info.name)} ADD COLUMN IF NOT EXISTS {_quote(column)} {_PG_TYPES[kind]}"
            )
        columns = tuple((c, physical.get(c, k)) for c, k in info.columns)
        return LayerInfo(info.name, columns, info.geometry_type)

    def add_columns(self, info: LayerInfo, extra: Sequence[tuple[str, str]]) -> None:
        physical = self._physical_columns(info.name) or {}
        aligned = self._align(LayerInfo(info.name, tuple(extra), info.geometry_type), physical)
        self._save_catalogue(info.with_columns(aligned.columns))

    def drop(self, info: LayerInfo) -> None:
        self.delete(info, Filter())
        self._execute(
            f"DELETE FROM {self._t(CATALOGUE)} WHERE county_code = :county AND name = :name",
            {"county": self.county, "name": info.name},
        )
        self.layers().pop(info.name, None)

    def touched(self, info: LayerInfo) -> None:
        self._execute(
            f"UPDATE {self._t(CATALOGUE)} SET changed = clock_timestamp()::text "
            "WHERE county_code = :county AND name = :name",
            {"county": self.county, "name": info.name},
        )

    def index(self, info: LayerInfo, columns: Sequence[str]) -> None:
        name = f"{info.name}_{'_'.join(columns)}_key"[:63]
        exists = self._execute("SELECT 1 FROM pg_indexes WHERE schemaname = :s AND indexname = :i",
                               {"s": self.schema, "i": name}).scalar()
        if exists:  # the common case takes no lock on the shared table
            return
        self._ddl_lock()
        self._execute(
            f"CREATE INDEX IF NOT EXISTS {_quote(name)} ON {self._t(info.name)} "
            f"(county_code, {', '.join(_quote(c) for c in columns)})"
        )


def _sqlstate(exc: BaseException) -> str:
    orig = getattr(exc, "orig", exc)
    return str(getattr(orig, "sqlstate", "") or "")


class PostGISStore(Store):
    """One county's workspace in a PostgreSQL + PostGIS database."""

    def __init__(self, location: str) -> None:
        self.url, county, schema = parse_url(location)
        self.schema = schema or "public"
        self._county = county
        self.label = self.url.render_as_string(hide_password=True).replace("postgresql+psycopg", "postgresql")
        query = [f"county={county}"] if county else []
        query += [f"schema={schema}"] if schema else []
        if query:
            self.label += "?" + "&".join(query)
        self.location = location

    @property
    def county(self) -> str:
        """The county this store reads and writes (from ``?county=`` or the database's only county)."""
        if self._county is None:
            counties = self.counties()
            if len(counties) != 1:
                listed = ", ".join(counties) or "none yet"
                msg = f"{self.label}: say which county with ?county=CODE in the URL (the database holds: {listed})."
                raise WorkspaceError(msg)
            self._county = counties[0]
        return self._county

    def for_county(self, county: str) -> PostGISStore:
        """The same database, bound to ``county``."""
        query = {**dict(self.url.query), "county": county}
        if self.schema != "public":
            query["schema"] = self.schema
        return PostGISStore(self.url.set(drivername="postgresql", query=query).render_as_string(hide_password=False))

    def bind(self, county: str) -> PostGISStore:
        """The same database bound to ``county``; :class:`WorkspaceError` if the URL names another."""
        if self._county not in (None, county):
            msg = f"the data describe county {county}, but the workspace URL names county {self._county}."
            raise WorkspaceError(msg)
        return self.for_county(county)

    def _engine(self) -> Engine:
        return _engine(self.url, None)

    def counties(self) -> list[str]:
        """The counties the database holds (in this schema)."""
        catalogue = qualified(self.schema, CATALOGUE)
        try:
            with self._engine().connect() as connection:
                if not connection.execute(sa.text("SELECT to_regclass(:n) IS NOT NULL"), {"n": catalogue}).scalar():
                    return []
                rows = connection.execute(sa.text(f"SELECT DISTINCT county_code FROM {catalogue} ORDER BY 1"))
                return [r[0] for r in rows]
        except sa.exc.DBAPIError as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: BaseException) -> StoreError:
        """A store error that says whether the server could not be reached or a statement failed."""
        state = _sqlstate(exc)
        if isinstance(exc, sa.exc.OperationalError) and (not state or state.startswith("08")):
            return StoreError(
                f"cannot reach the workspace database {self.label}: {getattr(exc, 'orig', exc)}. "
                "Check that the server runs and the URL is right."
            )
        return database_failure(self.label, exc)  # type: ignore[arg-type]

    def exists(self) -> bool:
        try:
            with self._session(write=False) as session:
                return bool(session.layers())
        except WorkspaceError:
            return False

    @contextlib.contextmanager
    def _session(self, *, write: bool) -> Iterator[PostGISSession]:
        county = self.county
        try:
            with self._engine().connect() as connection:
                if write:
                    with connection.begin():
                        self._prepare_database(connection)
                        connection.execute(
                            sa.text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                            {"key": f"patrol:{self.schema}:{county}"},
                        )
                        yield PostGISSession(connection, county, self.schema)
                else:
                    with connection.begin():
                        connection.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
                        yield PostGISSession(connection, county, self.schema)
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            raise self._failure(exc) from exc

    def _prepare_database(self, connection: Connection) -> None:
        """The schema and PostGIS (always in ``public``, so no workspace's schema owns it), made once."""
        has_schema = connection.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"),
                                        {"s": self.schema}).scalar()
        has_postgis = connection.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")).scalar()
        if has_schema and has_postgis:
            return
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('patrol:ddl'))"))
        connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {_quote(self.schema)}"))
        if not has_postgis:
            connection.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public"))

    def version(self) -> str:
        with self._session(write=False) as session:
            if AUDIT_LAYER not in session.layers():
                return "0"
            last = session.connection.execute(
                sa.text(f"SELECT coalesce(max(fid), 0) FROM {qualified(self.schema, AUDIT_LAYER)} "
                        "WHERE county_code = :c"),
                {"c": session.county},
            ).scalar()
        return str(last)

    def layer_version(self, name: str) -> str:
        with self._session(write=False) as session:
            if not session._has_catalogue():
                return ""
            changed = session.connection.execute(
                sa.text(f"SELECT changed FROM {qualified(self.schema, CATALOGUE)} "
                        "WHERE county_code = :c AND name = :n"),
                {"c": session.county, "n": name},
            ).scalar()
        return "" if changed is None else str(changed)

    @contextlib.contextmanager
    def creating(self) -> Iterator[PostGISStore]:
        """The county emptied and rebuilt inside one transaction (see :meth:`Store.transaction`)."""
        yield self
