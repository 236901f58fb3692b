"""What comes from a browser or a file, and what goes back out: never trusted, never live.

* :func:`safe_filename` — a client's file name is only ever a label: its last part, in safe
  characters; it never becomes a path.
* :func:`check_upload` — an upload larger than the settings allow is refused with the limit.
* :func:`safe_cell` — text written to CSV or XLSX that a spreadsheet would run as a formula
  (starting with ``= + - @``, a tab or a carriage return; OWASP "CSV injection") is written as text.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath, PureWindowsPath

from core.errors import InputError
from core.settings import UploadSettings
from core.text import Text

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_filename(name: object, default: str = "upload") -> str:
    """The last part of a client's file name, in letters, digits, ``. _ -`` only (for display and temp files)."""
    text = unicodedata.normalize("NFKC", str(name or ""))
    last = PureWindowsPath(PurePosixPath(text).name).name  # "../../x.csv", "C:\\a\\x.csv", "/etc/x" → "x.csv"
    cleaned = re.sub(r"[^\w.\-]", "_", last).lstrip(".")[-120:]
    return cleaned or default


def check_upload(name: object, size: int, settings: UploadSettings) -> None:
    """Refuse an upload over ``settings.max_mb`` with a message naming the file and the limit."""
    if size > settings.max_mb * 1024 * 1024:
        raise InputError(Text(f"文件 {safe_filename(name)} 有 {size / 1048576:.1f} MB，超过上传上限 "
                              f"{settings.max_mb:g} MB；请拆分后再上传。",
                              f"{safe_filename(name)} is {size / 1048576:.1f} MB, over the {settings.max_mb:g} MB "
                              "upload limit; split it."))


def safe_cell(value: object) -> object:
    """``value`` as a spreadsheet must store it: text that would start a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
