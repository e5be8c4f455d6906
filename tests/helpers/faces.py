"""Several demo faces side by side in one stream (each its own seed, so each has its own injected movements)."""

from __future__ import annotations

import numpy as np

from realtime_mer.capture.base import Source
from realtime_mer.capture.demo import DemoSource
from realtime_mer.types import Interval


class SideBySide(Source):
    """``n`` demo streams (seeds ``seed``, ``seed + 1``, ...) of ``width`` x ``height`` each, placed left to right;
    ``blank``: the indices whose picture is grey (no face, no movement); ``still``: the indices rendered without their
    movements (blinks, drift and noise stay)."""

    name = "side-by-side"
    live = False

    def __init__(self, seconds: float, n: int = 2, width: int = 400, height: int = 480, seed: int = 0,
                 blank: tuple[int, ...] = (), still: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.parts = [DemoSource(seconds, 200.0, width, height, seed=seed + k) for k in range(n)]
        self.blank, self.still = set(blank), set(still)
        self._next = 0

    def truth(self, k: int) -> list[Interval]:
        return [] if k in self.blank | self.still else [r.interval for r in self.parts[k].truth]

    def _open(self) -> None:
        for s in self.parts:
            s.open()
        self.fps = 200.0
        self.width, self.height = sum(s.width for s in self.parts), self.parts[0].height
        self.total_frames = self.parts[0].total_frames
        self._next = 0

    def _read(self) -> np.ndarray | None:
        i = self._next
        if i >= self.total_frames:
            return None
        self._next += 1
        images = [s.frame(i, inject=k not in self.still) for k, s in enumerate(self.parts)]
        for k in self.blank:
            images[k] = np.full_like(images[k], 110)
        return np.hstack(images)

    def _close(self) -> None:
        for s in self.parts:
            s.close()


class RecordingFaces:
    """A face stage that records ``(frame, face_id, box)`` of every face its inner stage follows."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.max_faces = inner.max_faces
        self.followed: list[tuple[int, int, tuple[int, int, int, int]]] = []

    def process_all(self, frame, outs):
        faces = self.inner.process_all(frame, outs)
        self.followed.extend((frame.index, f.face_id, f.box) for f in faces)
        return faces

    def close(self) -> None:
        self.inner.close()
