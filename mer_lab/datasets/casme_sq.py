"""CAS(ME)^2 loader (Qu et al. 2017; long videos at 30 fps, micro- and macro-expressions).

Layout as we could reconstruct it from public code (not verified against the release itself):
``CAS(ME)^2code_final*.xlsx`` whose first sheet has NO header row and the columns participant,
expression name (``disgust1_1``), onset, apex, offset (0 = not coded), AUs, estimated emotion
(negative / positive / surprise / others), type (micro-expression / macro-expression),
self-reported emotion; a sheet ``naming rule1`` (folder number e.g. 15, a name, participant id)
and a sheet ``naming rule2`` (video code e.g. 0101, expression name e.g. disgust1). Frames are
``rawpic/s15/15_0101disgustingteeth/img1.jpg`` (or ``cropped/...``): folder ``<NN>_<code>...``
of subject ``s<NN>``; frame numbers are those in the image names. Not verified: which rule1
column holds the folder number (we take the first, else the digits of the second), and whether
onset numbers are 1-based image numbers (we assume they are, as public evaluation code does).
An offset of 0 becomes ``apex + (apex - onset)``, clipped to the last frame.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

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
from mer_lab.datasets.xlsx import as_int, as_text, read_rows, sheet_names
from realtime_mer.errors import DataError, fail

DATASET = "casme_sq"
FPS = 30.0


def _digits(value: Any) -> int | None:
    """The integer in a cell like ``15``, ``"s15"`` or ``"0101"``, or None."""
    n = as_int(value)
    if n is not None:
        return n
    m = re.search(r"\d+", as_text(value))
    return int(m.group()) if m else None


def _rule_sheets(sheet: Path) -> tuple[str | int, str | int]:
    """The two naming-rule sheets, by name (``naming rule1`` / ``naming rule2``) or else by position (1, 2)."""
    names = sheet_names(sheet)
    norm = [re.sub(r"\s+", "", n).lower() for n in names]
    r1 = next((names[i] for i, n in enumerate(norm) if n.endswith("rule1")), 1)
    r2 = next((names[i] for i, n in enumerate(norm) if n.endswith("rule2")), 2)
    return r1, r2


def _naming(sheet: Path) -> tuple[dict[int, int], dict[str, str]]:
    """(participant id -> subject folder number, expression name -> 4-digit video code) from the naming-rule sheets."""
    r1, r2 = _rule_sheets(sheet)
    subjects: dict[int, int] = {}
    for row in read_rows(sheet, r1):
        folder = _digits(row[0]) if len(row) > 0 and row[0] is not None else None
        folder = folder if folder is not None else (_digits(row[1]) if len(row) > 1 else None)
        pid = as_int(row[2]) if len(row) > 2 else None
        if folder is not None and pid is not None:
            subjects[pid] = folder
    videos: dict[str, str] = {}
    for row in read_rows(sheet, r2):
        code = _digits(row[0]) if row else None
        name = as_text(row[1]).lower() if len(row) > 1 else ""
        if code is not None and name:
            videos[name] = f"{code:04d}"
    if not subjects or not videos:
        raise fail(DataError, f"{sheet.name}: the naming-rule sheets give no subject or video codes",
                   "use the original CAS(ME)^2code_final.xlsx")
    return subjects, videos


def load_casme_sq(root: Path | str, mapping: Mapping[str, str] | None = None, kinds: Iterable[str] = ("micro",),
                  frames_dir: str = "rawpic") -> list[ClipSample]:
    """CAS(ME)^2 expressions of the given ``kinds`` (micro / macro) whose emotion maps to a class; onset..offset frames."""
    root = require_root(root, "CAS(ME)^2", "pass the folder holding CAS(ME)^2code_final.xlsx and rawpic/")
    sheet = find_file(root, ("CAS(ME)^2code_final*.xlsx", "CAS(ME)2code_final*.xlsx"), "CAS(ME)^2")
    base = child_dir(root, frames_dir) or find_base(root, r"s\d+", "CAS(ME)^2", "s15-style subject")
    subjects, videos = _naming(sheet)
    want = {k.lower() for k in kinds}
    out: list[ClipSample] = []
    for line, row in enumerate(read_rows(sheet, 0), start=1):
        cells = list(row) + [None] * max(0, 9 - len(row))
        pid, onset, apex, offset = as_int(cells[0]), as_int(cells[2]), as_int(cells[3]), as_int(cells[4])
        if pid is None or onset is None:  # a header or notes row
            continue
        kind = "micro" if "micro" in as_text(cells[7]).lower() else "macro"
        emotion = as_text(cells[6]).lower()
        label = megc_label(DATASET, emotion, mapping)
        if kind not in want or label is None:
            continue
        name = as_text(cells[1])
        expression = name.rsplit("_", 1)[0].lower()
        if pid not in subjects or expression not in videos:
            raise fail(DataError, f"{sheet.name} line {line}: participant {pid} / expression {name!r} is not in the naming rules",
                       "use the original CAS(ME)^2code_final.xlsx")
        nn, code = subjects[pid], videos[expression]
        sub = f"s{nn}"
        sub_dir = child_dir(base, sub)
        prefix = f"{nn}_{code}".lower()
        clip_dir = None
        if sub_dir is not None:
            clip_dir = next((d for d in sorted(sub_dir.iterdir()) if d.is_dir() and d.name.lower().startswith(prefix)), None)
        key = f"CAS(ME)^2 {sub}/{name}"
        if clip_dir is None:
            raise fail(DataError, f"{key}: no folder {base / sub / prefix}* found", "restore the video's frames or pass the right root")
        table = index_frames(clip_dir)
        if offset is None or offset <= 0:
            a = apex if apex is not None and apex >= onset else onset
            offset = min(a + (a - onset), max(table) if table else a)
        frames = span_frames(key, clip_dir, table, onset, offset)
        annotated = apex is not None and onset <= apex <= offset
        apex_i = apex - onset if annotated else (offset - onset) // 2  # type: ignore[operator]
        out.append(ClipSample(DATASET, sub, name, frames, 0, apex_i, len(frames) - 1, label, emotion, onset, annotated, FPS))
    return out
