"""Turn pooled predictions into ``metrics.json`` content, a confusion-matrix PNG and a predictions CSV."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mer_lab.training.metrics import scores
from mer_lab.training.splits import Fold

SUBSETS: tuple[str, ...] = ("smic", "casme2", "samm")


def _brief(y: np.ndarray, p: np.ndarray, n_classes: int) -> dict[str, Any]:
    s = scores(y, p, n_classes)
    return {"uf1": s.uf1, "uar": s.uar, "accuracy": s.accuracy, "n": s.n}


def summarize(labels: np.ndarray, preds: np.ndarray, datasets: Sequence[str], subjects: Sequence[str],
              folds: Sequence[Fold], fold_of: np.ndarray, classes: Sequence[str],
              groups: dict[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """MEGC 2019 metrics of the tested samples: composite, per sub-dataset, per fold, and per subject group."""
    tested = fold_of >= 0
    y, p = labels[tested], preds[tested]
    ds = np.asarray(datasets, dtype=object)[tested]
    subj = np.asarray(subjects, dtype=object)[tested]
    c = len(classes)
    overall = scores(y, p, c)
    out: dict[str, Any] = {
        "uf1": overall.uf1,
        "uar": overall.uar,
        "accuracy": overall.accuracy,
        "n": overall.n,
        "classes": list(classes),
        "f1_per_class": dict(zip(classes, overall.f1, strict=True)),
        "recall_per_class": dict(zip(classes, overall.recall, strict=True)),
        "confusion": [list(r) for r in overall.confusion],
        "per_dataset": {d: _brief(y[ds == d], p[ds == d], c) for d in sorted(set(ds), key=_subset_order)},
    }
    per_fold = []
    for i, fold in enumerate(folds):
        m = fold_of == i
        if m.any():
            per_fold.append({"fold": fold.name, "test_subjects": list(fold.test_subjects),
                             **_brief(labels[m], preds[m], c)})
    out["per_fold"] = per_fold
    for name, members in (groups or {}).items():
        m = np.isin(subj, np.asarray(list(members), dtype=object))
        out[name] = _brief(y[m], p[m], c) | {"per_dataset": {d: _brief(y[m & (ds == d)], p[m & (ds == d)], c)
                                                             for d in sorted(set(ds[m]), key=_subset_order)}}
    return out


def _subset_order(name: str) -> tuple[int, str]:
    return (SUBSETS.index(name) if name in SUBSETS else len(SUBSETS), name)


def plot_confusion(confusion: Sequence[Sequence[int]], classes: Sequence[str], path: Path, title: str) -> Path:
    """Save a confusion matrix (rows = truth; colour = row-normalised recall, text = counts) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(confusion, dtype=np.float64)
    rows = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.2, 3.8), dpi=120)
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{int(cm[i, j])}\n{rows[i, j]:.0%}", ha="center", va="center",
                    color="white" if rows[i, j] > 0.5 else "black", fontsize=9)
    ax.set_xticks(range(len(classes)), classes)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_predictions(path: Path, files: Sequence[str], subjects: Sequence[str], datasets: Sequence[str],
                      labels: np.ndarray, probs: np.ndarray, fold_of: np.ndarray, classes: Sequence[str]) -> Path:
    """One CSV row per tested sample: file, subject, dataset, label, pred, fold, p_<class>..."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "subject", "dataset", "label", "pred", "fold", *[f"p_{c}" for c in classes]])
        for i in np.flatnonzero(fold_of >= 0):
            w.writerow([files[i], subjects[i], datasets[i], int(labels[i]), int(probs[i].argmax()), int(fold_of[i]),
                        *[f"{v:.6f}" for v in probs[i]]])
    return path
