"""SAMM loader (Davison et al. 2018; 200 fps).

Layout as released: ``SAMM_Micro_FACS_Codes_v2.xlsx`` (a notes block above the table; header row
starting with ``Subject``; columns Filename, Onset Frame, Apex Frame, Offset Frame, Estimated
Emotion, ...) and frames ``<frames>/006/006_1_2/006_05562.jpg`` (``<frames>`` = the root or a
folder below it, e.g. ``SAMM``). Frame numbers are the last number in the image names. A missing
apex (empty or -1) becomes the middle frame; a missing offset (empty or -1) the clip folder's last
frame (we could not verify how often the release has those).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mer_lab.datasets.megc_classes import megc_label
from mer_lab.datasets.samples import ClipSample, find_base, find_file, require_root, sample_in_folder
from mer_lab.datasets.xlsx import as_int, as_text, read_table
from realtime_mer.errors import DataError, fail

DATASET = "samm"
FPS = 200.0
COLUMNS: dict[str, tuple[str, ...]] = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("Onset Frame", "OnsetFrame", "Onset"),
    "apex": ("Apex Frame", "ApexFrame", "Apex"),
    "offset": ("Offset Frame", "OffsetFrame", "Offset"),
    "emotion": ("Estimated Emotion", "Emotion"),
}


def load_samm(root: Path | str, mapping: Mapping[str, str] | None = None) -> list[ClipSample]:
    """Every SAMM clip whose emotion maps to a class (MEGC 2019 by default), onset..offset frames."""
    root = require_root(root, "SAMM", "pass the folder holding SAMM_Micro_FACS_Codes_v2.xlsx and the 006.. frame folders")
    sheet = find_file(root, ("SAMM_Micro_FACS_Codes*.xlsx",), "SAMM")
    base = find_base(root, r"\d{3}", "SAMM", "006-style subject")
    out: list[ClipSample] = []
    for row in read_table(sheet, COLUMNS):
        subject, clip = as_text(row["subject"]), as_text(row["clip"])
        if not subject and not clip:
            continue
        label = megc_label(DATASET, as_text(row["emotion"]), mapping)
        if label is None:
            continue
        onset, apex, offset = as_int(row["onset"]), as_int(row["apex"]), as_int(row["offset"])
        if onset is None or onset < 0 or not subject.isdigit() or not clip:
            raise fail(DataError, f"{sheet.name} line {row['_line']}: bad subject / filename / onset {subject!r} {clip!r} "
                       f"{row['onset']!r}", "fix the row or use the original annotation file")
        sub = f"{int(subject):03d}"
        out.append(sample_in_folder(DATASET, "SAMM", base, sub, clip, onset, apex, offset, label, as_text(row["emotion"]).lower(), FPS))
    return out
