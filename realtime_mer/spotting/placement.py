"""Where the regions go: landmark smoothing that follows the face but not its expressions.

Region shapes follow a slow average of all landmarks (an expression does not drag the boxes
with it); their position follows a fast average of the rigid landmarks (eye corners, nose), so
an alignment jump moves the regions and the eye mask with the face within tens of ms. The layout
is rebuilt only when that position has moved more than ``move_px``.
"""

from __future__ import annotations

import numpy as np

from realtime_mer.spotting.regions import RIGID, RegionLayout, layout

RIGID_IDX = list(RIGID)


class RegionPlacer:
    """``update(landmarks)`` per frame; returns a new ``RegionLayout`` when the regions must move."""

    def __init__(self, fps: float, crop_size: int, shape_tau_ms: float = 1000.0, position_tau_ms: float = 40.0, every: int = 1, move_px: float = 1.0) -> None:
        self.crop_size = int(crop_size)
        self.every = max(1, int(every))
        self.move_px = float(move_px)
        self._shape_alpha = 1.0 - float(np.exp(-1000.0 * self.every / (fps * shape_tau_ms)))
        self._pos_alpha = 1.0 - float(np.exp(-1000.0 / (fps * position_tau_ms)))
        self.reset()

    def reset(self) -> None:
        self._lm: np.ndarray | None = None
        self._pos = np.zeros(2)
        self._placed: np.ndarray | None = None
        self._n = 0

    def update(self, lm: np.ndarray) -> RegionLayout | None:
        pos = np.add.reduce(lm[RIGID_IDX], axis=0) * (1.0 / len(RIGID_IDX))
        if self._lm is None:
            self._lm = lm.astype(np.float32)
            self._pos = pos.astype(np.float64)
        else:
            self._pos += self._pos_alpha * (pos - self._pos)
            if self._n % self.every == 0:
                self._lm += self._shape_alpha * (lm - self._lm)
        self._n += 1
        if self._placed is not None and float(np.abs(self._pos - self._placed).max()) <= self.move_px:
            return None
        self._placed = self._pos.copy()
        shift = (self._pos - self._lm[RIGID_IDX].mean(axis=0)).astype(np.float32)
        return layout(self._lm + shift, self.crop_size)
