"""Reading annotation spreadsheets (``.xlsx``, openpyxl): a table below a header row, or raw rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from realtime_mer.errors import DataError, fail


def _workbook(path: Path) -> Any:
    """An openpyxl workbook (read-only, values only); DataError when it cannot be read."""
    try:
        import openpyxl
    except ImportError as e:  # an optional dependency: only the dataset loaders need it
        raise fail(DataError, "reading dataset spreadsheets needs openpyxl", "pip install openpyxl") from e
    try:
        return openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises zipfile / KeyError / InvalidFileException for broken files
        raise fail(DataError, f"cannot read spreadsheet {path}: {type(e).__name__}: {str(e)[:120]}",
                   "restore the annotation file from the dataset release") from e


def sheet_names(path: Path) -> list[str]:
    """The sheet names of a workbook."""
    wb = _workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_rows(path: Path, sheet: str | int = 0) -> list[tuple[Any, ...]]:
    """All rows of one sheet (by name or index) as tuples of cell values, fully empty rows dropped."""
    wb = _workbook(path)
    try:
        names = list(wb.sheetnames)
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise fail(DataError, f"{path} has no sheet #{sheet} (it has {len(names)})", "use the original annotation file")
            ws = wb[names[sheet]]
        elif sheet in names:
            ws = wb[sheet]
        else:
            raise fail(DataError, f"{path} has no sheet {sheet!r} (sheets: {', '.join(names)})", "use the original annotation file")
        return [tuple(r) for r in ws.iter_rows(values_only=True) if any(v not in (None, "") for v in r)]
    finally:
        wb.close()


def _norm(name: Any) -> str:
    """A header cell, normalised for matching: lower case, single spaces."""
    return " ".join(str(name).split()).lower() if name is not None else ""


def read_table(path: Path, required: dict[str, tuple[str, ...]], sheet: str | int = 0) -> list[dict[str, Any]]:
    """Rows below the first row that holds every required column (notes above the table are skipped).

    ``required`` maps an output key to the accepted header names (case- and space-insensitive);
    each row comes back as ``{key: value}`` plus ``"_line"``, the 1-based spreadsheet line.
    """
    rows = read_rows(path, sheet)
    wanted = {k: {_norm(a) for a in alts} for k, alts in required.items()}
    for i, row in enumerate(rows):
        heads = [_norm(c) for c in row]
        cols = {k: next((j for j, h in enumerate(heads) if h in alts), -1) for k, alts in wanted.items()}
        if all(j >= 0 for j in cols.values()):
            out = []
            for line, r in enumerate(rows[i + 1 :], start=i + 2):
                d: dict[str, Any] = {k: (r[j] if j < len(r) else None) for k, j in cols.items()}
                d["_line"] = line
                out.append(d)
            return out
    names = "; ".join(f"{k} ({'/'.join(alts)})" for k, alts in required.items())
    raise fail(DataError, f"{path} has no header row with the columns {names}", "use the original annotation spreadsheet")


def as_int(value: Any) -> int | None:
    """An integer cell (``12``, ``12.0``, ``" 12 "``), or None for empty / non-numeric (``"/"``) cells."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if float(value).is_integer() else None
    s = str(value).strip()
    try:
        f = float(s)
    except ValueError:
        return None
    return int(f) if f.is_integer() else None


def as_text(value: Any) -> str:
    """A cell as stripped text; integral floats lose their ``.0`` (``6.0`` -> ``"6"``)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
