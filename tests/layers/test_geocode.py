"""Address matching against the workspace's own features."""

from __future__ import annotations

import pytest

from layers.geocode import PLACE_THRESHOLD, AddressIndex
from store import open_store


@pytest.fixture(scope="module")
def index(guixi_build: tuple) -> AddressIndex:
    return AddressIndex(open_store(guixi_build[0]))


@pytest.mark.parametrize(("address", "method", "placed"), [
    ("江西省贵溪市雄石街道北街社区楼栋 0003", "address:building", True),
    ("北街社区３栋２单元", "address:building", True),  # full-width digits, building number in a community
    ("贵溪市第四中学", "address:poi", True),
    ("贵溪五中对面", "address:poi", False),  # "opposite" a landmark: a candidate, not a placement
    ("雄石街道建设路188号", "address:road", False),
    ("烧箕山社区", "address:community", False),  # homophone of 筲箕山
    ("西街社区", "address:community", False),  # a community, not the road called 西街
])
def test_addresses(index: AddressIndex, address: str, method: str, placed: bool) -> None:
    found = index.locate(address)
    assert found.method == method
    assert (found.status == "placed") == placed
    assert (found.confidence >= PLACE_THRESHOLD) == placed
    assert found.lon is not None


def test_unknown_address_is_not_placed(index: AddressIndex) -> None:
    found = index.locate("上海市浦东新区张江路")
    assert found.status == "unlocated" and found.lon is None and "没有可识别" in found.note.zh
    assert found.note.en.startswith("the address names no township")


@pytest.mark.parametrize(("address", "zh", "en"), [
    ("江西省贵溪市雄石街道北街社区楼栋 0003", "楼栋：楼栋0003（名称一致）", "building: 楼栋0003 (same name)"),
    ("北街社区３栋２单元", "楼栋：北街3栋（楼号）", "building: 北街3栋 (building number)"),
    ("贵溪五中对面", "地标：贵溪五中（名称一致）；地址写的是地标附近",
     "landmark: 贵溪五中 (same name); the address says near the landmark"),
    ("雄石街道建设路188号", "道路：建设路（名称一致）", "road: 建设路 (same name)"),
    ("烧箕山社区", "社区(村)：筲箕山（同音）", "community: 筲箕山 (same sound)"),
    ("东门街道北街社区", "社区(村)：北街（名称一致）；社区北街不属于东门",
     "community: 北街 (same name); community 北街 is not in 东门"),
    ("贵溪市", "地址为空", "the address is empty"),  # nothing left once the county's name is taken out
])
def test_every_note_says_what_was_matched_in_both_languages(index: AddressIndex, address: str, zh: str,
                                                            en: str) -> None:
    note = index.locate(address).note
    assert (note.zh, note.en) == (zh, en)
