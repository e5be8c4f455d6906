"""MEGC spotting evaluation: interval IoU >= 0.5, counts pooled over videos, P / R / F1 per type.

Follows the MEGC 2020 baseline (``result_helper.py`` of HeyingGithub/Baseline-project-for-
MEGC2020_spotting, the ``precision_small`` / ``F1_small`` figures it reports):

- IoU with inclusive frame counting: ``|A n B| / |A u B|`` where ``[3, 5]`` has 3 frames;
- a ground-truth interval is found when some prediction of its type has IoU >= 0.5 with it,
  and counts once however many predictions hit it: TP = found truths, FP = predictions - TP,
  FN = truths - TP;
- micro and macro are evaluated separately (a prediction competes only for truths of its own
  ``type``), counts are pooled over all videos, and *overall* pools the micro and macro counts.

Deliberate differences, both making the score stricter and well defined:

- predictions and truths are matched one-to-one (maximum bipartite matching), so one
  prediction overlapping two truths finds at most one of them (the baseline would count both
  and can report precision > 1);
- a truth video without an events file counts all its truths as missed (the baseline skips
  the video); predictions in events files of videos absent from the truth file are all FP.
A one-frame interval (onset == offset) is one frame long (the baseline gives it IoU 0).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_mer.errors import DataError, OutputError, fail
from realtime_mer.events import read_events

# one definition of IoU and of the one-to-one count, shared with the runtime (``--demo`` reports its truths found)
from realtime_mer.spotting.match import IOU_THRESHOLD, KINDS, count_found, iou  # noqa: F401  (iou: part of this API)
from realtime_mer.synth.truth import read_truth_csv
from realtime_mer.types import Interval


@dataclass
class Counts:
    """Pooled counts of one type (or overall) and the derived scores (0 where undefined)."""

    n_truth: int = 0
    n_pred: int = 0
    tp: int = 0

    @property
    def fp(self) -> int:
        return self.n_pred - self.tp

    @property
    def fn(self) -> int:
        return self.n_truth - self.tp

    @property
    def precision(self) -> float:
        return self.tp / self.n_pred if self.n_pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.n_truth if self.n_truth else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    def __iadd__(self, other: Counts) -> Counts:
        self.n_truth += other.n_truth
        self.n_pred += other.n_pred
        self.tp += other.tp
        return self

    def to_dict(self) -> dict[str, float | int]:
        return {
            "truth": self.n_truth,
            "predicted": self.n_pred,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 6),
            "recall": round(self.recall, 6),
            "f1": round(self.f1, 6),
        }


@dataclass
class SpottingReport:
    """Result of ``evaluate``: pooled counts per type and overall, and per-video counts."""

    counts: dict[str, Counts]
    per_video: dict[str, dict[str, Counts]]
    threshold: float = IOU_THRESHOLD
    missing_events: list[str] = field(default_factory=list)
    extra_videos: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "iou_threshold": self.threshold,
            "videos": len(self.per_video),
            "missing_events": self.missing_events,
            "videos_without_truth": self.extra_videos,
            **{k: c.to_dict() for k, c in self.counts.items()},
            "per_video": {v: {k: c.to_dict() for k, c in cs.items()} for v, cs in self.per_video.items()},
        }

    def table(self) -> str:
        """A plain-text table: one row each for micro, macro and overall."""
        head = f"{'':8} {'truth':>6} {'pred':>6} {'TP':>5} {'FP':>5} {'FN':>5} {'precision':>9} {'recall':>7} {'F1':>7}"
        rows = [head]
        for k in (*KINDS, "overall"):
            c = self.counts[k]
            rows.append(f"{k:8} {c.n_truth:6d} {c.n_pred:6d} {c.tp:5d} {c.fp:5d} {c.fn:5d} {c.precision:9.4f} {c.recall:7.4f} {c.f1:7.4f}")
        return "\n".join(rows)


def evaluate(truth: Mapping[str, Iterable[Interval]], preds: Mapping[str, Iterable[Interval]], threshold: float = IOU_THRESHOLD, missing: Iterable[str] = ()) -> SpottingReport:
    """Pool the per-video, per-type matches of ``preds`` against ``truth`` (both keyed by video)."""
    totals = {k: Counts() for k in (*KINDS, "overall")}
    per_video: dict[str, dict[str, Counts]] = {}
    videos = list(truth) + [v for v in preds if v not in truth]
    for v in videos:
        t_all, p_all = list(truth.get(v, ())), list(preds.get(v, ()))
        per_video[v] = {}
        for k in KINDS:
            t = [s for s in t_all if s.kind == k]
            p = [s for s in p_all if s.kind == k]
            c = Counts(len(t), len(p), count_found(t, p, threshold))
            per_video[v][k] = c
            totals[k] += c
            totals["overall"] += c
    return SpottingReport(totals, per_video, threshold, sorted(missing), sorted(v for v in preds if v not in truth))


def video_key(name: str) -> str:
    """The name events files are looked up by: the stem of the video's file name."""
    return Path(name.strip()).stem


def load_truth(path: Path) -> dict[str, list[Interval]]:
    """The intervals of a ``truth.csv`` (read by the one reader, ``read_truth_csv``) by video stem."""
    out: dict[str, list[Interval]] = {}
    for row in read_truth_csv(path):
        out.setdefault(video_key(row.video), []).append(row.interval)
    return out


def load_events(path: Path) -> list[Interval]:
    """The intervals of one event log (read by the one reader, ``realtime_mer.events.read_events``)."""
    return [e.interval() for e in read_events(path)]


def load_events_dir(events_dir: Path, videos: Iterable[str]) -> tuple[dict[str, list[Interval]], list[str]]:
    """Events of every ``<stem>.jsonl`` in ``events_dir``, and the ``videos`` that have no file."""
    if not events_dir.is_dir():
        raise fail(DataError, f"events folder {events_dir} not found", "pass --events-dir with one <video-stem>.jsonl per video")
    preds = {p.stem: load_events(p) for p in sorted(events_dir.glob("*.jsonl"))}
    return preds, [v for v in videos if v not in preds]


def write_report(path: Path, report: Mapping[str, Any]) -> Path:
    """Write a spotting report (``SpottingReport.to_dict()`` or a benchmark result) as indented JSON to ``path``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2) + "\n")
    except OSError as e:
        raise fail(OutputError, f"cannot write {path} ({e.strerror or e})", "choose a writable --out path") from None
    return path


def evaluate_dirs(truth_csv: Path, events_dir: Path, threshold: float = IOU_THRESHOLD) -> SpottingReport:
    """Evaluate an events folder against a truth file (what ``tools/evaluate_spotting.py`` runs)."""
    truth = load_truth(truth_csv)
    preds, missing = load_events_dir(events_dir, truth)
    return evaluate(truth, preds, threshold, missing)
