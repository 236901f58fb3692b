"""Match names from OpenStreetMap to the official division-code lists.

Names differ between sources: OSM writes 烧箕山社区 where the statistics bureau writes
筲箕山居民委员会, or 贵溪市滨江镇人民政府 for the seat of 滨江镇. Matching compares *core names*
(the name without county prefix and administrative suffixes), first exactly, then by Mandarin
sound (homophones such as 烧/筲 are the commonest variant), then by containment (荷清苑教师住宅区
holds 荷清苑), then by character similarity
(rapidfuzz). A candidate of the wrong kind (a 村 for a 社区) scores lower. When two
official names score alike the match is refused and reported as ambiguous: a person decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz

# Longest first, so that 社区居民委员会 is removed before 居民委员会 or 社区.
_SUFFIXES = sorted(
    [
        "社区居民委员会", "社区居委会", "居民委员会", "村民委员会", "居委会", "村委会",
        "社区", "居委", "村委", "街道办事处", "办事处", "人民政府", "政府", "街道", "管委会",
        "小区", "住宅区", "新村", "镇", "乡", "村", "片区",
    ],
    key=len,
    reverse=True,
)
_RESIDENTS = ("社区", "居民委员会", "居委会", "居委", "小区", "住宅区")
_VILLAGE = ("村民委员会", "村委会", "村委", "村")
MIN_CONFIDENCE = 0.75
AMBIGUITY_MARGIN = 0.05


def core_name(name: str, *, prefixes: tuple[str, ...] = ()) -> str:
    """Return ``name`` without the given prefixes (county names) and administrative suffixes.

    Examples
    --------
    >>> core_name("筲箕山居民委员会")
    '筲箕山'
    >>> core_name("贵溪市滨江镇人民政府", prefixes=("贵溪市",))
    '滨江'
    """
    text = re.sub(r"[\s()（）·\-]", "", str(name))
    for prefix in prefixes:
        if prefix and text.startswith(prefix) and len(text) > len(prefix) + 1:
            text = text[len(prefix):]
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                text = text[: -len(suffix)]
                changed = True
                break
    return text


def name_kind(name: str) -> str | None:
    """Return ``"residents"`` (社区/居委会), ``"village"`` (村) or None when the name doesn't say."""
    text = str(name)
    if any(text.endswith(s) for s in _RESIDENTS):
        return "residents"
    if any(text.endswith(s) for s in _VILLAGE):
        return "village"
    return None


def _sound(text: str) -> str:
    return " ".join(lazy_pinyin(text))


@dataclass(frozen=True)
class NameMatch:
    """The best official match for one name, or why there is none."""

    name: str
    code: str | None
    official_name: str | None
    confidence: float
    method: str
    note: str = ""


def _score(core: str, kind: str | None, official: str, *, prefixes: tuple[str, ...]) -> tuple[float, str]:
    other = core_name(official, prefixes=prefixes)
    if core == other:
        score, method = 1.0, "exact"
    elif _sound(core) == _sound(other):
        score, method = 0.9, "homophone"
    elif min(len(core), len(other)) >= 2 and (core in other or other in core):
        score, method = 0.8, "contains"
    else:
        score, method = 0.85 * fuzz.ratio(core, other) / 100.0, "similar"
    other_kind = name_kind(official)
    if kind and other_kind and kind != other_kind:
        score *= 0.8
        method += "+other-kind"
    return score, method


def match_name(
    name: str,
    officials: pd.DataFrame,
    *,
    prefixes: tuple[str, ...] = (),
    preferred_parent: str | None = None,
) -> NameMatch:
    """Match one name against ``officials`` (columns ``code``, ``name``, ``parent_code``).

    ``preferred_parent`` breaks ties in favour of candidates under that parent code (for
    example the township whose polygon holds the OSM point).
    """
    core, kind = core_name(name, prefixes=prefixes), name_kind(name)
    scored = []
    for row in officials.itertuples(index=False):
        score, method = _score(core, kind, str(row.name), prefixes=prefixes)
        if preferred_parent is not None and str(row.parent_code) == preferred_parent:
            score = min(1.0, score + 0.03)
        scored.append((score, method, str(row.code), str(row.name)))
    scored.sort(key=lambda item: -item[0])
    if not scored or scored[0][0] < MIN_CONFIDENCE:
        best = f"; closest: {scored[0][3]} ({scored[0][0]:.2f})" if scored else ""
        return NameMatch(name, None, None, scored[0][0] if scored else 0.0, "none", f"no match{best}")
    top = scored[0]
    rivals = [s for s in scored[1:] if top[0] - s[0] < AMBIGUITY_MARGIN]
    if rivals:
        names = "、".join([top[3], *(r[3] for r in rivals)])
        return NameMatch(name, None, None, top[0], "ambiguous", f"ambiguous between {names}")
    return NameMatch(name, top[2], top[3], round(top[0], 3), top[1])
