"""Loader for the MEGC 2019 composite apex-flow features (``../shared/data/megc2019_composite_flow``).

Layout: ``labels.csv`` (columns ``file, dataset, subject, clip, label``; 0 negative, 1 positive,
2 surprise) and ``flow/<file>`` 28x28 RGB PNGs (R = u, G = v, B = optical strain).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, fail
from realtime_mer.types import CLASSES

DATASET_NAME = "megc2019-flow"
COLUMNS: tuple[str, ...] = ("file", "dataset", "subject", "clip", "label")
IMAGE_SHAPE: tuple[int, int, int] = (28, 28, 3)


@dataclass
class MegcFlowSet:
    """The whole set in memory: ``images`` (N, 28, 28, 3) uint8 RGB, ``labels`` (N,) int64, per-sample metadata."""

    images: np.ndarray
    labels: np.ndarray
    subjects: list[str]
    datasets: list[str]
    files: list[str]
    root: Path
    classes: tuple[str, ...] = field(default=CLASSES)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> MegcFlowSet:
        """The samples at ``idx`` (a new set; arrays are copied)."""
        ix = np.asarray(idx, dtype=np.int64)
        pick = lambda xs: [xs[i] for i in ix]  # noqa: E731
        return MegcFlowSet(self.images[ix], self.labels[ix], pick(self.subjects), pick(self.datasets),
                           pick(self.files), self.root, self.classes)


def _read_rows(labels_csv: Path) -> list[dict[str, str]]:
    """The rows of labels.csv, checked for the expected columns."""
    try:
        with labels_csv.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise fail(DataError, f"{labels_csv} lacks column(s) {', '.join(missing)}",
                           f"the header must be {','.join(COLUMNS)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise fail(DataError, f"cannot read {labels_csv}: {e}", "check the file") from e
    if not rows:
        raise fail(DataError, f"{labels_csv} has no samples", "point --data-root at the MEGC 2019 flow set")
    return rows


def _label(row: dict[str, str], line: int, labels_csv: Path) -> int:
    """The integer class of one row (0..len(CLASSES)-1)."""
    try:
        y = int(row["label"])
    except (TypeError, ValueError):
        y = -1
    if not 0 <= y < len(CLASSES):
        raise fail(DataError, f"{labels_csv} line {line}: label {row['label']!r} is not in 0..{len(CLASSES) - 1}",
                   "fix the label column")
    return y


def load_megc_flow(root: Path | str) -> MegcFlowSet:
    """Load every sample of the set under ``root`` (which holds ``labels.csv`` and ``flow/``)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise fail(DataError, f"MEGC flow root {root} is not a directory",
                   "pass --data-root ../shared/data/megc2019_composite_flow")
    labels_csv = root / "labels.csv"
    if not labels_csv.is_file():
        raise fail(DataError, f"{labels_csv} not found", "point --data-root at the folder holding labels.csv and flow/")
    rows = _read_rows(labels_csv)
    images = np.empty((len(rows), *IMAGE_SHAPE), np.uint8)
    labels = np.empty(len(rows), np.int64)
    for i, row in enumerate(rows):
        line = i + 2
        path = root / "flow" / row["file"]
        if not path.is_file():
            raise fail(DataError, f"{path} (labels.csv line {line}) not found", "restore the flow/ folder of the set")
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise fail(DataError, f"{path} is not a readable image", "restore the file from the published set")
        if bgr.shape != IMAGE_SHAPE:
            raise fail(DataError, f"{path} is {bgr.shape[1]}x{bgr.shape[0]}, expected 28x28 RGB",
                       "use the 28x28 apex-flow features")
        images[i] = bgr[..., ::-1]
        labels[i] = _label(row, line, labels_csv)
    return MegcFlowSet(
        images=images,
        labels=labels,
        subjects=[r["subject"] for r in rows],
        datasets=[r["dataset"] for r in rows],
        files=[r["file"] for r in rows],
        root=root,
    )
