"""The timeline picture: detected intervals (coloured by label, where their frames are), truths, the trace."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from realtime_mer.timeline import plot, read_trace, write_trace
from realtime_mer.types import Interval

# matplotlib's tab: colours over white at the alphas ``plot`` uses, as BGR
SIGNAL = (180, 119, 31)  # tab:blue line, opaque
MICRO_POSITIVE = (202, 231, 202)  # tab:green span, alpha 0.25
MACRO_NEGATIVE = (229, 229, 250)  # tab:red span, alpha 0.12
TRUTH = (215, 164, 191)  # tab:purple strip, alpha 0.6


def columns(img: np.ndarray, bgr: tuple[int, int, int], tol: int = 6, min_pixels: int = 5) -> np.ndarray:
    """x positions of the columns holding at least ``min_pixels`` pixels of colour ``bgr``."""
    near = (np.abs(img.astype(int) - bgr) <= tol).all(axis=2)
    return np.flatnonzero(near.sum(axis=0) >= min_pixels)


def test_trace_roundtrip(tmp_path: Path) -> None:
    f = np.arange(100)
    sig = np.sin(f / 10.0) ** 2
    thr = np.full(100, 0.8)
    write_trace(tmp_path / "t.csv", f, sig, thr)
    f2, s2, t2 = read_trace(tmp_path / "t.csv")
    assert np.allclose(f2, f) and np.allclose(s2, sig, atol=1e-5) and np.allclose(t2, thr)
    write_trace(tmp_path / "empty.csv", [], [], [])
    assert all(len(a) == 0 for a in read_trace(tmp_path / "empty.csv"))


def test_spans_are_drawn_over_their_frames_in_their_colours(tmp_path: Path) -> None:
    f = np.arange(200)
    sig = 1.0 + np.sin(f / 10.0) ** 2
    thr = np.full(200, 4.0)
    detected = [(Interval(20, 30, 40, "micro"), "positive"), (Interval(120, 140, 160, "macro"), "negative")]
    out = plot(tmp_path / "t.png", f, sig, thr, detected, [Interval(100, 105, 110, "micro")])
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    blue = columns(img, SIGNAL, tol=20, min_pixels=1)
    x0, x1 = blue.min(), blue.max()  # the signal runs from frame 0 to frame 199

    def frame(x: np.ndarray) -> np.ndarray:
        return (x - x0) * 199.0 / (x1 - x0)

    for bgr, (lo, hi) in ((MICRO_POSITIVE, (20, 41)), (MACRO_NEGATIVE, (120, 161)), (TRUTH, (100, 111))):
        fr = frame(columns(img[img.shape[0] // 2 :], bgr))  # the lower half: below the legend's swatches
        assert len(fr), f"colour {bgr} not drawn"
        assert abs(fr.min() - lo) <= 2 and abs(fr.max() - hi) <= 2, (bgr, fr.min(), fr.max())

    # without detections nor truths: none of those colours inside the axes
    empty = cv2.imread(str(plot(tmp_path / "e.png", f, sig, thr, [], [])), cv2.IMREAD_COLOR)
    for bgr in (MICRO_POSITIVE, MACRO_NEGATIVE, TRUTH):
        assert not len(columns(empty[empty.shape[0] // 2 :], bgr)), bgr
