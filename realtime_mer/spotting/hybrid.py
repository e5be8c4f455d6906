"""``hybrid``: micro-expressions from ``lagflow``, macro-expressions from ``roiflow``, on the same frames.

People who blink, shift and smile (how micro-expression studies record) defeat each spotter alone:

- ``lagflow`` compares every frame with the one ``lag_ms`` before and scores the rise-and-return
  shape of a movement, so it holds no state that can stay stuck and it is never blind for long
  after a pose change; but a movement longer than about two lags (a macro-expression) has no
  rise-and-return at that scale, and it misses most of them.
- ``roiflow`` measures displacement from a reference frozen before the movement: one bump per
  movement whatever its length, so it finds macro-expressions; but after a pose that stays, its
  frozen reference shows the old pose until the tracker gives up (``max_ms``).

So the two run side by side on every frame: the micro path's ``micro`` intervals and the macro
path's ``macro`` intervals are reported (``HybridConfig``: which kinds each path reports). A macro
path's interval that overlaps one the micro path already reported is dropped, so one movement is
reported once. Nothing new is missed while the macro path is busy: the micro path keeps detecting.
Its look-ahead is the larger of the two; the live signal and threshold are the micro path's.
"""

from __future__ import annotations

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.spotting.base import Spotter
from realtime_mer.spotting.lagflow import LagFlowSpotter
from realtime_mer.spotting.region_motion import PrepCache
from realtime_mer.spotting.roiflow import RoiFlowSpotter
from realtime_mer.types import Interval


def _overlap(a: Interval, b: Interval) -> int:
    return min(a.offset, b.offset) - max(a.onset, b.onset) + 1


class HybridSpotter(Spotter):
    """``lagflow`` for micro-expressions and ``roiflow`` for macro-expressions (see the module)."""

    name = "hybrid"
    uses = ("lagflow", "roiflow")
    can_rewind = True

    def __init__(self, fps: float, cfg: SpotConfig) -> None:
        super().__init__(fps, cfg)
        self.micro = LagFlowSpotter(fps, cfg)
        self.macro = RoiFlowSpotter(fps, cfg)
        self.micro.prep = self.macro.prep = PrepCache()  # each frame's crop is blurred and normalised once, for both
        self.h = cfg.hybrid
        self.lookahead_frames = max(self.micro.lookahead_frames, self.macro.lookahead_frames)
        self._recent: list[Interval] = []  # the micro path's latest reports (to drop a macro-path duplicate)

    @property
    def calibrating(self) -> bool:
        return self.micro.calibrating or self.macro.calibrating

    @property
    def top_region(self) -> int:
        return self.micro.top_region

    @property
    def blinking(self) -> bool:
        return self.micro.blinking

    @property
    def min_frames(self) -> int:
        return self.micro.min_frames

    @property
    def blind(self) -> bool:
        """The micro path cannot detect: calibrating or following a movement (it gives up after ``max_open_ms``)."""
        return self.micro.blind

    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]:
        a = self.micro.update(buffer, seq)
        b = self.macro.update(buffer, seq)
        self.signal, self.threshold = self.micro.signal, self.micro.threshold
        return self._merge(a, b)

    def _merge(self, from_micro: list[Interval], from_macro: list[Interval]) -> list[Interval]:
        out = [iv for iv in from_micro if iv.kind == "micro" or self.h.micro_path_macros]
        if out:
            self._recent = (self._recent + out)[-8:]
        for iv in from_macro:
            if iv.kind == "micro" and not self.h.macro_path_micros:
                continue
            if any(_overlap(iv, r) > 0 for r in self._recent):
                continue  # the micro path reported this movement already
            out.append(iv)
        return out

    def history(self):  # type: ignore[no-untyped-def]
        return self.micro.history()

    @property
    def scored_frame(self) -> int:
        return self.micro.scored_frame

    def reset(self) -> None:
        self.micro.reset()
        self.macro.reset()
        self._recent = []

    def rewind(self) -> None:
        self.micro.rewind()
        self.macro.rewind()
        self._recent = []

    def flush(self) -> list[Interval]:
        return self._merge(self.micro.flush(), self.macro.flush())
