"""How well face ids follow people: followed faces matched to the true face boxes of a composited clip
(``mer_lab.synthetic.multiface``), then swaps, fragments and coverage counted.

- a followed face is on an actor on a frame when its crop centre lies inside that actor's true (landmark) box,
  enlarged by a quarter on each side; the nearest box centre wins when two contain it;
- ``swaps``: face ids seen on more than one actor (an identity that jumped from one person to another), the worst
  error: the event log would mix two people under one id;
- ``ids_per_actor``: how many ids each actor had over the clip (1 is ideal; 2 after a loss too long or ambiguous to
  bridge, which is safe: a new id, never a wrong one);
- ``coverage``: per actor, the share of frames where it was visible (``visible``) and followed.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mer_lab.synthetic.multiface import FaceBox, MultifaceClip


@dataclass
class IdentityReport:
    """Per face id the actors it was seen on (frames each); per actor the ids and the frames followed."""

    on_actor: dict[int, collections.Counter[int]] = field(default_factory=dict)  # face_id -> actor -> frames
    ids_of: dict[int, list[int]] = field(default_factory=dict)  # actor -> ids in order of first appearance
    followed: collections.Counter[int] = field(default_factory=collections.Counter)  # actor -> visible frames followed
    visible: collections.Counter[int] = field(default_factory=collections.Counter)  # actor -> visible frames
    stray: int = 0  # followed faces on no actor

    @property
    def swaps(self) -> list[int]:
        """Face ids seen on more than one actor."""
        return sorted(fid for fid, c in self.on_actor.items() if len(c) > 1)

    def ids_per_actor(self) -> dict[int, int]:
        return {a: len(ids) for a, ids in sorted(self.ids_of.items())}

    def coverage(self) -> dict[int, float]:
        return {a: round(self.followed[a] / n, 4) for a, n in sorted(self.visible.items()) if n}

    def to_dict(self) -> dict[str, object]:
        return {"swaps": self.swaps, "ids_per_actor": self.ids_per_actor(), "coverage": self.coverage(),
                "stray": self.stray, "on_actor": {fid: dict(c) for fid, c in sorted(self.on_actor.items())}}


def _actor_at(cx: float, cy: float, boxes: Sequence[FaceBox]) -> int | None:
    best, best_d = None, float("inf")
    for b in boxes:
        if b.w <= 0 or b.h <= 0:
            continue
        mx, my = 0.25 * b.w, 0.25 * b.h
        if b.x - mx <= cx <= b.x + b.w + mx and b.y - my <= cy <= b.y + b.h + my:
            d = (cx - b.x - b.w / 2) ** 2 + (cy - b.y - b.h / 2) ** 2
            if d < best_d:
                best, best_d = b.actor, d
    return best


def score_identities(followed: Iterable[tuple[int, int, tuple[int, int, int, int]]], truth: Sequence[FaceBox]) -> IdentityReport:
    """``followed``: ``(frame, face_id, (x, y, w, h))`` of every followed face (``AlignedFace.box``); ``truth``: the
    clip's ``boxes.csv`` rows."""
    by_frame: dict[int, list[FaceBox]] = collections.defaultdict(list)
    for b in truth:
        by_frame[b.frame].append(b)
    rep = IdentityReport()
    for b in truth:
        if b.visible:
            rep.visible[b.actor] += 1
    seen: set[tuple[int, int]] = set()
    for frame, fid, (x, y, w, h) in followed:
        actor = _actor_at(x + w / 2, y + h / 2, by_frame.get(frame, []))
        if actor is None:
            rep.stray += 1
            continue
        rep.on_actor.setdefault(fid, collections.Counter())[actor] += 1
        ids = rep.ids_of.setdefault(actor, [])
        if fid not in ids:
            ids.append(fid)
        if (frame, actor) not in seen and any(b.actor == actor and b.visible for b in by_frame.get(frame, [])):
            seen.add((frame, actor))
            rep.followed[actor] += 1
    return rep


def follow_clip(clip: MultifaceClip, max_faces: int) -> tuple[IdentityReport, dict[str, float]]:
    """The face stage (``MultiFaceAligner``) alone over a composited clip's frames, turned gray as a video reaches it;
    its identities scored against the clip's true boxes, and the aligner's counters."""
    import cv2
    import numpy as np

    from realtime_mer.config import FaceConfig
    from realtime_mer.face.multi import MultiFaceAligner
    from realtime_mer.types import Frame

    outs = [np.zeros((128, 128), np.uint8) for _ in range(max_faces)]
    followed: list[tuple[int, int, tuple[int, int, int, int]]] = []
    with MultiFaceAligner(FaceConfig(max_faces=max_faces), clip.fps) as m:
        for i in range(clip.n_frames):
            gray = cv2.cvtColor(clip.frame(i), cv2.COLOR_BGR2GRAY)
            frame = Frame(i, round(i * 1e9 / clip.fps), 0.0, gray)
            followed += [(i, f.face_id, f.box) for f in m.process_all(frame, outs)]
        stats = m.stats()
    return score_identities(followed, [b for row in clip.boxes for b in row]), stats


__all__ = ["IdentityReport", "follow_clip", "score_identities"]
