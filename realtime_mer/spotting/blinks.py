"""Blink detection from the upper-lid probe regions, to keep blinks out of the spotting signal.

A blink moves the upper lids down by several pixels and drags the skin around the eyes and
even the brows by a fraction of that: enough to look like a micro-expression there. A blink is
an upper lid that moves down more than ``down_px`` (far above the noise) and more than ``ratio``
times its brow (a brow lowerer, AU4, drags the lid less than it moves the brow). While a blink
lasts, and ``hold_ms`` after, the upper-face regions are left out of the signal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime_mer.spotting.regions import PROBES, REGIONS


@dataclass(frozen=True)
class BlinkSettings:
    down_px: float = 0.5  # downward lid displacement, crop px
    ratio: float = 1.5  # lid displacement / brow displacement
    hold_ms: float = 100.0  # the blink state outlasts the lid movement this long


class BlinkGate:
    """``update`` per signal sample; ``blinking`` and ``started`` (this sample began a blink)."""

    def __init__(self, fps: float, settings: BlinkSettings | None = None) -> None:
        self.s = settings or BlinkSettings()
        names = [r.name for r in REGIONS + PROBES]
        self.lids = np.array([names.index("upper_lid_r"), names.index("upper_lid_l")])
        self.brows = np.array([[names.index(f"brow_{p}_{side}") for p in ("inner", "outer")] for side in "rl"])
        self.gated = np.array([r.blinks for r in REGIONS])  # signal regions ignored during a blink
        self.gated_all = np.concatenate([self.gated, np.ones(len(PROBES), bool)])  # ... and the probes
        self.hold = max(1, round(self.s.hold_ms * fps / 1000.0))
        self.reset()

    def reset(self) -> None:
        self._left = 0
        self.blinking = False
        self.started = False

    def update(self, vectors: np.ndarray) -> bool:
        """``vectors`` (dx, dy), crop px, of all regions and probes (before any global fit)."""
        down = vectors[self.lids, 1]
        brow = np.hypot(vectors[self.brows, 0], vectors[self.brows, 1]).max(axis=1)
        lid = (down > self.s.down_px) & (down > self.s.ratio * brow)
        was = self.blinking
        self._left = self.hold if lid.any() else max(0, self._left - 1)
        self.blinking = self._left > 0
        self.started = self.blinking and not was
        return self.blinking
