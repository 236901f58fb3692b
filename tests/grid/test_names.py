from __future__ import annotations

import pandas as pd

from grid.names import core_name, match_name

OFFICIALS = pd.DataFrame(
    {
        "code": ["360681003010", "360681003001", "360681004004", "360681003007", "360681003009"],
        "name": ["筲箕山居民委员会", "信江居民委员会", "信江村民委员会", "江北居委会", "江背居委会"],
        "parent_code": ["360681003", "360681003", "360681004", "360681003", "360681003"],
    }
)


def test_core_name_strips_prefix_and_suffixes() -> None:
    assert core_name("筲箕山居民委员会") == "筲箕山"
    assert core_name("贵溪市滨江镇人民政府", prefixes=("贵溪市",)) == "滨江"


def test_homophone_variant_is_matched_with_lower_confidence() -> None:
    match = match_name("烧箕山社区", OFFICIALS)
    assert match.code == "360681003010"
    assert match.method == "homophone"
    assert match.confidence < 1.0


def test_community_prefers_residents_committee_over_village_of_same_name() -> None:
    assert match_name("信江社区", OFFICIALS).code == "360681003001"
    assert match_name("信江村", OFFICIALS).code == "360681004004"


def test_equally_good_candidates_are_refused_as_ambiguous() -> None:
    match = match_name("江贝社区", OFFICIALS)  # sounds like both 江北 and 江背
    assert match.code is None


def test_unrelated_name_is_unmatched_with_closest_candidate() -> None:
    match = match_name("炼厂社区", OFFICIALS)
    assert match.code is None
    assert "closest" in match.note
