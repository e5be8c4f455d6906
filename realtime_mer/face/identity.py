"""Which face is which over time: found faces matched to followed ones, stable ids, a short memory of lost faces.

A ``MultiFaceAligner`` follows each face with its own tracker; this module only decides identities:

- ``match``: an optimal one-to-one assignment (scipy's Hungarian ``linear_sum_assignment``) of boxes found by a
  full-image search to the boxes of the faces already followed, on 1 - IoU, pairs below ``min_iou`` refused;
- ``Motion``: a followed face's centre over its last frames, to tell which of two trackers that collapsed onto one
  face (one face passing in front of the other) has strayed from its own straight-line motion;
- ``Identities``: ids 0, 1, 2, ... in order of first appearance, never reused; a face lost within ``memory_s`` that
  is found again where only it can be (near where it was lost or where its motion would have taken it, at a
  similar size, with no other lost face and no other found face that could match) gets its id back; any
  ambiguity gives a new id, never a swapped one.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned box in image pixels."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2.0

    @property
    def cy(self) -> float:
        return self.y + self.h / 2.0

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when they do not overlap)."""
    iw = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    ih = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (a.area + b.area - inter)


def match(followed: list[Box], found: list[Box], min_iou: float = 0.3) -> list[tuple[int, int]]:
    """``(followed index, found index)`` pairs of the assignment that maximises the summed IoU, each with IoU of at
    least ``min_iou``."""
    if not followed or not found:
        return []
    from scipy.optimize import linear_sum_assignment

    cost = np.array([[1.0 - iou(a, b) for b in found] for a in followed])
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if 1.0 - cost[r, c] >= min_iou]


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a face was and how it moved (px per frame) at ``frame``."""

    frame: int
    cx: float
    cy: float
    vx: float
    vy: float
    w: float


class Motion:
    """A followed face's box centre over its last ``keep`` frames."""

    def __init__(self, keep: int = 48) -> None:
        self._t: deque[int] = deque(maxlen=keep)
        self._c: deque[tuple[float, float, float]] = deque(maxlen=keep)

    def add(self, frame: int, box: Box) -> None:
        self._t.append(frame)
        self._c.append((box.cx, box.cy, box.w))

    def __len__(self) -> int:
        return len(self._t)

    def _velocity(self, end: int, span: int) -> tuple[float, float]:
        """Mean velocity over the ``span`` samples that end at index ``end`` (px per frame)."""
        start = max(0, end - span)
        if end <= start:
            return 0.0, 0.0
        dt = max(1, self._t[end] - self._t[start])
        return (self._c[end][0] - self._c[start][0]) / dt, (self._c[end][1] - self._c[start][1]) / dt

    def anchor(self, back: int = 0) -> Anchor:
        """The face's place and velocity ``back`` samples ago (0: now)."""
        if not self._t:
            return Anchor(0, 0.0, 0.0, 0.0, 0.0, 1.0)
        i = max(0, len(self._t) - 1 - back)
        vx, vy = self._velocity(i, 8)
        cx, cy, w = self._c[i]
        return Anchor(self._t[i], cx, cy, vx, vy, w)

    def deviation(self, back: int = 12) -> float:
        """How far (in face widths) the face now is from where its motion ``back`` samples ago would have taken it."""
        if len(self._t) < 3:
            return 0.0
        a = self.anchor(min(back, len(self._t) - 1))
        cx, cy, w = self._c[-1]
        dt = self._t[-1] - a.frame
        return math.hypot(cx - (a.cx + a.vx * dt), cy - (a.cy + a.vy * dt)) / max(w, 1.0)


@dataclass(frozen=True, slots=True)
class Gone:
    """A face lost recently: its id, where and how it was last seen moving, and where it was last followed."""

    face_id: int
    anchor: Anchor
    last: Box


class Identities:
    """Face ids: new ones in order, and the lost faces of the last ``memory_s`` seconds."""

    def __init__(self, fps: float, memory_s: float = 3.0, extrapolate_s: float = 1.0) -> None:
        self.fps = float(fps) if fps and fps > 0 else 30.0
        self.memory = round(memory_s * self.fps)
        self.extrapolate = round(extrapolate_s * self.fps)
        self.next_id = 0
        self.gone: list[Gone] = []
        self.returned = 0  # ids given back to a face that came back

    def new(self) -> int:
        fid = self.next_id
        self.next_id += 1
        return fid

    def forget(self, face_id: int, anchor: Anchor, last: Box) -> None:
        """``face_id`` is no longer followed (lost, or dropped as a duplicate): remember it for a while."""
        self.gone = [g for g in self.gone if g.face_id != face_id]
        if self.memory > 0:
            self.gone.append(Gone(face_id, anchor, last))

    def _gate(self, g: Gone, box: Box, frame: int) -> float:
        """How far ``box`` is from where ``g`` could be now, in units of the distance allowed (< 1: could be ``g``)."""
        a = g.anchor
        dt = max(0, frame - a.frame)
        ratio = box.w / max(a.w, 1.0)
        if not 0.67 <= ratio <= 1.5:
            return math.inf
        t = min(dt, self.extrapolate)
        px, py = a.cx + a.vx * t, a.cy + a.vy * t
        d = min(math.hypot(box.cx - px, box.cy - py), math.hypot(box.cx - g.last.cx, box.cy - g.last.cy))
        allowed = 0.6 * a.w + 0.25 * math.hypot(a.vx, a.vy) * t
        return d / max(allowed, 1.0)

    def assign(self, found: list[Box], frame: int) -> list[int]:
        """An id for each newly followed face in ``found``: a lost face's id where the match is unambiguous, else new."""
        self.gone = [g for g in self.gone if frame - g.anchor.frame <= self.memory]
        ok = np.array([[self._gate(g, b, frame) < 1.0 for g in self.gone] for b in found], bool).reshape(len(found), len(self.gone))
        ids: list[int] = []
        taken: set[int] = set()
        for i in range(len(found)):
            cand = np.flatnonzero(ok[i])
            if len(cand) == 1 and ok[:, cand[0]].sum() == 1:  # only this lost face fits, and it fits only this one
                g = self.gone[int(cand[0])]
                ids.append(g.face_id)
                taken.add(g.face_id)
                self.returned += 1
            else:
                ids.append(self.new())
        self.gone = [g for g in self.gone if g.face_id not in taken]
        return ids


__all__ = ["Anchor", "Box", "Gone", "Identities", "Motion", "iou", "match"]
