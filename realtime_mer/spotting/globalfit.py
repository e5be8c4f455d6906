"""Remove what the whole face does: a robust similarity fit to the regions' displacements.

The nose-bridge registration takes out head translation, but alignment sway also leaves small
rotations, scalings and a slightly wrong translation across the face, and against a frozen
reference those grow into a false signal everywhere. An expression moves a few regions; a
global misregistration moves them all coherently. So the per-region displacements are fitted
with a similarity (translation, scale, rotation about the regions' weighted centroid) by
iteratively reweighted least squares with Tukey weights, and only the residual is kept. Each
fit is closed-form (the centred normal equations are diagonal): a few array operations.
"""

from __future__ import annotations

import numpy as np

TUKEY_C = 4.685  # Tukey biweight cut-off, in robust residual scales
MIN_SCALE_PX = 0.05  # the residual scale is not taken below this (crop px): noise-level residuals keep full weight
STEPS = 3  # reweighting steps, from equal weights (warm-starting them from the last sample did worse)


def similarity_residual(d: np.ndarray, pos: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """``d`` (R, 2) displacements at ``pos`` (R, 2) minus the similarity robustly fitted to the ``usable`` rows."""
    w = usable.astype(np.float64)
    k = int(usable.sum()) // 2
    resid = d
    for _ in range(STEPS):
        wsum = w.sum()
        if wsum < 3.0:  # too few trusted regions for a fit
            return resid
        c = (w[:, None] * pos).sum(axis=0) / wsum
        p = pos - c
        wd = w[:, None] * d
        r2 = (w * (p * p).sum(axis=1)).sum()
        t = wd.sum(axis=0) / wsum
        a = (p * wd).sum() / r2
        b = (p[:, 0] * wd[:, 1] - p[:, 1] * wd[:, 0]).sum() / r2
        resid = d - t - a * p - b * np.stack([-p[:, 1], p[:, 0]], axis=1)
        mag = np.hypot(resid[:, 0], resid[:, 1])
        scale = max(1.4826 * float(np.partition(mag[usable], k)[k]), MIN_SCALE_PX)
        u = np.minimum(mag / (TUKEY_C * scale), 1.0)
        w = np.where(usable, (1.0 - u * u) ** 2, 0.0)
    return resid
