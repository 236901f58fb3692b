"""Seeded generator of demonstration responsible persons (演示数据).

Real names and phone numbers of cadres, grid members and building heads are not public, so
the default workspaces carry invented ones. They are drawn from common surnames and given
names with ``numpy.random.default_rng(seed)`` (the seed is derived from the county code, so
a rebuild gives the same people), phone numbers use the 170 prefix with a fixed ``0000``
block, and every row is marked ``responsible_source = "演示数据"``. A county replaces them by
importing its own roster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEMO_LABEL = "演示数据"
ROLES = {
    "county": "县区双减专班负责人",
    "township": "乡镇(街道)包片干部",
    "community": "社区(村)网格员",
    "building": "楼长",
}
_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉玲红波宁鑫斌宇浩凯峰婷雪琳晨阳")


def demo_people(codes: list[str], *, level: str, seed: int) -> pd.DataFrame:
    """Return invented responsible persons for ``codes`` (one each), labelled 演示数据.

    Columns: ``code``, ``responsible_name``, ``responsible_role``, ``responsible_phone``,
    ``responsible_source``. The same codes, level and seed always give the same people.
    """
    level_offset = list(ROLES).index(level)
    rng = np.random.default_rng([seed, level_offset])
    n = len(codes)
    surnames = rng.choice(_SURNAMES, size=n)
    given = ["".join(rng.choice(_GIVEN, size=int(k))) for k in rng.integers(1, 3, size=n)]
    numbers = rng.integers(0, 10_000, size=n)
    return pd.DataFrame(
        {
            "code": codes,
            "responsible_name": [s + g for s, g in zip(surnames, given, strict=True)],
            "responsible_role": ROLES[level],
            "responsible_phone": [f"1700000{num:04d}" for num in numbers],
            "responsible_source": DEMO_LABEL,
        }
    )
