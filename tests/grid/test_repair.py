"""Building outline repair and spatially sane name matching, on the 贵溪 extract broken on purpose.

The shipped extract gets, appended in OSM order (nodes, ways, relations): a building drawn twice
(exactly) and a near copy of another, a small building over the corner of a large one, a small
building inside a large one, a bow-tie, an unclosed way, a way of two points, a community polygon
(admin_level 10) for 白果社区, and places that test where a name match may lie (docs/grid-cells.md, step 3):
a trap — 建设社区 (the name of a 花园街道 community) some 15 km south of the town, among other townships —
with a second wrong 花园街道 name (铜苑社区) 600 m from it, so that the two would support each other; two
wrong 雄石街道 names (仙桥社区, 挂榜山社区) 9 km south-west of the town, side by side among two villages of
罗河镇 (黄墩村, 童源村); and 西洋村, a 滨江镇 village 7 km north of the township's only other located village
(柏里村), as rural villages lie: right, and kept.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import shapely
from pyproj import Transformer

from core.settings import BuildSettings
from grid import repair
from grid.build import BuildSummary, build_workspace
from grid.check import check_workspace
from grid.who import who_is_responsible
from store import open_store
from tests.conftest import GUIXI_OSM, SOURCES

TO_M = Transformer.from_crs(4326, 4548, always_xy=True)
TO_DEG = Transformer.from_crs(4548, 4326, always_xy=True)
DUPLICATE_OF, NEAR_COPY_OF, CORNER_OF, NESTED_IN = 995766081, 995766260, 995766201, 893401683
NEW = {"duplicate": 9900000001, "near": 9900000002, "corner": 9900000003, "inner": 9900000004,
       "bowtie": 9900000005, "unclosed": 9900000006, "two_points": 9900000007, "baiguo": 9900000008}
TRAP_LONLAT = (117.26, 28.16)  # in 贵溪, ~15 km south of the county town: no 花园街道 community lies there
BAIGUO_NODE = 5217402621  # 白果社区 (place=quarter), a 花园街道 community
BOLI_NODE = 5217399843  # 柏里村 (place=village), a 滨江镇 village north of the town
PARTNER_OFFSET = (400.0, 450.0)  # 铜苑社区 from the trap, in metres
LUOHE = {"黄墩村": (515424.0, 3122448.0), "童源村": (515824.0, 3122848.0)}  # 罗河镇 villages (metres)
WRONG_XIONGSHI = {"仙桥社区": (515624.0, 3122148.0), "挂榜山社区": (515224.0, 3122748.0)}  # 雄石街道 names
FAR_VILLAGE_NORTH = 7000.0  # 西洋村 north of 柏里村


class _Extract:
    """The shipped extract with extra nodes, ways and relations appended in OSM order."""

    def __init__(self, source: Path) -> None:
        self.text = source.read_text(encoding="utf-8")
        root = ET.fromstring(self.text.encode("utf-8"))
        self.nodes = {int(n.get("id", 0)): (float(n.get("lon", 0)), float(n.get("lat", 0))) for n in root.iter("node")}
        self.ways = {int(w.get("id", 0)): [int(nd.get("ref", 0)) for nd in w.iter("nd")] for w in root.iter("way")}
        self.new_nodes: list[str] = []
        self.new_ways: list[str] = []
        self.new_relations: list[str] = []
        self.next_node = 9_900_000_001

    def outline(self, way: int) -> shapely.Polygon:
        """A way's outline in metres (EPSG:4548)."""
        return shapely.Polygon([TO_M.transform(*self.nodes[n]) for n in self.ways[way]])

    def node(self, x: float, y: float, tags: dict[str, str] | None = None) -> int:
        """Add a node at metric (x, y); return its id."""
        lon, lat = TO_DEG.transform(x, y)
        node_id, self.next_node = self.next_node, self.next_node + 1
        body = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in (tags or {}).items())
        self.new_nodes.append(f' <node id="{node_id}" version="1" lat="{lat:.7f}" lon="{lon:.7f}">{body}</node>')
        return node_id

    def way(self, way_id: int, refs: list[int], tags: dict[str, str]) -> None:
        body = "".join(f'<nd ref="{r}"/>' for r in refs) + "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        self.new_ways.append(f' <way id="{way_id}" version="1">{body}</way>')

    def ring(self, way_id: int, points: list[tuple[float, float]], tags: dict[str, str], *, close: bool = True) -> None:
        refs = [self.node(x, y) for x, y in points]
        self.way(way_id, refs + refs[:1] if close else refs, tags)

    def relation(self, relation_id: int, outer: int, tags: dict[str, str]) -> None:
        body = f'<member type="way" ref="{outer}" role="outer"/>' + "".join(
            f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        self.new_relations.append(f' <relation id="{relation_id}" version="1">{body}</relation>')

    def write(self, path: Path) -> Path:
        text = self.text
        first_way, first_relation = text.index(" <way "), text.index(" <relation ")
        nodes, ways, relations = ("\n".join(part) + "\n" for part in (self.new_nodes, self.new_ways,
                                                                      self.new_relations))
        end = text.rindex("</osm>")
        text = (text[:first_way] + nodes + text[first_way:first_relation] + ways + text[first_relation:end]
                + relations + text[end:])
        path.write_text(text, encoding="utf-8")
        return path


def _square(cx: float, cy: float, half: float) -> list[tuple[float, float]]:
    return [(cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half)]


def _broken_extract(tmp: Path) -> tuple[Path, dict[str, shapely.Point]]:
    """Write the broken extract; return it and a probe point (metres) per case."""
    osm = _Extract(GUIXI_OSM)
    building = {"building": "yes"}
    osm.way(NEW["duplicate"], osm.ways[DUPLICATE_OF], building)
    near = osm.outline(NEAR_COPY_OF)
    osm.ring(NEW["near"], [(x + 0.3, y + 0.2) for x, y in near.exterior.coords[:-1]], building)
    large = osm.outline(CORNER_OF)
    corner = shapely.Point(large.exterior.coords[0])
    osm.ring(NEW["corner"], _square(corner.x, corner.y, 10), building)
    outer = osm.outline(NESTED_IN)
    inner = outer.representative_point()
    osm.ring(NEW["inner"], _square(inner.x, inner.y, 4), building)
    base = shapely.Point(TO_M.transform(*osm.nodes[BAIGUO_NODE]))
    bowtie = shapely.Point(base.x + 1200, base.y - 900)  # open ground east of the town
    (x, y), h = (bowtie.x, bowtie.y), 15
    osm.ring(NEW["bowtie"], [(x - h, y - h), (x + h, y + h), (x + h, y - h), (x - h, y + h)], building)
    unclosed = shapely.Point(base.x + 1300, base.y - 900)
    osm.ring(NEW["unclosed"], _square(unclosed.x, unclosed.y, 12), building, close=False)
    osm.ring(NEW["two_points"], [(base.x + 1400, base.y - 900), (base.x + 1410, base.y - 900)], building)
    # 白果社区's own polygon (admin_level 10), 300 m across around its place node
    osm.ring(NEW["baiguo"], _square(base.x, base.y, 150), {})
    osm.relation(9900000001, NEW["baiguo"], {"type": "boundary", "boundary": "administrative",
                                             "admin_level": "10", "name": "白果社区"})
    trap = TO_M.transform(*TRAP_LONLAT)
    osm.node(*trap, {"place": "neighbourhood", "name": "建设社区"})
    osm.node(trap[0] + PARTNER_OFFSET[0], trap[1] + PARTNER_OFFSET[1], {"place": "neighbourhood", "name": "铜苑社区"})
    for name, at in LUOHE.items():
        osm.node(*at, {"place": "village", "name": name})
    for name, at in WRONG_XIONGSHI.items():
        osm.node(*at, {"place": "neighbourhood", "name": name})
    boli = TO_M.transform(*osm.nodes[BOLI_NODE])
    osm.node(boli[0], boli[1] + FAR_VILLAGE_NORTH, {"place": "village", "name": "西洋村"})
    probes = {"duplicate": osm.outline(DUPLICATE_OF).representative_point(),
              "near": near.representative_point(),
              "overlap": large.intersection(shapely.Polygon(_square(corner.x, corner.y, 10))).representative_point(),
              "inner": inner, "bowtie": shapely.Point(x - h / 2, y), "unclosed": unclosed}
    existing = [osm.outline(w) for w, refs in osm.ways.items() if len(refs) > 3 and refs[0] == refs[-1]]
    for spot in (bowtie, unclosed):  # the invented buildings stand on open ground
        assert not any(g.distance(spot) < 40 for g in existing)
    return osm.write(tmp / "broken.osm"), probes


@pytest.fixture(scope="module")
def broken_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuildSummary, dict[str, shapely.Point]]:
    tmp = tmp_path_factory.mktemp("broken")
    osm, probes = _broken_extract(tmp)
    summary = build_workspace(
        osm_path=osm, streets_path=SOURCES / "admin" / "streets_360681.csv",
        villages_path=SOURCES / "admin" / "villages_360681.csv",
        boundary_path=SOURCES / "boundaries" / "county_360681_cnmaps_amap_gcj02.geojson", boundary_crs="gcj02",
        out_path=tmp / "ws.gpkg", actor="tester", settings=BuildSettings(match_distance_m=5000, duplicate_iou=0.9),
    )
    return tmp / "ws.gpkg", summary, probes


def _entry(summary: BuildSummary, kind: str, way: int) -> str:
    return next(item for item in summary.repairs.get(kind, []) if item.startswith(f"way/{way} "))


def test_every_kind_of_outline_fault_is_repaired_and_listed(broken_build: tuple[Path, BuildSummary, dict]) -> None:
    _, summary, _ = broken_build
    assert summary.repairs[repair.DUPLICATE] == [f"way/{NEW['duplicate']} (= way/{DUPLICATE_OF})",
                                                 f"way/{NEW['near']} (= way/{NEAR_COPY_OF})"]
    assert _entry(summary, repair.OVERLAP, CORNER_OF).endswith(f"under way/{NEW['corner']})")  # the larger yields
    assert _entry(summary, repair.OVERLAP, NESTED_IN).endswith(f"under way/{NEW['inner']})")
    assert _entry(summary, repair.INVALID, NEW["bowtie"]) == f"way/{NEW['bowtie']} (Self-intersection)"
    assert summary.repairs[repair.UNCLOSED] == [f"way/{NEW['unclosed']}"]
    assert summary.repairs[repair.TOO_FEW_POINTS] == [f"way/{NEW['two_points']}"]
    text = "\n".join(summary.lines())
    assert "重复轮廓已删除，保留 OSM 编号最小者 / duplicate outlines dropped, the lowest OSM id kept (2)" in text
    assert f"way/{NEW['bowtie']} (Self-intersection)" in text


def test_each_point_has_one_building_and_who_answers_it(broken_build: tuple[Path, BuildSummary, dict]) -> None:
    path, _, probes = broken_build
    ws = open_store(path)
    buildings = ws.read("buildings").to_crs(4548)
    kept = set(buildings["osm_id"])
    assert {DUPLICATE_OF, NEAR_COPY_OF, CORNER_OF, NESTED_IN, NEW["corner"], NEW["inner"], NEW["bowtie"],
            NEW["unclosed"]} <= kept
    assert not {NEW["duplicate"], NEW["near"], NEW["two_points"]} & kept
    nested = buildings.set_index("osm_id").geometry
    assert len(nested[NESTED_IN].interiors) == 1  # the outer building keeps a hole where the inner one stands
    for case, point in probes.items():
        holders = buildings[buildings.contains(point)]
        assert len(holders) == 1, (case, list(holders["osm_id"]))
        lon, lat = TO_DEG.transform(point.x, point.y)
        chain = who_is_responsible(ws, lon, lat)
        assert chain[0].level == "building" and chain[0].code == holders["code"].iloc[0], case
    assert buildings.geometry.is_valid.all()
    assert set(buildings.geom_type) <= {"Polygon", "MultiPolygon"}


def test_a_name_far_from_its_township_is_refused_and_listed(broken_build: tuple[Path, BuildSummary, dict]) -> None:
    path, summary, _ = broken_build
    trap = next(r for r in summary.refused if r.name == "建设社区")
    assert (trap.code, trap.official_name) == ("360681001009", "建设居民委员会")
    assert trap.distance_m is not None and trap.distance_m > 10_000
    reach = re.search(r"beyond its reach of ([\d,]+) m", trap.reason)
    assert reach and 5_000 < int(reach.group(1).replace(",", "")) < trap.distance_m
    assert "花园街道" in trap.reason and "超出该乡镇的范围" in trap.reason
    assert "建设社区 (OSM node/" in "\n".join(summary.lines())
    ws = open_store(path)
    assert "360681001009" not in set(ws.read("communities")["code"])
    places = ws.read("places").set_index("name")
    assert not places.loc["建设社区", "used_as_anchor"] and "refused" in places.loc["建设社区", "note"]
    assert places.loc["建设社区", "note"].startswith("拒绝：") and " / refused: " in places.loc["建设社区", "note"]


def test_two_wrong_places_side_by_side_are_both_refused(broken_build: tuple[Path, BuildSummary, dict]) -> None:
    path, summary, _ = broken_build
    refused = {r.name: r for r in summary.refused}
    assert {"建设社区", "铜苑社区", "仙桥社区", "挂榜山社区"} <= set(refused)
    assert "beyond its reach" in refused["铜苑社区"].reason  # far from 花园街道's places, though 600 m from the trap
    for name in WRONG_XIONGSHI:  # nearer 罗河镇's villages than 雄石街道's places, though each other's neighbour
        assert refused[name].code.startswith("360681002"), name
        assert "罗河镇" in refused[name].reason and "雄石街道" in refused[name].reason, refused[name].reason
        assert refused[name].distance_m is not None and refused[name].distance_m > 5_000
    communities = set(open_store(path).read("communities")["code"])
    assert not {"360681001007", "360681002005", "360681002006"} & communities
    assert {"360681106200", "360681106201"} <= communities  # 罗河镇's villages stand


def test_a_far_village_of_a_sparsely_mapped_township_is_kept(broken_build: tuple[Path, BuildSummary, dict]) -> None:
    path, summary, _ = broken_build
    assert not any(r.name == "西洋村" for r in summary.refused)
    ws = open_store(path)
    places = ws.read("places").to_crs(4548).set_index("name")
    far = places.loc["西洋村"]
    assert far["code"] == "360681111206" and far["used_as_anchor"]
    others = places[places["code"].str.startswith("360681111", na=False) & places["used_as_anchor"]
                    & (places.index != "西洋村")]
    assert len(others) == 2 and others.distance(far.geometry).min() > 5_000  # farther than match_distance_m
    communities = ws.read("communities").set_index("code")
    assert communities.loc["360681111206", "parent_code"] == "360681111"


def test_a_looser_distance_limit_lets_the_trap_through(tmp_path: Path) -> None:
    osm, _ = _broken_extract(tmp_path)
    summary = build_workspace(
        osm_path=osm, streets_path=SOURCES / "admin" / "streets_360681.csv",
        villages_path=SOURCES / "admin" / "villages_360681.csv",
        boundary_path=SOURCES / "boundaries" / "county_360681_cnmaps_amap_gcj02.geojson", boundary_crs="gcj02",
        out_path=tmp_path / "ws.gpkg", actor="tester", settings=BuildSettings(match_distance_m=50_000),
    )
    assert not any(r.name == "建设社区" for r in summary.refused)
    assert "360681001009" in set(open_store(tmp_path / "ws.gpkg").read("communities")["code"])


def test_a_community_polygon_is_the_community_cell(broken_build: tuple[Path, BuildSummary, dict]) -> None:
    path, summary, _ = broken_build
    ws = open_store(path)
    communities = ws.read("communities").to_crs(4548).set_index("code")
    townships = ws.read("townships").to_crs(4548).set_index("code")
    baiguo = communities.loc["360681001001"]
    assert (baiguo["geometry_source"], baiguo["parent_code"]) == ("osm-relation", "360681001")
    base = shapely.Point(TO_M.transform(*_Extract(GUIXI_OSM).nodes[BAIGUO_NODE]))
    square = shapely.Polygon(_square(base.x, base.y, 150))
    dongmen = townships.loc["360681003"].geometry  # 东门街道's own OSM polygon takes its corner: real borders stay
    expected = square.difference(dongmen)
    assert 0 < dongmen.intersection(square).area < 0.25 * square.area
    assert baiguo.geometry.symmetric_difference(expected).area < 10.0  # OSM's 7 decimals: ~1 cm along 1.2 km
    assert townships.loc["360681001"].geometry.buffer(0.5).contains(baiguo.geometry)
    assert any("community 360681001001" in w and "cut off" in w for w in summary.warnings)


def test_the_repaired_workspace_passes_check(broken_build: tuple[Path, BuildSummary, dict]) -> None:
    assert check_workspace(open_store(broken_build[0])) == []
