"""``--frames-csv PATH``: one row per processed frame, streamed (nothing is kept; memory stays flat however long
the run), with OpenFace's column names where a column means the same thing.

Columns: ``frame`` (0-based source index, as in the event log; OpenFace counts from 1), ``timestamp_s``
(seconds since the first frame, the events' clock), ``face_id`` (0: the tracked face), ``success``
(1: a face was aligned on this frame), ``confidence`` (see below), ``keyframe`` (1: FaceMesh measured
the landmarks on this frame; 0: they were tracked from the last keyframe), ``pose_Rx``, ``pose_Ry``,
``pose_Rz`` (head pitch, yaw, roll in radians; ``face.pose``), ``signal`` and ``threshold`` (the
spotter's value and detection level, noise units), ``spotter_state`` (``watching``, ``calibrating``,
``blind`` — busy with a movement or re-acquiring its reference —, or ``no_face``), ``model_intensity``
(a recognition model's per-frame intensity, 0..1, for a model with an intensity head — tcgru —, empty for
the others; see ``hold_for_intensity``), and with landmarks on ``x_0 … x_467, y_0 … y_467``: the 468
FaceMesh landmarks in image pixels.

MediaPipe's FaceMesh solution reports no per-face score, so ``confidence`` is 1.0 on a frame with a
face (FaceMesh found it at ``min_detection_confidence`` or tracking passed its checks) and 0.0 without
one; it is there for tools that read OpenFace's columns and is not a graded measure.
Rows without a face have empty pose, signal, threshold and landmark cells.

The model intensity is computed on the recognition thread, a little after the frame (every
``model.intensity_every_ms`` over the newest window of crops). To put it on its own frame's row, a writer
told to (``hold_for_intensity(n)``) holds rows back until the intensity of their frame has arrived, or
for at most ``n`` frames (then the cell stays empty): the file lags the stream by that much, nothing else.
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
    """One face of one frame for the per-frame outputs."""

    face_id: int  # -1: a frame with no face at all (with several faces)
    slot: int  # the lane 0 .. max_faces - 1 (-1 with face_id -1)
    face: FaceSample | None  # None: no face in this row
    signal: float
    threshold: float
    state: str  # one of SPOTTER_STATES


class FrameSink(Protocol):
    """Takes the rows of each processed frame (``FramesWriter``, the LSL signal outlet)."""

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
        self.n_rows = 0
        # model intensity (hold_for_intensity): rows wait here for their frame's value; the lock guards what the
        # recognition thread hands in (values, the newest frame covered) against the spotting thread's rows
        self.hold = 0
        self._pending: collections.deque[tuple[int, str, str]] = collections.deque()
        self._values: dict[int, float] = {}
        self._covered = -1  # newest frame whose intensity has arrived
        self._written = -1  # newest frame whose row is written
        self._lock = threading.Lock()

    def hold_for_intensity(self, frames: int) -> None:
        """Fill ``model_intensity``: hold each row until its frame's intensity arrives, at most ``frames`` frames."""
        self.hold = max(1, int(frames))

    @property
    def held(self) -> int:
        """Rows waiting for their intensity."""
        return len(self._pending)

    def intensity(self, frames: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, face_id: int = 0) -> None:
        """Per-frame model intensity (source frame indices); any thread. Frames already written are ignored."""
        with self._lock:
            for f, v in zip(frames, values, strict=True):
                if int(f) > self._written:
                    self._values[int(f)] = float(v)
            if len(frames):
                self._covered = max(self._covered, int(max(frames)))

    def rows(self, frame: int, time_s: float, faces: Sequence[FaceRow]) -> None:
        for r in faces:
            self.row(frame, time_s, r.face, r.signal, r.threshold, r.state)

    def intensity_for(self, frames: Sequence[int] | np.ndarray, values: Sequence[float] | np.ndarray, face_id: int = 0) -> None:
        self.intensity(frames, values)

    def row(self, frame: int, time_s: float, face: FaceSample | None, signal: float, threshold: float, state: str) -> None:
        if self._f is None:
            return
        if face is None:
            head, tail = f"{frame},{time_s:.6f},0,0,0.0,0,,,,,,no_face", self._empty_lm
        else:
            if self.landmarks:
                pts = face.image_landmarks()
                rx, ry, rz = self._pose.solve(pts, face.width, face.height)
            else:
                rx, ry, rz = self._pose.solve_points(face.image_landmarks(self._pose_idx), face.width, face.height)
            head = (f"{frame},{time_s:.6f},0,1,1.0,{int(face.keyframe)},{rx:.5f},{ry:.5f},{rz:.5f},"
                    f"{signal:.5g},{threshold:.5g},{state}")
            tail = self._lm_fmt % tuple(np.concatenate([pts[:, 0], pts[:, 1]]).tolist()) if self.landmarks else ""
        self.n_rows += 1
        if not self.hold:
            self._f.write(f"{head},{tail}\n")
            return
        self._pending.append((frame, head, tail))
        self._drain()

    def _drain(self, everything: bool = False) -> None:
        """Write the held rows whose intensity has arrived, or that have waited ``hold`` frames (in order)."""
        assert self._f is not None
        with self._lock:
            while self._pending and (everything or self._pending[0][0] <= self._covered or len(self._pending) > self.hold):
                frame, head, tail = self._pending.popleft()
                v = self._values.pop(frame, None)
                self._f.write(f"{head},{'' if v is None else f'{v:.4f}'}{tail}\n")
                self._written = max(self._written, frame)
            if len(self._values) > 4 * self.hold:  # values of frames that never got a row (not expected): forget them
                self._values = {f: v for f, v in self._values.items() if f > self._written}

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


__all__ = ["BASE_COLUMNS", "LANDMARK_COLUMNS", "SPOTTER_STATES", "FaceSample", "FrameSink", "FramesWriter", "columns", "spotter_state"]
