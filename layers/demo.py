"""Seeded demonstration institutions and clues on a workspace's real buildings (演示数据).

The generator (documented in docs/risk.md):

* institutions sit on real buildings, residential blocks and buildings near schools being
  three times as likely; statuses and kinds follow fixed shares (half on the white list, the
  rest spread over the other statuses); a quarter have never been inspected;
* clues fall on buildings too: 60 % around a few seeded centres (so that a hotspot exists to be
  found), the rest anywhere; received times spread over the last ``days`` days with more in
  the recent past; each clue's status follows its age through the closed loop;
* every row's ``source`` is :data:`grid.demo.DEMO_LABEL`, and phone numbers are not generated.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from core.clock import local_day, now_local
from core.errors import InputError
from grid.crs import DISPLAY_CRS
from grid.demo import DEMO_LABEL
from layers import schema
from layers.geocode import attach_cells
from layers.importer import with_check_digit
from layers.places import nearest_school, schools
from store import Store

STATUS_SHARES = {
    "white_list": 0.5,
    "licensed_no_permit": 0.1,
    "unlicensed": 0.1,
    "black_list": 0.05,
    "converted_nonprofit": 0.1,
    "deregistered": 0.15,
}
KIND_SHARES = {"subject": 0.4, "arts": 0.2, "sports": 0.1, "science_tech": 0.1, "care": 0.2}
_WORDS = list("启明星火博雅智慧育才阳光求知明德新起点优学思源未来英才睿智金桥书香卓越")
_SUFFIX = {
    "subject": "教育培训中心",
    "arts": "艺术培训学校",
    "sports": "体育俱乐部",
    "science_tech": "科技培训中心",
    "care": "托管中心",
}
_CLUE_TEXT = {
    "one_to_one": "有人在家中开展一对一学科辅导",
    "live_in_tutor": "小区内疑似住家教师上门补课",
    "crowdfunded_tutor": "家长群众筹请私教集中补课",
    "domestic_front": "以家政服务名义提供学科辅导",
    "camp_or_tour": "以研学营地名义开展学科培训",
    "thinking_or_classics": "以思维训练名义教授数学",
    "non_subject_front": "艺术培训机构夹带语文数学课程",
    "recorded_or_online": "线下机构转线上录播授课",
    "serving_teacher": "在职教师周末有偿补课",
    "unlicensed_school": "无证无照开展培训",
    "fees": "一次性收取超过3个月学费",
    "other": "疑似违规培训",
}
_CHANNEL_SHARES = {"hotline": 0.55, "wechat": 0.2, "mailbox": 0.1, "supervisor": 0.1, "other": 0.05}


#: the location columns of a row placed by its own coordinates (demonstration rows all are)
PLACED = {"location_method": "coordinates", "location_confidence": 1.0, "location_status": "placed",
          "location_note": "", "candidate_lon": None, "candidate_lat": None}


def _draw(rng: np.random.Generator, shares: dict[str, float], size: int) -> list[str]:
    keys = list(shares)
    p = np.array([shares[k] for k in keys])
    return [keys[i] for i in rng.choice(len(keys), size=size, p=p / p.sum())]


def _address(buildings: pd.DataFrame, names: dict[str, str], code: str) -> str:
    row = buildings.loc[code]
    community = names.get(str(row["parent_code"]), "")
    township = names.get(str(row["parent_code"])[:9], "")
    return f"{township}{community.replace('居民委员会', '社区').replace('村民委员会', '村')}{row['name']}"


def demo_layers(
    ws: Store, *, seed: int = 2026, institutions: int = 40, clues: int = 150, days: int = 180, today: str | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Return demonstration ``institutions`` and ``clues`` layers for ``ws``."""
    rng = np.random.default_rng(seed)
    metric = ws.meta()["metric_crs"]
    buildings = ws.read("buildings").to_crs(metric).set_index("code")
    if buildings.empty:
        msg = f"workspace {ws.label} has no buildings to put demonstration data on."
        raise InputError(msg)
    centres = buildings.geometry.representative_point()
    names = {
        **ws.read("townships").set_index("code")["name"].to_dict(),
        **ws.read("communities").set_index("code")["name"].to_dict(),
    }
    distance, _ = nearest_school(centres, schools(ws.read("pois")))
    appeal = np.where(buildings["building_type"].isin(["apartments", "residential"]) | (distance < 300), 3.0, 1.0)
    day = local_day(today) + pd.Timedelta(hours=20)
    stamp = now_local()

    # institutions
    codes = rng.choice(buildings.index.to_numpy(), size=institutions, p=appeal / appeal.sum())
    status, kind = _draw(rng, STATUS_SHARES, institutions), _draw(rng, KIND_SHARES, institutions)
    inspected = [
        ("" if rng.random() < 0.25 else (day - pd.Timedelta(days=int(rng.integers(1, 60)))).date().isoformat())
        for _ in range(institutions)
    ]
    county_name = ws.meta().get("county_name", "")
    used: set[str] = set()
    inst_names = []
    for i, k in enumerate(kind):
        name = ""
        for _ in range(20):  # the pool of word pairs is finite: past it, a number keeps names apart
            name = f"{county_name}{''.join(rng.choice(_WORDS, size=2))}{_SUFFIX[k]}"
            if name not in used:
                break
        if name in used:
            name = f"{name[: -len(_SUFFIX[k])]}{i + 1}号{_SUFFIX[k]}"
        used.add(name)
        inst_names.append(name)
    credit = [with_check_digit(f"52{ws.meta()['county_code']}MJ{seed % 1000:03d}{i:04d}") for i in range(institutions)]
    permit = [
        f"教民{ws.meta()['county_code']}7{seed % 100:02d}{i:05d}号"
        if s in ("white_list", "converted_nonprofit")
        else ""
        for i, s in enumerate(status)
    ]
    points = gpd.GeoSeries([centres[c] for c in codes], crs=metric).to_crs(DISPLAY_CRS)
    inst = gpd.GeoDataFrame(
        {
            "institution_id": credit,
            "name": inst_names,
            "credit_code": credit,
            "permit_no": permit,
            "status": status,
            "kind": kind,
            "address": [_address(buildings, names, c) for c in codes],
            **PLACED,
            "last_inspected": inspected,
            "registry_inspected": inspected,
            "source": DEMO_LABEL,
            "imported_at": stamp,
        },
        geometry=points.to_numpy(),
        crs=DISPLAY_CRS,
    )
    inst[["building_code", "community_code", "township_code"]] = attach_cells(inst, ws)

    # clues
    hot_centres = rng.choice(buildings.index.to_numpy(), size=3, replace=False, p=appeal / appeal.sum())
    near_hot = [buildings.index[centres.distance(centres[c]) <= 400].to_numpy() for c in hot_centres]
    clue_codes = []
    for _ in range(clues):
        if rng.random() < 0.6:
            pool = near_hot[int(rng.integers(len(near_hot)))]
            clue_codes.append(str(rng.choice(pool)))
        else:
            clue_codes.append(str(rng.choice(buildings.index.to_numpy())))
    ages = np.minimum(rng.exponential(days / 3, size=clues), days - 1)
    received = [day - pd.Timedelta(days=float(a)) - pd.Timedelta(hours=int(rng.integers(0, 10))) for a in ages]
    received = [r.replace(hour=max(8, min(21, r.hour)), second=0, microsecond=0) for r in received]
    categories = _draw(rng, {t.code: 1.0 for t in schema.CLUE_CATEGORIES}, clues)
    flow = schema.CLUE_FLOW
    statuses = [flow[min(3, int(a // 10))] for a in ages]
    order = np.argsort([r.value for r in received])
    ids = [f"DEMO-{received[i]:%Y%m%d}-{number:04d}" for number, i in enumerate(order, start=1)]
    pick = list(order)
    return {
        "institutions": inst[[*schema.INSTITUTION_COLUMNS, "geometry"]],
        "clues": clue_frame(ws, ids, [clue_codes[i] for i in pick], [received[i] for i in pick],
                            [categories[i] for i in pick], [statuses[i] for i in pick], rng,
                            buildings=buildings, names=names, stamp=stamp),
    }


def clue_frame(ws: Store, ids: list[str], codes: list[str], received: list[pd.Timestamp], categories: list[str],
               statuses: list[str], rng: np.random.Generator, *, buildings: pd.DataFrame | None = None,
               names: dict[str, str] | None = None, stamp: str | None = None) -> gpd.GeoDataFrame:
    """Demonstration clues (演示数据) on buildings ``codes``: one row each, in the clues layer's columns."""
    metric = ws.meta()["metric_crs"]
    if buildings is None:
        buildings = ws.read("buildings").to_crs(metric).set_index("code")
    if names is None:
        names = {**ws.read("townships").set_index("code")["name"].to_dict(),
                 **ws.read("communities").set_index("code")["name"].to_dict()}
    centres = buildings.geometry.representative_point()
    points = gpd.GeoSeries([centres[c] for c in codes], crs=metric).to_crs(DISPLAY_CRS)
    stamp = stamp or now_local()
    rows = [
        {
            "clue_id": clue_id,
            "received_at": when.isoformat(timespec="minutes"),
            "channel": _draw(rng, _CHANNEL_SHARES, 1)[0],
            "category": category,
            "content": _CLUE_TEXT[category],
            "status": status,
            "address": _address(buildings, names, code),
            **PLACED,
            "source": DEMO_LABEL,
            "imported_at": stamp,
            "geometry": points.iloc[i],
        }
        for i, (clue_id, code, when, category, status) in enumerate(zip(ids, codes, received, categories, statuses,
                                                                         strict=True))
    ]
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=DISPLAY_CRS)
    frame[["building_code", "community_code", "township_code"]] = attach_cells(frame, ws)
    return frame[[*schema.CLUE_COLUMNS, "geometry"]]
