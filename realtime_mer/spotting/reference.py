"""The reference frame the ``roiflow`` spotter measures against: lagged, averaged, freezable.

While nothing happens the reference is an exponential average (time constant ``tau_ms``) of
the frames up to ``lag`` frames back, advanced in steps of ``every`` frames (its solver is
rebuilt only then). ``frozen`` holds it still while a movement or blink is under way, so the
signal is the displacement from the face before it. ``restart`` starts it again from the
latest frames (after a movement, a blink or a head jump): it then absorbs new frames without
lag for ``warm`` frames, so it is an average rather than one noisy frame, and the lag grows back.
"""

from __future__ import annotations

import cv2
import numpy as np

from realtime_mer.spotting.region_motion import Prepared, RoiMotion


class LaggedReference:
    """Ring of the last ``lag + 1`` working images and the reference built from them."""

    def __init__(self, lag: int, every: int, alpha: float, warm: int) -> None:
        self.lag, self.every, self.alpha, self.warm = int(lag), max(1, int(every)), float(alpha), int(warm)
        self._seqs = np.full(self.lag + 1, -1, np.int64)
        self._imgs = np.zeros((0, 0, 0), np.float32)
        self._motion: RoiMotion | None = None
        self._ref: Prepared | None = None
        self.frozen = False
        self.clear()

    def bind(self, motion: RoiMotion) -> None:
        """Allocate for ``motion``'s working size (again when the crop size changes)."""
        self._motion = motion
        self._imgs = np.zeros((len(self._seqs), motion.size, motion.size), np.float32)
        self._ref = motion.blank()
        self.clear()

    def clear(self) -> None:
        self._seqs[:] = -1
        self._newest = -1  # newest frame averaged into the reference (-1: none yet)
        self._warm_until = -1  # up to this frame new frames are absorbed without lag
        self.frozen = False

    def slot(self, seq: int) -> np.ndarray:
        """The image slot of frame ``seq`` (to be filled by ``RoiMotion.prepare``)."""
        i = seq % len(self._seqs)
        self._seqs[i] = seq
        return self._imgs[i]

    def restart(self, seq: int, frames: int = 1) -> None:
        """Start again from the mean of the last ``frames`` frames up to ``seq``."""
        assert self._ref is not None and self._motion is not None
        n = len(self._seqs)
        keep = [s % n for s in range(seq - min(frames, n) + 1, seq + 1) if self._seqs[s % n] == s]
        np.mean(self._imgs[keep], axis=0, out=self._ref.img)
        self._motion.set_reference(self._ref, restart=True)
        self._newest = seq
        self._warm_until = seq + self.warm
        self.frozen = False

    def get(self, seq: int) -> Prepared:
        """The reference for frame ``seq`` (whose image is already in its slot)."""
        assert self._ref is not None and self._motion is not None
        if self._newest < 0:
            self.restart(seq)
        elif not self.frozen:
            newest = max(seq - self.lag, min(seq - 1, self._warm_until))
            if newest >= self._newest + (1 if newest <= self._warm_until else self.every):
                for s in range(self._newest + 1, newest + 1):
                    i = s % len(self._seqs)
                    if self._seqs[i] == s:
                        cv2.accumulateWeighted(self._imgs[i], self._ref.img, self.alpha)
                self._newest = newest
                self._motion.set_reference(self._ref)
        return self._ref
