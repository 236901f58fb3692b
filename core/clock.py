"""Times in Asia/Shanghai: every time the product records or shows is in this zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

TIMEZONE = ZoneInfo("Asia/Shanghai")


def now_local() -> str:
    """Return the current time in Asia/Shanghai as an ISO 8601 string (seconds)."""
    return datetime.now(TIMEZONE).isoformat(timespec="seconds")


def as_local(stamp: pd.Timestamp) -> pd.Timestamp:
    """``stamp`` in Asia/Shanghai; a time without zone is taken to be Asia/Shanghai already."""
    return stamp.tz_localize(TIMEZONE) if stamp.tzinfo is None else stamp.tz_convert(TIMEZONE)


def local_day(value: object = None) -> pd.Timestamp:
    """Midnight (Asia/Shanghai) of ``value`` (a date, time or text), or of today if ``None``."""
    stamp = pd.Timestamp.now(tz=TIMEZONE) if value is None else pd.Timestamp(value)  # type: ignore[arg-type]
    return as_local(stamp).normalize()
