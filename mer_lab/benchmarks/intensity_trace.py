"""Does a model's continuous intensity trace (``<timeline>.intensity.csv``, source ``window``) follow the movements?

``trace_vs_truth`` compares the trace inside known movements (the demo's injected ones) with the trace outside
them: means and the AUC (the probability that a frame inside scores above a frame outside; 0.5 = no information).
``tools/bench_intensity.py`` runs the CLI's demo with a tcgru model and reports this per seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from realtime_mer.types import Interval


def auc(inside: np.ndarray, outside: np.ndarray) -> float:
    """P(a value inside > a value outside) + half the ties (Mann-Whitney U / (n m)); NaN when either is empty."""
    a, b = np.asarray(inside, np.float64), np.asarray(outside, np.float64)
    if not len(a) or not len(b):
        return float("nan")
    ref = np.sort(b)
    below = np.searchsorted(ref, a, "left")
    ties = np.searchsorted(ref, a, "right") - below
    return float((below + 0.5 * ties).sum() / (len(a) * len(b)))


def trace_vs_truth(frames: np.ndarray, values: np.ndarray, truth: Sequence[Interval]) -> dict[str, float | int]:
    """Frames of the trace inside / outside ``truth`` (onset..offset inclusive): counts, means and the AUC."""
    f = np.asarray(frames, np.float64)
    v = np.asarray(values, np.float64)
    inside = np.zeros(len(f), bool)
    for t in truth:
        inside |= (f >= t.onset) & (f <= t.offset)
    a, b = v[inside], v[~inside]
    return {"frames": len(f), "inside": int(inside.sum()), "movements": len(truth),
            "inside_mean": float(a.mean()) if len(a) else float("nan"),
            "outside_mean": float(b.mean()) if len(b) else float("nan"), "auc": auc(a, b)}
