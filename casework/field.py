"""Reports from the field (网格员、志愿者): a clue filed from a phone, and "nothing found today" for
one's own cell (一排查一上报).

A field report becomes a clue in the closed loop at once — received, due for verification within
``[clues] verify_within_days``, placed by the coordinates given (the phone's location or a tap on
the map), its cells attached as imports do — with the reporter recorded. Photos are re-encoded as
JPEG without their metadata (EXIF: the phone, the time, the GPS position), scaled to at most
``MAX_SIDE`` pixels, bounded in number and size, and kept in the store (layer ``clue_photos``).
A reporter sees what became of their own reports and nothing of any plan.
"""

from __future__ import annotations

import base64
import io
import secrets
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from access.roles import Permission, Principal, Role, authorize
from core.clock import TIMEZONE, now_local
from core.errors import InputError
from core.settings import load_patrol_settings
from layers import schema
from layers.demo import PLACED
from layers.geocode import attach_cells
from store import Store

PHOTOS = "clue_photos"
WALKS = "grid_walks"
MAX_PHOTOS = 3
MAX_PHOTO_MB = 8.0
MAX_SIDE = 1600
CHANNEL_OF_ROLE = {Role.GRID_MEMBER: "grid_member", Role.VOLUNTEER: "volunteer"}


@dataclass(frozen=True)
class FieldReport:
    """What a grid member or volunteer files: the category (``[clues]`` categories), what they saw,
    where (WGS84) and when (default: now), and optional photos (raw bytes as uploaded)."""

    category: str
    content: str
    lon: float
    lat: float
    observed_at: str = ""
    photos: tuple[bytes, ...] = ()
    address: str = ""  # as typed or matched (the route sheet shows it); else the building's or community's name


def clean_photo(data: bytes, *, max_mb: float = MAX_PHOTO_MB) -> bytes:
    """The photo as a JPEG without metadata, at most ``MAX_SIDE`` pixels a side; :class:`InputError`
    if it is too large or not an image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > max_mb * 1024 * 1024:
        raise InputError(f"照片有 {len(data) / 1048576:.1f} MB，超过 {max_mb:g} MB。 / A photo is "
                         f"{len(data) / 1048576:.1f} MB, over {max_mb:g} MB.")
    too_large = InputError("照片像素过多（超过6000万像素）。 / The photo has too many pixels.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > 60_000_000:
                raise too_large
            upright = ImageOps.exif_transpose(image).convert("RGB")  # keep what the eye saw, drop the rest
    except InputError:
        raise
    except Image.DecompressionBombError as exc:
        raise too_large from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InputError("照片无法识别，请上传 JPEG 或 PNG。 / The photo is not a readable JPEG or PNG.") from exc
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    upright.save(out, format="JPEG", quality=85)  # a fresh file: no EXIF, no GPS, no maker notes
    return out.getvalue()


def report_clue(ws: Store, report: FieldReport, *, actor: Principal) -> str:
    """File ``report`` as a clue (see module doc); return its id."""
    by = authorize(actor, Permission.REPORT_FIELD)
    categories = {term.code for term in schema.CLUE_CATEGORIES}
    if report.category not in categories:
        raise InputError(f"线索类别 {report.category!r} 不在设置的类别中。 / "
                         f"unknown clue category {report.category!r}.")
    content = report.content.strip()
    if not content:
        raise InputError("请简要说明看到的情况。 / Say briefly what you saw.")
    if len(content) > 500:
        raise InputError("说明请在500字以内。 / Keep the description under 500 characters.")
    if len(report.photos) > MAX_PHOTOS:
        raise InputError(f"最多 {MAX_PHOTOS} 张照片。 / At most {MAX_PHOTOS} photos.")
    county = ws.read("county").geometry.union_all()
    if not county.buffer(0.02).contains(Point(report.lon, report.lat)):
        raise InputError(f"位置 ({report.lon:.6f}, {report.lat:.6f}) 不在本县区内，请重新定位或在地图上点选。 / "
                         "The location is outside the county; locate again or tap the map.")
    photos = [clean_photo(p) for p in report.photos]
    now = pd.Timestamp.now(tz=TIMEZONE)
    observed = pd.Timestamp(report.observed_at) if report.observed_at else now
    if observed.tzinfo is None:
        observed = observed.tz_localize(TIMEZONE)
    if observed > now + pd.Timedelta(minutes=5):
        raise InputError("发现时间不能晚于现在。 / The time seen cannot be in the future.")
    clue_id = f"WG-{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2).upper()}"
    frame = gpd.GeoDataFrame([{
        "clue_id": clue_id, "received_at": now.isoformat(timespec="minutes"),
        "channel": CHANNEL_OF_ROLE.get(actor.role, "grid_member"), "category": report.category,
        "content": content, "status": "received", "address": "", **PLACED,
        "source": f"现场上报：{actor.display_name or actor.username}", "imported_at": now_local(),
        "reporter": actor.username, "observed_at": observed.isoformat(timespec="minutes"),
    }], geometry=[Point(report.lon, report.lat)], crs="EPSG:4326")
    frame[["building_code", "community_code", "township_code"]] = attach_cells(frame, ws)
    frame["address"] = report.address.strip()[:120] or _place_name(ws, frame.iloc[0])
    with ws.transaction(actor=by, action="field-report", detail=f"{clue_id}: {report.category}, "
                        f"{len(photos)} photos") as tx:
        tx.append("clues", frame[[*schema.CLUE_COLUMNS, "reporter", "observed_at", "geometry"]])
        if photos:
            tx.append(PHOTOS, pd.DataFrame([{"clue_id": clue_id, "photo_no": k + 1, "jpeg_base64":
                                             base64.b64encode(p).decode("ascii"), "bytes": len(p)}
                                            for k, p in enumerate(photos)]))
    return clue_id


def _place_name(ws: Store, row: pd.Series) -> str:
    """A name for where a report was made: its community and building, as the grid names them."""
    parts = []
    for layer, column in (("townships", "township_code"), ("communities", "community_code"),
                          ("buildings", "building_code")):
        code = str(row.get(column) or "")
        if code:
            found = ws.read(layer, where={"code": code}, columns=["name"])
            if not found.empty and str(found["name"].iloc[0]) not in ("", "None", "nan"):
                parts.append(str(found["name"].iloc[0]))
    return "".join(parts)


def clue_photos(ws: Store, clue_id: str) -> list[bytes]:
    """The photos kept with a clue (metadata already stripped), in order."""
    if not ws.has_layer(PHOTOS):
        return []
    rows = ws.read(PHOTOS, where={"clue_id": clue_id}).sort_values("photo_no")
    return [base64.b64decode(str(v)) for v in rows["jpeg_base64"]]


def my_reports(ws: Store, *, actor: Principal) -> pd.DataFrame:
    """The reporter's own clues and what became of them (``clue_id, received_at, category, status,
    verify_by``), newest first; nothing of any plan."""
    authorize(actor, Permission.REPORT_FIELD)
    columns = ["clue_id", "received_at", "category", "content", "status", "verify_by"]
    rows = pd.DataFrame(ws.read("clues")) if ws.has_layer("clues") else pd.DataFrame()
    if "reporter" not in rows.columns:
        return pd.DataFrame(columns=columns)
    rows = rows[rows["reporter"] == actor.username].copy()
    if rows.empty:
        return pd.DataFrame(columns=columns)
    days = load_patrol_settings(store=ws).verify_clues_within_days
    received = pd.to_datetime(rows["received_at"], errors="coerce")
    rows["verify_by"] = (received + pd.Timedelta(days=days)).dt.strftime("%Y-%m-%d")
    return rows.sort_values("received_at", ascending=False)[columns].reset_index(drop=True)


def walked(ws: Store, *, actor: Principal, day: str | None = None, note: str = "") -> None:
    """Record "nothing found today" (一排查一上报) for the reporter's own cell."""
    by = authorize(actor, Permission.REPORT_FIELD)
    if not actor.cell_code:
        raise InputError("账号未绑定网格，无法上报今日巡查。请管理员绑定。 / The account is bound to no cell.")
    day = day or pd.Timestamp.now(tz=TIMEZONE).strftime("%Y-%m-%d")
    if day > pd.Timestamp.now(tz=TIMEZONE).strftime("%Y-%m-%d"):
        raise InputError("不能为将来的日子上报。 / Not for a day to come.")
    cell = _cell(ws, actor.cell_code)
    row = pd.DataFrame([{"date": day, "cell_code": actor.cell_code, "level": cell, "reporter": actor.username,
                         "note": note.strip()[:200], "created_at": now_local()}])
    with ws.transaction(actor=by, action="grid-walk", detail=f"{day} {actor.cell_code}: 无异常") as tx:
        if tx.has_layer(WALKS) and not tx.read(WALKS, where={"date": day, "cell_code": actor.cell_code,
                                                             "reporter": actor.username}).empty:
            raise InputError(f"{day} 已上报过。 / Already filed for {day}.")
        tx.append(WALKS, row)


def _cell(ws: Store, code: str) -> str:
    for level in ("communities", "buildings"):
        if not ws.read(level, where={"code": code}, columns=["code"]).empty:
            return level
    raise InputError(f"网格 {code} 不在本县区。 / cell {code} is not in this county.")


def grid_walks(ws: Store, start: str, end: str) -> pd.DataFrame:
    """The grid's own patrols in ``start`` … ``end``: ``date, cell_code, level, reporter, community_code``."""
    columns = ["date", "cell_code", "level", "reporter", "community_code"]
    if not ws.has_layer(WALKS):
        return pd.DataFrame(columns=columns)
    rows = ws.read(WALKS)
    rows = rows[(rows["date"].astype(str) >= start) & (rows["date"].astype(str) <= end)].copy()
    buildings = ws.read("buildings", columns=["code", "parent_code"])
    parent = dict(zip(buildings["code"], buildings["parent_code"], strict=True))
    rows["community_code"] = [c if lv == "communities" else parent.get(c, "") for c, lv in
                              zip(rows["cell_code"], rows["level"], strict=True)]
    return rows[columns].reset_index(drop=True)
