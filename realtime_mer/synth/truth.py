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
    """The one ``truth.csv`` reader (the generator's, the evaluation's, the timeline's).

    Strict: exactly the columns ``TRUTH_COLUMNS``; integer frames with ``0 <= onset < apex < offset``;
    ``type`` micro or macro; ``label`` one of ``CLASSES``. Every failure is a one-line ``DataError``
    naming the file, the line and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise fail(DataError, f"truth file {path} not found", "pass a truth.csv written by tools/make_synthetic.py")
    fix = f"write the columns {','.join(TRUTH_COLUMNS)} as tools/make_synthetic.py does"
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != TRUTH_COLUMNS:
                raise fail(DataError, f"{path} has the columns {','.join(reader.fieldnames or ()) or 'none'}", fix)
            return [_truth_row(row, f"{path}:{n}", fix) for n, row in enumerate(reader, start=2)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise fail(DataError, f"{path} is not a CSV text file ({exc})", fix) from None


def _truth_row(row: dict[str, str | None], where: str, fix: str) -> TruthRow:
    if None in row or any(v is None for v in row.values()):
        raise fail(DataError, f"{where}: expected {len(TRUTH_COLUMNS)} fields", fix)
    try:
        onset, apex, offset = int(row["onset"]), int(row["apex"]), int(row["offset"])  # type: ignore[arg-type]
    except ValueError:
        raise fail(DataError, f"{where}: onset/apex/offset {row['onset']!r}/{row['apex']!r}/{row['offset']!r} are not integers", fix) from None
    if not 0 <= onset < apex < offset:
        raise fail(DataError, f"{where}: frames onset {onset}, apex {apex}, offset {offset} are not 0 <= onset < apex < offset", fix)
    kind = row["type"]
    if kind not in ("micro", "macro"):
        raise fail(DataError, f"{where}: type {kind!r} is not micro or macro", fix)
    if row["label"] not in CLASSES:
        raise fail(DataError, f"{where}: label {row['label']!r} is not one of {', '.join(CLASSES)}", fix)
    return TruthRow(str(row["video"]), Interval(onset, apex, offset, "micro" if kind == "micro" else "macro"), str(row["aus"]),
                    str(row["label"]))
