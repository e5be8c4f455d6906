"""``ClipSample`` (one annotated micro-expression clip of a dataset) and the folder / frame helpers the loaders share."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, fail
from realtime_mer.types import CLASSES

IMAGE_EXTS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp")
_LAST_INT = re.compile(r"(\d+)(?!.*\d)")


@dataclass(frozen=True)
class ClipSample:
    """One clip: the frames onset..offset (inclusive, in order) and 0-based onset / apex / offset into them.

    ``label`` is the MEGC 2019 composite class (negative / positive / surprise), ``emotion`` the
    dataset's own label, ``first_frame`` the dataset's frame number of ``frames[0]``;
    ``apex_annotated`` is False where the dataset gives no apex (SMIC, a few CASME II / SAMM
    rows) and the middle frame is used.
    """

    dataset: str
    subject: str
    clip: str
    frames: tuple[Path, ...]
    onset: int
    apex: int
    offset: int
    label: str
    emotion: str = ""
    first_frame: int = 0
    apex_annotated: bool = True
    fps: float = 0.0

    @property
    def label_index(self) -> int:
        """Index of ``label`` in ``CLASSES``."""
        return CLASSES.index(self.label)

    @property
    def key(self) -> str:
        """``dataset/subject/clip`` (unique within a dataset)."""
        return f"{self.dataset}/{self.subject}/{self.clip}"

    def read_gray(self) -> np.ndarray:
        """All frames as (T, H, W) uint8 grayscale (not aligned: run them through ``FaceAligner`` for model input)."""
        out = []
        for path in self.frames:
            img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if img is None:
                raise fail(DataError, f"{self.key}: frame {path} is not a readable image", "restore the file from the dataset")
            if out and img.shape != out[0].shape:
                raise fail(DataError, f"{self.key}: frame {path.name} is {img.shape}, the clip's first frame {out[0].shape}",
                           "restore the clip's frames from the dataset")
            out.append(img)
        return np.stack(out)


def frame_number(path: Path | str) -> int | None:
    """The last integer in a file's stem (``img46.jpg`` -> 46, ``006_05562.jpg`` -> 5562), or None."""
    m = _LAST_INT.search(Path(path).stem)
    return int(m.group(1)) if m else None


def index_frames(clip_dir: Path, exts: Iterable[str] = IMAGE_EXTS) -> dict[int, Path]:
    """Frame number -> image path of the images in ``clip_dir`` (the shortest name wins a duplicate number)."""
    wanted = {e.lower() for e in exts}
    table: dict[int, Path] = {}
    try:
        entries = sorted(clip_dir.iterdir(), key=lambda p: (len(p.name), p.name))
    except OSError:
        return table
    for p in entries:
        if p.suffix.lower() in wanted and p.is_file():
            n = frame_number(p)
            if n is not None:
                table.setdefault(n, p)
    return table


def span_frames(key: str, clip_dir: Path, table: dict[int, Path], first: int, last: int) -> tuple[Path, ...]:
    """The paths of frames ``first..last`` (dataset numbering); DataError naming the clip and the first missing frame."""
    if not table:
        raise fail(DataError, f"{key}: no frames in {clip_dir}", "restore the clip's image folder from the dataset")
    if last < first:
        raise fail(DataError, f"{key}: offset frame {last} is before onset frame {first}", "fix the annotation row")
    # counted over the frames that exist, never over first..last: a typo such as offset 10**12 must not build a list
    missing = (last - first + 1) - sum(1 for n in table if first <= n <= last)
    if missing:
        lo, hi = min(table), max(table)
        gap = next(n for n in itertools.count(first) if n not in table)
        raise fail(DataError, f"{key}: frame {gap} is missing from {clip_dir} (it holds frames {lo}..{hi}, "
                   f"{missing} of {first}..{last} missing)", "restore the clip's frames or fix its onset/offset")
    return tuple(table[n] for n in range(first, last + 1))


def require_root(root: Path | str, dataset: str, hint: str) -> Path:
    """``root`` as a Path; DataError when it is not a directory."""
    p = Path(root).expanduser()
    if not p.is_dir():
        raise fail(DataError, f"{dataset} root {p} is not a directory", hint)
    return p


def find_file(root: Path, patterns: Iterable[str], dataset: str, max_depth: int = 2) -> Path:
    """The first file matching one of ``patterns`` (case-insensitive) in ``root`` or up to ``max_depth`` levels below."""
    pats = [p.lower() for p in patterns]
    level = [root]
    for _ in range(max_depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                children = sorted(d.iterdir())
            except OSError:
                continue
            for c in children:
                if c.is_file() and any(Path(c.name.lower()).match(p) for p in pats):
                    return c
                if c.is_dir():
                    nxt.append(c)
        level = nxt
    raise fail(DataError, f"{dataset} annotation file ({' or '.join(patterns)}) not found under {root}",
               "pass the dataset folder that holds the annotation spreadsheet")


def find_base(root: Path, child_pattern: str, dataset: str, what: str, max_depth: int = 3) -> Path:
    """The shallowest folder (``root`` or below) holding sub-folders whose names fully match regex ``child_pattern`` (case-insensitive)."""
    rx = re.compile(child_pattern, re.IGNORECASE)
    level = [root]
    for _ in range(max_depth + 1):
        nxt: list[Path] = []
        for d in level:
            try:
                dirs = sorted(c for c in d.iterdir() if c.is_dir())
            except OSError:
                continue
            if any(rx.fullmatch(c.name) for c in dirs):
                return d
            nxt += dirs
        level = nxt
    raise fail(DataError, f"{dataset}: no {what} folders under {root}", "pass the dataset folder that holds the frame folders")


def child_dir(parent: Path, name: str) -> Path | None:
    """``parent / name`` if it is a folder, else the one folder whose name matches ignoring case, else None."""
    exact = parent / name
    low = name.lower()
    try:  # a name from a spreadsheet may be no valid path at all (too long, say): then no folder has it
        if exact.is_dir():
            return exact
        return next((c for c in parent.iterdir() if c.is_dir() and c.name.lower() == low), None)
    except OSError:
        return None


def sample_in_folder(dataset: str, name: str, base: Path, sub: str, clip: str, onset: int, apex: int | None, offset: int | None,
                     label: str, emotion: str, fps: float) -> ClipSample:
    """The onset..offset frames of ``base/sub/clip`` as a sample (``offset`` None: the clip's last frame;
    an apex outside onset..offset or None: the middle frame, marked not annotated)."""
    key = f"{name} {sub}/{clip}"
    sub_dir = child_dir(base, sub)
    clip_dir = child_dir(sub_dir, clip) if sub_dir else None
    if clip_dir is None:
        raise fail(DataError, f"{key}: folder {base / sub / clip} not found", "restore the clip's frames or pass the right root")
    table = index_frames(clip_dir)
    if offset is None or offset < 0:
        offset = max(table) if table else onset
    frames = span_frames(key, clip_dir, table, onset, offset)
    annotated = apex is not None and onset <= apex <= offset
    apex_i = apex - onset if annotated else (offset - onset) // 2  # type: ignore[operator]
    return ClipSample(dataset, sub, clip, frames, 0, apex_i, len(frames) - 1, label, emotion, onset, annotated, fps)
