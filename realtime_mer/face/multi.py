"""Several faces at once (``--max-faces N``): one full-image FaceMesh search finds them all, each followed face gets
its own ``FaceAligner`` (a slot: keyframes on its own face-centred window, tracking in between), and ``identity``
keeps each face's id stable.

Per frame: every followed face is aligned by its slot's aligner (a loss frees the slot and the face is remembered
for ``face.memory_s``); two slots that collapsed onto one face (one person passing in front of another) keep the one
that moved as it was moving and drop the other (remembered where it was before it strayed); while a slot is free,
a full-image search runs every ``search_every`` frames (``landmark_every`` by default; once a second it also looks at
square tiles of a wide picture, where faces are too small for the detector's 128 px view), the faces it finds are
matched to the followed ones (Hungarian assignment on IoU) and each unmatched one, largest first, takes a free
slot with an id from ``Identities`` (a remembered one where unambiguous, else a new one).

With ``max_faces`` 1 the pipeline uses ``FaceAligner`` itself (the single-face behaviour and speed are unchanged).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType

import numpy as np

from realtime_mer.config import FaceConfig, validate_dataclass
from realtime_mer.face.aligner import FaceAligner
from realtime_mer.face.geometry import RIGID_FIT, apply, fit_similarity, invert, template
from realtime_mer.face.identity import Box, Identities, Motion, iou, match
from realtime_mer.face.mesh import FaceMesh
from realtime_mer.types import AlignedFace, Frame, Image

DUPLICATE_CENTRES = 0.5  # two followed faces whose crop centres are closer than this many crop widths are one face
NEW_FACE_IOU = 0.3  # a found face that overlaps a followed one this much is that one
STRAY_FRAMES = 12  # how far back a collapsed pair's motion is compared


@dataclass
class _Followed:
    face_id: int
    box: Box
    motion: Motion = field(default_factory=Motion)


class MultiFaceAligner:
    """``process_all(frame, outs)`` -> the ``AlignedFace`` of every followed face (``face_id``, ``slot`` set), in slot
    order; slot ``k``'s crop goes into ``outs[k]``. Counters in ``stats()``."""

    def __init__(self, cfg: FaceConfig | None = None, fps: float = 30.0) -> None:
        self.cfg = cfg = cfg or FaceConfig()
        validate_dataclass(cfg, "face.")
        self.max_faces = int(cfg.max_faces)
        self.size = int(cfg.crop_size)
        self._finder = FaceMesh(max(4, self.max_faces), True, cfg.min_detection_confidence, cfg.min_tracking_confidence)
        self._slots = [FaceAligner(cfg, search=False) for _ in range(self.max_faces)]
        self._followed: list[_Followed | None] = [None] * self.max_faces
        self.ids = Identities(fps, cfg.memory_s)
        self._tpl_fit = template(self.size)[list(RIGID_FIT)]
        self._corners = np.array([[0.0, 0.0], [self.size, 0.0], [0.0, self.size], [self.size, self.size]])
        self._every = int(cfg.track.search_every or cfg.landmark_every)
        self._wait = 0
        self._tile_every = max(1, round(fps))  # the tiled search: at most once a second while a slot is free
        self._tile_wait = 0
        self._seen = 0
        self.frames = self.searches = self.losses = self.duplicates = 0
        self.seconds = 0.0

    # ---- public -------------------------------------------------------------------------------
    def process_all(self, frame: Frame, outs: Sequence[Image]) -> list[AlignedFace]:
        """Align every followed face of ``frame``; ``outs``: one (S, S) uint8 array per slot, reused."""
        t0 = time.perf_counter()
        try:
            return self._process(frame, outs)
        finally:
            self.seconds += time.perf_counter() - t0

    @property
    def followed(self) -> int:
        """Faces followed now."""
        return sum(f is not None for f in self._followed)

    def reset(self) -> None:
        """Forget every face and id: the next frame searches the whole image and ids start at 0 again."""
        for a in self._slots:
            a.reset()
        self._followed = [None] * self.max_faces
        self.ids = Identities(self.ids.fps, self.cfg.memory_s)
        self._wait = 0

    def stats(self) -> dict[str, float]:
        n = max(self.frames, 1)
        per = [a.stats() for a in self._slots]
        return {
            "frames": self.frames,
            "faces": sum(p["faces"] for p in per),
            "keyframes": sum(p["keyframes"] for p in per),
            "searches": self.searches,
            "track_failures": sum(p["track_failures"] for p in per),
            "losses": self.losses,
            "duplicates": self.duplicates,
            "ids": self.ids.next_id,
            "ids_returned": self.ids.returned,
            "ms_per_frame": 1e3 * self.seconds / n,
            "search_ms_per_call": self._finder.ms_per_call,
        }

    def close(self) -> None:
        self._finder.close()
        for a in self._slots:
            a.close()

    def __enter__(self) -> MultiFaceAligner:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ---- steps --------------------------------------------------------------------------------
    def _process(self, frame: Frame, outs: Sequence[Image]) -> list[AlignedFace]:
        if len(outs) < self.max_faces:
            raise ValueError(f"process_all needs {self.max_faces} crop buffers, got {len(outs)}")
        self.frames += 1
        faces: dict[int, AlignedFace] = {}
        for slot, fol in enumerate(self._followed):
            if fol is None:
                continue
            f = self._slots[slot].process(frame, outs[slot])
            if f is None:
                self.losses += 1
                self._drop(slot)
                continue
            fol.box = Box(*map(float, f.box))
            fol.motion.add(frame.index, fol.box)
            faces[slot] = f
        self._drop_duplicates(faces)
        if None in self._followed:
            self._search(frame, outs, faces)
        out = []
        for slot in sorted(faces):
            f, fol = faces[slot], self._followed[slot]
            assert fol is not None
            f.face_id, f.slot, f.faces_seen = fol.face_id, slot, max(self._seen, len(faces))
            out.append(f)
        return out

    def _drop(self, slot: int, back: int = 0) -> None:
        """Stop following the face in ``slot``; remember it as it was ``back`` frames ago."""
        fol = self._followed[slot]
        if fol is not None:
            self.ids.forget(fol.face_id, fol.motion.anchor(back), fol.box)
        self._followed[slot] = None
        self._slots[slot].reset()
        self._wait = 0  # look for faces on the next frame

    def _drop_duplicates(self, faces: dict[int, AlignedFace]) -> None:
        """Two slots on one face: keep the one that kept to its own motion (ties: the older id)."""
        slots = sorted(faces)
        for i, a in enumerate(slots):
            for b in slots[i + 1:]:
                fa, fb = self._followed[a], self._followed[b]
                if a not in faces or b not in faces or fa is None or fb is None or not _same_place(fa.box, fb.box):
                    continue
                da, db = fa.motion.deviation(STRAY_FRAMES), fb.motion.deviation(STRAY_FRAMES)
                lose = b if (db, fb.face_id) > (da, fa.face_id) else a
                self.duplicates += 1
                self._drop(lose, back=STRAY_FRAMES)
                del faces[lose]

    def _footprint(self, landmarks: np.ndarray) -> Box:
        """The image box a crop of this face covers (as ``AlignedFace.box``)."""
        m = fit_similarity(landmarks[list(RIGID_FIT)], self._tpl_fit)
        p = apply(invert(m), self._corners)
        x0, y0 = np.floor(p.min(0))
        x1, y1 = np.ceil(p.max(0))
        return Box(float(x0), float(y0), float(x1 - x0), float(y1 - y0))

    def _tiled(self, image: Image) -> list[np.ndarray]:
        """Faces found in overlapping square tiles (side: the image's shorter side, a third overlap), in image pixels."""
        h, w = image.shape[:2]
        side = min(h, w)
        if max(h, w) < 1.3 * side:  # nearly square: the full-image search saw it as well as a tile would
            return []
        step = max(1, (2 * side) // 3)
        xs = sorted({*range(0, max(1, w - side + 1), step), w - side})
        ys = sorted({*range(0, max(1, h - side + 1), step), h - side})
        out = []
        for y in ys:
            for x in xs:
                for lm in self._finder.detect(np.ascontiguousarray(image[y:y + side, x:x + side])):
                    out.append(lm + np.array([x, y], np.float32))
        return out

    def _search(self, frame: Frame, outs: Sequence[Image], faces: dict[int, AlignedFace]) -> None:
        """A full-image search (throttled); each face found that no slot follows takes a free slot."""
        self._tile_wait -= 1
        if self._wait > 0:
            self._wait -= 1
            return
        self._wait = self._every - 1
        self.searches += 1
        found = self._finder.detect(frame.image)  # largest first
        boxes = [self._footprint(lm) for lm in found]
        if self._tile_wait <= 0:  # the detector sees the whole picture at 128 px: faces in a wide or large frame are
            self._tile_wait = self._tile_every  # too small for it, so now and then it also looks at square tiles
            for lm in self._tiled(frame.image):
                b = self._footprint(lm)
                if all(iou(b, o) < NEW_FACE_IOU for o in boxes):
                    found.append(lm)
                    boxes.append(b)
        self._seen = len(found)
        if not found:
            return
        active = [s for s in faces if self._followed[s] is not None]
        taken = {j for _, j in match([self._followed[s].box for s in active], boxes, NEW_FACE_IOU)}  # type: ignore[union-attr]
        new = [j for j in range(len(found)) if j not in taken
               and all(iou(boxes[j], self._followed[s].box) < NEW_FACE_IOU for s in active)]  # type: ignore[union-attr]
        free = [s for s, f in enumerate(self._followed) if f is None]
        new = new[: len(free)]
        for j, fid in zip(new, self.ids.assign([boxes[j] for j in new], frame.index), strict=True):
            slot = free.pop(0)
            f = self._slots[slot].process(frame, outs[slot], found=found[j])
            if f is None:
                continue
            fol = _Followed(fid, Box(*map(float, f.box)))
            fol.motion.add(frame.index, fol.box)
            self._followed[slot] = fol
            faces[slot] = f


def _same_place(a: Box, b: Box) -> bool:
    """Two crops on one face: their centres closer than ``DUPLICATE_CENTRES`` of the smaller crop's width."""
    return abs(a.cx - b.cx) ** 2 + abs(a.cy - b.cy) ** 2 < (DUPLICATE_CENTRES * min(a.w, b.w)) ** 2


__all__ = ["MultiFaceAligner"]
