"""Dynamic images by approximate rank pooling (Bilen, Fernando, Gavves, Vedaldi, Gould, CVPR 2016).

Rank pooling fits a linear ranker whose parameters order the frames in time; its first gradient
step from zero gives the closed form ``d = sum_t alpha_t I_t`` with

    alpha_t = 2 (T - t + 1) - (T + 1) (H_T - H_{t-1}),   H_t = sum_{i<=t} 1/i,  H_0 = 0,  t = 1..T.

The coefficients sum to zero, so static pixels give 0 and only change over time survives.
"""

from __future__ import annotations

import numpy as np

from realtime_mer.errors import DataError, fail


def rank_pool_coefficients(n: int) -> np.ndarray:
    """The ``n`` approximate-rank-pooling coefficients alpha_1..alpha_n (float64)."""
    if n < 1:
        raise fail(DataError, f"rank pooling needs at least 1 frame, got {n}", "pass a non-empty clip")
    t = np.arange(1, n + 1, dtype=np.float64)
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / t)])  # H_0..H_n
    return 2.0 * (n - t + 1.0) - (n + 1.0) * (harmonic[n] - harmonic[:-1])


def dynamic_image(frames: np.ndarray) -> np.ndarray:
    """Dynamic image of (T, H, W[, C]) frames: sum_t alpha_t frame_t, float32 of one frame's shape."""
    f = np.asarray(frames, dtype=np.float64)  # float64: static content cancels to ~1e-13, not float32 noise
    if f.ndim < 3:
        raise fail(DataError, f"a dynamic image needs (T, H, W) frames, got {f.shape}", "pass a stack of crops")
    return np.tensordot(rank_pool_coefficients(f.shape[0]), f, axes=(0, 0)).astype(np.float32)


def scale_unit(image: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1] (float32); a constant image (range <= 1e-6: no change at all) becomes 0.5 everywhere."""
    x = np.asarray(image, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo <= 1e-6:
        return np.full(x.shape, 0.5, np.float32)
    return ((x - lo) / (hi - lo)).astype(np.float32)
