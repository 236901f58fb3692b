"""Read the spreadsheets bureaus keep: XLSX, or CSV in UTF-8 or GBK/GB18030.

Exports from the national platform and hand-kept lists often start with a title line
("贵溪市校外培训机构名单") above the header, so the header row is found by its known column
names rather than assumed to be the first line. Every cell is read as text; row numbers are the
ones a person sees in the spreadsheet program (header row included).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from core.errors import SchemaError
from core.settings import UploadSettings
from core.text import Text
from grid.admin import decode_text
from layers.schema import HEADER_LABELS_EN

HEADER_SEARCH_ROWS = 10
MAX_COLUMNS = 64  # no list a bureau keeps is wider; a sheet declaring more is refused (a wide sheet costs memory)


@dataclass(frozen=True)
class Table:
    """Rows of a spreadsheet as text, with the mapping from schema fields to its columns."""

    frame: pd.DataFrame  # columns are schema fields; index is the spreadsheet row number
    columns: dict[str, str]  # field -> header as written in the file
    unknown_columns: list[str]
    encoding: str


_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def _cell_text(value: object) -> str:
    """A cell as the text a person sees (dates as ISO, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else format(value, ".15g")
    return str(value)


def _limits() -> UploadSettings:
    from core.settings import load_patrol_settings

    return load_patrol_settings().uploads


def _too_many_rows(path: Path, limits: UploadSettings) -> SchemaError:
    return SchemaError(Text(f"{path.name}：超过 {limits.max_rows} 行，未导入；请分成几个文件。",
                            f"{path.name}: more than {limits.max_rows} rows; nothing was imported — split the file."))


def _unreadable_xlsx(path: Path, exc: Exception) -> SchemaError:
    return SchemaError(Text(f"{path.name}：无法读取此 XLSX 文件（{exc}）；请用 Excel/WPS 打开后重新保存。",
                            f"{path.name}: cannot read this XLSX file ({exc}); open it in Excel/WPS and save it "
                            "again."))


def _xlsx_rows(path: Path, limits: UploadSettings) -> list[list[str]]:
    """The first sheet's rows as text; a merged cell's value applies to every cell it covers.

    The workbook is streamed (openpyxl's read-only mode) after its unpacked size is checked, and
    reading stops at the row limit, so a small file that unpacks to gigabytes costs no memory.
    """
    import zipfile

    import openpyxl

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise _unreadable_xlsx(path, exc) from exc
    if unpacked > limits.xlsx_unpacked_mb * 2**20:
        raise SchemaError(Text(
            f"{path.name}：解压后 {unpacked / 2**20:.0f} MB，超过 {limits.xlsx_unpacked_mb:g} MB 的上限，未导入；"
            "请只保留名单所在的工作表，或另存为 CSV。",
            f"{path.name}: the workbook unpacks to {unpacked / 2**20:.0f} MB, more than "
            f"{limits.xlsx_unpacked_mb:g} MB; save only the sheet with the list, or as CSV.",
        ))
    rows: list[list[str]] = []
    try:
        with path.open("rb") as handle:  # by content: openpyxl refuses a workbook named .csv
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
            sheet = book.worksheets[0]
            if (sheet.max_column or 0) > MAX_COLUMNS:
                raise SchemaError(Text(f"{path.name}：工作表用到第 {sheet.max_column} 列，超过 {MAX_COLUMNS} 列，"
                                       "未导入；请删除右侧多余的列后再导入。",
                                       f"{path.name}: the sheet uses {sheet.max_column} columns, more than "
                                       f"{MAX_COLUMNS}; delete the unused columns on the right."))
            for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
                rows.append([_cell_text(v) for v in row])
                if len(rows) > limits.max_rows + HEADER_SEARCH_ROWS:
                    raise _too_many_rows(path, limits)
            merges = _merged_ranges(path, getattr(sheet, "_worksheet_path", ""))
            book.close()
    except SchemaError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise _unreadable_xlsx(path, exc) from exc
    for min_row, min_col, max_row, max_col in merges:
        max_col = min(max_col, MAX_COLUMNS)
        if min_row > len(rows) or min_col > max_col:
            continue
        top = rows[min_row - 1]
        value = top[min_col - 1] if min_col - 1 < len(top) else ""
        for r in range(min_row, min(max_row, len(rows)) + 1):
            line = rows[r - 1]
            line.extend([""] * (max_col - len(line)))
            for c in range(min_col, max_col + 1):
                line[c - 1] = value
    return rows


def _merged_ranges(path: Path, member: str) -> list[tuple[int, int, int, int]]:
    """The merged ranges of a sheet, read by streaming its XML (read-only mode does not keep them)."""
    import zipfile
    from xml.etree.ElementTree import iterparse

    from openpyxl.utils.cell import range_boundaries

    if not member:
        return []
    out = []
    with zipfile.ZipFile(path) as archive, archive.open(member.lstrip("/")) as xml:
        for _, element in iterparse(xml):
            if element.tag.endswith("}mergeCell") and element.get("ref"):
                min_col, min_row, max_col, max_row = range_boundaries(element.get("ref"))
                out.append((int(min_row), int(min_col), int(max_row), int(max_col)))
            element.clear()
    return out


def _raw_rows(path: Path) -> tuple[list[list[str]], str]:
    """The rows of a spreadsheet file as text, whatever its name says: the content decides."""
    limits = _limits()
    size = path.stat().st_size / 2**20
    if size > limits.max_mb:
        raise SchemaError(Text(f"{path.name}：{size:.1f} MB，超过 {limits.max_mb:g} MB 的上限"
                               "（设置 [uploads] max_mb）；请拆分文件。",
                               f"{path.name}: {size:.1f} MB, over the {limits.max_mb:g} MB limit "
                               "(settings [uploads] max_mb); split the file."))
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(_ZIP_MAGIC):
        return _xlsx_rows(path, limits), "XLSX"
    if head.startswith(_OLE_MAGIC):
        raise SchemaError(Text(f"{path.name}：不支持旧的 .xls 文件；请在 Excel/WPS 中另存为 .xlsx 或 .csv。",
                               f"{path.name}: old .xls files are not supported; save it as .xlsx or .csv in "
                               "Excel/WPS."))
    if path.suffix.lower() not in (".csv", ".txt", ".xlsx", ".xlsm", ""):
        raise SchemaError(Text(f"{path.name}：未知的文件类型 {path.suffix!r}；请用 .xlsx 或 .csv 文件。",
                               f"{path.name}: unknown file type {path.suffix!r}; give an .xlsx or .csv file."))
    text, encoding = decode_text(path)
    rows = []
    for row in csv.reader(io.StringIO(text)):
        rows.append(row)
        if len(rows) > limits.max_rows + HEADER_SEARCH_ROWS:
            raise _too_many_rows(path, limits)
    return rows, "GB18030" if encoding == "gb18030" else "UTF-8"


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
        raise SchemaError(Text(f"文件 {path} 不存在。", f"file {path} does not exist."))
    rows, encoding = _raw_rows(path)
    best: tuple[int, dict[str, int], list[str]] | None = None
    for number, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping, unknown = map_headers(row, aliases)
        if best is None or len(mapping) > len(best[1]):
            best = (number, mapping, unknown)
    if best is None or len(best[1]) < 2:
        examples = [names[0] for names in aliases.values()]
        raise SchemaError(Text(f"{path.name}：前 {HEADER_SEARCH_ROWS} 行中找不到表头；第一行应为列名，如"
                               f"{'、'.join(examples)}。",
                               f"{path.name}: no header row found in the first {HEADER_SEARCH_ROWS} lines; the first "
                               f"line should hold column names such as {', '.join(examples)}."))
    header_row, mapping, unknown = best
    headers = rows[header_row]
    missing = [field for field in required if field not in mapping]
    if missing:
        found = [str(h) for h in headers if str(h).strip()]
        names = {f: "/".join(aliases[f][:3]) for f in missing}
        raise SchemaError(Text(
            f"{path.name}：缺少必填列 {'、'.join(names.values())}。文件中的列：{'、'.join(found)}。",
            f"{path.name}: missing required column(s) — "
            + "; ".join(f"{HEADER_LABELS_EN.get(f, f)} ({n})" for f, n in names.items())
            + f". Columns found: {', '.join(found)}.",
        ))
    records = {}
    for number, row in enumerate(rows[header_row + 1:], start=header_row + 2):
        values = {field: (row[pos].strip() if pos < len(row) else "") for field, pos in mapping.items()}
        if any(values.values()):
            records[number] = values
    frame = pd.DataFrame.from_dict(records, orient="index", columns=list(mapping)).fillna("")
    frame.index.name = "row"
    return Table(frame.astype(object), {field: str(headers[pos]) for field, pos in mapping.items()},
                 unknown, encoding)
