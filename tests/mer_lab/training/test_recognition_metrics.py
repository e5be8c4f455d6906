"""MEGC 2019 metrics against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from mer_lab.training.metrics import confusion_matrix, scores


def test_hand_worked_three_classes() -> None:
    # truth 0 0 0 1 1 2, predicted 0 0 1 1 2 2
    # class 0: TP 2 FP 0 FN 1 -> F1 4/5, recall 2/3
    # class 1: TP 1 FP 1 FN 1 -> F1 2/4, recall 1/2
    # class 2: TP 1 FP 1 FN 0 -> F1 2/3, recall 1
    s = scores(np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 2, 2]))
    assert s.confusion == ((2, 1, 0), (0, 1, 1), (0, 0, 1))
    assert s.f1 == pytest.approx((0.8, 0.5, 2 / 3))
    assert s.uf1 == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert s.uar == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    assert s.accuracy == pytest.approx(4 / 6)


def test_absent_class_is_left_out_but_never_predicted_class_counts_zero() -> None:
    # class 2 has no ground truth here (it is only predicted once): excluded from both means
    s = scores(np.array([0, 0, 1]), np.array([0, 2, 1]))
    assert s.uf1 == pytest.approx((2 / 3 + 1.0) / 2)
    assert s.uar == pytest.approx((0.5 + 1.0) / 2)
    # class 1 present but never predicted: F1 = recall = 0 and it still counts
    s = scores(np.array([0, 1, 2]), np.array([0, 0, 2]))
    assert s.f1[1] == 0.0 and s.recall[1] == 0.0
    assert s.uar == pytest.approx(2 / 3)


def test_uf1_differs_from_accuracy_on_imbalance() -> None:
    y = np.array([0] * 8 + [1, 2])
    s = scores(y, np.zeros_like(y))  # always "negative"
    assert s.accuracy == pytest.approx(0.8)
    assert s.uar == pytest.approx(1 / 3)
    assert s.uf1 == pytest.approx((2 * 8 / (2 * 8 + 2)) / 3)


def test_confusion_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        confusion_matrix(np.array([0, 1]), np.array([0]), 3)
    with pytest.raises(ValueError):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)
