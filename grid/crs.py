"""Coordinates done right for China: WGS84, CGCS2000, GCJ-02 and BD-09, and the metric CRS.

Everything is stored and displayed in WGS84 (``DISPLAY_CRS``). Distances, areas and buffers
use one projected CRS per county, the CGCS2000 3-degree Gauss-Krüger zone of its central
meridian (``metric_crs_for``). GCJ-02 (Amap, Tencent) and BD-09 (Baidu) are not in PROJ: they
are obfuscations of WGS84 defined by public formulas, implemented here vectorised with NumPy;
inverses are solved by fixed-point iteration to below 1e-9 degrees (about 0.1 mm).

There is no maintained library for these shifts (``prcoords`` and ``eviltransform`` are
pure-Python, per point, unmaintained since 2019); the tests check this module against
``prcoords`` as an independent reference.
"""

from __future__ import annotations

import re
from typing import Literal

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from core.errors import CRSError

DISPLAY_CRS = "EPSG:4326"
CGCS2000 = "EPSG:4490"
ShiftedCRS = Literal["gcj02", "bd09"]
SHIFTED_CRS: tuple[str, ...] = ("gcj02", "bd09")
CRS_CHOICES = "wgs84, cgcs2000, gcj02, bd09 or EPSG:<code>"

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0
_ALIASES = {
    "wgs84": DISPLAY_CRS,
    "wgs-84": DISPLAY_CRS,
    "epsg:4326": DISPLAY_CRS,
    "cgcs2000": CGCS2000,
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "amap": "gcj02",
    "高德": "gcj02",
    "火星坐标": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "baidu": "bd09",
    "百度": "bd09",
}


def parse_crs(name: str) -> str:
    """Return ``"gcj02"``, ``"bd09"`` or an ``EPSG:n`` string for a user's CRS name.

    Raises
    ------
    CRSError
        If the name is not one of wgs84, cgcs2000, gcj02, bd09 or a valid EPSG code.
    """
    key = str(name).strip().lower().replace(" ", "")
    if key in _ALIASES:
        return _ALIASES[key]
    match = re.fullmatch(r"(?:epsg:)?(\d{4,6})", key)
    if match:
        code = f"EPSG:{match.group(1)}"
        try:
            pyproj.CRS.from_user_input(code)
        except pyproj.exceptions.CRSError as exc:
            msg = f"unknown CRS {name!r}: {exc}. Use one of {CRS_CHOICES}."
            raise CRSError(msg) from exc
        return code
    msg = f"unknown CRS {name!r}. Use one of {CRS_CHOICES}."
    raise CRSError(msg)


def metric_crs_for(lon: float, lat: float) -> str:
    """Return the CGCS2000 3-degree Gauss-Krüger CRS (EPSG:4534-4554) for a point in China.

    Raises
    ------
    CRSError
        If the point lies outside China's longitude range (73.5°E–136.5°E).
    """
    if not (73.5 <= lon <= 136.5 and 0.0 <= lat <= 56.0):
        msg = (
            f"point ({lon:.4f}, {lat:.4f}) is outside China; coordinates must be WGS84 "
            "longitude/latitude of a Chinese county (check the CRS and the column order)."
        )
        raise CRSError(msg)
    central_meridian = 3 * round(lon / 3)
    return f"EPSG:{4534 + (central_meridian - 75) // 3}"


def _out_of_china(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _gcj_delta(
    lon: NDArray[np.float64], lat: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x, y = lon - 105.0, lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat += common + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon += common + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, d_lon), np.where(outside, 0.0, d_lat)


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Shift WGS84 longitude/latitude to GCJ-02 (unchanged outside China)."""
    lon_a, lat_a = _as_arrays(lon, lat)
    d_lon, d_lat = _gcj_delta(lon_a, lat_a)
    return lon_a + d_lon, lat_a + d_lat


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert GCJ-02 longitude/latitude to Baidu's BD-09."""
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _invert(
    forward: object, lon: ArrayLike, lat: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Solve forward(x) = target by fixed-point iteration (the shifts are near-translations)."""
    target_lon, target_lat = _as_arrays(lon, lat)
    x, y = target_lon.copy(), target_lat.copy()
    for _ in range(30):
        fx, fy = forward(x, y)  # type: ignore[operator]
        err_lon, err_lat = fx - target_lon, fy - target_lat
        x, y = x - err_lon, y - err_lat
        if np.all(np.abs(err_lon) < 1e-10) and np.all(np.abs(err_lat) < 1e-10):
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Undo the GCJ-02 shift (to below 1e-9 degrees)."""
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert BD-09 to GCJ-02 (exact inverse of ``gcj02_to_bd09``)."""
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert BD-09 to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert WGS84 to BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


_TO_WGS84 = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}
_FROM_WGS84 = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def points_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, crs: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert coordinate arrays in ``crs`` (any name ``parse_crs`` accepts) to WGS84."""
    code = parse_crs(crs)
    lon_a, lat_a = _as_arrays(lon, lat)
    if code in _TO_WGS84:
        return _TO_WGS84[code](lon_a, lat_a)
    if code == DISPLAY_CRS:
        return lon_a, lat_a
    transformer = pyproj.Transformer.from_crs(code, DISPLAY_CRS, always_xy=True)
    x, y = transformer.transform(lon_a, lat_a)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _transform_xy(func: object, geometry: gpd.GeoSeries) -> gpd.GeoSeries:
    def apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = func(coords[:, 0], coords[:, 1])  # type: ignore[operator]
        return np.column_stack([x, y])

    return gpd.GeoSeries(shapely.transform(geometry.values, apply), index=geometry.index)


def to_wgs84(frame: gpd.GeoDataFrame, crs: str | None = None) -> gpd.GeoDataFrame:
    """Return a copy of ``frame`` in WGS84.

    Parameters
    ----------
    frame
        Input features.
    crs
        What the coordinates really are, overriding the frame's own CRS; needed for GCJ-02 and
        BD-09, which files label as WGS84.

    Raises
    ------
    CRSError
        If neither ``crs`` nor the frame's own CRS says what the coordinates are.
    """
    if crs is None:
        if frame.crs is None:
            msg = f"the features have no CRS; say which one they are in ({CRS_CHOICES})."
            raise CRSError(msg)
        return frame.to_crs(DISPLAY_CRS)
    code = parse_crs(crs)
    if code not in _TO_WGS84:
        return frame.set_crs(code, allow_override=True).to_crs(DISPLAY_CRS)
    out = frame.copy()
    out.geometry = _transform_xy(_TO_WGS84[code], frame.geometry).set_crs(DISPLAY_CRS)
    return out.set_crs(DISPLAY_CRS, allow_override=True)


def wgs84_to_shifted(frame: gpd.GeoDataFrame, crs: ShiftedCRS) -> gpd.GeoDataFrame:
    """Return a copy of a WGS84 ``frame`` shifted to GCJ-02 or BD-09, for shifted basemaps."""
    out = frame.to_crs(DISPLAY_CRS).copy()
    out.geometry = _transform_xy(_FROM_WGS84[crs], out.geometry).set_crs(DISPLAY_CRS)
    return out


def to_metric(frame: gpd.GeoDataFrame, metric_crs: str) -> gpd.GeoDataFrame:
    """Project ``frame`` to the county's metric CRS (refusing frames without a CRS)."""
    if frame.crs is None:
        msg = "cannot project features without a CRS to metres; set their CRS first."
        raise CRSError(msg)
    return frame.to_crs(metric_crs)
