"""Temporal sampling of a clip: uniform / onset-apex-offset-anchored positions, linear interpolation, resizing.

Positions are fractional frame indices into a clip of aligned crops; ``interpolate_frames`` blends
the two neighbouring frames linearly (an integer position returns that frame exactly), so clips
of any length and frame rate become a fixed number of frames the same way in training and live.
"""

from __future__ import annotations

import cv2
import numpy as np

from realtime_mer.errors import DataError, fail


def uniform_positions(start: float, stop: float, n: int) -> np.ndarray:
    """``n`` evenly spaced fractional positions from ``start`` to ``stop`` inclusive (float64)."""
    if n < 1:
        raise fail(DataError, f"cannot sample {n} frames", "ask for at least 1 frame")
    return np.linspace(float(start), float(stop), int(n))


def uniform_indices(start: int, stop: int, n: int) -> np.ndarray:
    """``n`` evenly spaced integer frame indices from ``start`` to ``stop`` inclusive (rounded; repeats when the span is short)."""
    return np.rint(uniform_positions(start, stop, n)).astype(np.int64)


def anchored_positions(onset: float, apex: float, offset: float, n: int = 9) -> np.ndarray:
    """Onset, apex and offset plus uniform positions in between: ``ceil((n-3)/2)`` before the apex, the rest after.

    For ``n = 9``: onset, 3 between onset and apex, apex, 3 between apex and offset, offset.
    """
    if n < 3:
        raise fail(DataError, f"anchored sampling needs n >= 3, got {n}", "ask for at least onset, apex and offset")
    if not onset <= apex <= offset:
        raise fail(DataError, f"onset {onset}, apex {apex}, offset {offset} are out of order", "pass onset <= apex <= offset")
    before = (n - 2) // 2  # (n - 3 + 1) // 2
    after = n - 3 - before
    first = np.linspace(float(onset), float(apex), before + 2)
    second = np.linspace(float(apex), float(offset), after + 2)[1:]
    return np.concatenate([first, second])


def interpolate_frames(frames: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Frames at fractional ``positions`` of ``frames`` (T, H, W[, C]) by linear interpolation, as float32.

    Positions are clipped to [0, T - 1]; an integer position returns that frame exactly.
    """
    f = np.asarray(frames)
    if f.ndim < 3 or f.shape[0] < 1:
        raise fail(DataError, f"interpolation needs (T, H, W) frames, got {f.shape}", "pass a non-empty stack of crops")
    p = np.clip(np.asarray(positions, dtype=np.float64), 0.0, f.shape[0] - 1)
    i0 = np.floor(p).astype(np.int64)
    i1 = np.minimum(i0 + 1, f.shape[0] - 1)
    w = (p - i0).astype(np.float32).reshape(-1, *([1] * (f.ndim - 1)))
    a = f[i0].astype(np.float32)
    b = f[i1].astype(np.float32)
    return a + w * (b - a)


def resize_frames(frames: np.ndarray, size: int) -> np.ndarray:
    """Resize each (H, W) frame of (T, H, W) to (size, size): area averaging when shrinking, linear when growing."""
    f = np.asarray(frames)
    if f.shape[1:3] == (size, size):
        return f.copy()
    interp = cv2.INTER_AREA if min(f.shape[1:3]) >= size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(x, (size, size), interpolation=interp) for x in f])


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Round and clip float frames to uint8."""
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)
