"""Apex-flow features: the ONE code path that makes model inputs, for training and for live use.

An onset/apex pair of aligned grayscale face crops becomes a 28x28 RGB image encoded like the
published MEGC 2019 composite features (STSTNet / HTNet): R = horizontal flow u, G = vertical
flow v, B = optical-strain magnitude. The flow and strain are computed at the crop (or
``flow_size``) resolution, each channel is resized to 28x28 with area averaging, and only then
min-max normalised to 0..255 per channel (every published image has an exact 0 and 255 in every
channel, which a resize after normalisation would not keep).

Live flow method (``tools/bench_flow.py``: 24-96 pairs of a 128x128 face crop warped by smooth
~1 px bumps, 1 thread, this shared 2-core machine; times vary 1.5x with load):

=================  ===========  ==========================  ==============================
method             ms / pair    r vs TV-L1@128 (u, v, B)    bundled model vs TV-L1@128
=================  ===========  ==========================  ==============================
tvl1 @128          260-430      1, 1, 1                     (reference)
tvl1-fast @128     21-31        0.95, 0.92, 0.66            argmax agrees 79-85 %
tvl1-fast @96      11-17        0.93, 0.90, 0.63            81-88 %
dis (medium) @128  4            0.91, 0.90, 0.34            71-75 %
farneback @128     6-10         0.91, 0.88, 0.26            71 %
=================  ===========  ==========================  ==============================

The default is ``tvl1-fast`` at the crop resolution: the same TV-L1 energy as the training
features with a cut-down solver, ~15x faster than full TV-L1 and the only fast method whose
strain channel resembles TV-L1's (DIS / Farneback flows are smoother, so their strain maps differ).
``flow_size=96`` halves the time again at a small fidelity cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from realtime_mer.errors import DataError, fail

FlowMethod = Literal["tvl1", "tvl1-fast", "dis", "farneback"]
FLOW_METHODS: tuple[str, ...] = ("tvl1", "tvl1-fast", "dis", "farneback")
FEATURE_SIZE = 28
CHANNELS: tuple[str, ...] = ("u", "v", "strain")
DEFAULT_FLOW_METHOD: FlowMethod = "tvl1-fast"
DEFAULT_FLOW_SIZE: int | None = None  # None: compute the flow at the crop resolution


@dataclass(frozen=True)
class FlowParams:
    """Fixed parameters of each flow method (OpenCV defaults unless noted).

    ``tvl1`` is OpenCV's Dual TV-L1 with its defaults (tau 0.25, lambda 0.15, theta 0.3, 5 scales,
    5 warps, epsilon 0.01). ``tvl1-fast`` keeps the model and cuts the solver: 2 scales (step 0.5),
    3 warps, epsilon 0.05; micro-movements are ~1 px, so a deep pyramid buys little.
    """

    tvl1_fast_nscales: int = 2
    tvl1_fast_warps: int = 3
    tvl1_fast_epsilon: float = 0.05
    tvl1_fast_scale_step: float = 0.5
    dis_preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
    farneback: tuple[float, int, int, int, int, float, int] = (0.5, 3, 15, 3, 5, 1.2, 0)


PARAMS = FlowParams()


def _check_pair(prev: np.ndarray, nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate and return two same-shape uint8 grayscale images."""
    a, b = np.asarray(prev), np.asarray(nxt)
    if a.ndim != 2 or b.ndim != 2 or a.shape != b.shape or a.size == 0:
        raise fail(DataError, f"flow needs two same-size grayscale crops, got {a.shape} and {b.shape}",
                   "pass (H, W) uint8 aligned face crops")
    if a.dtype != np.uint8 or b.dtype != np.uint8:
        raise fail(DataError, f"flow needs uint8 crops, got {a.dtype} and {b.dtype}", "convert the crops to uint8")
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def optical_flow(prev: np.ndarray, next: np.ndarray, method: str = "tvl1") -> np.ndarray:
    """Dense flow from ``prev`` to ``next`` (uint8 gray, same size) as (H, W, 2) float32 (u, v) in pixels."""
    a, b = _check_pair(prev, next)
    if method == "tvl1":
        flow = cv2.optflow.DualTVL1OpticalFlow_create().calc(a, b, None)
    elif method == "tvl1-fast":
        p = PARAMS
        tv = cv2.optflow.DualTVL1OpticalFlow_create(
            nscales=p.tvl1_fast_nscales, warps=p.tvl1_fast_warps, epsilon=p.tvl1_fast_epsilon, scaleStep=p.tvl1_fast_scale_step
        )
        flow = tv.calc(a, b, None)
    elif method == "dis":
        flow = cv2.DISOpticalFlow_create(PARAMS.dis_preset).calc(a, b, None)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(a, b, None, *PARAMS.farneback)
    else:
        raise fail(DataError, f"unknown flow method {method!r}", f"use one of {', '.join(FLOW_METHODS)}")
    return np.asarray(flow, dtype=np.float32)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Optical-strain magnitude of a (H, W, 2) flow: sqrt(u_x² + v_y² + ½(u_y + v_x)²), as (H, W) float32.

    This is the Frobenius norm of the infinitesimal strain tensor (Liong et al.; STSTNet), with
    central-difference gradients (one-sided at the border).
    """
    f = np.asarray(flow, dtype=np.float32)
    if f.ndim != 3 or f.shape[2] != 2 or min(f.shape[:2]) < 2:
        raise fail(DataError, f"optical strain needs a (H, W, 2) flow with H, W >= 2, got {f.shape}",
                   "pass the output of optical_flow")
    u_y, u_x = np.gradient(f[..., 0])
    v_y, v_x = np.gradient(f[..., 1])
    e_xy = 0.5 * (u_y + v_x)
    return np.sqrt(u_x * u_x + v_y * v_y + 2.0 * e_xy * e_xy).astype(np.float32)


def minmax_uint8(channel: np.ndarray) -> np.ndarray:
    """Min-max normalise one channel to 0..255 (rounded); a constant channel becomes all zeros."""
    c = np.asarray(channel, dtype=np.float64)
    lo, hi = float(c.min()), float(c.max())
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo <= 1e-12:
        return np.zeros(c.shape, np.uint8)
    return np.rint((c - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def encode_flow(flow: np.ndarray, size: int = FEATURE_SIZE) -> np.ndarray:
    """Encode a (H, W, 2) flow as the (size, size, 3) uint8 image R=u, G=v, B=strain of the published features."""
    strain = optical_strain(flow)
    stack = np.dstack([flow[..., 0], flow[..., 1], strain]).astype(np.float32)
    small = cv2.resize(stack, (size, size), interpolation=cv2.INTER_AREA)
    return np.dstack([minmax_uint8(small[..., c]) for c in range(3)])


def apex_flow_image(
    onset_crop: np.ndarray,
    apex_crop: np.ndarray,
    method: str = DEFAULT_FLOW_METHOD,
    flow_size: int | None = DEFAULT_FLOW_SIZE,
) -> np.ndarray:
    """Onset and apex crops (uint8 gray, same size) -> (28, 28, 3) uint8 RGB apex-flow image (u, v, strain).

    ``flow_size`` resizes both crops (area) to ``flow_size``² before the flow; None keeps their size.
    """
    a, b = _check_pair(onset_crop, apex_crop)
    if flow_size is not None and a.shape != (flow_size, flow_size):
        a = cv2.resize(a, (flow_size, flow_size), interpolation=cv2.INTER_AREA)
        b = cv2.resize(b, (flow_size, flow_size), interpolation=cv2.INTER_AREA)
    return encode_flow(optical_flow(a, b, method))


def to_model_input(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28, 3) or (28, 28, 3) uint8 RGB apex-flow images -> (N, 3, 28, 28) float32 in [0, 1]."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1:] != (FEATURE_SIZE, FEATURE_SIZE, 3) or x.dtype != np.uint8:
        raise fail(DataError, f"model input needs (N, 28, 28, 3) uint8 images, got {x.shape} {x.dtype}",
                   "pass the output of apex_flow_image")
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)


def hflip_flow_image(images: np.ndarray) -> np.ndarray:
    """Mirror apex-flow images left-right: columns reversed AND u negated (255 - R); v and strain only move.

    A mirrored face moves the other way horizontally, so u changes sign; after per-channel min-max
    normalisation, -u maps to 255 - R exactly (up to rounding ties).
    """
    x = np.asarray(images)
    out = x[..., ::-1, :].copy()
    out[..., 0] = 255 - out[..., 0]
    return out
