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
    assert found.status == "unlocated" and found.lon is None and "没有可识别" in found.note
