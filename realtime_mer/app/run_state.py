"""What a run accumulates, and its summary: the state the overlay shows, per-stage latencies, the
events, the spotting trace for ``--timeline``, and the dict ``--stats`` writes.

The pipeline's worker threads write here; the UI thread only reads. Each field has one writer
thread, so no lock is needed (the overlay may show a value one frame old).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from realtime_mer.app.stats import LatencyRecorder, RateMeter, peak_rss_mb, summarize
from realtime_mer.app.timeline import TraceWriter, intensity_path
from realtime_mer.events.frames import NO_FACE_ROW as NO_FACES_ROW
from realtime_mer.events.frames import FaceRow, FrameSink
from realtime_mer.types import CLASSES, Event

SIGNAL_SAMPLES = 4096  # >= 4 s of signal up to 1000 fps (the overlay graphs the last 4 s)
OVERLAY_EVENTS = 200  # the overlay lists the newest events, as many as the terminal's height allows


@dataclass
class FaceState:
    """One face of a run with several (``--max-faces`` above 1): what the overlay shows of it and the summary counts."""

    face_id: int
    slot: int = 0
    signal: collections.deque = field(default_factory=lambda: collections.deque(maxlen=SIGNAL_SAMPLES))
    threshold: collections.deque = field(default_factory=lambda: collections.deque(maxlen=SIGNAL_SAMPLES))
    signal_t: collections.deque = field(default_factory=lambda: collections.deque(maxlen=SIGNAL_SAMPLES))
    calibrating: bool = False
    blind: bool = False
    small: bool = False  # too small to spot on its latest frame
    frames: int = 0  # frames spotted
    small_frames: int = 0  # frames tracked but too small to spot
    blind_frames: int = 0
    events: int = 0
    first_s: float = 0.0
    last_s: float = 0.0


@dataclass
class RunState:
    """What the overlay shows; updated by the workers, read by the UI thread."""

    source: str = ""
    fps_requested: float | None = None
    fps_granted: float | None = None  # the stream's time base: what a camera granted, a file's or folder's rate
    fps_container: float | None = None  # a video file: the rate its container states (the time base unless --fps)
    total_frames: int | None = None
    captured: int = 0
    processed: int = 0
    dropped: int = 0
    with_face: int = 0
    face_present: bool = False
    face_status: str = "waiting for first frame"
    calibrating: bool = False
    blind: bool = False  # the spotter cannot detect anything new now (calibrating, busy, re-acquiring)
    blind_frames: int = 0  # frames with a face during which the spotter was blind
    achieved_fps: float = 0.0
    backend: str = ""
    backend_reason: str = ""  # e.g. "onnxruntime-cpu (no NVIDIA GPU found)"
    model: str = ""
    classes: tuple[str, ...] = CLASSES
    spotter: str = ""
    # the latest events, as many as a tall terminal's overlay shows (the full list is RunRecord.events)
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=OVERLAY_EVENTS))
    n_events: int = 0
    # the overlay's graph: the last SIGNAL_SAMPLES frames' time, signal and threshold (NaN: no face)
    signal: collections.deque = field(default_factory=lambda: collections.deque(maxlen=SIGNAL_SAMPLES))
    threshold: collections.deque = field(default_factory=lambda: collections.deque(maxlen=SIGNAL_SAMPLES))
    signal_t: collections.deque = field(default_factory=lambda: collections.deque(maxlen=SIGNAL_SAMPLES))
    finished: bool = False
    warnings: list[str] = field(default_factory=list)
    incomplete: str = ""  # why the input ended before it should have (truncated file, unreadable frames); "" when whole
    skipped: int = 0  # unreadable frames skipped
    stalls: int = 0  # the camera stopped delivering for a while and came back
    stall_s: float = 0.0
    faces_seen_max: int = 0  # most faces seen in one frame (the largest is tracked)
    face_losses: int = 0  # times a tracked face was lost
    face_switches: int = 0  # frame-to-frame jumps of the tracked face's box by more than half its width
    max_faces: int = 1  # faces followed at once (--max-faces)
    faces_now: int = 0  # faces followed in the latest frame
    now_s: float = 0.0  # the stream time of the latest processed frame
    faces: dict[int, FaceState] = field(default_factory=dict)  # with several faces: each by face_id, in order of appearance


@runtime_checkable
class TakesIntensity(Protocol):
    """A per-frame sink that puts the model's continuous intensity on its rows (``events.frames.FramesWriter``) once
    told to hold them (``hold`` > 0)."""

    hold: int

    def intensity(self, frames: Any, values: Any, face_id: int = 0) -> None: ...


ABSENT_FACE_ROW = FaceRow(0, 0, None, float("nan"), float("nan"), "no_face")  # one face: a frame without it
MAX_FACE_LOSS_WARNINGS = 5  # the first face losses are listed one by one in the warnings; the rest are counted


class RunRecord:
    """A run's state, latencies, events and trace; ``summary()`` is the run summary."""

    def __init__(self, trace_path: Path | None = None, frame_sinks: Sequence[FrameSink] = ()) -> None:
        self.frame_sinks = list(frame_sinks)  # --frames-csv, --lsl: one row per processed frame
        self.origin_grab_ns: int | None = None  # time.monotonic_ns() when the first frame was grabbed (--lsl's clock)
        self.state = RunState()
        self.latency = LatencyRecorder()
        self.cpu_s: dict[str, float] = {}  # CPU seconds per stage (``add_cpu``)
        self.emit_latency: list[float] = []
        self.events: list[Event] = []
        self.trace_writer = TraceWriter(trace_path) if trace_path is not None else None  # --timeline: streamed
        # a model with an intensity head (tcgru): its per-frame trace beside the spotting trace, opened on first use
        self.intensity_path = intensity_path(trace_path) if trace_path is not None else None
        self._intensity_fh: Any = None
        self.rate = RateMeter()
        self.t_start = 0.0
        self.t_end = 0.0
        self._lost_from: tuple[int, int, float] | None = None  # (processed count, frame index, time) of a face loss
        self._box: tuple[int, int, int, int] | None = None  # the tracked face's box in the previous frame

    def begin(self) -> None:
        self.t_start = time.perf_counter()

    def add_cpu(self, stage: str, seconds: float) -> None:
        """CPU seconds a stage's thread (or process) spent in this run (``stage_cpu_ms_per_frame`` in the summary)."""
        self.cpu_s[stage] = self.cpu_s.get(stage, 0.0) + float(seconds)

    def end(self) -> None:
        self.t_end = time.perf_counter()
        st = self.state
        if self._lost_from is not None:
            self._face_loss_warning(f"to the end ({st.processed - self._lost_from[0]} frames)")
        if st.face_losses > MAX_FACE_LOSS_WARNINGS:
            st.warnings.append(f"the face was lost {st.face_losses} times in all (the first {MAX_FACE_LOSS_WARNINGS} are listed)")
        if st.processed and not st.with_face:
            st.warnings.append(f"no face found in any of the {st.processed} frames; check the lighting and that a face "
                               "is in view (frontal, at least ~80 px wide)")
        st.finished = True

    def describe(self, *, source: str, fps_requested: float | None, fps_granted: float | None,
                 total_frames: int | None, warnings: list[str], model: str, backend: str, backend_reason: str,
                 classes: tuple[str, ...], spotter: str, fps_container: float | None = None, max_faces: int = 1) -> None:
        """What runs on what (set once, before the run)."""
        st = self.state
        st.max_faces = int(max_faces)
        st.source, st.fps_requested, st.fps_granted, st.total_frames = source, fps_requested, fps_granted, total_frames
        st.fps_container = fps_container
        st.warnings = list(warnings)
        st.model, st.backend, st.backend_reason, st.classes, st.spotter = model, backend, backend_reason, classes, spotter

    def frame(self, has_face: bool, index: int = -1, time_s: float = 0.0,
              box: tuple[int, int, int, int] | None = None, faces_seen: int = 1, n_faces: int | None = None) -> None:
        """One more frame through the face stage, with or without a face (``index`` / ``time_s``: where it is in the
        stream; ``box`` / ``faces_seen``: the tracked face's box and the faces seen when it was acquired; ``n_faces``:
        the faces followed in it). Face losses and more faces than are followed become warnings, so a headless run
        reports them in its stats too."""
        st = self.state
        st.processed += 1
        st.now_s = time_s
        st.faces_now = int(has_face) if n_faces is None else n_faces
        self.rate.tick()
        if has_face:
            if not st.face_present:
                st.face_status = "face found"
                if self._lost_from is not None:
                    self._face_loss_warning(f"to frame {index} ({time_s:.2f} s)")
            st.face_present = True
            st.with_face += 1
            if faces_seen > st.faces_seen_max:
                if faces_seen > st.max_faces >= st.faces_seen_max:
                    st.warnings.append(
                        f"{faces_seen} faces seen at frame {index} ({time_s:.2f} s); the largest is tracked (face_id 0), the "
                        "others are ignored (--max-faces N follows up to N)" if st.max_faces == 1 else
                        f"{faces_seen} faces seen at frame {index} ({time_s:.2f} s); {st.max_faces} are followed "
                        "(--max-faces), the others are ignored")
                st.faces_seen_max = faces_seen
            if box is not None and self._box is not None:
                (x, y, w, h), (px, py, pw, ph) = box, self._box
                jump = math.hypot(x + w / 2 - px - pw / 2, y + h / 2 - py - ph / 2)  # per frame: no numpy scalar
                st.face_switches += int(jump > 0.5 * max(w, pw))
            self._box = box
        else:
            if st.face_present:
                st.face_losses += 1
                self._lost_from = (st.processed - 1, index, time_s)
            st.face_present = False
            st.face_status = "no face"
            self._box = None

    def _face_loss_warning(self, until: str) -> None:
        _n, index, time_s = self._lost_from or (0, 0, 0.0)
        self._lost_from = None
        if self.state.face_losses <= MAX_FACE_LOSS_WARNINGS:
            self.state.warnings.append(f"face lost at frame {index} ({time_s:.2f} s), no face {until}")

    def trace(self, frame_index: int, time_s: float, signal: float, threshold: float, calibrating: bool,
              blind: bool, face_id: int = 0, slot: int = 0) -> None:
        """A spotter's live values after a frame with a face: the overlay's sparkline, the blind-time
        count and the streamed ``--timeline`` trace (one row per face and frame)."""
        st = self.state
        if st.max_faces == 1:
            st.signal_t.append(time_s)
            st.signal.append(signal)
            st.threshold.append(threshold)
            st.calibrating = calibrating
            st.blind = blind
            st.blind_frames += int(blind)
        else:
            fs = self._face(face_id, slot, time_s)
            fs.signal_t.append(time_s)
            fs.signal.append(signal)
            fs.threshold.append(threshold)
            fs.calibrating, fs.blind, fs.small = calibrating, blind, False
            fs.frames += 1
            fs.blind_frames += int(blind)
            st.calibrating = calibrating if face_id == min(st.faces) else st.calibrating
            st.blind_frames += int(blind)
        if self.trace_writer is not None:
            self.trace_writer.row(frame_index, time_s, True, signal, threshold, blind, face_id=face_id)

    def _face(self, face_id: int, slot: int, time_s: float) -> FaceState:
        fs = self.state.faces.get(face_id)
        if fs is None:
            fs = self.state.faces[face_id] = FaceState(face_id, slot, first_s=time_s)
        fs.slot, fs.last_s = slot, time_s
        return fs

    def _graph_gap(self, time_s: float) -> None:
        """A gap in the one-face overlay's graph (no spotter value at ``time_s``)."""
        st = self.state
        st.signal_t.append(time_s)
        st.signal.append(float("nan"))
        st.threshold.append(float("nan"))

    def face_small(self, frame_index: int, time_s: float, face_id: int = 0, slot: int = 0) -> None:
        """A face tracked on this frame but too small to spot (``face.min_face_px``): the spotter is blind to it (a gap
        in the overlay's graph, a blind row of the ``--timeline`` trace)."""
        st = self.state
        st.blind_frames += 1
        if st.max_faces == 1:
            self._graph_gap(time_s)
            st.blind = True
        fs = self._face(face_id, slot, time_s)
        fs.small = True
        fs.small_frames += 1
        if self.trace_writer is not None:
            self.trace_writer.row(frame_index, time_s, True, float("nan"), float("nan"), True, face_id=face_id)

    def rows(self, frame_index: int, time_s: float, rows: Sequence[FaceRow]) -> None:
        """The per-frame outputs' rows of a frame with a face (``--frames-csv``, ``--lsl``)."""
        for s in self.frame_sinks:
            s.rows(frame_index, time_s, rows)

    def trace_no_face(self, frame_index: int, time_s: float, multi: bool = False) -> None:
        """A frame without a face in the ``--timeline`` trace (the spotter is blind then too)."""
        if not multi:
            self._graph_gap(time_s)
        if self.trace_writer is not None:
            self.trace_writer.row(frame_index, time_s, False, float("nan"), float("nan"), True, face_id=-1 if multi else 0)
        rows = (NO_FACES_ROW,) if multi else (ABSENT_FACE_ROW,)
        for s in self.frame_sinks:
            s.rows(frame_index, time_s, rows)

    def intensity(self, frames: np.ndarray, values: np.ndarray, source: str = "event", face_id: int = 0) -> None:
        """A recognition model's per-frame intensity (``--timeline``: ``<name>.intensity.csv``, columns
        ``frame, intensity, source, face_id``). ``source`` ``event``: the steps of a classified interval (frames
        fractional where the model sampled between frames); ``window``: the continuous trace, one value per integer
        frame, which also goes to the per-frame outputs that take it (``--frames-csv``'s ``model_intensity``)."""
        if source == "window":
            for s in self.frame_sinks:
                if isinstance(s, TakesIntensity) and s.hold:
                    s.intensity(frames, values, face_id=face_id)
        if self.intensity_path is None:
            return
        if self._intensity_fh is None:
            self._intensity_fh = open(self.intensity_path, "w", encoding="utf-8")  # closed in close_trace
            self._intensity_fh.write("frame,intensity,source,face_id\n")
        self._intensity_fh.writelines(f"{f:.2f},{v:.4f},{source},{face_id}\n" for f, v in zip(frames, values, strict=True))
        self._intensity_fh.flush()

    def wants_intensity(self) -> bool:
        """Whether anything takes a continuous intensity trace (``--timeline``, or a per-frame sink that holds rows)."""
        return self.intensity_path is not None or any(hasattr(s, "hold_for_intensity") for s in self.frame_sinks)

    def close_trace(self) -> None:
        if self.trace_writer is not None:
            self.trace_writer.close()
        for s in self.frame_sinks:
            s.close()
        if self._intensity_fh is not None:
            self._intensity_fh.close()
            self._intensity_fh = None

    def blind_share(self) -> dict[str, Any]:
        """The share of processed frames in which nothing new could be detected, and why. With several faces it is
        counted per face and frame (``spotter_blind_frames`` too), frames without any face added once."""
        st = self.state
        no_face = st.processed - st.with_face
        seen = st.with_face if st.max_faces == 1 else sum(f.frames + f.small_frames for f in st.faces.values())
        share = (st.blind_frames + no_face) / (seen + no_face) if seen + no_face else 0.0
        return {"share": round(share, 4), "spotter_blind_frames": int(st.blind_frames), "no_face_frames": int(no_face)}

    def event(self, ev: Event, timed: bool) -> None:
        """A written event (``timed``: its emit latency was measured)."""
        if timed:
            self.emit_latency.append(ev.emit_latency_ms)
        self.events.append(ev)
        self.state.events.append(ev)
        self.state.n_events += 1
        fs = self.state.faces.get(ev.face_id)
        if fs is not None:
            fs.events += 1

    @property
    def achieved_fps(self) -> float:
        return self.rate.rate()

    def summary(self) -> dict[str, Any]:
        """The run summary (``--stats`` and the end-of-run table)."""
        st = self.state
        elapsed = (self.t_end or time.perf_counter()) - self.t_start if self.t_start else 0.0
        stages = {s: self.latency.summary(s) for s in self.latency.stages()}
        em = summarize(np.asarray(self.emit_latency, np.float32))
        return {
            "source": st.source,
            "frames_captured": int(st.captured),
            "frames_processed": int(st.processed),
            "frames_dropped": int(st.dropped),
            "frames_with_face": int(st.with_face),
            "face_found_ratio": round(st.with_face / st.processed, 4) if st.processed else 0.0,
            "processing_fps": round(st.processed / elapsed, 2) if elapsed > 0 else 0.0,
            "elapsed_s": round(elapsed, 3),
            "fps_requested": st.fps_requested,
            "fps_granted": st.fps_granted,
            "fps_container": st.fps_container,
            "events": len(self.events),
            "events_by_type": dict(collections.Counter(e.type for e in self.events)),
            "events_by_label": dict(collections.Counter(e.label for e in self.events)),
            "stage_latency_ms": stages,
            # null when nothing was emitted with a known capture time (not a latency of 0)
            "emit_latency_ms": {"p50": em["p50"], "p95": em["p95"]} if self.emit_latency else None,
            "blind": self.blind_share(),
            "peak_rss_mb": peak_rss_mb(),
            "backend": st.backend,
            "model": st.model,
            "spotter": st.spotter,
            "classes": list(st.classes),
            "warnings": list(st.warnings),
            # how complete the input was, and what happened to the face (issue 17)
            "input_complete": not st.incomplete,
            "incomplete_reason": st.incomplete or None,
            "frames_skipped": int(st.skipped),
            "source_stalls": {"count": int(st.stalls), "seconds": round(st.stall_s, 3)},
            "faces": {"most_seen": int(st.faces_seen_max), "losses": int(st.face_losses), "switches": int(st.face_switches),
                      "max_faces": int(st.max_faces), **({"per_face": self.per_face()} if st.max_faces > 1 else {})},
            # CPU time of each stage's thread (the spotter's process) per processed frame: where the time goes (issue 24)
            "stage_cpu_ms_per_frame": {k: round(1e3 * v / st.processed, 4) for k, v in self.cpu_s.items()} if st.processed else {},
        }


    def per_face(self) -> dict[str, dict[str, Any]]:
        """With several faces: each face's frames, events, blind share and when it was seen (summary ``faces.per_face``)."""
        out = {}
        for fid, fs in sorted(self.state.faces.items()):
            out[str(fid)] = {
                "frames_spotted": int(fs.frames), "frames_too_small": int(fs.small_frames),
                "events": int(fs.events), "blind_share": round(fs.blind_frames / fs.frames, 4) if fs.frames else 0.0,
                "first_s": round(fs.first_s, 3), "last_s": round(fs.last_s, 3),
            }
        return out


def status_line(record: RunRecord) -> str:
    """One-line status for logs."""
    st = record.state
    return f"{st.processed} frames, {record.achieved_fps:.0f} fps, {st.dropped} dropped, {st.n_events} events"


__all__ = ["RunRecord", "RunState", "status_line"]
