"""The pipeline: capture -> face -> ring buffer -> spotting -> recognition -> events.

``Pipeline.run`` processes frames on worker threads while the calling thread shows the
overlay or a progress bar: the grabber decodes, the face thread aligns and fills the ring buffer,
the spotting thread reads it (at most ``spot_ahead`` frames behind, so nothing it still needs is
overwritten) and the recognition thread classifies decided intervals; a ``threading.Event``
stops them (Ctrl-C / SIGTERM). Every event is on disk (fsynced) the moment it is decided; at the
end the spotter is flushed, threads are joined, the source is released and a summary is returned.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from realtime_mer.buffer import RingBuffer
from realtime_mer.capture import Grabber, Source
from realtime_mer.config import PipelineConfig
from realtime_mer.events.assemble import make_event
from realtime_mer.events.sinks import EventSink
from realtime_mer.spotting.driver import SpotDriver, ring_seconds
from realtime_mer.stats import LatencyRecorder, RateMeter, peak_rss_mb, summarize
from realtime_mer.types import CLASSES, Event, Interval

_END = object()  # spotting queue: the face stage has ended


def spot_ahead(capacity: int) -> int:
    """How many frames the face thread may run ahead of the spotter: enough to even out the two
    threads, small against the ring buffer (the spotter still reads onsets ~0.5 s back)."""
    return max(2, min(32, capacity // 4))


@dataclass
class PipelineState:
    """What the overlay shows; updated by the worker, read by the UI thread."""

    source: str = ""
    fps_requested: float | None = None
    fps_granted: float | None = None
    total_frames: int | None = None
    captured: int = 0
    processed: int = 0
    dropped: int = 0
    with_face: int = 0
    face_present: bool = False
    face_status: str = "waiting for first frame"
    calibrating: bool = False
    achieved_fps: float = 0.0
    backend: str = ""
    model: str = ""
    spotter: str = ""
    events: collections.deque = field(default_factory=lambda: collections.deque(maxlen=8))
    n_events: int = 0
    signal: collections.deque = field(default_factory=lambda: collections.deque(maxlen=240))
    threshold: collections.deque = field(default_factory=lambda: collections.deque(maxlen=240))
    finished: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass
class Timeline:
    """Full-run spotting trace for ``--timeline`` plots (3 numbers a frame)."""

    frames: list[int] = field(default_factory=list)
    signal: list[float] = field(default_factory=list)
    threshold: list[float] = field(default_factory=list)


class Pipeline:
    """Wires the stages. Components can be injected (tests); otherwise built from ``cfg``."""

    def __init__(
        self,
        cfg: PipelineConfig,
        source: Source,
        *,
        sinks: list[EventSink] | None = None,
        aligner: Any = None,
        spotter: Any = None,
        classifier: Any = None,
        record_timeline: bool = False,
    ) -> None:
        self.cfg = cfg
        self.source = source
        self.sinks = sinks or []
        self._aligner = aligner
        self._spotter = spotter
        self._classifier = classifier
        self.state = PipelineState()
        self.latency = LatencyRecorder()
        self.emit_latency: list[float] = []
        self.events: list[Event] = []
        self.timeline = Timeline() if record_timeline else None
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._rate = RateMeter()
        self._grabber: Grabber | None = None
        self._worker: threading.Thread | None = None
        self._t_start = 0.0
        self._t_end = 0.0
        self._first_ts: int | None = None
        self._first_wall = 0.0

    # -- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Load models and open the source (all failures here happen before capture starts)."""
        import cv2

        from realtime_mer.capture import make_grabber

        cv2.setNumThreads(1)  # OpenCV's pool costs more than it gains on 128 px crops; the stages run on their own threads

        if self._classifier is None:
            self._classifier = load_classifier(self.cfg)
        self.source.open()
        fps = self.source.fps or self.cfg.source.fps or 30.0
        if self._aligner is None:
            from realtime_mer.face.aligner import FaceAligner

            self._aligner = FaceAligner(self.cfg.face)
        if self._spotter is None:
            from realtime_mer.spotting import make_spotter

            self._spotter = make_spotter(self.cfg.spot.name, fps, self.cfg.spot)
        seconds = ring_seconds(self.cfg.spot.max_ms, max(self.cfg.buffer_seconds, 3.0))
        self.buffer = RingBuffer.for_seconds(seconds, fps, self.cfg.face.crop_size)
        self._driver = SpotDriver(self._spotter, self.buffer)
        self._grab_ns = np.zeros(self.buffer.capacity, np.int64)
        self._crop = np.empty((self.cfg.face.crop_size, self.cfg.face.crop_size), np.uint8)
        self._grabber = make_grabber(self.source, self.cfg.source)
        st = self.state
        st.source = self.source.name
        # requested: what the user asked for (camera / --realtime / --frames), else the stream's own rate
        st.fps_requested = self.cfg.source.fps or self.source.fps_requested or self.source.fps or None
        st.fps_granted = self.source.fps or None
        st.total_frames = self.source.total_frames
        st.backend = getattr(self._classifier, "backend", "")
        st.model = getattr(self._classifier, "name", "")
        st.spotter = getattr(self._spotter, "name", "")
        st.warnings = list(self.source.warnings)

    # -- run ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._grabber is None:
            self.prepare()
        assert self._grabber is not None
        self._t_start = time.perf_counter()
        self._grabber.start()
        self._recog_q: queue.Queue = queue.Queue()
        self._recog = threading.Thread(target=self._recognise, name="recognition", daemon=True)
        self._recog.start()
        self._spot_q: queue.Queue = queue.Queue(maxsize=spot_ahead(self.buffer.capacity))
        self._spot = threading.Thread(target=self._spot_loop, name="spotting", daemon=True)
        self._spot.start()
        self._worker = threading.Thread(target=self._work, name="pipeline", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        self.stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker; True when it has finished."""
        if self._worker is None:
            return True
        self._worker.join(timeout)
        return not self._worker.is_alive()

    def close(self) -> None:
        """Stop and join everything, close sinks. Safe to call twice."""
        self.stop_event.set()
        self.wait(10.0)
        if self._grabber is not None:
            self._grabber.stop()
        for part in (self._aligner, self._classifier):
            closer = getattr(part, "close", None)
            if closer:
                closer()
        for s in self.sinks:
            s.close()

    def run(self) -> dict[str, Any]:
        """Run to the end of the stream (or until ``stop()``), headless; return the summary."""
        self.start()
        try:
            while not self.wait(0.2):
                pass
        finally:
            self.close()
        if self.error is not None:
            raise self.error
        return self.summary()

    # -- worker ------------------------------------------------------------------------------
    def _work(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # surfaced by run()/CLI; events so far are on disk
            if self.error is None:
                self.error = exc
        finally:
            # the spotter finishes the frames queued to it and flushes; then recognition finishes
            # every interval already decided; then the end is reported
            self._spot_q.put(_END)
            self._spot.join()
            self._recog_q.put(None)
            self._recog.join()
            self._t_end = time.perf_counter()
            self.state.finished = True

    def _recognise(self) -> None:
        """Recognition thread: classify decided intervals and write their events, in order.

        Optical flow and inference run here (OpenCV and ONNX Runtime release the GIL), so a
        40 ms classification never stalls the frame loop on a 200 fps stream."""
        while True:
            item = self._recog_q.get()
            if item is None:
                return
            try:
                self._emit(*item)
            except BaseException as exc:  # e.g. a disk error: keep it for the caller, stop recognising
                if self.error is None:
                    self.error = exc
                self.stop_event.set()

    def _loop(self) -> None:
        g = self._grabber
        assert g is not None
        st, lat = self.state, self.latency
        aligner = self._aligner
        had_face = False
        while not self.stop_event.is_set():
            t0 = time.perf_counter()
            try:
                frame = g.get(timeout=0.1)
            except queue.Empty:
                st.captured, st.dropped = g.captured, g.dropped
                continue
            if frame is None:
                break
            t1 = time.perf_counter()
            lat.add("capture_wait", (t1 - t0) * 1e3)
            if self._first_ts is None:
                self._first_ts = frame.timestamp_ns
                self._first_wall = frame.wall_time
            face = aligner.process(frame, out=self._crop)  # no per-frame allocation; push copies it
            t2 = time.perf_counter()
            lat.add("face", (t2 - t1) * 1e3)
            st.processed += 1
            st.captured, st.dropped = g.captured, g.dropped
            self._rate.tick()
            if face is None:
                had_face = False
                st.face_present = False
                st.face_status = "no face"
                self._spot_q.put((-1, frame.index, (t2 - t1) * 1e3))  # the spotter resets once; its time is recorded
                continue
            if not had_face:
                st.face_status = "face found"
            had_face = True
            st.face_present = True
            st.with_face += 1
            seq = self.buffer.push(face.crop, face.landmarks, frame.timestamp_ns, frame.index)
            self._grab_ns[seq % self.buffer.capacity] = frame.grab_ns
            t3 = time.perf_counter()
            lat.add("buffer", (t3 - t2) * 1e3)
            self._spot_q.put((seq, frame.index, (t3 - t1) * 1e3))  # waits while the spotter is spot_ahead behind
        # end of stream or stop: report how the stream ended (the spotting thread flushes)
        st.captured, st.dropped = g.captured, g.dropped
        if g.error is not None:
            raise g.error
        declared = self.source.total_frames or 0
        if g.ended_early and declared - g.captured > max(5, 0.05 * declared):  # containers often over-declare a little
            st.warnings.append(
                f"{self.source.name} ended at frame {g.captured} of {self.source.total_frames} declared (truncated file?); events so far are saved"
            )

    def _spot_loop(self) -> None:
        """Spotting thread: the spotter over the ring buffer, in frame order, until the face thread ends.

        Queue items are ``(seq, frame_index, face_ms)`` (seq -1: a frame without a face: the driver
        resets the spotter on the first of them, and its time is recorded) or ``_END``. At the end
        (also after a stop) every queued frame is still spotted and the spotter is flushed, so nothing
        already detected is lost. After an error the queue is drained so the face thread never waits.
        """
        driver, lat = self._driver, self.latency
        failed = False
        while True:
            item = self._spot_q.get()
            if item is _END:
                break
            if failed:
                continue
            try:
                seq, frame_index, face_ms = item
                if seq < 0:
                    driver.face_lost()
                    lat.add("total", face_ms)
                    continue
                t0 = time.perf_counter()
                intervals = driver.update(seq)
                lat.add("spotting", driver.update_ms)
                self._trace(frame_index)
                for iv in intervals:
                    self._hand_off(iv)
                lat.add("total", face_ms + (time.perf_counter() - t0) * 1e3)
            except BaseException as exc:  # surfaced by run()/CLI like a face-stage error
                if self.error is None:
                    self.error = exc
                self.stop_event.set()
                failed = True
        if not failed:
            try:
                for iv in driver.flush():
                    self._hand_off(iv)
            except BaseException as exc:
                if self.error is None:
                    self.error = exc

    def _trace(self, frame_index: int) -> None:
        sp = self._spotter
        sig, thr = float(getattr(sp, "signal", 0.0)), float(getattr(sp, "threshold", 0.0))
        self.state.signal.append(sig)
        self.state.threshold.append(thr)
        self.state.calibrating = bool(getattr(sp, "calibrating", False))
        if self.timeline is not None:
            self.timeline.frames.append(frame_index)
            self.timeline.signal.append(sig)
            self.timeline.threshold.append(thr)

    def _hand_off(self, iv: Interval) -> None:
        """Copy what recognition needs out of the ring buffer (it may be overwritten later) and queue it."""
        b = self.buffer
        on, ap, off = b.seq_of_frame(iv.onset), b.seq_of_frame(iv.apex), b.seq_of_frame(iv.offset)
        crops = (b.crop(on).copy(), b.crop(ap).copy()) if on is not None and ap is not None else None
        grab = int(self._grab_ns[off % b.capacity]) if off is not None else 0
        self._recog_q.put((iv, crops, grab))

    def _emit(self, iv: Interval, crops: tuple[np.ndarray, np.ndarray] | None, grab: int) -> None:
        t0 = time.perf_counter()
        probs = self._classifier.classify(*crops) if crops is not None and self._classifier is not None else {}
        t1 = time.perf_counter()
        self.latency.add("recognition", (t1 - t0) * 1e3)
        ev = make_event(iv, probs, origin_ns=self._first_ts or 0, origin_wall=self._first_wall,
                        model=getattr(self._classifier, "name", ""), grab_ns=grab)
        for s in self.sinks:
            s.write(ev)
        self.latency.add("events", (time.perf_counter() - t1) * 1e3)
        if grab:
            self.emit_latency.append(ev.emit_latency_ms)
        self.events.append(ev)
        self.state.events.append(ev)
        self.state.n_events += 1

    # -- report ------------------------------------------------------------------------------
    @property
    def achieved_fps(self) -> float:
        return self._rate.rate()

    def summary(self) -> dict[str, Any]:
        st = self.state
        elapsed = (self._t_end or time.perf_counter()) - self._t_start if self._t_start else 0.0
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
            "events": len(self.events),
            "events_by_type": dict(collections.Counter(e.type for e in self.events)),
            "events_by_label": dict(collections.Counter(e.label for e in self.events)),
            "stage_latency_ms": stages,
            "emit_latency_ms": {"p50": em["p50"], "p95": em["p95"]},
            "peak_rss_mb": peak_rss_mb(),
            "backend": st.backend,
            "model": st.model,
            "spotter": st.spotter,
            "classes": list(CLASSES),
            "warnings": list(st.warnings),
        }


def load_classifier(cfg: PipelineConfig) -> Any:
    """The recognition model for ``cfg.model``: the bundled apexflow on the backend ``auto`` picks
    (TensorRT when a GPU and an engine exist or can be built, else ONNX Runtime on the CPU)."""
    from realtime_mer.errors import ModelError, fail
    from realtime_mer.recognition.backend import runner_for_config
    from realtime_mer.recognition.classifier import ApexFlowClassifier

    if cfg.model.name != "apexflow":
        raise fail(ModelError, f"model {cfg.model.name!r} is not available in the live pipeline", "use --model apexflow (the others are offline tools)")
    if cfg.model.path is not None and Path(cfg.model.path).suffix != ".onnx":
        raise fail(ModelError, f"--model-path {cfg.model.path} is not an .onnx file", "export one with tools/export_onnx.py")
    runner, choice = runner_for_config(cfg.model)
    if choice.backend == "onnxruntime-cpu":
        clf = ApexFlowClassifier(cfg.model.path)  # its own single-thread CPU session
    else:
        clf = ApexFlowClassifier(cfg.model.path, runner=runner, backend=choice.backend)
    clf.backend_reason = str(choice)
    return clf


def live_status_line(p: Pipeline) -> str:
    """One-line status for logs."""
    st = p.state
    return f"{st.processed} frames, {p.achieved_fps:.0f} fps, {st.dropped} dropped, {st.n_events} events"


__all__ = ["Pipeline", "PipelineState", "Timeline", "live_status_line"]
