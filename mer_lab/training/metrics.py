"""MEGC 2019 recognition metrics on pooled predictions: UF1, UAR, accuracy, confusion.

UF1 = mean over classes of per-class F1 (F1_c = 2 TP / (2 TP + FP + FN)); UAR = mean over classes
of per-class recall (TP / (TP + FN)). Classes with no ground-truth sample in the evaluated subset
are left out of both means (as in the MEGC 2019 evaluation script, where they raise and are
skipped); a class that is present but never predicted counts with F1 = recall = 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Scores:
    """UF1, UAR and accuracy of one set of predictions, with the confusion matrix (rows = truth)."""

    uf1: float
    uar: float
    accuracy: float
    n: int
    f1: tuple[float, ...]
    recall: tuple[float, ...]
    confusion: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = asdict(self)
        d["confusion"] = [list(r) for r in self.confusion]
        d["f1"], d["recall"] = list(self.f1), list(self.recall)
        return d


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes) int64 counts; rows = true class, columns = predicted class."""
    t, p = np.asarray(y_true, np.int64).ravel(), np.asarray(y_pred, np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    if t.size and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= n_classes):
        raise ValueError(f"labels must be in 0..{n_classes - 1}")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int = 3) -> Scores:
    """MEGC 2019 UF1 / UAR / accuracy of pooled predictions."""
    cm = confusion_matrix(y_true, y_pred, n_classes)
    tp = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1).astype(np.float64)  # TP + FN
    predicted = cm.sum(axis=0).astype(np.float64)  # TP + FP
    present = support > 0
    f1 = np.divide(2 * tp, support + predicted, out=np.zeros(n_classes), where=(support + predicted) > 0)
    recall = np.divide(tp, support, out=np.zeros(n_classes), where=present)
    n = int(cm.sum())
    return Scores(
        uf1=float(f1[present].mean()) if present.any() else 0.0,
        uar=float(recall[present].mean()) if present.any() else 0.0,
        accuracy=float(tp.sum() / n) if n else 0.0,
        n=n,
        f1=tuple(float(v) for v in f1),
        recall=tuple(float(v) for v in recall),
        confusion=tuple(tuple(int(v) for v in row) for row in cm),
    )
