"""Ground truth of synthetic sets: ``TruthRow`` (an ``Interval`` and its metadata) and ``truth.csv``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from realtime_mer.errors import DataError, OutputError, fail
from realtime_mer.types import CLASSES, Interval

TRUTH_COLUMNS: tuple[str, ...] = ("video", "onset", "apex", "offset", "type", "aus", "label")


@dataclass(frozen=True, slots=True)
class TruthRow:
    """One injected movement of one video: its ``interval`` (0-based inclusive frames, type),
    the action units (``aus`` like ``"6+12"``) and the class ``label``."""

    video: str
    interval: Interval
    aus: str
    label: str


def write_truth_csv(path: Path, rows: list[TruthRow]) -> Path:
    """Write ``rows`` with the header ``video,onset,apex,offset,type,aus,label``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(TRUTH_COLUMNS)
            for r in rows:
                iv = r.interval
                w.writerow((r.video, iv.onset, iv.apex, iv.offset, iv.kind, r.aus, r.label))
    except OSError as exc:
        raise fail(OutputError, f"cannot write {path}: {exc.strerror or exc}", "choose a writable --out folder") from exc
    return path


def read_truth_csv(path: Path) -> list[TruthRow]:
    """Read and validate a truth.csv written by ``write_truth_csv``."""
    path = Path(path)
    if not path.is_file():
        raise fail(DataError, f"{path} not found", "generate it with tools/make_synthetic.py")
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != TRUTH_COLUMNS:
            raise fail(DataError, f"{path} has columns {reader.fieldnames}", f"expected {','.join(TRUTH_COLUMNS)}")
        out = []
        for n, row in enumerate(reader, start=2):
            try:
                iv = Interval(int(row["onset"]), int(row["apex"]), int(row["offset"]), row["type"])  # type: ignore[arg-type]
            except ValueError as exc:
                raise fail(DataError, f"{path}:{n}: {exc}", "fix or regenerate the file") from exc
            if not (0 <= iv.onset < iv.apex < iv.offset) or iv.kind not in ("micro", "macro") or row["label"] not in CLASSES:
                raise fail(DataError, f"{path}:{n}: invalid row {row}", "fix or regenerate the file")
            out.append(TruthRow(row["video"], iv, row["aus"], row["label"]))
    return out
