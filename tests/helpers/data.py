"""Tiny fake dataset trees: spreadsheets (openpyxl) and 8x8 frame images."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import openpyxl


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """A workbook with one sheet per entry (in order), rows as given."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(list(r))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_frames(folder: Path, names: Iterable[str], size: int = 8) -> list[Path]:
    """Small gray images named ``names`` in ``folder`` (pixel value = position in the list, so order is checkable)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k, name in enumerate(names):
        p = folder / name
        ok = cv2.imwrite(str(p), np.full((size, size), 10 * k % 250, np.uint8))
        assert ok, p
        out.append(p)
    return out
