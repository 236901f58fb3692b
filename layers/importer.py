"""Import institution registries and complaint clues into a workspace.

Every valid row is imported; every invalid row is returned as a :class:`Reject` naming its
spreadsheet row, the column and the reason (and written to ``*.rejected.csv`` by
:func:`write_rejects`). Rows are keyed by a stable id (credit code, permit number or clue
number), so importing the same file twice changes nothing. The import is one workspace write:
it either lands completely or not at all.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from access.roles import Permission, Principal, authorize
from core.clock import TIMEZONE, as_local, now_local
from core.errors import CRSError, InputError, SchemaError
from core.text import Text, join
from core.untrusted import safe_cell
from grid.crs import CRS_CHOICES, DISPLAY_CRS, parse_crs, points_to_wgs84
from layers import schema
from layers.geocode import AddressIndex, attach_cells
from layers.tables import Table, read_table
from store import Store
from store.rows import changed_rows

KINDS = ("institutions", "clues")
COUNTY_MARGIN_M = 1000.0
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass(frozen=True)
class Reject:
    """One rejected spreadsheet row: where, which columns (the file's own headers) and why."""

    row: int
    columns: Text
    reason: Text
    values: dict[str, str]


@dataclass
class ImportResult:
    """What an import did."""

    kind: str
    source: str
    rows: int
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    to_confirm: pd.DataFrame = field(default_factory=pd.DataFrame)
    unknown_columns: list[str] = field(default_factory=list)
    encoding: str = ""

    def summary(self) -> Text:
        """What the import did, in one line."""
        return Text(
            f"{self.source}（{self.encoding}）：共 {self.rows} 行，新增 {self.added}，更新 {self.updated}，"
            f"未变 {self.unchanged}，未导入 {len(self.rejects)}。",
            f"{self.source} ({self.encoding}): {self.rows} rows — {self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {len(self.rejects)} rejected.",
        )

    def lines(self) -> list[Text]:
        """A human summary, one line each: the summary, ignored columns, rejects, locations to confirm."""
        out = [self.summary()]
        if self.unknown_columns:
            out.append(Text(f"未识别的列（已忽略）：{'、'.join(self.unknown_columns)}",
                            f"ignored columns: {', '.join(self.unknown_columns)}"))
        for reject in self.rejects:
            out.append(Text(f"第 {reject.row} 行［{reject.columns.zh}］：{reject.reason.zh}",
                            f"row {reject.row} [{reject.columns.en}]: {reject.reason.en}"))
        if not self.to_confirm.empty:
            out.append(Text(f"{len(self.to_confirm)} 行按地址定位但把握不大，请人工确认：",
                            f"{len(self.to_confirm)} located by address with low confidence, to confirm:"))
            for row in self.to_confirm.itertuples():
                note = Text.loads(row.location_note)
                out.append(Text(f"{row.id}  {row.address}  → {note.zh}（{row.location_confidence:.2f}）",
                                f"{row.id}  {row.address}  → {note.en} ({row.location_confidence:.2f})"))
        return out


def credit_code_problem(code: str) -> Text | None:
    """Check an 18-character unified social credit code (GB 32100-2015); return the problem or None."""
    code = code.strip().upper()
    if len(code) != 18:
        return Text(f"应为18位，实为{len(code)}位", f"has {len(code)} characters instead of 18")
    bad = "".join(c for c in code if c not in _CREDIT_CHARS)
    if bad:
        return Text(f"含非法字符{bad}（不用I、O、S、V、Z）",
                    f"holds {bad}, which a credit code never uses (no I, O, S, V, Z)")
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    expected = _CREDIT_CHARS[(31 - total % 31) % 31]
    if code[17] != expected:
        return Text(f"校验位错误（最后一位应为{expected}）",
                    f"wrong check character (the last one should be {expected})")
    return None


def with_check_digit(first17: str) -> str:
    """Complete a 17-character credit-code body with its check character."""
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return first17 + _CREDIT_CHARS[(31 - total % 31) % 31]


_EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # day 0 of Excel's (1900) date system
_EXCEL_SERIAL_DAYS = (20000, 80000)  # 1954–2119: a bare number outside this is not read as a date


def parse_time(text: str) -> pd.Timestamp | None:
    """Parse a date or date-time as written in Chinese spreadsheets, in Asia/Shanghai; None if not.

    Reads 2026-11-05 19:30, 2026/11/5, 2026.11.5, 2026年11月5日 19时30分, Excel date cells and bare
    Excel serial numbers (46331.8125 = 2026-11-05 19:30); impossible dates and times (2026-02-30,
    25:61) and words (昨天晚上) give ``None``.
    """
    text = unicodedata.normalize("NFKC", str(text)).strip()
    if re.fullmatch(r"\d{5}(\.\d+)?", text) and _EXCEL_SERIAL_DAYS[0] <= float(text) <= _EXCEL_SERIAL_DAYS[1]:
        stamp = _EXCEL_EPOCH + pd.Timedelta(days=float(text))
        return as_local(stamp.round("s"))
    cleaned = re.sub(r"[年月/.]", "-", text)
    cleaned = re.sub(r"日\s*", " ", cleaned).replace("时", ":").replace("分", "").replace("秒", "").strip()
    cleaned = re.sub(r"\s+", " ", cleaned)
    if not cleaned:
        return None
    try:
        stamp = pd.Timestamp(cleaned)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    return as_local(stamp)


def _stable_id(prefix: str, *parts: str) -> str:
    return prefix + hashlib.sha1("|".join(parts).encode()).hexdigest()[:10]


class _Rows:
    """Collects the problems of each row, against the columns as the file names them."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.problems: dict[int, list[tuple[list[Text], Text]]] = {}
        self.aliases: dict[str, str] = {}  # a derived field → the column it came from

    def header(self, field_name: str) -> Text:
        """The column's header in the file, else the schema's name for it (a column the file lacks)."""
        field_name = self.aliases.get(field_name, field_name)
        if field_name in self.table.columns:
            return Text.same(self.table.columns[field_name])
        return Text(schema.HEADER_LABELS_ZH.get(field_name, field_name),
                    schema.HEADER_LABELS_EN.get(field_name, field_name))

    def fail(self, row: int, fields: str | tuple[str, ...], reason: Text) -> None:
        """Reject ``row`` for ``reason``, against the column ``fields`` (or each of several)."""
        names = (fields,) if isinstance(fields, str) else fields
        headers = list(dict.fromkeys(self.header(f) for f in names))
        self.problems.setdefault(row, []).append((headers, reason))

    def rejects(self) -> list[Reject]:
        frame = self.table.frame
        out = []
        for row, items in sorted(self.problems.items()):
            columns = join(dict.fromkeys(h for headers, _ in items for h in headers), ",", ",")
            reason = join(Text(f"{join(headers, ',', ',').zh}：{r.zh}", f"{join(headers, ',', ',').en}: {r.en}")
                          for headers, r in items)
            values = {self.table.columns[f]: str(v) for f, v in frame.loc[row].items() if f in self.table.columns}
            out.append(Reject(row, columns, reason, values))
        return out


_HEMISPHERES = {"E": 1, "N": 1, "W": -1, "S": -1}
_HEMISPHERE_WORDS = {"东经": 1, "北纬": 1, "西经": -1, "南纬": -1}
_DMS = re.compile(r"^(\d+(?:\.\d+)?)[°度](?:(\d+(?:\.\d+)?)['′分])?(?:(\d+(?:\.\d+)?)(?:\"|″|′′|''|秒))?$")


def parse_coordinate(text: str) -> float | None:
    """A longitude or latitude as people type it, or ``None`` if it is not one.

    Full-width digits and signs (an IME's １１７．２２), degree signs, degrees-minutes-seconds
    (117°13′36.9″), hemisphere letters (117.226916°E, N28.29) and words (东经117.22) are read.
    """
    value = "".join(unicodedata.normalize("NFKC", str(text)).split())
    if not value:
        return None
    sign = 1
    for word, factor in _HEMISPHERE_WORDS.items():
        if word in value:
            sign, value = factor, value.replace(word, "")
    if value[:1].upper() in _HEMISPHERES:
        sign, value = _HEMISPHERES[value[0].upper()], value[1:]
    elif value[-1:].upper() in _HEMISPHERES:
        sign, value = _HEMISPHERES[value[-1].upper()], value[:-1]
    try:
        return sign * float(value.rstrip("°度"))
    except ValueError:
        pass
    match = _DMS.match(value)
    if match is None:
        return None
    degrees, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    if minutes >= 60 or seconds >= 60:
        return None
    return sign * (degrees + minutes / 60 + seconds / 3600)


def split_pair(text: str) -> tuple[str, str] | None:
    """A combined ``坐标`` cell ("117.22,28.29", "28.29N 117.22E") as (longitude, latitude) texts.

    In China longitudes (73–136) and latitudes (3–54) never overlap, so the order is read from the
    values; ``None`` if the cell is not two coordinates.
    """
    parts = [p for p in re.split(r"[,;/\s]+", unicodedata.normalize("NFKC", str(text)).strip()) if p]
    if len(parts) != 2:
        return None
    first, second = (parse_coordinate(p) for p in parts)
    if first is None or second is None:
        return None
    return (parts[0], parts[1]) if abs(first) >= abs(second) else (parts[1], parts[0])


def _coordinate_columns(table: Table, rows: _Rows) -> None:
    """Split a combined 坐标 column into 经度 and 纬度 (a bad cell is rejected against that column)."""
    frame = table.frame
    if "lonlat" not in frame or ("lon" in frame and "lat" in frame):
        return
    lon, lat = pd.Series("", index=frame.index, dtype=object), pd.Series("", index=frame.index, dtype=object)
    for row, text in frame["lonlat"].items():
        if not str(text).strip():
            continue
        pair = split_pair(text)
        if pair is None:
            rows.fail(row, "lonlat", Text(f"无法识别坐标“{text}”；请写成“经度,纬度”，如 117.2269,28.2951",
                                          f"{text!r} is not a pair of coordinates; write 'longitude,latitude', "
                                          "e.g. 117.2269,28.2951"))
            continue
        lon[row], lat[row] = pair
    frame["lon"], frame["lat"] = lon, lat  # derived: problems with them are reported against 坐标
    rows.aliases.update({"lon": "lonlat", "lat": "lonlat"})


def _unknown_crs(text: str) -> Text:
    choices = "WGS84、CGCS2000、GCJ-02（高德/腾讯）、BD-09（百度）或 EPSG 代码"
    if not text:
        return Text(f"坐标系为空；请填 {choices}", f"the coordinate system is empty; use one of {CRS_CHOICES}")
    return Text(f"无法识别坐标系“{text}”；可填 {choices}",
                f"unknown coordinate system {text!r}; use one of {CRS_CHOICES}")


def _coordinates(table: Table, rows: _Rows, default_crs: str | None, ws: Store) -> pd.DataFrame:
    """Return lon/lat in WGS84 (NaN where a row has none) for rows with valid coordinates."""
    _coordinate_columns(table, rows)
    frame = table.frame
    out = pd.DataFrame({"lon": np.nan, "lat": np.nan}, index=frame.index)
    if "lon" not in frame or "lat" not in frame:
        return out
    has_any = (frame["lon"] != "") | (frame["lat"] != "")
    if has_any.any() and "crs" not in frame and default_crs is None:
        columns = "/".join(table.columns[f] for f in ("lon", "lat", "lonlat") if f in table.columns)
        raise SchemaError(Text(
            f"文件有坐标（{columns}），但没有“坐标系”列；请加一列“坐标系”，或在导入时选择坐标系"
            "（WGS84、GCJ-02 高德/腾讯、BD-09 百度，或 EPSG 代码；命令行用 --crs）。",
            f"{columns} are given but there is no coordinate system column (crs or 坐标系); add one, or choose the "
            "coordinate system when importing (--crs: wgs84, gcj02 for Amap/Tencent, bd09 for Baidu, or EPSG:<code>).",
        ))
    meta = ws.meta()
    county = ws.read("county").to_crs(meta["metric_crs"]).geometry.iloc[0]
    groups: dict[str, list[int]] = {}
    values: dict[int, tuple[float, float]] = {}
    for row in frame.index[has_any]:
        if row in rows.problems:
            continue
        lon_value, lat_value = parse_coordinate(frame.at[row, "lon"]), parse_coordinate(frame.at[row, "lat"])
        if lon_value is None or lat_value is None:
            for bad, value in (("lon", lon_value), ("lat", lat_value)):
                if value is None:  # each unreadable one against its own column
                    text = frame.at[row, bad]
                    rows.fail(row, bad, Text(f"不是经纬度：“{text}”；请填小数，如 117.2269（可带°E）",
                                             f"{text!r} is not a coordinate; write a decimal such as 117.2269 "
                                             "(°E may follow)"))
            continue
        lon, lat = lon_value, lat_value
        if 3 < lon < 54 and 73 < lat < 136:
            rows.fail(row, ("lon", "lat"), Text(f"经纬度似乎填反了（经度{lon}，纬度{lat}）；中国经度在73–136之间",
                                                f"longitude and latitude seem swapped (longitude {lon}, latitude "
                                                f"{lat}); longitudes in China lie between 73 and 136"))
            continue
        crs_text = str(frame.at[row, "crs"]).strip() if "crs" in frame else ""
        try:
            crs = parse_crs(crs_text or default_crs or "")
        except CRSError:
            rows.fail(row, "crs", _unknown_crs(crs_text or default_crs or ""))
            continue
        outside = [f for f, v, limit in (("lon", lon, 180), ("lat", lat, 90)) if not -limit <= v <= limit]
        if crs in ("EPSG:4326", "EPSG:4490", "gcj02", "bd09") and outside:  # each out-of-range one, its own column
            rows.fail(row, tuple(outside), Text(f"坐标({lon}, {lat})超出经纬度范围；是否为投影坐标？"
                                                "请在坐标系列写明EPSG代码",
                                                f"({lon}, {lat}) is beyond the range of longitude and latitude; if "
                                                "these are projected coordinates, give the EPSG code as the "
                                                "coordinate system"))
            continue
        groups.setdefault(crs, []).append(row)
        values[row] = (lon, lat)
    for crs, members in groups.items():
        wgs_lon, wgs_lat = points_to_wgs84([values[r][0] for r in members], [values[r][1] for r in members], crs)
        out.loc[members, "lon"], out.loc[members, "lat"] = wgs_lon, wgs_lat
    located = out.dropna()
    if not located.empty:
        points = gpd.GeoSeries(
            gpd.points_from_xy(located["lon"], located["lat"]), index=located.index, crs=DISPLAY_CRS
        ).to_crs(meta["metric_crs"])
        distance = points.distance(county)
        for row in distance.index[distance > COUNTY_MARGIN_M]:
            county_name, km = meta.get("county_name", ""), distance[row] / 1000
            rows.fail(row, ("lon", "lat"), Text(
                f"位置在{county_name or '本县'}县界外{km:.1f}公里；请核对坐标和坐标系（高德/腾讯为gcj02，百度为bd09）",
                f"the point lies {km:.1f} km outside {county_name or 'the county'}; check the coordinates and "
                "their coordinate system (gcj02 for Amap/Tencent, bd09 for Baidu)",
            ))
            out.loc[row] = np.nan
    return out


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of the table, or empty texts if the file does not have it."""
    return frame[name] if name in frame else pd.Series("", index=frame.index, dtype=object)



def _vocabulary(table: Table, rows: _Rows, name: str, vocabulary: str, *, default: str | None) -> pd.Series:
    frame = table.frame
    out = pd.Series(default, index=frame.index, dtype=object)
    if name not in frame:
        return out
    for row, value in frame[name].items():
        if not value:
            if default is None:
                rows.fail(row, name, Text(f"不能为空；可填：{schema.choices(vocabulary)}",
                                          f"must not be empty; use one of: {schema.choices(vocabulary, 'en')}"))
            continue
        code = schema.parse_term(vocabulary, value)
        if code is None:
            rows.fail(row, name, Text(f"无法识别“{value}”；可填：{schema.choices(vocabulary)}",
                                      f"{value!r} is not understood; use one of: {schema.choices(vocabulary, 'en')}"))
        out[row] = code
    return out


def _duplicates(ids: pd.Series, rows: _Rows, field_name: str) -> None:
    first: dict[str, int] = {}
    for row, value in ids.items():
        if not value:
            continue
        if value in first:
            rows.fail(row, field_name, Text(f"与第{first[value]}行重复（同一编号{value}）",
                                            f"repeats row {first[value]} (the same id {value})"))
        else:
            first[value] = row


def _locate(frame: pd.DataFrame, coords: pd.DataFrame, rows: _Rows, ws: Store) -> gpd.GeoDataFrame:
    """Coordinates where given, else the address matched on the workspace's features."""
    address = _column(frame, "address")
    info = pd.DataFrame(index=frame.index, columns=schema.LOCATION_COLUMNS, dtype=object)
    info["address"] = address
    lon, lat = coords["lon"].copy(), coords["lat"].copy()
    given = coords["lon"].notna()
    info.loc[given, ["location_method", "location_confidence", "location_status", "location_note"]] = [
        "coordinates",
        1.0,
        "placed",
        "",
    ]
    index: AddressIndex | None = None
    for row in frame.index[~given]:
        if row in rows.problems:
            continue
        if not address[row]:
            rows.fail(row, "address", Text("没有坐标也没有地址，无法定位；请填写地址或经纬度",
                                           "neither coordinates nor an address: the row cannot be placed; give an "
                                           "address or the longitude and latitude"))
            continue
        index = index or AddressIndex(ws)
        found = index.locate(address[row])
        info.loc[row, ["location_method", "location_confidence", "location_status", "location_note"]] = [
            found.method,
            found.confidence,
            found.status,
            found.note.dumps(),
        ]
        info.loc[row, ["candidate_lon", "candidate_lat"]] = [found.lon, found.lat]
        if found.status == "placed":
            lon[row], lat[row] = found.lon, found.lat
    geometry = gpd.points_from_xy(lon.astype(float), lat.astype(float))
    points = gpd.GeoDataFrame(info, geometry=geometry, crs=DISPLAY_CRS)
    points.loc[lon.isna(), "geometry"] = None
    cells = attach_cells(points, ws)
    points[["building_code", "community_code", "township_code"]] = cells
    return points


def _located_rows(
    table: Table, rows: _Rows, ws: Store, default_crs: str | None, fields: dict[str, object], columns: list[str]
) -> tuple[gpd.GeoDataFrame, list[Reject]]:
    """Locate the rows, add ``fields`` and return the rows without problems (``columns``) and the rejects."""
    coords = _coordinates(table, rows, default_crs, ws)
    out = _locate(table.frame, coords, rows, ws).assign(**fields)
    valid = out.drop(index=[r for r in rows.problems if r in out.index])
    return gpd.GeoDataFrame(valid[[*columns, "geometry"]], crs=DISPLAY_CRS), rows.rejects()


def prepare_institutions(
    table: Table, ws: Store, *, default_crs: str | None, source: str, now: str
) -> tuple[gpd.GeoDataFrame, list[Reject]]:
    """Validate and locate institution rows; return the valid ones (schema columns) and the rejects."""
    frame, rows = table.frame, _Rows(table)
    for row, name in frame["name"].items():
        if not name:
            rows.fail(row, "name", Text("机构名称不能为空", "the institution's name is empty"))
    credit = _column(frame, "credit_code").str.upper()
    for row, code in credit.items():
        problem = credit_code_problem(code) if code else None
        if problem:
            rows.fail(row, "credit_code", Text(f"“{code}”{problem.zh}", f"{code!r} {problem.en}"))
    permit = _column(frame, "permit_no")
    status = _vocabulary(table, rows, "status", "status", default=None)
    kind = _vocabulary(table, rows, "kind", "kind", default=None)
    inspected = pd.Series("", index=frame.index, dtype=object)
    if "last_inspected" in frame:
        for row, text in frame["last_inspected"].items():
            if text:
                stamp = parse_time(text)
                if stamp is None:
                    rows.fail(row, "last_inspected", Text(f"无法识别日期“{text}”；请写成2025-09-01",
                                                          f"{text!r} is not a date; write it as 2025-09-01"))
                else:
                    inspected[row] = stamp.date().isoformat()
    address = _column(frame, "address")
    ids = pd.Series(
        [
            c or (f"P-{p}" if p else _stable_id("N-", n, a))
            for c, p, n, a in zip(credit, permit, frame["name"], address, strict=True)
        ],
        index=frame.index,
        dtype=object,
    )
    _duplicates(ids, rows, "credit_code" if "credit_code" in frame else "name")
    fields = {
        "institution_id": ids,
        "name": frame["name"],
        "credit_code": credit,
        "permit_no": permit,
        "status": status,
        "kind": kind,
        "last_inspected": inspected,
        "registry_inspected": inspected,
        "source": source,
        "imported_at": now,
    }
    return _located_rows(table, rows, ws, default_crs, fields, schema.INSTITUTION_COLUMNS)


def prepare_clues(
    table: Table, ws: Store, *, default_crs: str | None, source: str, now: str
) -> tuple[gpd.GeoDataFrame, list[Reject]]:
    """Validate and locate clue rows; return the valid ones (schema columns) and the rejects."""
    frame, rows = table.frame, _Rows(table)
    current = pd.Timestamp.now(tz=TIMEZONE) if not now else pd.Timestamp(now)
    received = pd.Series("", index=frame.index, dtype=object)
    for row, text in frame["received_at"].items():
        stamp = parse_time(text) if text else None
        if stamp is None:
            rows.fail(row, "received_at", Text(f"无法识别受理时间“{text}”；请写成2025-09-01 14:30",
                                               f"{text!r} is not a time; write it as 2025-09-01 14:30") if text else
                      Text("受理时间不能为空", "the time received is empty"))
        elif stamp > current + pd.Timedelta(minutes=5):
            rows.fail(row, "received_at", Text(f"受理时间{stamp:%Y-%m-%d %H:%M}晚于现在，请核对",
                                               f"received at {stamp:%Y-%m-%d %H:%M}, which is later than now; "
                                               "check it"))
        else:
            received[row] = stamp.isoformat(timespec="minutes")
    channel = _vocabulary(table, rows, "channel", "channel", default=None)
    category = _vocabulary(table, rows, "category", "category", default="other")
    status = _vocabulary(table, rows, "status", "clue_status", default="received")
    content = _column(frame, "content")
    address = _column(frame, "address")
    given = _column(frame, "clue_id")
    ids = pd.Series(
        [g or _stable_id("C-", r, a, c) for g, r, a, c in zip(given, received, address, content, strict=True)],
        index=frame.index,
        dtype=object,
    )
    _duplicates(ids, rows, "clue_id" if "clue_id" in frame else "received_at")
    fields = {
        "clue_id": ids,
        "received_at": received,
        "channel": channel,
        "category": category,
        "content": content,
        "status": status,
        "source": source,
        "imported_at": now,
    }
    return _located_rows(table, rows, ws, default_crs, fields, schema.CLUE_COLUMNS)


_KIND_SPEC: dict[str, tuple[dict[str, tuple[str, ...]], tuple[str, ...], str, Callable[..., tuple]]] = {
    "institutions": (schema.INSTITUTION_HEADERS, ("name",), "institution_id", prepare_institutions),
    "clues": (schema.CLUE_HEADERS, ("received_at",), "clue_id", prepare_clues),
}
_VOLATILE = ("imported_at", "source")


def merge_rows(
    existing: pd.DataFrame | None, incoming: gpd.GeoDataFrame, key: str, *, keep_progress: bool
) -> tuple[gpd.GeoDataFrame, int, int, int]:
    """The rows of ``incoming`` to upsert over ``existing``, and how many were added, updated, unchanged.

    Linear in the rows. Columns the import does not carry (a clue's answer, written by the closed
    loop) keep their stored values; with ``keep_progress`` (clues) a row already further along the
    closed loop keeps its status; a registry without a last-inspection date keeps the stored one.
    """
    incoming = incoming.reset_index(drop=True)
    if existing is None or existing.empty:
        return incoming, len(incoming), 0, 0
    old = pd.DataFrame(existing).drop_duplicates(subset=[key], keep="last").set_index(key)
    position = old.index.get_indexer(incoming[key])
    found = position >= 0
    merged = incoming.copy()
    if found.any():
        rows = np.flatnonzero(found)
        before = old.iloc[position[rows]]
        for column in old.columns.difference(merged.columns):
            if column != "geometry":
                merged.loc[:, column] = None
                merged.loc[rows, column] = before[column].to_numpy()
        if keep_progress:
            flow = {status: i for i, status in enumerate(schema.CLUE_FLOW)}
            old_rank = before["status"].astype(str).map(flow).fillna(-1).to_numpy()
            new_rank = merged.loc[rows, "status"].astype(str).map(flow).fillna(-1).to_numpy()
            further = rows[old_rank > new_rank]
            merged.loc[further, "status"] = old.iloc[position[further]]["status"].to_numpy()
        for column in ("last_inspected", "registry_inspected"):  # a registry without the date keeps the stored one
            if column in merged.columns and "last_inspected" in old.columns:
                # a row stored before registry_inspected existed: its last_inspected is all that is known
                source = column if column in old.columns else "last_inspected"
                stored = before[source].fillna(before["last_inspected"]).fillna("").astype(str).to_numpy()
                given = merged.loc[rows, column].fillna("").astype(str).to_numpy()
                merged.loc[rows, column] = np.where(stored > given, stored, given)
    changed = changed_rows(
        pd.DataFrame(existing), merged, key, ignore=[c for c in merged.columns if c in _VOLATILE]
    ).to_numpy()
    added = int((~found).sum())
    updated = int((changed & found).sum())
    upsert = merged[changed].reset_index(drop=True)
    return gpd.GeoDataFrame(upsert, geometry="geometry", crs=DISPLAY_CRS), added, updated, int(found.sum()) - updated


def same_value(a: object, b: object) -> bool:
    """Equal as a person would read them: empty ≈ missing, 15 ≈ 15.0, points within 1e-7°."""
    if hasattr(a, "equals_exact") and hasattr(b, "equals_exact"):
        return bool(a.equals_exact(b, 1e-7))
    a_missing = a is None or (not isinstance(a, str) and pd.isna(a)) or a == ""
    b_missing = b is None or (not isinstance(b, str) and pd.isna(b)) or b == ""
    if a_missing or b_missing:
        return a_missing and b_missing
    if isinstance(a, float | int) or isinstance(b, float | int):
        try:
            return abs(float(a) - float(b)) < 1e-9  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return str(a) == str(b)


def import_file(
    ws: Store, kind: str, path: str | Path, *, actor: Principal | str, crs: str | None = None, now: str | None = None
) -> ImportResult:
    """Import ``path`` as ``kind`` ("institutions" or "clues") into ``ws`` in one short transaction.

    Reading, validating and geocoding happen before the transaction; inside it, only the stored
    rows with the same ids are read, merged and upserted, so other writers wait a moment at most.
    """
    if kind not in _KIND_SPEC:
        raise InputError(Text(f"未知的导入内容 {kind!r}；可选：{'、'.join(KINDS)}",
                              f"unknown import kind {kind!r}; use one of {', '.join(KINDS)}."))
    actor = authorize(actor, Permission.EDIT_DATA)
    ws.validate_layout()
    if crs is not None:
        parse_crs(crs)
    aliases, required, key, prepare = _KIND_SPEC[kind]
    path = Path(path)
    table = read_table(path, aliases, required=required)
    _refuse_unread_coordinates(table, path)
    stamp = now or now_local()
    valid, rejects = prepare(table, ws, default_crs=crs, source=path.name, now=stamp)
    result = ImportResult(
        kind,
        path.name,
        len(table.frame),
        0,
        0,
        0,
        rejects,
        unknown_columns=table.unknown_columns,
        encoding=table.encoding,
    )
    confirm = valid[valid["location_status"] != "placed"]
    result.to_confirm = pd.DataFrame(
        {
            "id": confirm[key],
            "address": confirm["address"],
            "location_note": confirm["location_note"],  # as stored: Text.loads reads it
            "location_confidence": confirm["location_confidence"].astype(float),
        }
    )
    with ws.transaction(actor=actor, action=f"import-{kind}") as tx:  # a team may record results meanwhile
        existing = tx.read(kind, where={key: valid[key].tolist()}) if tx.has_layer(kind) else None
        rows, result.added, result.updated, result.unchanged = merge_rows(
            existing, valid, key, keep_progress=kind == "clues"
        )
        if len(rows) or not tx.has_layer(kind):
            tx.upsert(kind, rows, key=key)
        tx.detail = (
            f"{path.name}: {result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
            f"{len(rejects)} rejected"
        )
    return result


def _refuse_unread_coordinates(table: Table, path: Path) -> None:
    """A file whose coordinates cannot be read is refused whole: a user's coordinates are never ignored."""
    fields = set(table.frame.columns)
    has_pair = {"lon", "lat"} <= fields or "lonlat" in fields
    unread = [c for c in table.unknown_columns if any(h in c.lower() for h in schema.COORDINATE_HINTS)]
    half = ("lon" in fields) != ("lat" in fields) and "lonlat" not in fields
    if (unread and not has_pair) or half:
        named = "、".join(unread or [table.columns.get("lon") or table.columns.get("lat") or ""])
        raise SchemaError(Text(
            f"{path.name}: 列“{named}”像是坐标，但无法识别，整个文件未导入。请把经度、纬度分两列写成“经度”“纬度”，"
            "或一列“坐标”写“经度,纬度”，并加一列“坐标系”（WGS84、GCJ-02 高德、BD-09 百度）。",
            f"{path.name}: columns {named!r} look like coordinates but are not understood; nothing was imported. "
            "Give two columns, longitude and latitude (or 经度 and 纬度), or one column, coordinates, holding "
            "'lon,lat', and add a column crs (the coordinate system: WGS84, GCJ-02 for Amap, BD-09 for Baidu).",
        ))


_REJECT_HEADERS: dict[str | None, tuple[str, str, str]] = {
    "zh": ("行号", "列", "原因"), "en": ("Row", "Column", "Reason"), None: ("行号 row", "列 column", "原因 reason"),
}


def rejects_table(rejects: list[Reject], lang: str | None = None) -> pd.DataFrame:
    """The rejected rows: row, column and reason in ``lang`` ("zh", "en"; both when None), then the row's cells."""
    row, column, reason = _REJECT_HEADERS[lang if lang in (None, "en") else "zh"]
    say = str if lang is None else (lambda text: text.get(lang))
    return pd.DataFrame([{row: r.row, column: say(r.columns), reason: say(r.reason), **r.values} for r in rejects])


def rejects_csv(result: ImportResult, lang: str | None = None) -> bytes:
    """The rejected rows as a CSV file (UTF-8 with BOM, opens in Excel), headings and reasons in ``lang``."""
    table = rejects_table(result.rejects, lang).map(safe_cell)
    # a rejected cell such as "=HYPERLINK(…)" goes back as text, never as a live formula; the file's headers too
    table.columns = [str(safe_cell(str(c))) for c in table.columns]
    return table.to_csv(index=False).encode("utf-8-sig")


def write_rejects(result: ImportResult, path: str | Path, lang: str | None = None) -> Path | None:
    """Write rejected rows next to the input as ``NAME.rejected.csv`` (see :func:`rejects_csv`)."""
    path = Path(path)
    target = path.with_name(path.stem + ".rejected.csv")
    if not result.rejects:
        target.unlink(missing_ok=True)
        return None
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(rejects_csv(result, lang))
    tmp.replace(target)
    return target


def confirm_locations(ws: Store, kind: str, ids: list[str], *, actor: Principal | str) -> int:
    """Accept the candidate point of rows waiting for confirmation; return how many were placed."""
    actor = authorize(actor, Permission.EDIT_DATA)
    _, _, key, _ = _KIND_SPEC[kind]
    with ws.transaction(actor=actor, action=f"confirm-{kind}-location") as tx:
        frame = tx.read(kind, where={key: list(ids)})
        chosen = (frame["location_status"] == "to_confirm") & frame["candidate_lon"].notna()
        if not chosen.any():
            return 0
        frame = frame[chosen].copy()
        frame["geometry"] = gpd.points_from_xy(
            frame["candidate_lon"].astype(float), frame["candidate_lat"].astype(float)
        )
        frame["location_status"] = "placed"
        by_hand = Text("人工确认", "confirmed by hand")
        frame["location_note"] = [join(t for t in (Text.loads(n), by_hand) if t.zh).dumps()
                                  for n in frame["location_note"]]
        frame[["building_code", "community_code", "township_code"]] = attach_cells(frame, ws)
        tx.upsert(kind, gpd.GeoDataFrame(frame, geometry="geometry", crs=DISPLAY_CRS), key=key)
        tx.detail = f"{len(frame)} confirmed: {', '.join(frame[key].astype(str))}"
        return len(frame)
