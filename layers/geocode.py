"""Place Chinese address text on the workspace's own features, with a confidence.

There is no online geocoder on a county intranet, so an address is matched against what the
workspace knows: buildings (by their grid name, e.g. ``楼栋 0012``, or ``12栋`` inside a named
community), residential compounds, points of interest (schools, hotels…), named roads, and the
community and township cells. The most specific consistent match wins; its confidence is the
quality of the name match times how precise that kind of feature is (a building pins a door, a
road or a community only narrows it down). Matches below :data:`PLACE_THRESHOLD` are not placed:
they keep a candidate point for a person to confirm.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import shapely
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from shapely.geometry.base import BaseGeometry

from core.text import Text, join
from grid.crs import DISPLAY_CRS
from grid.names import core_name
from store import Store

PLACE_THRESHOLD = 0.8
PRECISION = {"building": 1.0, "compound": 0.95, "poi": 0.85, "road": 0.65, "community": 0.55, "township": 0.35}
NEAR_WORDS = ("附近", "旁边", "旁", "对面", "周边", "隔壁", "后面", "一带")
_BUILDING_NUMBER = re.compile(r"(\d{1,4})\s*(?:栋|幢|号楼|座)")
_ROAD_SUFFIXES = ("路", "街", "大道", "巷", "道", "线", "桥")
LEVEL_LABELS = {"building": Text("楼栋", "building"), "compound": Text("小区", "compound"),
                "poi": Text("地标", "landmark"), "road": Text("道路", "road"),
                "community": Text("社区(村)", "community"), "township": Text("乡镇(街道)", "township")}
HOW_LABELS = {"exact": Text("名称一致", "same name"), "homophone": Text("同音", "same sound"),
              "similar": Text("名称相近", "similar name"), "number": Text("楼号", "building number")}
EMPTY_ADDRESS = Text("地址为空", "the address is empty")
NOTHING_KNOWN = Text("地址中没有可识别的乡镇、社区、小区、楼栋、道路或地标名称",
                     "the address names no township, community, compound, building, road or landmark of the county")


def normalize_address(text: str) -> str:
    """NFKC (full-width digits and letters to half-width), no spaces, no punctuation."""
    text = unicodedata.normalize("NFKC", str(text))
    return re.sub(r"[\s,，。;；:：()（）\-—#、]", "", text)


@dataclass(frozen=True)
class Location:
    """Where an address was placed (WGS84), how, and how sure the match is."""

    lon: float | None
    lat: float | None
    method: str
    confidence: float
    status: str  # placed | to_confirm | unlocated
    note: Text  # what was matched, how, and any doubt (stored with ``note.dumps()``)


@dataclass(frozen=True)
class _Hit:
    level: str
    key: str
    name: str
    score: float
    how: str


@functools.lru_cache(maxsize=65536)
def _sound(text: str) -> str:
    """Pinyin of ``text`` without tones; cached, as every address is compared with every name."""
    return "".join(lazy_pinyin(text))


def _find(text: str, names: dict[str, str], *, fuzzy: bool = True) -> list[tuple[str, str, float, str]]:
    """Return (key, name, score, how) of every name that occurs in ``text``; best first."""
    sound = _sound(text)
    hits = []
    for key, name in names.items():
        if len(name) < 2:
            continue
        if name in text:
            hits.append((key, name, 1.0, "exact"))
        elif _sound(name) in sound:
            hits.append((key, name, 0.9, "homophone"))
        elif fuzzy and len(name) >= 3:
            ratio = fuzz.partial_ratio(name, text) / 100.0
            if ratio >= 0.8:
                hits.append((key, name, round(0.85 * ratio, 3), "similar"))
    hits.sort(key=lambda hit: (-hit[2], -len(hit[1])))
    return hits


class AddressIndex:
    """Names of a workspace's features, ready to match address text against."""

    def __init__(self, ws: Store) -> None:
        meta = ws.meta()
        self.metric_crs = meta["metric_crs"]
        self.county_names = tuple(n for n in {meta.get("county_name", ""),
                                               core_name(meta.get("county_name", ""))} if n)
        self.townships = ws.read("townships").to_crs(self.metric_crs).set_index("code")
        self.communities = ws.read("communities").to_crs(self.metric_crs).set_index("code")
        self.buildings = ws.read("buildings").to_crs(self.metric_crs).set_index("code")
        pois = ws.read("pois").to_crs(self.metric_crs)
        self.pois = pois[pois["name"].notna()].reset_index(drop=True)
        roads = ws.read("road_edges").to_crs(self.metric_crs)
        roads = roads[roads["name"].notna()].assign(name=roads["name"].astype(str).str.split(";"))
        roads = roads.explode("name")
        self.roads = roads[roads["name"].str.endswith(_ROAD_SUFFIXES)].dissolve(by="name")
        self._township_names = {c: core_name(str(n)) for c, n in self.townships["name"].items()}
        self._community_names = {c: core_name(str(n)) for c, n in self.communities["name"].items()}
        compounds = self.buildings["compound"].dropna().astype(str)
        self._compound_names = {n: n for n in compounds.unique()}
        self._poi_names = {str(i): self._without_county(str(n)) for i, n in self.pois["name"].items()}
        self._road_names = {str(n): str(n) for n in self.roads.index}
        names = self.buildings["name"].where(self.buildings["name"].map(lambda n: isinstance(n, str)), "")
        self._building_names = pd.DataFrame({
            "parent_code": self.buildings["parent_code"], "name": names.map(normalize_address),
            "generic": names.str.startswith("楼栋"),
        }, index=self.buildings.index)

    def _without_county(self, name: str) -> str:
        for county in self.county_names:
            name = name.replace(county, "")
        return name

    def _to_wgs84(self, geometry: BaseGeometry) -> tuple[float, float]:
        point = gpd.GeoSeries([geometry], crs=self.metric_crs).to_crs(DISPLAY_CRS).iloc[0]
        return round(point.x, 7), round(point.y, 7)

    def locate(self, address: str) -> Location:
        """Match one address; see the module docstring for the rules."""
        text = normalize_address(address)
        text = self._without_county(text)
        if not text:
            return Location(None, None, "none", 0.0, "unlocated", EMPTY_ADDRESS)
        township = next(iter(_find(text, self._township_names)), None)
        rest = text
        if township is not None:  # the township's own name must not count as a community
            rest = re.sub(re.escape(township[1]) + "(?:街道办事处|街道|办事处|镇|乡)?", "", text, count=1)
        communities = _find(rest, self._community_names)
        if township is not None:  # prefer a community of the named township
            inside = [h for h in communities if self.communities.loc[h[0], "parent_code"] == township[0]]
            communities = inside or communities
        community = communities[0] if communities else None
        notes: list[Text] = []
        if township and community and self.communities.loc[community[0], "parent_code"] != township[0]:
            notes.append(Text(f"社区{community[1]}不属于{township[1]}",
                              f"community {community[1]} is not in {township[1]}"))
        hit = self._building_hit(text, community) or self._compound_hit(text) or self._poi_hit(text)
        hit = hit or self._road_hit(text, community, township)
        if hit is None and community is not None:
            hit = (_Hit("community", community[0], community[1], community[2], community[3]),
                   self.communities.loc[community[0], "geometry"].representative_point())
        if hit is None and township is not None:
            hit = (_Hit("township", township[0], township[1], township[2], township[3]),
                   self.townships.loc[township[0], "geometry"].representative_point())
        if hit is None:
            return Location(None, None, "none", 0.0, "unlocated", NOTHING_KNOWN)
        found, point = hit
        confidence = found.score * PRECISION[found.level] * (0.8 if notes else 1.0)
        if found.level == "poi" and any(word in text for word in NEAR_WORDS):
            confidence *= 0.85
            notes.append(Text("地址写的是地标附近", "the address says near the landmark"))
        lon, lat = self._to_wgs84(point)
        status = "placed" if confidence >= PLACE_THRESHOLD else "to_confirm"
        level, how = LEVEL_LABELS[found.level], HOW_LABELS[found.how]
        match = Text(f"{level.zh}：{found.name}（{how.zh}）", f"{level.en}: {found.name} ({how.en})")
        note = join([match, *notes])
        return Location(lon, lat, f"address:{found.level}", round(confidence, 3), status, note)

    def _building_hit(self, text: str, community: tuple | None) -> tuple[_Hit, BaseGeometry] | None:
        pool = self._building_names
        if community is not None:
            pool = pool[pool["parent_code"] == community[0]]
        for generic, fuzzy in ((False, True), (True, False)):
            table = pool[pool["generic"] == generic]["name"].to_dict()
            hits = _find(text, table, fuzzy=fuzzy)
            if hits:
                code, name, score, how = hits[0]
                return _Hit("building", code, name, score, how), self._building_point(code)
        match = _BUILDING_NUMBER.search(text)
        if community is not None and match:
            code = f"{community[0]}{int(match.group(1)):04d}"
            if code in pool.index:
                score = community[2] * 0.95
                return _Hit("building", code, f"{community[1]}{match.group(0)}", score, "number"), \
                    self._building_point(code)
        return None

    def _building_point(self, code: str) -> BaseGeometry:
        return self.buildings.loc[code, "geometry"].representative_point()

    def _compound_hit(self, text: str) -> tuple[_Hit, BaseGeometry] | None:
        hits = _find(text, self._compound_names)
        if not hits:
            return None
        name, _, score, how = hits[0]
        members = self.buildings[self.buildings["compound"] == name]
        return _Hit("compound", name, name, score, how), members.union_all().representative_point()

    def _poi_hit(self, text: str) -> tuple[_Hit, BaseGeometry] | None:
        hits = _find(text, self._poi_names)
        if not hits:
            return None
        key, name, score, how = hits[0]
        return _Hit("poi", key, name, score, how), self.pois.loc[int(key), "geometry"].representative_point()

    def _road_hit(self, text: str, community: tuple | None, township: tuple | None) -> tuple[_Hit, BaseGeometry] | None:
        hits = [hit for hit in _find(text, self._road_names, fuzzy=False)
                if not text.partition(hit[1])[2].startswith(("社区", "居委", "居民委员会", "村"))]
        if not hits:
            return None
        name, _, score, how = hits[0]
        road = self.roads.loc[name, "geometry"]
        for cell, table in ((community, self.communities), (township, self.townships)):
            if cell is not None:
                part = road.intersection(table.loc[cell[0], "geometry"])
                if not part.is_empty:
                    road = part
                    break
        point = shapely.line_interpolate_point(shapely.line_merge(road), 0.5, normalized=True) \
            if road.geom_type in ("LineString", "MultiLineString") else road.representative_point()
        if point.is_empty:
            point = road.representative_point()
        return _Hit("road", name, name, score, how), point


def attach_cells(points: gpd.GeoDataFrame, ws: Store, *, building_tolerance_m: float = 15.0) -> pd.DataFrame:
    """Return building, community and township codes for each point (empty where none).

    A point inside a building's outline, or within ``building_tolerance_m`` of one, gets that
    building; community and township come from the cells that contain the point.
    """
    metric = ws.meta()["metric_crs"]
    out = pd.DataFrame({"building_code": "", "community_code": "", "township_code": ""}, index=points.index)
    located = points[points.geometry.notna() & ~points.geometry.is_empty].to_crs(metric)
    if located.empty:
        return out
    for column, layer in (("community_code", "communities"), ("township_code", "townships")):
        cells = ws.read(layer).to_crs(metric)[["code", "geometry"]]
        joined = gpd.sjoin(located[[located.geometry.name]], cells, how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        out.loc[joined.index, column] = joined["code"].fillna("").astype(str)
    buildings = ws.read("buildings").to_crs(metric)[["code", "geometry"]]
    near = gpd.sjoin_nearest(located[[located.geometry.name]], buildings, how="left",
                             max_distance=building_tolerance_m)
    near = near[~near.index.duplicated()]
    out.loc[near.index, "building_code"] = near["code"].fillna("").astype(str)
    return out
