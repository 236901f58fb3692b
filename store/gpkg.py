"""The GeoPackage backend: one county in one SQLite file, for one machine and the embedded default.

Writes are row-level SQL in one SQLite transaction (``BEGIN IMMEDIATE``, WAL journal), so a
crash leaves the last committed state and readers never wait for a writer. The file stays a
standard GeoPackage (OGC 1.4) that QGIS or GDAL open; layers GDAL made keep their R-tree index
because the functions its triggers call are registered on every connection.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from pyproj import CRS

from core.errors import CorruptStoreError, WorkspaceError
from store import geometry
from store.base import AUDIT_LAYER, Filter, LayerInfo, Rows, Session, Store, database_failure

log = logging.getLogger(__name__)

_SQLITE_TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL", "boolean": "BOOLEAN"}
_BUSY_TIMEOUT_MS = 30_000


def _kind(declared: str) -> str:
    text = declared.upper()
    if text == "BOOLEAN":
        return "boolean"
    if "INT" in text:
        return "integer"
    if any(word in text for word in ("REAL", "FLOA", "DOUB", "NUMERIC")):
        return "real"
    return "text"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'



def _switch_to_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode; the switch needs the file to itself and does not wait by itself (SQLite
    answers "locked" at once), so it is retried until the busy timeout when writers start together."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)

class GeoPackageSession(Session):
    """A connection to one GeoPackage file."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self._layers: dict[str, LayerInfo] | None = None
        self._geometry_columns: dict[str, str] = {}

    def layers(self) -> dict[str, LayerInfo]:
        if self._layers is None:
            self._layers = self._read_catalog()
        return self._layers

    def _read_catalog(self) -> dict[str, LayerInfo]:
        rows = self.connection.execute(
            "SELECT c.table_name, g.column_name, g.geometry_type_name FROM gpkg_contents c "
            "LEFT JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
            "WHERE c.data_type IN ('features', 'attributes')"
        ).fetchall()
        layers = {}
        for table, geometry_column, geometry_type in rows:
            info = self.connection.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
            columns = tuple((str(c[1]), _kind(str(c[2]))) for c in info if not c[5] and c[1] != geometry_column)
            layers[str(table)] = LayerInfo(str(table), columns, str(geometry_type).upper() if geometry_column else None)
            if geometry_column:
                self._geometry_columns[str(table)] = str(geometry_column)
        return layers

    def _where(self, info: LayerInfo, query: Filter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in query.where.items():
            if isinstance(value, list):
                if not value:
                    clauses.append("0")
                    continue
                clauses.append(f"{_quote(column)} IN ({','.join('?' * len(value))})")
                params.extend(value)
            elif value is None:
                clauses.append(f"{_quote(column)} IS NULL")
            else:
                clauses.append(f"{_quote(column)} = ?")
                params.append(value)
        for column, (low, high) in query.between.items():
            if low is not None:
                clauses.append(f"{_quote(column)} >= ?")
                params.append(low)
            if high is not None:
                clauses.append(f"{_quote(column)} <= ?")
                params.append(high)
        if query.bbox is not None:
            geom = _quote(self._geometry_columns[info.name])
            clauses.append(
                f"{geom} IS NOT NULL AND ST_MaxX({geom}) >= ? AND ST_MinX({geom}) <= ? "
                f"AND ST_MaxY({geom}) >= ? AND ST_MinY({geom}) <= ?"
            )
            minx, miny, maxx, maxy = query.bbox
            params.extend([minx, maxx, miny, maxy])
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def fetch(self, info: LayerInfo, columns: Sequence[str], query: Filter) -> tuple[Rows, list[Any] | None]:
        selected = [_quote(c) for c in columns]
        spatial = info.geometry_type is not None
        if spatial:
            selected.append(_quote(self._geometry_columns[info.name]))
        where, params = self._where(info, query)
        sql = f"SELECT {', '.join(selected) or 'NULL'} FROM {_quote(info.name)}{where} ORDER BY rowid"
        rows = self.connection.execute(sql, params).fetchall()
        if not spatial:
            return [tuple(r[: len(columns)]) for r in rows], None
        return [tuple(r[:-1]) for r in rows], [r[-1] for r in rows]

    def decode(self, raw: list[Any]) -> np.ndarray:
        return geometry.decode(raw)

    def insert(self, info: LayerInfo, columns: Sequence[str], rows: Rows, geometries: np.ndarray | None) -> None:
        names = [_quote(c) for c in columns]
        if geometries is not None:
            names.append(_quote(self._geometry_columns[info.name]))
            blobs = geometry.encode(geometries)
            rows = [(*row, blob) for row, blob in zip(rows, blobs, strict=True)]
        if not names:
            self.connection.executemany(f"INSERT INTO {_quote(info.name)} DEFAULT VALUES", [() for _ in rows])
            return
        sql = f"INSERT INTO {_quote(info.name)} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        self.connection.executemany(sql, rows)

    def delete(self, info: LayerInfo, query: Filter) -> int:
        where, params = self._where(info, query)
        return self.connection.execute(f"DELETE FROM {_quote(info.name)}{where}", params).rowcount

    def create(self, info: LayerInfo) -> None:
        columns = ["fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL"]
        if info.geometry_type is not None:
            columns.append(f"geom {info.geometry_type}")
        columns += [f"{_quote(c)} {_SQLITE_TYPES[k]}" for c, k in info.columns]
        self.connection.execute(f"CREATE TABLE {_quote(info.name)} ({', '.join(columns)})")
        data_type = "features" if info.geometry_type is not None else "attributes"
        self.connection.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?, ?, ?, ?)",
            (info.name, data_type, info.name, geometry.WGS84_SRS_ID if info.geometry_type else None),
        )
        if info.geometry_type is not None:
            self.connection.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
                (info.name, info.geometry_type, geometry.WGS84_SRS_ID),
            )
            self._geometry_columns[info.name] = "geom"
        self.layers()[info.name] = info

    def add_columns(self, info: LayerInfo, extra: Sequence[tuple[str, str]]) -> None:
        for column, kind in extra:
            self.connection.execute(
                f"ALTER TABLE {_quote(info.name)} ADD COLUMN {_quote(column)} {_SQLITE_TYPES[kind]}"
            )
        self.layers()[info.name] = info.with_columns(extra)

    def drop(self, info: LayerInfo) -> None:
        geometry_column = self._geometry_columns.pop(info.name, None)
        self.connection.execute(f"DROP TABLE {_quote(info.name)}")
        if geometry_column:
            self.connection.execute(f"DROP TABLE IF EXISTS {_quote(f'rtree_{info.name}_{geometry_column}')}")
        for table in ("gpkg_geometry_columns", "gpkg_extensions", "gpkg_ogr_contents", "gpkg_contents"):
            if self._has_table(table):
                self.connection.execute(f"DELETE FROM {table} WHERE lower(table_name) = lower(?)", (info.name,))
        self.layers().pop(info.name, None)

    def index(self, info: LayerInfo, columns: Sequence[str]) -> None:
        name = _quote(f"idx_{info.name}_{'_'.join(columns)}")
        self.connection.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {_quote(info.name)} ({', '.join(_quote(c) for c in columns)})"
        )

    def touched(self, info: LayerInfo) -> None:
        self.connection.execute(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = ?",
            (info.name,),
        )
        if self._has_table("gpkg_ogr_contents"):  # GDAL's cached feature count: let GDAL count again
            self.connection.execute(
                "UPDATE gpkg_ogr_contents SET feature_count = NULL WHERE lower(table_name) = lower(?)", (info.name,)
            )

    def _has_table(self, name: str) -> bool:
        return (
            self.connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone()
            is not None
        )


def _initialise(connection: sqlite3.Connection) -> None:
    """Make an empty database a GeoPackage: the three required tables and the WGS84 SRS."""
    connection.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    connection.execute("PRAGMA user_version = 10400")
    connection.execute(
        "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, "
        "organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, "
        "description TEXT)"
    )
    connection.executemany(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
            (
                "WGS 84 geodetic",
                4326,
                "EPSG",
                4326,
                CRS.from_epsg(4326).to_wkt("WKT1_GDAL"),
                "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
            ),
        ],
    )
    connection.execute(
        "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, "
        "identifier TEXT UNIQUE, description TEXT DEFAULT '', "
        "last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), "
        "min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, "
        "CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))"
    )
    connection.execute(
        "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
        "geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, "
        "CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), "
        "CONSTRAINT uk_gc_table_name UNIQUE (table_name), "
        "CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), "
        "CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))"
    )


class GeoPackageStore(Store):
    """A workspace kept in one GeoPackage file.

    Parameters
    ----------
    path
        The ``.gpkg`` file. It must exist, except for :meth:`create`.
    """

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.label = str(self.path)
        self.location = str(self.path)
        self.read_only = read_only

    def exists(self) -> bool:
        return self.path.is_file()

    def _require_file(self) -> None:
        if not self.path.is_file():
            msg = f"workspace {self.path} does not exist; build one with `patrol build-workspace ... --out FILE.gpkg`."
            raise WorkspaceError(msg)

    def _connect(self, *, write: bool, path: Path | None = None) -> sqlite3.Connection:
        target = path or self.path
        if write:
            connection = sqlite3.connect(
                target, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        else:
            uri = f"file:{quote(str(target.resolve()))}?mode=ro"
            connection = sqlite3.connect(
                uri, uri=True, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
            )
        connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        geometry.register_functions(connection)
        return connection

    @contextlib.contextmanager
    def _session(self, *, write: bool) -> Iterator[GeoPackageSession]:
        self._require_file()
        if write and self.read_only:
            msg = (
                f"{self.label} is a sample shipped with the program and is never changed; work on your "
                "own copy (the app and `patrol` find it by name, e.g. `guixi_360681`, in the data home)."
            )
            raise WorkspaceError(msg)
        try:
            connection = self._connect(write=write)
        except sqlite3.Error as exc:
            raise database_failure(self.label, exc) from exc
        try:
            self._check_geopackage(connection)
            if write:
                if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    _switch_to_wal(connection)
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("BEGIN IMMEDIATE")
            session = GeoPackageSession(connection)
            try:
                yield session
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
            if write:
                connection.commit()
        except sqlite3.DatabaseError as exc:
            if connection.in_transaction:
                connection.rollback()
            raise self._failure(exc) from exc
        finally:
            connection.close()

    def _failure(self, exc: sqlite3.Error) -> Exception:
        text = str(exc).lower()
        if "not a database" in text or "malformed" in text or "no such table: gpkg_contents" in text:
            return CorruptStoreError(
                f"{self.label} is damaged or is not a workspace GeoPackage ({exc}); "
                "restore it from a backup or rebuild it with `patrol build-workspace`."
            )
        return database_failure(self.label, exc)

    def _check_geopackage(self, connection: sqlite3.Connection) -> None:
        found = connection.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='gpkg_contents'").fetchone()
        if found is None:
            msg = f"{self.label} is not a GeoPackage workspace (it has no gpkg_contents table)."
            raise CorruptStoreError(msg)

    def version(self) -> str:
        if not self.path.is_file():
            return "missing"
        with self._session(write=False) as session:  # asked on every rerun of a page: one cheap query
            last = 0
            if session._has_table(AUDIT_LAYER):
                last = session.connection.execute(f"SELECT coalesce(max(rowid), 0) FROM {AUDIT_LAYER}").fetchone()[0]
        return f"{self.path.stat().st_ino}:{last}"

    def layer_version(self, name: str) -> str:
        with self._session(write=False) as session:
            row = session.connection.execute(
                "SELECT last_change FROM gpkg_contents WHERE table_name = ?", (name,)
            ).fetchone()
        return "" if row is None else f"{self.path.stat().st_ino}:{row[0]}"

    @contextlib.contextmanager
    def creating(self) -> Iterator[GeoPackageStore]:
        """A new, empty GeoPackage beside the target that replaces it only if the block succeeds.

        Used to build a workspace: a failed build leaves the old file (or none) and no temporary file.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{self.path.stem}.building.", suffix=".gpkg", dir=self.path.parent)
        os.close(handle)
        tmp = Path(name)
        try:
            connection = sqlite3.connect(tmp, isolation_level=None)
            try:
                _initialise(connection)
            finally:
                connection.close()
            fresh = GeoPackageStore(tmp)
            fresh.label = self.label
            yield fresh
            with contextlib.closing(sqlite3.connect(tmp, isolation_level=None)) as connection:
                connection.execute("PRAGMA journal_mode = DELETE")  # fold any WAL back into the file
            os.replace(tmp, self.path)
            for suffix in ("-wal", "-shm"):
                Path(str(self.path) + suffix).unlink(missing_ok=True)
        finally:
            tmp.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm", "-journal"):
                Path(str(tmp) + suffix).unlink(missing_ok=True)
