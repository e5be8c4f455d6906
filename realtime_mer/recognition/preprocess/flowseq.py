"""Dense flow between consecutive frames of a sampled clip, encoded to [0, 1] for the sequence models.

The flow itself is ``realtime_mer.recognition.features.optical_flow`` (TV-L1, DIS, Farnebäck):
the same code as the apex-flow path. ``encode_flow_unit`` maps pixels to [0, 1] with a fixed
scale (not per-clip min-max), so the size of a movement is kept: 0.5 is no motion, 0 / 1 are
``-clip_px`` / ``+clip_px`` or beyond.
"""

from __future__ import annotations

import numpy as np

from realtime_mer.errors import DataError, fail
from realtime_mer.recognition.features import optical_flow

FLOW_CLIP_PX = 4.0  # at the model resolution (64x64 crops): |flow| >= 4 px saturates


def consecutive_flows(frames: np.ndarray, method: str = "tvl1-fast") -> np.ndarray:
    """(T, H, W) uint8 frames -> (T - 1, H, W, 2) float32 flows frame k -> k + 1 (u, v in pixels)."""
    f = np.asarray(frames)
    if f.ndim != 3 or f.shape[0] < 2 or f.dtype != np.uint8:
        raise fail(DataError, f"consecutive flows need (T >= 2, H, W) uint8 frames, got {f.shape} {f.dtype}",
                   "pass sampled uint8 crops")
    return np.stack([optical_flow(f[k], f[k + 1], method) for k in range(f.shape[0] - 1)])


def encode_flow_unit(flow: np.ndarray, clip_px: float = FLOW_CLIP_PX) -> np.ndarray:
    """(..., 2) flow in pixels -> (..., 2) float32 in [0, 1]: clip(0.5 + flow / (2 clip_px), 0, 1)."""
    return np.clip(0.5 + np.asarray(flow, dtype=np.float32) / np.float32(2.0 * clip_px), 0.0, 1.0).astype(np.float32)
