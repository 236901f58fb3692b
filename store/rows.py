"""Row arithmetic for callers that must say what changed: compare frames by key, vectorised."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

_TOLERANCE_DEG = 1e-7


def _missing(series: pd.Series) -> np.ndarray:
    values = series.astype(object)
    return (pd.isna(values) | (values == "")).to_numpy(dtype=bool)


def same_values(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Equal as a person would read them, element-wise: empty ≈ missing, 15 ≈ 15.0, points within 1e-7°."""
    if isinstance(a.dtype, gpd.array.GeometryDtype) or isinstance(b.dtype, gpd.array.GeometryDtype):
        left, right = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        both_none = pd.isna(a).to_numpy() & pd.isna(b).to_numpy()
        with np.errstate(invalid="ignore"):
            equal = shapely.equals_exact(left, right, _TOLERANCE_DEG)
        return both_none | np.asarray(equal, dtype=bool)
    a_missing, b_missing = _missing(a), _missing(b)
    numbers_a = pd.to_numeric(a.astype(object), errors="coerce").to_numpy(dtype=float)
    numbers_b = pd.to_numeric(b.astype(object), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        numeric = np.abs(numbers_a - numbers_b) < 1e-9
    text = (a.astype(object).astype(str).to_numpy() == b.astype(object).astype(str).to_numpy())
    return (a_missing & b_missing) | (~a_missing & ~b_missing & (numeric | text))


def changed_rows(old: pd.DataFrame | None, new: pd.DataFrame, key: str | Sequence[str], *,
                 ignore: Sequence[str] = ()) -> pd.Series:
    """For each row of ``new``: ``True`` if ``old`` has no row with its key or holds other values.

    Only the columns both frames have are compared, less ``ignore``; the result is on ``new``'s index.
    """
    keys = [key] if isinstance(key, str) else list(key)
    if old is None or old.empty or new.empty:
        return pd.Series(True, index=new.index)
    left = new.reset_index(drop=True)
    right = old.drop_duplicates(subset=keys, keep="last")
    position = pd.MultiIndex.from_frame(right[keys].astype(str)).get_indexer(
        pd.MultiIndex.from_frame(left[keys].astype(str)))
    found = position >= 0
    changed = ~found
    columns = [c for c in left.columns if c in right.columns and c not in keys and c not in ignore]
    if found.any():
        rows = np.flatnonzero(found)
        matched = right.iloc[position[rows]].reset_index(drop=True)
        subset = left.iloc[rows].reset_index(drop=True)
        differ = np.zeros(len(rows), dtype=bool)
        for column in columns:
            differ |= ~same_values(subset[column], matched[column])
        changed[rows] = differ
    return pd.Series(changed, index=new.index)
