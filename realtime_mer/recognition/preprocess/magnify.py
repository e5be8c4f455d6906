"""Phase-based video magnification (Wadhwa, Rubinstein, Durand, Freeman, SIGGRAPH 2013), a compact version.

Each frame is decomposed with a *complex steerable pyramid* built in the Fourier domain (octave
log-raised-cosine radial bands x ``orientations`` one-sided angular lobes, a tight frame, not
sub-sampled: the crops are small). A local motion appears as a change of a band's local phase;
the phase difference of every frame to the reference frame (the onset) is smoothed spatially,
weighted by the band amplitude (to suppress noise where the band is weak), multiplied by
``alpha`` and added back; the real parts of the modified bands are re-filtered and summed with
the untouched high-pass and low-pass residuals. ``alpha = 0`` reproduces the input exactly.

Temporal filter: the phase difference to the reference frame (all motion since the onset is
magnified; a clip of a spotted interval is short, so no band-pass is needed). Large magnified
shifts are clipped per band to ``max_shift`` radians (phase wraps beyond pi, which creates
ringing instead of motion), i.e. fine bands saturate first, as with Wadhwa's alpha bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy import fft as sfft

from realtime_mer.errors import DataError, fail


@dataclass(frozen=True)
class MagnifyConfig:
    """Parameters of ``magnify_phase`` (``levels`` None: log2(min side) - 2)."""

    alpha: float = 20.0
    levels: int | None = None
    orientations: int = 4
    sigma: float = 1.0  # px, amplitude-weighted Gaussian smoothing of the phase differences (0: none)
    max_shift: float = math.pi  # rad, largest magnified phase change per band


def default_levels(shape: tuple[int, int]) -> int:
    """Pyramid depth for an image: log2(min side) - 2, at least 1 (64 -> 4, 128 -> 5)."""
    return max(1, int(math.log2(max(min(shape), 2))) - 2)


@lru_cache(maxsize=16)
def pyramid_filters(shape: tuple[int, int], levels: int, orientations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fourier-domain filters: (one-sided complex analysis (B, H, W), real two-sided synthesis (B, H, W), residual gain (H, W)).

    Tightness: residual**2 + sum_b synthesis_b**2 == 1 at every frequency.
    """
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None] * 2.0 * np.pi
    fx = np.fft.fftfreq(w)[None, :] * 2.0 * np.pi
    r = np.hypot(fy, fx)
    r[0, 0] = 1e-12
    theta = np.arctan2(fy, fx)
    rho = np.log2(r / np.pi)

    def split(boundary: float) -> tuple[np.ndarray, np.ndarray]:
        """(high, low) gains of a one-octave raised-cosine transition ending at ``boundary`` (log2 units); high**2 + low**2 = 1."""
        t = np.clip(boundary - rho, 0.0, 1.0)
        return np.cos(0.5 * np.pi * t), np.sin(0.5 * np.pi * t)

    high0, low = split(0.0)  # high-pass residual: above pi/2 .. the corners
    radial = []
    for j in range(1, levels + 1):
        hj, lj = split(-float(j))  # band j peaks at pi / 2**j
        radial.append(low * hj)
        low = low * lj
    n = orientations - 1
    norm = math.sqrt(4.0**n / (orientations * math.comb(2 * n, n)))  # sum_k b_k**2 == 1
    analysis, synthesis = [], []
    for rad in radial:
        for k in range(orientations):
            c = np.cos(theta - np.pi * k / orientations)
            b = norm * np.abs(c) ** n
            synthesis.append(rad * b)
            analysis.append(rad * 2.0 * b * (c > 0))
    analysis_b, synthesis_b, residual = np.stack(analysis), np.stack(synthesis), np.sqrt(high0**2 + low**2)
    # Nyquist row / column (even sizes): their mirror bins do not lie at theta + pi, so the one-sided
    # split is not Hermitian there; they stay in the (unmagnified) residual.
    nyquist = np.zeros(shape, bool)
    if h % 2 == 0:
        nyquist[h // 2, :] = True
    if w % 2 == 0:
        nyquist[:, w // 2] = True
    analysis_b[:, nyquist] = 0.0
    synthesis_b[:, nyquist] = 0.0
    residual[nyquist] = 1.0
    return analysis_b.astype(np.float32), synthesis_b.astype(np.float32), residual.astype(np.float32)


def _smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur (replicated border) of every (H, W) slice of a float32 array."""
    flat = x.reshape(-1, *x.shape[-2:])
    out = np.empty_like(flat)
    for i, img in enumerate(flat):
        out[i] = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    return out.reshape(x.shape)


def magnify_phase(frames: np.ndarray, cfg: MagnifyConfig | None = None, ref: int = 0) -> np.ndarray:
    """Magnify the motion of (T, H, W) grayscale frames relative to frame ``ref``; float32, clipped to [0, 255]."""
    cfg = cfg or MagnifyConfig()
    f = np.asarray(frames, dtype=np.float32)
    if f.ndim != 3 or f.shape[0] < 1 or min(f.shape[1:]) < 8:
        raise fail(DataError, f"magnification needs (T, H, W) frames of at least 8x8, got {f.shape}", "pass grayscale crops")
    if not 0 <= ref < f.shape[0]:
        raise fail(DataError, f"reference frame {ref} is outside the {f.shape[0]}-frame clip", "pass 0 <= ref < T")
    h, w = int(f.shape[1]), int(f.shape[2])
    levels = cfg.levels or default_levels((h, w))
    analysis, synthesis, residual = pyramid_filters((h, w), levels, cfg.orientations)
    spec = sfft.fft2(f)  # (T, H, W) complex64
    bands = sfft.ifft2(spec[:, None] * analysis[None])  # (T, B, H, W) complex64
    re, im = bands.real, bands.imag
    rr, ri = re[ref : ref + 1], im[ref : ref + 1]
    dphi = np.arctan2(im * rr - re * ri, re * rr + im * ri)  # phase of band * conj(reference band)
    if cfg.sigma > 0:
        amp = np.hypot(re, im) + np.float32(1e-6)
        dphi = _smooth(amp * dphi, cfg.sigma) / _smooth(amp, cfg.sigma)
    shift = np.clip(np.float32(cfg.alpha) * dphi, -cfg.max_shift, cfg.max_shift)
    modified = re * np.cos(shift) - im * np.sin(shift)  # real part of band * exp(i shift)
    half = w // 2 + 1
    out_spec = sfft.rfft2(f) * (residual[:, :half] ** 2)[None]
    out_spec += np.einsum("tbhw,bhw->thw", sfft.rfft2(modified), synthesis[:, :, :half])
    out = sfft.irfft2(out_spec, s=(h, w))
    return np.clip(out, 0.0, 255.0).astype(np.float32)
