"""Frame -> aligned grayscale face crop: FaceMesh on keyframes, cheap crop-space tracking in between.

Per frame the previous transform predicts the crop; Lucas-Kanade on ~30 rigid points between the
last keyframe's crop and that prediction gives the residual similarity, so the crop stays
registered to the keyframe with no drift inside an interval. Every ``landmark_every`` frames (or
when tracking fails its sanity check) FaceMesh runs on a face-centred window warped by the tracked
transform (one face, tiny image, MediaPipe's own ROI tracking stays locked), and its rigid-point fit
is blended into the tracked transform: a small step when both agree (FaceMesh jitter is filtered
out), a full snap when they disagree (drift or a fast move).
"""

from __future__ import annotations

import time
from types import TracebackType

import cv2
import numpy as np

from realtime_mer.config import FaceConfig, TrackConfig, validate_dataclass
from realtime_mer.errors import DataError, fail
from realtime_mer.face.geometry import (
    RIGID_FIT,
    RIGID_TRACK,
    apply,
    compose,
    fit_similarity,
    fit_similarity_robust,
    invert,
    template,
    to_crop,
    warp,
)
from realtime_mer.face.mesh import FaceMesh
from realtime_mer.types import AlignedFace, Frame


class FaceAligner:
    """Stateful face stage: ``process(frame)`` -> ``AlignedFace`` or None (no face).

    Several faces: the one with the largest landmark box when the face is (re)acquired, then
    that face is tracked. Counters: ``frames``, ``faces``, ``keyframes``, ``searches``,
    ``track_failures``, ``losses``; timings in ``stats()``.
    """

    def __init__(self, cfg: FaceConfig | None = None, tune: TrackConfig | None = None, search: bool = True) -> None:
        self.cfg = cfg or FaceConfig()
        self.tune = tune or self.cfg.track
        validate_dataclass(self.cfg, "face.")  # the bounds the CLI and the API check, in the same one line
        validate_dataclass(self.tune, "face.track.")
        s, w = int(self.cfg.crop_size), int(self.tune.window_size)
        self.size = s
        self._tpl = template(s)
        self._tpl_fit = self._tpl[list(RIGID_FIT)]
        # crop -> FaceMesh window: the window shows twice the crop's extent, face in the middle
        self._k, self._off = w / (2.0 * s), w / 4.0
        self._to_window = np.array([[self._k, 0.0, self._off], [0.0, self._k, self._off]])
        # the full-image search (search=False: a MultiFaceAligner searches for all its faces and hands each one over)
        self._finder = FaceMesh(max(4, self.cfg.max_faces), True, self.cfg.min_detection_confidence,
                                self.cfg.min_tracking_confidence) if search else None
        self._mesh = FaceMesh(1, False, self.cfg.min_detection_confidence, self.cfg.min_tracking_confidence)
        self._corners = np.array([[0.0, 0.0], [s, 0.0], [0.0, s], [s, s]])
        self._face_h = float(self._tpl[152, 1] - self._tpl[10, 1])  # brow (10) to chin (152) in the crop
        self._ref = np.zeros((s, s), np.uint8)  # keyframe crop that tracking registers to
        self._pred = np.zeros((s, s), np.uint8)
        self._scratch = np.zeros((s, s, 3), np.uint8)
        self._lk_criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 0.01)
        self._faces_seen = 0  # faces found by the last full-image search (the largest is held)
        self._found: np.ndarray | None = None
        self.frames = self.faces = self.keyframes = self.searches = self.track_failures = self.losses = 0
        self.seconds = 0.0
        self.reset()

    # ---- public -------------------------------------------------------------------------------
    def process(self, frame: Frame, out: np.ndarray | None = None, found: np.ndarray | None = None) -> AlignedFace | None:
        """Align one frame's face into ``out`` ((S, S) uint8, reused) or a new array; None: no face.

        ``found``: (468, 2) image landmarks of a face found in this frame by someone else's search: the face held so
        far is forgotten and this one is taken (a ``MultiFaceAligner`` hands each new face to its own aligner)."""
        if out is not None and (out.shape != (self.size, self.size) or out.dtype != np.uint8):
            raise fail(DataError, f"aligned-face buffer must be ({self.size}, {self.size}) uint8, got {out.shape} {out.dtype}")
        t0 = time.perf_counter()
        try:
            if found is not None:
                self.reset()
                self._found = np.asarray(found)
            return self._process(frame, out)
        finally:
            self.seconds += time.perf_counter() - t0

    def reset(self) -> None:
        """Forget the held face; the next frame searches the whole image again. FaceMesh's own
        video-mode state is reset too, so aligning the same frames twice gives the same crops."""
        if hasattr(self, "_mesh"):
            self._mesh.reset()
        self._m: np.ndarray | None = None
        self._lm = np.zeros((468, 2), np.float32)
        self._pts = np.zeros((0, 1, 2), np.float32)
        self._since = 0
        self._wait = 0
        self._step = float("inf")  # last frame's residual motion (crop px)
        self._found = None  # landmarks handed to process() to take instead of searching

    def stats(self) -> dict[str, float]:
        """Counters and mean timings (ms per processed frame, ms per FaceMesh call)."""
        n = max(self.frames, 1)
        return {
            "frames": self.frames,
            "faces": self.faces,
            "face_rate": self.faces / n,
            "keyframes": self.keyframes,
            "searches": self.searches,
            "track_failures": self.track_failures,
            "losses": self.losses,
            "ms_per_frame": 1e3 * self.seconds / n,
            "mesh_ms_per_call": self._mesh.ms_per_call,
            "search_ms_per_call": self._finder.ms_per_call if self._finder is not None else 0.0,
        }

    @property
    def transform(self) -> np.ndarray | None:
        """The current image -> crop similarity (2, 3) float64, or None when no face is held."""
        return None if self._m is None else self._m.copy()

    def close(self) -> None:
        if self._finder is not None:
            self._finder.close()
        self._mesh.close()

    def __enter__(self) -> FaceAligner:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # ---- steps --------------------------------------------------------------------------------
    def _process(self, frame: Frame, out: np.ndarray | None) -> AlignedFace | None:
        img = frame.image
        self.frames += 1
        if self._m is None:
            found = self._search(img) if self._found is None else self._take(self._found)
            self._found = None
            if found is None:
                return None
            m, lm = found
            key = True
        else:
            held = self._m
            tracked, still = self._track(img, held) if self.tune.track else (held, False)
            key = tracked is None or self._since + 1 >= self.cfg.landmark_every
            if key:
                base = held if tracked is None else tracked
                measured = self._window_landmarks(img, base)
                if measured is None:
                    self.losses += 1
                    self.reset()
                    return None
                m_fm = compose(fit_similarity(measured[list(RIGID_FIT)], self._tpl_fit), base)
                m = m_fm if tracked is None or not self.tune.smooth else self._blend(tracked, m_fm)
                lm = to_crop(apply(invert(base), measured), m)
            else:
                assert tracked is not None  # key is set whenever tracking failed
                m, lm = tracked, self._lm
        if not key and still:  # the prediction already is the crop
            crop = self._pred.copy() if out is None else out
            if out is not None:
                np.copyto(out, self._pred)
        else:
            crop = warp(img, m, self.size, out, self._scratch)
        self._m = m
        if key:
            self.keyframes += 1
            self._since = 0
            np.copyto(self._ref, crop)
            lm.setflags(write=False)
            self._lm = lm
            pts = lm[list(RIGID_TRACK)]
            margin = self.tune.lk_window / 2.0  # LK needs its window inside the crop
            pts = pts[(pts >= margin).all(1) & (pts < self.size - margin).all(1)]
            self._pts = np.ascontiguousarray(pts.reshape(-1, 1, 2), dtype=np.float32)
        else:
            self._since += 1
        self.faces += 1
        box_pts = apply(invert(m), self._corners)  # the crop's footprint in the frame
        x0, y0 = np.floor(box_pts.min(0)).astype(int)
        x1, y1 = np.ceil(box_pts.max(0)).astype(int)
        return AlignedFace(
            frame_index=frame.index,
            timestamp_ns=frame.timestamp_ns,
            crop=crop,
            landmarks=lm,
            transform=m.astype(np.float32),
            box=(int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
            keyframe=key,
            faces_seen=self._faces_seen,
            face_px=self._face_h / float(np.sqrt(abs(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]))),
        )

    def _search(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Full-image FaceMesh (all faces, largest kept), throttled to every ``search_every`` frames."""
        if self._finder is None:  # searched for by a MultiFaceAligner
            return None
        if self._wait > 0:
            self._wait -= 1
            return None
        self.searches += 1
        faces = self._finder.detect(img)  # largest first
        self._faces_seen = len(faces)
        lm = faces[0] if faces else None
        if lm is None:
            self._wait = (self.tune.search_every or self.cfg.landmark_every) - 1
            return None
        return self._take(lm)

    def _take(self, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The transform and crop landmarks of a face found by a full-image search."""
        m = fit_similarity(lm[list(RIGID_FIT)], self._tpl_fit)
        return m, to_crop(lm, m)

    def _window_landmarks(self, img: np.ndarray, base: np.ndarray) -> np.ndarray | None:
        """FaceMesh on the face-centred window warped by ``base``; landmarks in ``base``'s crop frame."""
        w = int(self.tune.window_size)
        win = cv2.warpAffine(img, compose(self._to_window, base), (w, w), flags=cv2.INTER_LINEAR)
        lm = self._mesh.largest(win)
        if lm is None:
            return None
        return (lm.astype(np.float64) - self._off) / self._k

    def _track(self, img: np.ndarray, held: np.ndarray) -> tuple[np.ndarray | None, bool]:
        """Transform after the residual motion of the predicted crop vs the keyframe crop (LK on rigid points).

        Returns ``(transform, still)``: transform None when tracking fails its sanity checks; still
        when the correction is below ``still_px`` and ``held`` is kept (the predicted crop is final).
        After a small step LK first runs without a pyramid (3x cheaper), then with one if that fails.
        """
        t = self.tune
        pred = warp(img, held, self.size, self._pred, self._scratch)
        levels = (0, t.lk_levels) if self._step < t.fast_below_px and t.lk_levels > 0 else (t.lk_levels,)
        for lev in levels:
            found = self._residual(pred, lev)
            if found is not None:
                r, self._step = found
                if self._step < t.still_px:
                    return held, True
                return compose(invert(r), held), False
        self.track_failures += 1
        self._step = float("inf")
        return None, False

    def _residual(self, pred: np.ndarray, levels: int) -> tuple[np.ndarray, float] | None:
        """Similarity keyframe crop -> predicted crop from LK on the rigid points, and its largest corner shift."""
        t = self.tune
        win = (t.lk_window, t.lk_window)
        p1, st, _ = cv2.calcOpticalFlowPyrLK(self._ref, pred, self._pts, None, winSize=win, maxLevel=levels, criteria=self._lk_criteria)
        ok = st.reshape(-1) == 1
        if ok.sum() < t.min_points:
            return None
        r, inl, rms = fit_similarity_robust(self._pts.reshape(-1, 2)[ok], p1.reshape(-1, 2)[ok], min_inliers=t.min_points)
        step = float(np.abs(apply(r, self._corners) - self._corners).max())
        if inl.sum() < t.min_points or rms > t.max_rms_px or step > t.max_step_px:
            return None
        return r, step

    def _blend(self, tracked: np.ndarray, measured: np.ndarray) -> np.ndarray:
        """Move the tracked transform toward the FaceMesh fit, more the more they disagree."""
        t = self.tune
        d = float(np.linalg.norm(apply(compose(measured, invert(tracked)), self._tpl_fit) - self._tpl_fit, axis=1).mean())
        a = t.alpha_min + (1.0 - t.alpha_min) * float(np.clip((d - t.agree_px) / max(t.snap_px - t.agree_px, 1e-6), 0.0, 1.0))
        return tracked + a * (measured - tracked)
