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
    """``d`` (R, 2) displacements at ``pos`` (R, 2) minus the similarity robustly fitted to the ``usable`` rows.

    Points and displacements are complex numbers, so the weighted closed-form fit is
    ``t = Σw·d / Σw`` and ``a + ib = Σ w·conj(p)·d / Σ w·|p|²`` about the weighted centroid —
    the same normal equations in a handful of array operations (this runs on every frame)."""
    w = usable.astype(np.float64)
    k = int(usable.sum()) // 2
    z = pos[:, 0] + 1j * pos[:, 1]
    dz = d[:, 0] + 1j * d[:, 1]
    rz = dz
    for _ in range(STEPS):
        wsum = w.sum()
        if wsum < 3.0:  # too few trusted regions for a fit
            break
        p = z - (w @ z) / wsum
        ab = ((w * p.conjugate()) @ dz) / (w @ (p.real * p.real + p.imag * p.imag))
        rz = dz - (w @ dz) / wsum - ab * p
        mag = np.abs(rz)
        scale = max(1.4826 * float(np.partition(mag[usable], k)[k]), MIN_SCALE_PX)
        u = np.minimum(mag / (TUKEY_C * scale), 1.0)
        w = np.where(usable, (1.0 - u * u) ** 2, 0.0)
    if rz is dz:
        return d
    out = np.empty((len(rz), 2))  # the residual as (R, 2): np.stack's generic path costs more than the copy
    out[:, 0] = rz.real
    out[:, 1] = rz.imag
    return out
