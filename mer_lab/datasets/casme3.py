"""CAS(ME)^3 Part A loader (Li et al., TPAMI 2022; 30 fps, RGB-D).

Layout as we could reconstruct it from public code (not verified against the release itself):
``annotation/cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` (sheet ``label``; columns Subject
(``spNO.1``), Filename (``a``), Onset, Apex, Offset, AU, Objective class, emotion) and full
sequences ``.../part_A/spNO.1/a/color/<n>.jpg`` (depth maps in ``depth/``), the frame number
being the JpgIndex of the sheet. The folder holding the ``spNO.*`` folders is searched for (the
releases nest it differently) and names are matched ignoring case (labels say ``spNO`` where some
folders say ``spNo``, filenames ``A`` vs ``a``); a clip folder without ``color/`` is read directly.
One Filename can hold several expressions, so ``clip`` is ``<Filename>_<onset>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mer_lab.datasets.megc_classes import megc_label
from mer_lab.datasets.samples import (
    ClipSample,
    child_dir,
    find_base,
    find_file,
    index_frames,
    require_root,
    span_frames,
)
from mer_lab.datasets.xlsx import as_int, as_text, read_table, sheet_names
from realtime_mer.errors import DataError, fail

DATASET = "casme3"
FPS = 30.0
COLUMNS: dict[str, tuple[str, ...]] = {
    "subject": ("Subject",),
    "clip": ("Filename",),
    "onset": ("Onset", "OnsetFrame", "Onset Frame"),
    "apex": ("Apex", "ApexFrame", "Apex Frame"),
    "offset": ("Offset", "OffsetFrame", "Offset Frame"),
    "emotion": ("emotion", "Estimated Emotion"),
}


def load_casme3(root: Path | str, mapping: Mapping[str, str] | None = None) -> list[ClipSample]:
    """Every CAS(ME)^3 Part A micro-expression whose emotion maps to a class; onset..offset colour frames."""
    root = require_root(root, "CAS(ME)^3", "pass the Part A folder holding the annotation spreadsheet and the spNO.* frames")
    sheet = find_file(root, ("cas(me)3_part_A_ME_label*.xlsx", "cas(me)^3_part_A_ME_label*.xlsx"), "CAS(ME)^3", max_depth=3)
    tab = "label" if "label" in sheet_names(sheet) else 0
    base = find_base(root, r"spno\.\d+", "CAS(ME)^3", "spNO.*-style subject", max_depth=5)
    out: list[ClipSample] = []
    for row in read_table(sheet, COLUMNS, tab):
        subject, name = as_text(row["subject"]), as_text(row["clip"])
        if not subject and not name:
            continue
        emotion = as_text(row["emotion"]).lower()
        label = megc_label(DATASET, emotion, mapping)
        if label is None:
            continue
        onset, apex, offset = as_int(row["onset"]), as_int(row["apex"]), as_int(row["offset"])
        if onset is None or offset is None or not subject or not name:
            raise fail(DataError, f"{sheet.name} line {row['_line']}: bad subject / filename / onset / offset",
                       "fix the row or use the original annotation file")
        key = f"CAS(ME)^3 {subject}/{name}"
        sub_dir = child_dir(base, subject)
        seq_dir = child_dir(sub_dir, name) if sub_dir else None
        if seq_dir is None:
            raise fail(DataError, f"{key}: folder {base / subject / name} not found", "restore the sequence's frames or pass the right root")
        clip_dir = child_dir(seq_dir, "color") or seq_dir
        frames = span_frames(key, clip_dir, index_frames(clip_dir), onset, offset)
        annotated = apex is not None and onset <= apex <= offset
        apex_i = apex - onset if annotated else (offset - onset) // 2  # type: ignore[operator]
        out.append(ClipSample(DATASET, subject, f"{name}_{onset}", frames, 0, apex_i, len(frames) - 1, label, emotion,
                              onset, annotated, FPS))
    return out
