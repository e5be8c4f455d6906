"""CASME II loader (Yan et al. 2014; 200 fps).

Layout as released: ``CASME2-coding-*.xlsx`` (columns Subject, Filename, OnsetFrame, ApexFrame,
OffsetFrame, Estimated Emotion; a few ApexFrame cells are ``/``) and frames
``<frames>/sub01/EP02_01f/img46.jpg`` where ``<frames>`` is the root itself or a folder below it
(``CASME2_RAW_selected``, ``Cropped``, ...). Frame numbers in the sheet are the numbers in the
image names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from mer_lab.datasets.megc_classes import megc_label
from mer_lab.datasets.samples import ClipSample, find_base, find_file, require_root, sample_in_folder
from mer_lab.datasets.xlsx import as_int, as_text, read_table
from realtime_mer.errors import DataError, fail

DATASET = "casme2"
FPS = 200.0
COLUMNS: dict[str, tuple[str, ...]] = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("OnsetFrame", "Onset Frame"),
    "apex": ("ApexFrame", "Apex Frame"),
    "offset": ("OffsetFrame", "Offset Frame"),
    "emotion": ("Estimated Emotion", "Emotion"),
}


def load_casme2(root: Path | str, mapping: Mapping[str, str] | None = None) -> list[ClipSample]:
    """Every CASME II clip whose emotion maps to a class (MEGC 2019 by default), onset..offset frames."""
    root = require_root(root, "CASME II", "pass the folder holding CASME2-coding-*.xlsx and the sub01.. frame folders")
    sheet = find_file(root, ("CASME2-coding-*.xlsx",), "CASME II")
    base = find_base(root, r"sub\d+", "CASME II", "sub01-style subject")
    out: list[ClipSample] = []
    for row in read_table(sheet, COLUMNS):
        subject, clip = as_text(row["subject"]), as_text(row["clip"])
        if not subject and not clip:
            continue
        label = megc_label(DATASET, as_text(row["emotion"]), mapping)
        if label is None:
            continue
        onset, apex, offset = as_int(row["onset"]), as_int(row["apex"]), as_int(row["offset"])
        digits = re.sub(r"\D", "", subject)  # "01", 1 or "sub01"
        if onset is None or offset is None or offset < 0 or not digits:
            raise fail(DataError, f"{sheet.name} line {row['_line']}: bad subject / onset / offset {subject!r} {row['onset']!r} "
                       f"{row['offset']!r}", "fix the row or use the original annotation file")
        sub = f"sub{int(digits):02d}"
        out.append(sample_in_folder(DATASET, "CASME II", base, sub, clip, onset, apex, offset, label, as_text(row["emotion"]).lower(), FPS))
    return out
