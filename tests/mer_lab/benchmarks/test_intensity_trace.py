"""The intensity-trace check: AUC against known values, inside / outside counting."""

from __future__ import annotations

import numpy as np
import pytest

from mer_lab.benchmarks.intensity_trace import auc, trace_vs_truth
from realtime_mer.types import Interval


def test_auc_known_values_and_ties() -> None:
    assert auc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 1.0
    assert auc(np.array([0.0]), np.array([1.0, 2.0])) == 0.0
    assert auc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5  # all tied: no information
    rng = np.random.default_rng(0)
    a, b = rng.normal(1, 1, 300), rng.normal(0, 1, 400)
    brute = ((a[:, None] > b[None, :]).mean() + 0.5 * (a[:, None] == b[None, :]).mean())
    assert auc(a, b) == pytest.approx(brute)
    assert np.isnan(auc(np.array([]), b))


def test_trace_inside_and_outside_the_truth() -> None:
    frames = np.arange(100)
    values = np.where((frames >= 20) & (frames <= 29), 0.9, 0.1)
    got = trace_vs_truth(frames, values, [Interval(20, 25, 29, "micro", 1.0, 0, 0, 0)])
    assert got["inside"] == 10 and got["movements"] == 1 and got["auc"] == 1.0
    assert got["inside_mean"] == pytest.approx(0.9) and got["outside_mean"] == pytest.approx(0.1)
    flat = trace_vs_truth(frames, np.full(100, 0.6), [Interval(20, 25, 29, "micro", 1.0, 0, 0, 0)])
    assert flat["auc"] == 0.5
