"""MEGC interval matching: inclusive-frame IoU and the one-to-one count of truths found (IoU >= 0.5).

The lab's evaluation (``mer_lab.evaluation.spotting``) scores with these; the runtime uses them where
it knows the truth (``--demo`` says how many of its injected movements were found).
"""

from __future__ import annotations

from collections.abc import Sequence

from realtime_mer.types import Interval, IntervalKind

KINDS: tuple[IntervalKind, ...] = ("micro", "macro")
IOU_THRESHOLD = 0.5


def iou(a: Interval | tuple[int, int], b: Interval | tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals (0 when either is empty)."""
    a0, a1 = (a.onset, a.offset) if isinstance(a, Interval) else a
    b0, b1 = (b.onset, b.offset) if isinstance(b, Interval) else b
    if a1 < a0 or b1 < b0:
        return 0.0
    inter = min(a1, b1) - max(a0, b0) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a1 - a0 + 1) + (b1 - b0 + 1) - inter)


def matched(truth: Sequence[Interval], preds: Sequence[Interval], threshold: float = IOU_THRESHOLD) -> dict[int, int]:
    """A maximum one-to-one matching with IoU >= ``threshold``: {truth index: prediction index}."""
    hits = [[j for j, p in enumerate(preds) if iou(t, p) >= threshold] for t in truth]
    owner: dict[int, int] = {}  # prediction -> truth

    def augment(t: int, seen: set[int]) -> bool:
        for j in hits[t]:
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = t
                return True
        return False

    for t in range(len(truth)):
        if hits[t]:
            augment(t, set())
    return {t: j for j, t in owner.items()}


def count_found(truth: Sequence[Interval], preds: Sequence[Interval], threshold: float = IOU_THRESHOLD) -> int:
    """Truths found by distinct predictions with IoU >= ``threshold`` (maximum one-to-one matching)."""
    return len(matched(truth, preds, threshold))


def found_by_type(truth: Sequence[Interval], preds: Sequence[Interval], threshold: float = IOU_THRESHOLD) -> int:
    """Truths found as MEGC counts them: a prediction competes only for truths of its own type (micro / macro)."""
    return sum(count_found([t for t in truth if t.kind == k], [p for p in preds if p.kind == k], threshold) for k in KINDS)


__all__ = ["IOU_THRESHOLD", "KINDS", "count_found", "found_by_type", "iou", "matched"]
