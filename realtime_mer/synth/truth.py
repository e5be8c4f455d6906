"""Ground truth of synthetic sets: ``TruthInterval`` and ``truth.csv``."""

from __future__ import annotations

import csv
from dataclasses import astuple, dataclass
from pathlib import Path

from realtime_mer.errors import DataError, OutputError, fail
from realtime_mer.types import CLASSES, IntervalKind

TRUTH_COLUMNS: tuple[str, ...] = ("video", "onset", "apex", "offset", "type", "aus", "label")


@dataclass(frozen=True, slots=True)
class TruthInterval:
    """One injected movement: 0-based frame indices, inclusive; ``aus`` like ``"6+12"``."""

    video: str
    onset: int
    apex: int
    offset: int
    type: IntervalKind
    aus: str
    label: str

    @property
    def n_frames(self) -> int:
        return self.offset - self.onset + 1

    def duration_ms(self, fps: float) -> float:
        """``(offset - onset) / fps`` in milliseconds."""
        return (self.offset - self.onset) * 1000.0 / fps

    def contains(self, index: int) -> bool:
        return self.onset <= index <= self.offset


def write_truth_csv(path: Path, rows: list[TruthInterval]) -> Path:
    """Write ``rows`` with the header ``video,onset,apex,offset,type,aus,label``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(TRUTH_COLUMNS)
            for r in rows:
                w.writerow(astuple(r))
    except OSError as exc:
        raise fail(OutputError, f"cannot write {path}: {exc.strerror or exc}", "choose a writable --out folder") from exc
    return path


def read_truth_csv(path: Path) -> list[TruthInterval]:
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
                r = TruthInterval(row["video"], int(row["onset"]), int(row["apex"]), int(row["offset"]), row["type"], row["aus"], row["label"])  # type: ignore[arg-type]
            except ValueError as exc:
                raise fail(DataError, f"{path}:{n}: {exc}", "fix or regenerate the file") from exc
            if not (0 <= r.onset < r.apex < r.offset) or r.type not in ("micro", "macro") or r.label not in CLASSES:
                raise fail(DataError, f"{path}:{n}: invalid row {row}", "fix or regenerate the file")
            out.append(r)
    return out

