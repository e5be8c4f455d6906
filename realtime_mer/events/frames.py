"""``--frames-csv PATH``: one row per processed frame, streamed (nothing is kept; memory stays flat however long
the run), with OpenFace's column names where a column means the same thing.

Columns: ``frame`` (0-based source index, as in the event log; OpenFace counts from 1), ``timestamp_s``
(seconds since the first frame, the events' clock), ``face_id`` (the tracked face's id: stable over the run, 0
for the first face found, never reused; always 0 with ``--max-faces 1``), ``success``
(1: a face was aligned on this frame), ``confidence`` (see below), ``keyframe`` (1: FaceMesh measured
the landmarks on this frame; 0: they were tracked from the last keyframe), ``pose_Rx``, ``pose_Ry``,
``pose_Rz`` (head pitch, yaw, roll in radians; ``face.pose``), ``signal`` and ``threshold`` (the
spotter's value and detection level, noise units), ``spotter_state`` (``watching``, ``calibrating``,
``blind`` — busy with a movement or re-acquiring its reference —, ``small`` — a face tracked but too small to spot
(under about 64 px high): no signal —, or ``no_face``), ``model_intensity``
(a recognition model's per-frame intensity, 0..1, for a model with an intensity head — tcgru —, empty for
the others; see ``hold_for_intensity``), and with landmarks on ``x_0 … x_467, y_0 … y_467``: the 468
FaceMesh landmarks in image pixels.

MediaPipe's FaceMesh solution reports no per-face score, so ``confidence`` is 1.0 on a frame with a
face (FaceMesh found it at ``min_detection_confidence`` or tracking passed its checks) and 0.0 without
one; it is there for tools that read OpenFace's columns and is not a graded measure.
Rows without a face have empty pose, signal, threshold and landmark cells.

Several faces (``--max-faces N`` above 1): one row per face present on the frame, in slot order (the slot is the
per-face lane, 0..N-1, that tracks it), each with its own ``face_id``; a frame without any face is one row with an
empty ``face_id`` cell and ``spotter_state`` ``no_face``. With ``--max-faces 1`` there is exactly one row per frame,
``face_id`` 0 (also on rows without a face), as before faces were counted.

The model intensity is computed on the recognition thread, a little after the frame (every
``model.intensity_every_ms`` over the newest window of crops). To put it on its own frame's row, a writer
told to (``hold_for_intensity(n)``) holds rows back until the intensity of their frame has arrived, or
for at most ``n`` frames (then the cell stays empty): the file lags the stream by that much, nothing else. With
several faces the intensity is per face: each row gets its own face's value of its frame (``intensity(...,
face_id)``); rows leave in the order they came.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NamedTuple, Protocol

import numpy as np

from realtime_mer.face.geometry import N_LANDMARKS, apply, invert
from realtime_mer.face.pose import POSE_POINTS, HeadPose

BASE_COLUMNS: tuple[str, ...] = (
    "frame", "timestamp_s", "face_id", "success", "confidence", "keyframe",
    "pose_Rx", "pose_Ry", "pose_Rz", "signal", "threshold", "spotter_state", "model_intensity",
)
LANDMARK_COLUMNS: tuple[str, ...] = tuple(f"x_{i}" for i in range(N_LANDMARKS)) + tuple(f"y_{i}" for i in range(N_LANDMARKS))
SPOTTER_STATES = ("watching", "calibrating", "blind", "no_face", "small")
NO_SIGNAL_STATES = ("no_face", "small")  # no spotting signal on such a row (and no model intensity coming for it)


class FaceSample(NamedTuple):
    """What the per-frame outputs need of an aligned face (no copy: the aligner never changes these arrays)."""

    transform: np.ndarray  # (2, 3) image -> crop
    landmarks: np.ndarray  # (468, 2) crop coordinates
    width: int  # image size, for the camera model of the pose
    height: int
    keyframe: bool

    def image_landmarks(self, which: list[int] | None = None) -> np.ndarray:
        """(468, 2) landmarks in image pixels (or only the ``which`` ones)."""
        lm = self.landmarks if which is None else self.landmarks[which]
        return apply(invert(np.asarray(self.transform, np.float64)), np.asarray(lm, np.float64))


class FaceRow(NamedTuple):
    """One face of one processed frame, as the per-frame outputs take it."""

    face_id: int  # the tracked face's id (stable over the run); -1: a frame with no face at all (with several faces)
    slot: int  # the lane 0..max_faces-1 that tracks it (-1 with face_id -1)
    face: FaceSample | None  # None: no face in this row
    signal: float
    threshold: float
    state: str  # one of SPOTTER_STATES


NO_FACE_ROW = FaceRow(-1, -1, None, float("nan"), float("nan"), "no_face")  # a frame without any face, several faces


class FrameSink(Protocol):
    """Takes each processed frame's faces (``FramesWriter``, the LSL signal outlet): one ``rows`` call per frame."""

    def rows(self, frame: int, time_s: float, faces: Sequence[FaceRow]) -> None: ...

    def close(self) -> None: ...


def spotter_state(calibrating: bool, blind: bool) -> str:
    return "calibrating" if calibrating else "blind" if blind else "watching"


def columns(landmarks: bool) -> tuple[str, ...]:
    return BASE_COLUMNS + (LANDMARK_COLUMNS if landmarks else ())


class FramesWriter:
    """Streams per-frame rows to a CSV as they come."""

    def __init__(self, path: Path, landmarks: bool = False) -> None:
        self.path = Path(path)
        self.landmarks = landmarks
        self._pose = HeadPose()
        self._f: IO[str] | None = self.path.open("w", encoding="utf-8", buffering=1 << 16)
        self._f.write(",".join(columns(landmarks)) + "\n")
        self._empty_lm = "," * (2 * N_LANDMARKS) if landmarks else ""
        self._lm_fmt = ",%.2f" * (2 * N_LANDMARKS)  # one C-level format per row (2x faster than a join)
        self._pose_idx = list(POSE_POINTS)
        self.n_rows = 0  # CSV rows so far (one per face per frame)
        # model intensity (hold_for_intensity): rows wait here for their face's value of their frame; the lock guards
        # what the recognition thread hands in (values, the newest frame covered per face) against the spotting
        # thread's rows. A pending row: (frame, face_id, waits for its own face's intensity, head, tail)
        self.hold = 0
        self._pending: collections.deque[tuple[int, int, bool, str, str]] = collections.deque()
        self._pending_frames: collections.deque[int] = collections.deque()  # the distinct frames of the pending rows
        self._values: dict[tuple[int, int], float] = {}  # (face_id, frame) -> intensity
        self._covered: dict[int, int] = {}  # face_id -> newest frame whose intensity has arrived
        self._covered_any = -1  # newest frame any face's intensity has covered
        self._written: dict[int, int] = {}  # face_id -> newest frame whose row is written
        self._lock = threading.Lock()

    def hold_for_intensity(self, frames: int) -> None:
        """Fill ``model_intensity``: hold each row until its frame's intensity arrives, at most ``frames`` frames."""
        self.hold = max(1, int(frames))

    @property
    def held(self) -> int:
        """Rows waiting for their intensity."""
        return len(self._pending)

    def intensity(self, frames: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, face_id: int = 0) -> None:
        """Face ``face_id``'s per-frame model intensity (source frame indices); any thread. Frames whose row of that
        face is already written are ignored."""
        with self._lock:
            done = self._written.get(face_id, -1)
            for f, v in zip(frames, values, strict=True):
                if int(f) > done:
                    self._values[(face_id, int(f))] = float(v)
            if len(frames):
                newest = int(max(frames))
                self._covered[face_id] = max(self._covered.get(face_id, -1), newest)
                self._covered_any = max(self._covered_any, newest)

    def rows(self, frame: int, time_s: float, faces: Sequence[FaceRow]) -> None:
        """One processed frame: a CSV row per ``FaceRow`` (in the order given)."""
        if self._f is None:
            return
        for r in faces:
            self._row(frame, time_s, r)

    def _row(self, frame: int, time_s: float, r: FaceRow) -> None:
        assert self._f is not None
        face, fid = r.face, r.face_id
        fid_cell = "" if fid < 0 else str(fid)
        if face is None:
            head, tail = f"{frame},{time_s:.6f},{fid_cell},0,0.0,0,,,,,,{r.state}", self._empty_lm
        else:
            if self.landmarks:
                pts = face.image_landmarks()
                rx, ry, rz = self._pose.solve(pts, face.width, face.height)
            else:
                rx, ry, rz = self._pose.solve_points(face.image_landmarks(self._pose_idx), face.width, face.height)
            spotted = r.state not in NO_SIGNAL_STATES
            sig = f"{r.signal:.5g}" if spotted else ""
            thr = f"{r.threshold:.5g}" if spotted else ""
            head = (f"{frame},{time_s:.6f},{fid_cell},1,1.0,{int(face.keyframe)},{rx:.5f},{ry:.5f},{rz:.5f},"
                    f"{sig},{thr},{r.state}")
            tail = self._lm_fmt % tuple(np.concatenate([pts[:, 0], pts[:, 1]]).tolist()) if self.landmarks else ""
        self.n_rows += 1
        if not self.hold:
            self._f.write(f"{head},{tail}\n")
            return
        # a row of a face being spotted waits for that face's intensity; the others (no face, a face too small) get
        # none, and leave once any face's intensity has passed their frame (as a face's rows would)
        own = face is not None and fid >= 0 and r.state not in NO_SIGNAL_STATES
        if not self._pending_frames or self._pending_frames[-1] != frame:
            self._pending_frames.append(frame)
        self._pending.append((frame, fid, own, head, tail))
        self._drain()

    def _ready(self, frame: int, fid: int, own: bool) -> bool:
        return frame <= (self._covered.get(fid, -1) if own else self._covered_any)

    def _drain(self, everything: bool = False) -> None:
        """Write the held rows whose intensity has arrived, or whose frame has waited ``hold`` frames (in order)."""
        assert self._f is not None
        with self._lock:
            while self._pending and (everything or self._ready(*self._pending[0][:3]) or len(self._pending_frames) > self.hold):
                frame, fid, _own, head, tail = self._pending.popleft()
                v = self._values.pop((fid, frame), None)
                self._f.write(f"{head},{'' if v is None else f'{v:.4f}'}{tail}\n")
                self._written[fid] = max(self._written.get(fid, -1), frame)
                if not self._pending or self._pending[0][0] != frame:
                    self._pending_frames.popleft()
            if len(self._values) > 4 * self.hold:  # values of rows that never came (not expected): forget the old ones
                self._values = {k: v for k, v in self._values.items() if k[1] > self._written.get(k[0], -1)}

    def close(self) -> None:
        if self._f is not None:
            if self._pending:
                self._drain(everything=True)
            self._f.close()
            self._f = None

    def __enter__(self) -> FramesWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


__all__ = ["BASE_COLUMNS", "LANDMARK_COLUMNS", "NO_FACE_ROW", "NO_SIGNAL_STATES", "SPOTTER_STATES", "FaceRow", "FaceSample", "FrameSink",
           "FramesWriter", "columns", "spotter_state"]
