"""SMIC-HS loader (Li et al. 2013; 100 fps).

Layout as released: ``HS/s1/micro/{negative,positive,surprise}/<clip>/*.bmp`` (``root`` is the
``HS`` folder or a folder holding it). The class is the folder name; SMIC clips are cut to the
movement, so onset = first frame and offset = last frame; SMIC has no apex annotation, so the
middle frame is used (``apex_annotated=False``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mer_lab.datasets.megc_classes import megc_label
from mer_lab.datasets.samples import ClipSample, child_dir, index_frames, require_root, span_frames
from realtime_mer.errors import DataError, fail

DATASET = "smic"
FPS = 100.0
EMOTIONS: tuple[str, ...] = ("negative", "positive", "surprise")


def _hs_dir(root: Path) -> Path:
    """The ``HS`` folder: ``root`` itself, ``root/HS`` or ``root/*/HS``."""
    if root.name.lower() == "hs":
        return root
    hs = child_dir(root, "HS")
    if hs is not None:
        return hs
    for c in sorted(root.iterdir()):
        if c.is_dir() and (hs := child_dir(c, "HS")) is not None:
            return hs
    raise fail(DataError, f"SMIC: no HS folder in {root}", "pass the SMIC folder that holds HS/s1/micro/...")


def load_smic(root: Path | str, mapping: Mapping[str, str] | None = None) -> list[ClipSample]:
    """Every SMIC-HS micro clip (all frames of each clip folder, which must be consecutively numbered)."""
    hs = _hs_dir(require_root(root, "SMIC", "pass the SMIC folder that holds HS/"))
    subjects = sorted((d for d in hs.iterdir() if d.is_dir() and d.name.lower().startswith("s")),
                      key=lambda d: (len(d.name), d.name))
    out: list[ClipSample] = []
    for sub_dir in subjects:
        micro = child_dir(sub_dir, "micro")
        if micro is None:
            continue
        for emotion in EMOTIONS:
            emo_dir = child_dir(micro, emotion)
            if emo_dir is None:
                continue
            label = megc_label(DATASET, emotion, mapping)
            if label is None:
                continue
            for clip_dir in sorted(d for d in emo_dir.iterdir() if d.is_dir()):
                key = f"SMIC-HS {sub_dir.name}/{clip_dir.name}"
                table = index_frames(clip_dir, (".bmp", ".jpg", ".png"))
                if not table:
                    raise fail(DataError, f"{key}: no frames in {clip_dir}", "restore the clip's images from the dataset")
                first, last = min(table), max(table)
                frames = span_frames(key, clip_dir, table, first, last)
                n = len(frames)
                out.append(ClipSample(DATASET, sub_dir.name, clip_dir.name, frames, 0, (n - 1) // 2, n - 1, label, emotion,
                                      first, False, FPS))
    if not out:
        raise fail(DataError, f"SMIC: no clips under {hs}/s*/micro/{{negative,positive,surprise}}", "pass the SMIC-HS folder")
    return out
