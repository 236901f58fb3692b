"""GeoPackage geometry blobs (a small header, an envelope, then ISO WKB) and the SQL functions
that GDAL's R-tree triggers call (``ST_MinX`` … ``ST_IsEmpty``), so that rows written through
plain SQLite keep a GDAL-made file's spatial index right.

Specification: OGC GeoPackage 1.4, §2.1.3 "Geometry Encoding".
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Sequence

import numpy as np
import shapely

WGS84_SRS_ID = 4326
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}
_HEADER = struct.Struct("<2sBBi")
_XY_ENVELOPE = struct.Struct("<4d")
_LITTLE_ENDIAN_XY = 0b0000_0011  # byte order little-endian, envelope [minx, maxx, miny, maxy]
_LITTLE_ENDIAN_EMPTY = 0b0001_0001  # byte order little-endian, empty geometry, no envelope


def encode(geometries: Sequence[object] | np.ndarray, *, srs_id: int = WGS84_SRS_ID) -> list[bytes | None]:
    """GeoPackage blobs for shapely geometries (``None`` stays ``None``)."""
    array = np.asarray(geometries, dtype=object)
    wkb = shapely.to_wkb(array, byte_order=1, output_dimension=2, flavor="iso")
    bounds = shapely.bounds(array)
    empty = shapely.is_empty(array)
    blobs: list[bytes | None] = []
    for value, box, is_empty in zip(wkb, bounds, empty, strict=True):
        if value is None:
            blobs.append(None)
        elif is_empty:
            blobs.append(_HEADER.pack(b"GP", 0, _LITTLE_ENDIAN_EMPTY, srs_id) + value)
        else:
            minx, miny, maxx, maxy = box
            blobs.append(_HEADER.pack(b"GP", 0, _LITTLE_ENDIAN_XY, srs_id)
                         + _XY_ENVELOPE.pack(minx, maxx, miny, maxy) + value)
    return blobs


def _wkb_part(blob: bytes) -> bytes:
    if blob[:2] != b"GP":
        msg = "not a GeoPackage geometry blob (no 'GP' magic)"
        raise ValueError(msg)
    if blob[3] & 0b0010_0000:
        msg = "an extended GeoPackage geometry (a vendor's own type) cannot be read"
        raise ValueError(msg)
    envelope = _ENVELOPE_BYTES.get((blob[3] >> 1) & 0b111)
    if envelope is None:
        msg = "GeoPackage geometry blob with an invalid envelope code"
        raise ValueError(msg)
    return blob[8 + envelope:]


def decode(blobs: Sequence[bytes | None]) -> np.ndarray:
    """Shapely geometries from GeoPackage blobs (``None`` stays ``None``)."""
    parts = [None if blob is None else _wkb_part(bytes(blob)) for blob in blobs]
    return shapely.from_wkb(np.asarray(parts, dtype=object))


def _envelope(blob: bytes | None) -> tuple[float, float, float, float] | None:
    """``(minx, maxx, miny, maxy)`` from the header, or computed when the header has none."""
    if blob is None:
        return None
    blob = bytes(blob)
    if (blob[3] >> 1) & 0b111:
        order = "<" if blob[3] & 0b1 else ">"  # the flags' byte-order bit covers the header and envelope
        minx, maxx, miny, maxy = struct.unpack_from(f"{order}4d", blob, 8)
        return minx, maxx, miny, maxy
    geometry = shapely.from_wkb(_wkb_part(blob))
    if geometry.is_empty:
        return None
    minx, miny, maxx, maxy = geometry.bounds
    return minx, maxx, miny, maxy


def _is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    blob = bytes(blob)
    return int(bool(blob[3] & 0b0001_0000) or _envelope(blob) is None)


def _coordinate(index: int):
    def value(blob: bytes | None) -> float | None:
        box = _envelope(blob)
        return None if box is None else box[index]
    return value


def register_functions(connection: sqlite3.Connection) -> None:
    """Give ``connection`` the SQL functions GDAL's R-tree triggers and bbox queries call."""
    connection.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for index, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        connection.create_function(name, 1, _coordinate(index), deterministic=True)
