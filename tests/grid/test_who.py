from __future__ import annotations

from dataclasses import replace

import pytest

from core.text import Text, in_language
from grid.crs import wgs84_to_bd09, wgs84_to_gcj02
from grid.who import OutsideCountyError, who_is_responsible
from patrol.cli import main
from store import Store


def _building_point(ws: Store) -> tuple[float, float, str]:
    building = ws.read("buildings").iloc[5]
    point = building.geometry.representative_point()
    return point.x, point.y, str(building["code"])


def test_chain_runs_from_building_to_county(guixi_copy: Store) -> None:
    lon, lat, code = _building_point(guixi_copy)
    chain = who_is_responsible(guixi_copy, lon, lat)
    assert [link.level for link in chain] == ["building", "community", "township", "county"]
    assert chain[0].code == code
    assert chain[1].code == code[:12]
    assert chain[2].code == code[:9]
    assert chain[3].code == "360681"
    assert all(link.person and link.phone and link.role for link in chain)


@pytest.mark.parametrize(("crs", "forward"), [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_shifted_coordinates_find_the_same_building(guixi_copy: Store, crs: str, forward: object) -> None:
    lon, lat, code = _building_point(guixi_copy)
    x, y = forward(lon, lat)  # type: ignore[operator]
    assert who_is_responsible(guixi_copy, float(x), float(y), crs=crs)[0].code == code


def test_point_between_buildings_starts_at_its_community(guixi_copy: Store) -> None:
    chain = who_is_responsible(guixi_copy, 117.23, 28.30)
    assert [link.level for link in chain] == ["community", "township", "county"]


def test_point_outside_the_county_gets_a_clear_message(guixi_copy: Store) -> None:
    with pytest.raises(OutsideCountyError, match="outside 贵溪市") as outside:
        who_is_responsible(guixi_copy, 116.0, 28.3)
    assert in_language(outside.value, "zh").startswith("点 (116.000000, 28.300000)（WGS84）在贵溪市之外，距县界 ")
    assert in_language(outside.value, "en").startswith("point (116.000000, 28.300000) WGS84 lies outside 贵溪市, ")


def test_a_link_reads_in_either_language(guixi_copy: Store) -> None:
    link = replace(who_is_responsible(guixi_copy, 117.23, 28.30)[0],
                   note=Text("估计：最近的已定位网格，相距12米", "an estimate: the nearest located cell, 12 m away"))
    assert link.line("zh").startswith("社区(村) ") and link.line("zh").endswith("[估计：最近的已定位网格，相距12米]")
    assert link.line("en").startswith("Community ") and link.line("en").endswith("[an estimate: the nearest located "
                                                                                  "cell, 12 m away]")
    assert link.line().endswith("[估计：最近的已定位网格，相距12米 / an estimate: the nearest located cell, 12 m away]")


def test_who_command_prints_the_chain(guixi_copy: Store, capsys: pytest.CaptureFixture[str]) -> None:
    lon, lat, code = _building_point(guixi_copy)
    assert main(["who", guixi_copy.location, "--lon", str(lon), "--lat", str(lat)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert code in lines[0]
    assert "演示数据" in lines[0]


def test_who_command_outside_the_county_exits_with_an_error(
    guixi_copy: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["who", guixi_copy.location, "--lon", "100", "--lat", "30"]) == 2
    assert "outside" in capsys.readouterr().err
