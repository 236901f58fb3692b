"""Read the spreadsheets bureaus keep: XLSX, or CSV in UTF-8 or GBK/GB18030.

Exports from the national platform and hand-kept lists often start with a title line
("贵溪市校外培训机构名单") above the header, so the header row is found by its known column
names rather than assumed to be the first line. Every cell is read as text; row numbers are the
ones a person sees in the spreadsheet program (header row included).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import SchemaError
from grid.admin import decode_text

HEADER_SEARCH_ROWS = 10


@dataclass(frozen=True)
class Table:
    """Rows of a spreadsheet as text, with the mapping from schema fields to its columns."""

    frame: pd.DataFrame  # columns are schema fields; index is the spreadsheet row number
    columns: dict[str, str]  # field -> header as written in the file
    unknown_columns: list[str]
    encoding: str


def _raw_rows(path: Path) -> tuple[list[list[str]], str]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            sheet = pd.read_excel(path, header=None, dtype=str, engine="openpyxl", na_filter=False)
        except Exception as exc:  # openpyxl raises many kinds for damaged files
            msg = f"{path}: cannot read this XLSX file ({exc}); open it in Excel/WPS and save it again."
            raise SchemaError(msg) from exc
        return sheet.astype(str).values.tolist(), "XLSX"
    if suffix == ".xls":
        msg = f"{path}: old .xls files are not supported; save it as .xlsx or .csv in Excel/WPS."
        raise SchemaError(msg)
    if suffix not in (".csv", ".txt"):
        msg = f"{path}: unknown file type {suffix!r}; give an .xlsx or .csv file."
        raise SchemaError(msg)
    text, encoding = decode_text(path)
    return list(csv.reader(io.StringIO(text))), "GB18030" if encoding == "gb18030" else "UTF-8"


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).lower().lstrip("\ufeff").strip("*")


def map_headers(headers: list[str], aliases: dict[str, tuple[str, ...]]) -> tuple[dict[str, int], list[str]]:
    """Map schema fields to column positions; return the mapping and the unrecognised headers."""
    lookup = {_key(alias): field for field, names in aliases.items() for alias in names}
    mapping: dict[str, int] = {}
    unknown = []
    for position, header in enumerate(headers):
        field = lookup.get(_key(header))
        if field is None or field in mapping:
            if _key(header):
                unknown.append(str(header).strip())
            continue
        mapping[field] = position
    return mapping, unknown


def read_table(path: str | Path, aliases: dict[str, tuple[str, ...]], *, required: tuple[str, ...]) -> Table:
    """Read ``path`` and map its headers with ``aliases``; raise :class:`SchemaError` if unusable."""
    path = Path(path)
    if not path.is_file():
        msg = f"file {path} does not exist."
        raise SchemaError(msg)
    rows, encoding = _raw_rows(path)
    best: tuple[int, dict[str, int], list[str]] | None = None
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping, unknown = map_headers(row, aliases)
        if best is None or len(mapping) > len(best[1]):
            best = (number, mapping, unknown)
    if best is None or len(best[1]) < 2:
        msg = (f"{path}: no header row found in the first {HEADER_SEARCH_ROWS} lines; the first line should "
               f"hold column names such as {', '.join(names[0] for names in aliases.values())}.")
        raise SchemaError(msg)
    header_row, mapping, unknown = best
    headers = rows[header_row]
    missing = [field for field in required if field not in mapping]
    if missing:
        wanted = "; ".join(f"{field}: {' / '.join(aliases[field][:3])}" for field in missing)
        msg = f"{path}: missing required column(s) — {wanted}. Columns found: {', '.join(map(str, headers))}."
        raise SchemaError(msg)
    records = {}
    for number, row in enumerate(rows[header_row + 1:], start=header_row + 2):
        values = {field: (row[pos].strip() if pos < len(row) else "") for field, pos in mapping.items()}
        if any(values.values()):
            records[number] = values
    frame = pd.DataFrame.from_dict(records, orient="index", columns=list(mapping)).fillna("")
    frame.index.name = "row"
    return Table(frame.astype(object), {field: str(headers[pos]) for field, pos in mapping.items()},
                 unknown, encoding)
