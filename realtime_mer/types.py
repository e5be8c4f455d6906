"""The small typed records that flow between stages: capture -> face -> buffer -> spotting -> recognition -> events."""

from __future__ import annotations

import datetime as _dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]  # a frame (H, W) gray or (H, W, 3) BGR, or an aligned crop (S, S)
Points = NDArray[np.float32]  # (N, 2) pixel positions; also a (2, 3) image -> crop transform
Floats = NDArray[np.float64]  # any float64 array (signals, times, matrices)

IntervalKind = Literal["micro", "macro"]
CLASSES: tuple[str, ...] = ("negative", "positive", "surprise")
MICRO_MAX_MS = 500.0


@dataclass(slots=True)
class Frame:
    """One captured image.

    ``index`` is the 0-based index in the source (frames a live camera dropped still consume
    an index, so gaps show drops). ``timestamp_ns`` is ``time.monotonic_ns()`` at grab for live
    sources and the file position (index / fps) for files, folders and the demo.
    ``wall_time`` is ``time.time()`` when the frame was grabbed; ``grab_ns`` is
    ``time.monotonic_ns()`` at grab for every source (latencies are measured from it).
    """

    index: int
    timestamp_ns: int
    wall_time: float
    image: Image  # HxW uint8 gray (--video) or HxWx3 uint8 BGR
    grab_ns: int = 0  # time.monotonic_ns() when the frame entered the system (for latency)


@dataclass(slots=True)
class AlignedFace:
    """The face of one frame after alignment to the canonical template."""

    frame_index: int
    timestamp_ns: int
    crop: Image  # (S, S) uint8 grayscale, aligned
    landmarks: Points  # (468, 2) float32, crop coordinates
    transform: Points  # (2, 3) float32 affine: image -> crop
    box: tuple[int, int, int, int]  # x, y, w, h of the face in the frame
    face_id: int = 0  # stable over the run (0: the first face found; with max_faces 1 always 0)
    keyframe: bool = True  # landmarks were computed on this frame (False: tracked)
    faces_seen: int = 1  # faces found by the latest full-image search (with max_faces 1: when this one was acquired)
    slot: int = 0  # the lane (ring buffer, spotter) that follows it, 0 .. max_faces - 1
    face_px: float = 0.0  # the face's height in the frame (image px, brow to chin)


def classify_kind(onset: int, offset: int, fps: float, micro_max_ms: float = MICRO_MAX_MS) -> IntervalKind:
    """The one micro/macro rule: ``micro`` when ``(offset - onset) / fps`` is at most ``micro_max_ms`` (500 ms)."""
    return "micro" if (offset - onset) * 1000.0 / fps <= micro_max_ms else "macro"


@dataclass(slots=True)
class Interval:
    """A facial movement, in 0-based source frame indices (inclusive): what a spotter finds, what a
    truth row holds, what the evaluation matches. ``score`` is the spotter's (0 for a truth);
    the ``*_ns`` times are the frames' timestamps when known."""

    onset: int
    apex: int
    offset: int
    kind: IntervalKind
    score: float = 0.0
    onset_ns: int = 0
    apex_ns: int = 0
    offset_ns: int = 0

    @property
    def n_frames(self) -> int:
        return self.offset - self.onset + 1


EVENT_FIELDS: tuple[str, ...] = (
    "type",
    "onset_frame",
    "apex_frame",
    "offset_frame",
    "onset_s",
    "apex_s",
    "offset_s",
    "duration_ms",
    "wall_time",
    "label",
    "probabilities",
    "spot_score",
    "face_id",
    "model",
    "emit_latency_ms",
    "time_source",
    "source",
    "model_sha256",
)

# what ``wall_time`` was counted from (``Event.time_source``): the capture's own clock (a camera's frames),
# the source file's modification time (a recorded file or image folder), or the time it was processed
# (no time of its own is known: the demo, or a file whose time could not be read)
TIME_SOURCES: tuple[str, ...] = ("capture_clock", "file_mtime", "processing_clock")


@dataclass(slots=True)
class Event:
    """One decided, classified movement: exactly the fields of the event log (see README)."""

    type: IntervalKind
    onset_frame: int
    apex_frame: int
    offset_frame: int
    onset_s: float
    apex_s: float
    offset_s: float
    duration_ms: float
    wall_time: str
    label: str
    probabilities: dict[str, float] = field(default_factory=dict)
    spot_score: float = 0.0
    face_id: int = 0
    model: str = ""
    emit_latency_ms: float = 0.0
    time_source: str = ""  # one of TIME_SOURCES: what wall_time was counted from ("" in logs older than the field)
    source: str = ""  # the source it came from (video path, image folder, "camera 0", "demo"), so merged logs keep it
    model_sha256: str = ""  # SHA-256 of the model file that classified it ("" when unknown)

    def to_dict(self) -> dict[str, Any]:
        """The event as one JSON-ready record, with the fields of ``EVENT_FIELDS`` in order (one line of ``--events``)."""
        d = asdict(self)
        return {k: d[k] for k in EVENT_FIELDS}

    @property
    def confidence(self) -> float:
        return float(self.probabilities.get(self.label, 0.0))

    def interval(self) -> Interval:
        """The spotted interval this event reports (frame indices, type, spot score)."""
        return Interval(self.onset_frame, self.apex_frame, self.offset_frame, self.type, self.spot_score)


def iso_utc(t: float) -> str:
    """ISO 8601 UTC with milliseconds, e.g. ``2026-11-20T10:00:00.123Z``."""
    return _dt.datetime.fromtimestamp(t, tz=_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
