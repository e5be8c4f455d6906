"""The pipeline: capture -> face -> ring buffer -> spotting -> recognition -> events.

``Pipeline.run`` processes frames on worker threads while the calling thread shows the
overlay or a progress bar: the grabber decodes, the face thread aligns and fills the ring buffer,
the spotting thread reads it (at most ``spot_ahead`` frames behind, so nothing it still needs is
overwritten) and the recognition thread classifies decided intervals; a ``threading.Event``
stops them (Ctrl-C / SIGTERM). Every event is on disk (fsynced) the moment it is decided; at the
end the spotter is flushed, threads are joined, the source is released and a summary is returned.

This module only wires threads. The stages are typed by ``stages``; the spotter is fed by
``spotting.driver.SpotDriver``; the classifier and its backend come from ``recognition.classifier``;
events are assembled by ``events.assemble``; the run state, trace and summary live in ``run_state``.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from realtime_mer.app.provenance import collect, source_clock, source_label
from realtime_mer.app.run_state import RunRecord
from realtime_mer.buffer import RingBuffer
from realtime_mer.capture import Grabber, Source
from realtime_mer.config import PipelineConfig
from realtime_mer.events.assemble import make_event
from realtime_mer.events.frames import FaceRow, FaceSample, FrameSink, spotter_state
from realtime_mer.face.geometry import picture_box
from realtime_mer.spotting.driver import SpotDriver, SpotStep, calibration_frames, ring_seconds
from realtime_mer.spotting.process import SpotProcess
from realtime_mer.stages import (
    ClassifierStage,
    ClipInput,
    EventSink,
    FaceStage,
    HoldsForIntensity,
    IntensityWindow,
    ModelFile,
    MultiFaceStage,
    OneFace,
    SpotterStage,
)
from realtime_mer.types import Image, Interval


class _LaneItem(NamedTuple):
    """One face slot's part of a processed frame."""

    slot: int  # the lane: its ring buffer and spotter
    seq: int  # the crop's ring-buffer sequence number; LOST (-1): the lane's face is gone, its spotter resets once;
    # SMALL (-2): a face too small to spot (tracked and reported, the spotter resets as for a loss)
    face_id: int
    sample: FaceSample | None  # what --frames-csv / --lsl need of the face (None: no face, or nobody asked)


LOST, SMALL = -1, -2


class _SpotItem(NamedTuple):
    """Spotting queue: one processed frame and its faces, one ``_LaneItem`` per slot that has (or just lost) one.
    With one face every frame has exactly one lane item (LOST when no face). None ends the queue."""

    frame_index: int
    face_ms: float  # the face stage's time for it (the total latency adds the spotter's)
    timestamp_ns: int
    lanes: tuple[_LaneItem, ...]


class _Pair(NamedTuple):
    """Crops of a decided interval for a classifier that takes the onset / apex pair (copied out of the ring buffer)."""

    onset: Image
    apex: Image


class _Clip(NamedTuple):
    """Crops onset..offset of a decided interval for a ``ClipInput`` classifier, with apex and offset positions."""

    frames: Image  # (n, S, S) uint8
    onset: int
    apex: int
    offset: int


class _Decided(NamedTuple):
    """Recognition queue: a decided interval to classify and write (``crops`` None: its frames are gone)."""

    interval: Interval
    crops: _Pair | _Clip | None
    grab_ns: int  # when its offset frame was grabbed (0: unknown)
    face_id: int = 0


class _Window(NamedTuple):
    """Recognition queue: the newest crops for a model's continuous intensity trace (not an event)."""

    crops: Image  # (n, H, W) uint8, copied out of the ring buffer
    frames: NDArray[np.int64]  # (n,) their source frame indices
    slot: int = 0
    face_id: int = 0


class _Lane:
    """One face slot: its ring buffer, spotter driver, capture times, crop buffer and intensity-window state. The face
    thread pushes crops and keeps ``face_id`` (the face it follows now); the spotting side keeps ``spot_face_id``
    (the face its spotter last saw), ``face_frames`` and the window state."""

    def __init__(self, slot: int, buffer: RingBuffer, spotter: SpotterStage) -> None:
        self.slot = slot
        self.buffer = buffer
        self.spotter = spotter
        self.driver: SpotDriver[list[Interval]] = SpotDriver(spotter, buffer)
        self.grab_ns = np.zeros(buffer.capacity, np.int64)
        self.crop = np.empty((buffer.crop_size, buffer.crop_size), np.uint8)
        self.face_id = -1
        self.spot_face_id = 0
        self.face_frames = 0
        self.iwin_busy = threading.Event()  # a window is queued or running: the next one waits (never piles up)
        self.iwin_last = -(1 << 62)  # seq of the newest frame of the last window queued
        self.iwin_from = 0  # first seq of the current stretch with a face (a window never spans a face loss)
        self.iwin_done = -1  # newest source frame already in the trace


def intensity_window(window_ms: float, every_ms: float, fps: float, capacity: int) -> tuple[int, int]:
    """(window, every) in frames for the continuous intensity trace at ``fps``: at least 9 crops (tcgru samples
    9 positions), at most half the ring buffer."""
    n = min(max(9, round(window_ms * fps / 1000.0)), max(9, capacity // 2))
    return n, max(1, round(every_ms * fps / 1000.0))


def spot_ahead(capacity: int) -> int:
    """How many frames the face thread may run ahead of the spotter: enough to even out the two
    threads, small against the ring buffer (the spotter still reads onsets ~0.5 s back)."""
    return max(2, min(32, capacity // 4))


def warm_seqs(ahead: list[_SpotItem]) -> list[tuple[int, list[int]]]:
    """Per lane, the sequence numbers of its first run of spottable frames of one face among ``ahead`` (the frames a
    file's warm start reads ahead): ``[(slot, seqs), ...]``."""
    runs: dict[int, list[int]] = {}
    ids: dict[int, int] = {}
    ended: set[int] = set()
    for item in ahead:
        present = set()
        for li in item.lanes:
            if li.slot in ended:
                continue
            if li.seq < 0 or ids.setdefault(li.slot, li.face_id) != li.face_id:
                if li.slot in runs:
                    ended.add(li.slot)
                continue
            runs.setdefault(li.slot, []).append(li.seq)
            present.add(li.slot)
        ended |= set(runs) - present  # a lane with no item in this frame: its run has ended
    return sorted(runs.items())


class Pipeline:
    """Wires the stages. Components can be injected (tests); otherwise built from ``cfg``."""

    def __init__(
        self,
        cfg: PipelineConfig,
        source: Source,
        *,
        sinks: list[EventSink] | None = None,
        aligner: FaceStage | MultiFaceStage | None = None,
        spotter: SpotterStage | None = None,
        classifier: ClassifierStage | None = None,
        trace_path: Path | None = None,
        frame_sinks: list[FrameSink] | None = None,
        spot_process: bool | None = None,
    ) -> None:
        self.cfg = cfg
        self.source = source
        self.sinks = sinks or []
        self._aligner = aligner
        self._spotter = spotter
        self._classifier = classifier
        # the spotter in its own process: cfg.spot_process for a spotter built here; an injected one runs on a thread
        # unless asked (it must then be picklable)
        self._spot_process = (spotter is None and cfg.spot_process) if spot_process is None else spot_process
        self.record = RunRecord(trace_path, frame_sinks or ())
        self.state, self.latency, self.events = self.record.state, self.record.latency, self.record.events
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self._grabber: Grabber | None = None
        self._worker: threading.Thread | None = None
        self._first_ts: int | None = None
        self._first_wall = 0.0
        self._clock_origin: float | None = None  # the source's own wall time of its first frame, when known
        self.time_source = "processing_clock"
        self.source_label = source.name
        self.provenance: dict[str, Any] = {}
        self._remote: SpotProcess | None = None
        self._shared: list[RingBuffer] = []  # the ring buffers in shared memory, freed by close()
        # the classifier's optional capabilities, resolved once in prepare() (protocols: ClipInput, IntensityWindow, ModelFile)
        self._clip_input: ClipInput | None = None
        self._intensity_model: IntensityWindow | None = None
        self._model_path: Path | None = None
        self._model_sha256 = ""

    # -- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Load models and open the source (all failures here happen before capture starts)."""
        import cv2

        cv2.setNumThreads(1)  # OpenCV's pool costs more than it gains on 128 px crops; the stages run on their own threads

        if self._classifier is None:
            from realtime_mer.recognition.classifier import load_classifier

            self._classifier = load_classifier(self.cfg.model)
        clf = self._classifier
        self.source.open()
        fps = self.source.fps or self.cfg.source.fps or 30.0
        self._max_faces = int(self.cfg.face.max_faces)
        if self._aligner is None:
            if self._max_faces == 1:
                from realtime_mer.face.aligner import FaceAligner

                self._aligner = FaceAligner(self.cfg.face)
            else:
                from realtime_mer.face.multi import MultiFaceAligner

                self._aligner = MultiFaceAligner(self.cfg.face, fps)
        aligner = self._aligner
        self._faces: MultiFaceStage = aligner if isinstance(aligner, MultiFaceStage) else OneFace(aligner)
        self._max_faces = self._faces.max_faces
        remote = self._spot_process
        if self._spotter is None:
            from realtime_mer.spotting import make_spotter

            self._spotter = make_spotter(self.cfg.spot.name, fps, self.cfg.spot)
            others: list[SpotterStage] = [make_spotter(self.cfg.spot.name, fps, self.cfg.spot) for _ in range(self._max_faces - 1)]
        else:  # an injected spotter follows the first face; each other slot gets a copy of it as it is now
            others = [copy.deepcopy(self._spotter) for _ in range(self._max_faces - 1)]
        spotters = [self._spotter, *others]
        spotter = self._spotter
        seconds = ring_seconds(self.cfg.spot.max_ms, max(self.cfg.buffer_seconds, 3.0))
        self._lanes: list[_Lane] = []
        try:  # a failure from here on stops the spotting process and frees the shared blocks: nothing outlives it
            for k, sp in enumerate(spotters):
                buf = RingBuffer.for_seconds(seconds, fps, self.cfg.face.crop_size, shared=remote)
                self._lanes.append(_Lane(k, buf, sp))
                if remote:
                    self._shared.append(buf)
            self.buffer = self._lanes[0].buffer
            self._prepare_run(clf, spotter, fps, remote)
        except BaseException:
            self._release_spotting()
            raise

    def _prepare_run(self, clf: ClassifierStage, spotter: SpotterStage, fps: float, remote: bool) -> None:
        """The rest of ``prepare`` once the ring buffer exists: the spotting process, the warm start, the classifier's
        capabilities, the grabber, what the run records about itself."""
        from realtime_mer.capture import make_grabber

        if remote:  # started now, so it imports while the models load; the spotter objects are copied to it
            self._remote = SpotProcess([lane.spotter for lane in self._lanes], [lane.buffer for lane in self._lanes])
            self._remote.start()
        # a file or folder is read ahead for the spotter's calibration, then spotted from its first frame (issue 22 §3);
        # a camera (and the demo, or a file paced with --realtime, which stand in for one) keeps its calibration second,
        # shown as "calibrating": the warm start's burst of spotting would make a paced stream drop frames
        self._warm_frames = 0
        if self.cfg.source.kind in ("video", "frames") and not self.cfg.source.realtime and spotter.can_rewind:
            self._warm_frames = calibration_frames(spotter, fps, self.buffer.capacity)
        self._spot_fps = fps
        self._crops = [lane.crop for lane in self._lanes]
        self._min_face_px = float(self.cfg.face.min_face_px)
        if isinstance(clf, ClipInput) and clf.needs_clip:
            self._clip_input = clf
        if isinstance(clf, ModelFile):
            self._model_path, self._model_sha256 = clf.model_path, str(clf.model_sha256)
        self._setup_intensity(clf, fps)
        self._grabber = make_grabber(self.source, self.cfg.source)
        src = self.source
        self.record.describe(
            source=src.name,
            # requested: what the user asked for (camera / --realtime / --frames), else the stream's own rate
            fps_requested=self.cfg.source.fps or src.fps_requested or src.fps or None,
            fps_granted=src.fps or None, total_frames=src.total_frames, warnings=src.warnings,
            fps_container=src.container_fps,
            model=clf.name, backend=clf.backend, backend_reason=clf.backend_reason, classes=tuple(clf.classes),
            spotter=spotter.name, max_faces=self._max_faces)
        self._clock_origin, self.time_source = source_clock(src)
        self.source_label = source_label(src)
        self.provenance = collect(self.cfg, src, model=clf.name, model_path=self._model_path,
                                  backend=clf.backend, backend_reason=clf.backend_reason, spotter=spotter.name,
                                  time_source=self.time_source, classes=tuple(clf.classes))

    def _release_spotting(self) -> None:
        """Stop the spotting process and free the shared ring buffers (safe to call twice; the process handle stays)."""
        if self._remote is not None:
            self._remote.close()
        for buf in self._shared:
            buf.close(unlink=True)
        self._shared = []

    def _setup_intensity(self, clf: ClassifierStage, fps: float) -> None:
        """A model with an intensity head and an output that takes a trace: run it over the newest crops every
        ``model.intensity_every_ms`` (on the recognition thread, one window in flight at most)."""
        m = self.cfg.model
        self._iwin = self._ievery = 0
        if not (isinstance(clf, IntensityWindow) and clf.has_intensity and m.intensity_every_ms > 0
                and self.record.wants_intensity()):
            return
        self._intensity_model = clf
        self._iwin, self._ievery = intensity_window(m.intensity_window_ms, m.intensity_every_ms, fps, self.buffer.capacity)
        for s in self.record.frame_sinks:
            if isinstance(s, HoldsForIntensity):  # rows wait for their value: a window, a few windows' lag, a margin
                s.hold_for_intensity(self._iwin + 4 * self._ievery + spot_ahead(self.buffer.capacity))

    # -- run ---------------------------------------------------------------------------------
    def start(self) -> None:
        if self._grabber is None:
            self.prepare()
        assert self._grabber is not None
        self.record.begin()
        self._grabber.start()
        self._recog_q: queue.Queue[_Decided | _Window | None] = queue.Queue()
        self._recog = threading.Thread(target=self._recognise, name="recognition", daemon=True)
        self._recog.start()
        self._spot_q: queue.Queue[_SpotItem | None] = queue.Queue(maxsize=spot_ahead(self.buffer.capacity))
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
        self._release_spotting()
        for part in (self._aligner, self._classifier):
            if part is not None:
                part.close()
        for s in self.sinks:
            s.close()
        self.record.close_trace()

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
            self.record.add_cpu("face", time.thread_time())  # the face thread: alignment, buffer, queueing
            if self._grabber is not None:  # also when the source was lost: what it counted goes into the stats
                self._report_input(self._grabber)
            # the spotter finishes the frames queued to it and flushes; then recognition finishes
            # every interval already decided; then the end is reported
            self._spot_q.put(None)  # the end
            self._spot.join()
            self._recog_q.put(None)
            self._recog.join()
            if self._grabber is not None:
                self._grabber.stop()  # its thread has ended (or ends now): its CPU time is known
                self.record.add_cpu("source", self._grabber.cpu_s)
            self.record.end()

    def _recognise(self) -> None:
        """Recognition thread: classify decided intervals and write their events, in order.

        Optical flow and inference run here (OpenCV and ONNX Runtime release the GIL), so a
        40 ms classification never stalls the frame loop on a 200 fps stream."""
        while True:
            item = self._recog_q.get()
            if item is None:
                self.record.add_cpu("recognition", time.thread_time())
                return
            try:
                if isinstance(item, _Window):
                    self._window_intensity(item)
                else:
                    self._emit(item)
            except BaseException as exc:  # e.g. a disk error: keep it for the caller, stop recognising
                if self.error is None:
                    self.error = exc
                self.stop_event.set()

    def _loop(self) -> None:
        g = self._grabber
        assert g is not None
        st, lat = self.state, self.latency
        faces_stage = self._faces
        lanes = self._lanes
        single = self._max_faces == 1
        reached_end = False
        while not self.stop_event.is_set():
            t0 = time.perf_counter()
            try:
                frame = g.get(timeout=0.1)
            except queue.Empty:
                st.captured, st.dropped = g.captured, g.dropped
                continue
            if frame is None:
                reached_end = True
                break
            t1 = time.perf_counter()
            lat.add("capture_wait", (t1 - t0) * 1e3)
            if self._first_ts is None:
                self._first_ts = frame.timestamp_ns
                self._first_wall = frame.wall_time if self._clock_origin is None else self._clock_origin
                self.record.origin_grab_ns = frame.grab_ns
            faces = faces_stage.process_all(frame, self._crops)  # no per-frame allocation; push copies it
            t2 = time.perf_counter()
            lat.add("face", (t2 - t1) * 1e3)
            first = faces[0] if faces else None
            self.record.frame(bool(faces), frame.index, (frame.timestamp_ns - (self._first_ts or 0)) / 1e9,
                              first.box if single and first is not None else None,
                              first.faces_seen if first is not None else 1, n_faces=len(faces))
            st.captured, st.dropped = g.captured, g.dropped
            h, w = frame.image.shape[:2]
            items: list[_LaneItem] = []
            seen = 0
            for face in faces:
                lane = lanes[face.slot]
                seen |= 1 << face.slot
                if lane.face_id >= 0 and lane.face_id != face.face_id:  # another face took the slot: its spotter resets
                    items.append(_LaneItem(face.slot, LOST, lane.face_id, None))
                lane.face_id = face.face_id
                sample = None
                if self.record.frame_sinks:  # --frames-csv / --lsl: what they need of the face, no copies
                    sample = FaceSample(face.transform, face.landmarks, w, h, face.keyframe)
                if face.face_px and face.face_px < self._min_face_px:  # tracked and reported, not spotted
                    items.append(_LaneItem(face.slot, SMALL, face.face_id, sample))
                    continue
                seq = lane.buffer.push(face.crop, face.landmarks, frame.timestamp_ns, frame.index,
                                       picture_box(face.transform, w, h, lane.buffer.crop_size))
                lane.grab_ns[seq % lane.buffer.capacity] = frame.grab_ns
                items.append(_LaneItem(face.slot, seq, face.face_id, sample))
            for lane in lanes:
                if lane.face_id >= 0 and not seen >> lane.slot & 1:  # its face is gone: the spotter resets once
                    items.append(_LaneItem(lane.slot, LOST, lane.face_id, None))
                    lane.face_id = -1
            if single and not items:  # one face: every frame has its lane item (the driver resets once)
                items.append(_LaneItem(0, LOST, 0, None))
            t3 = time.perf_counter()
            lat.add("buffer", (t3 - t2) * 1e3)
            self._spot_q.put(_SpotItem(frame.index, (t3 - t1) * 1e3, frame.timestamp_ns, tuple(items)))  # waits while spot_ahead behind
        # end of stream or stop: report how the stream ended (the spotting thread flushes)
        if g.error is not None:
            raise g.error
        declared = self.source.total_frames or 0
        if not reached_end and not self.source.live:  # stopped (a signal, close(), an error) before the end of a file
            of = f" of {declared}" if declared else ""
            st.incomplete = f"stopped before the end of {self.source.name}, at frame {st.processed}{of}; the rest was not read"
            return
        if g.ended_early and declared - g.captured - g.skipped > max(5, 0.05 * declared):  # containers often over-declare a little
            st.incomplete = f"{self.source.name} ended at frame {g.captured + g.skipped} of {declared} declared (truncated file?)"
            st.warnings.append(f"{st.incomplete}; events so far are saved")

    def _report_input(self, g: Grabber) -> None:
        """What the grabber and source counted: drops, unreadable frames skipped, camera stalls."""
        st, src = self.state, self.source
        st.captured, st.dropped, st.skipped = g.captured, g.dropped, g.skipped
        st.stalls, st.stall_s = src.stalls, src.stall_s
        if g.skipped:
            why = f"{g.skipped} unreadable frame(s) of {src.name} skipped"
            st.incomplete = f"{st.incomplete}; {why}" if st.incomplete else why
            st.warnings.append(f"{why}: {'; '.join(g.skip_notes)}" + (" ..." if g.skipped > len(g.skip_notes) else ""))
        if src.stalls:
            st.warnings.append(f"{src.name} stalled {src.stalls} time(s), {src.stall_s:.1f} s without frames in all; it recovered")

    def _spot_loop(self) -> None:
        """Spotting thread: each lane's spotter over its ring buffer, in frame order, until the face thread ends.

        Queue items are ``_SpotItem``s (a lane item with seq LOST: that lane's face is gone, the driver resets its
        spotter on the first of them; SMALL: a face too small to spot, likewise) or None (the end). At the end
        (also after a stop) every queued frame is still spotted and every spotter is flushed, so nothing
        already detected is lost. After an error the queue is drained so the face thread never waits.
        With the spotting process (``spot_process``) this thread sends the frames to it and a second
        thread takes its answers (``_spot_remote``).
        """
        if self._remote is not None:
            self._spot_remote(self._remote)
            self._check_length()
            return
        lanes = self._lanes
        failed = False
        for warm, item in self._spot_items():
            if warm is not None:
                try:
                    for slot, seqs in warm:
                        lanes[slot].driver.warm_start(seqs)
                except BaseException as exc:
                    failed = self._spot_failed(exc)
            elif item is not None and not failed:
                try:
                    steps = [lanes[li.slot].driver.step(max(li.seq, LOST)) for li in item.lanes]
                except BaseException as exc:
                    failed = self._spot_failed(exc)
                    continue
                failed = self._after_spot(item, steps)
        if not failed:
            try:
                for lane in lanes:
                    for iv in lane.driver.flush():
                        self._hand_off(lane, iv, lane.spot_face_id)
            except BaseException as exc:
                if self.error is None:
                    self.error = exc
        self.record.add_cpu("spotting", time.thread_time())
        self._check_length()

    def _spot_items(self) -> Iterator[tuple[list[tuple[int, list[int]]], None] | tuple[None, _SpotItem]]:
        """The spotting queue in order, as ``(warm, None)`` once (a file's first frames, read ahead for the warm start:
        ``[(slot, seqs), ...]``) and ``(None, item)`` for each frame; ends with the queue."""
        ahead: list[_SpotItem] = []
        warm = self._warm_frames
        while True:
            item = self._spot_q.get()
            if warm:
                if item is not None and any(li.seq >= 0 for li in item.lanes) and len(ahead) < warm:
                    ahead.append(item)
                    continue
                warm = 0  # calibrated on what was read ahead (the whole clip when shorter), then spotted from its start
                yield warm_seqs(ahead), None
                for it in ahead:
                    yield None, it
                ahead = []
            if item is None:
                return
            yield None, item

    def _spot_remote(self, remote: SpotProcess) -> None:
        """Send the queued frames to the spotting process in batches (what is queued, up to ``BATCH``); a receiving
        thread hands each answer on (``_after_spot``) in order. At most ``spot_ahead`` frames are in flight, so the
        face thread never overwrites a slot the spotter has yet to read. A dead child stops the run in one line."""
        from realtime_mer.spotting.process import BATCH

        inflight: deque[_SpotItem] = deque()
        room = threading.Semaphore(spot_ahead(self.buffer.capacity))
        dead = threading.Event()
        rx = threading.Thread(target=self._spot_receive, args=(remote, inflight, room, dead), name="spotting-rx", daemon=True)
        try:
            remote.wait_ready()
        except BaseException as exc:
            self._spot_failed(exc)
            dead.set()
        else:
            rx.start()
        batch: list[list[tuple[int, int]]] = []

        def send() -> None:  # a failed send means the child is gone: the receiver reports why (its error, or its exit)
            if batch and not dead.is_set():
                try:
                    remote.send_frames(list(batch))
                except BaseException:
                    dead.set()
            batch.clear()

        for warm, item in self._spot_items():
            if dead.is_set():
                continue  # drain: the face thread never waits on a failed spotter
            if warm is not None:
                send()
                try:
                    for slot, seqs in warm:
                        remote.send_warm(slot, seqs)
                except BaseException:
                    dead.set()
                continue
            assert item is not None
            if not room.acquire(blocking=False):  # in flight at the limit: send what is batched, then wait
                send()
                while not room.acquire(timeout=0.1):
                    if dead.is_set():
                        break
                if dead.is_set():
                    continue
            inflight.append(item)
            batch.append([(li.slot, max(li.seq, LOST)) for li in item.lanes])
            if len(batch) >= BATCH or self._spot_q.empty():
                send()
        send()
        if not dead.is_set():
            try:
                remote.send_end()
            except BaseException:
                pass  # the receiver sees the pipe close and reports it
        if rx.ident is not None:
            rx.join()
        self.record.add_cpu("spotting_io", time.thread_time())  # sending to and (below) receiving from the process

    def _spot_receive(self, remote: SpotProcess, inflight: deque[_SpotItem], room: threading.Semaphore,
                      dead: threading.Event) -> None:
        """The spotting process's answers, in order: each frame's steps are handed on; the flush ends it."""
        failed = False
        try:
            while True:
                msg = remote.recv()
                if msg[0] == "steps":
                    for steps in msg[1]:
                        item = inflight.popleft()
                        room.release()
                        if not failed:
                            failed = self._after_spot(item, steps)
                elif msg[0] == "flushed":
                    self.record.add_cpu("spotting", msg[2])  # the spotting process's CPU time
                    if not failed:
                        for slot, intervals in msg[1]:
                            lane = self._lanes[slot]
                            for iv in intervals:
                                self._hand_off(lane, iv, lane.spot_face_id)
                    return
        except BaseException as exc:
            self._spot_failed(exc)
        finally:
            self.record.add_cpu("spotting_io", time.thread_time())
            dead.set()
            for _ in range(len(inflight)):
                room.release()

    def _spot_failed(self, exc: BaseException) -> bool:
        if self.error is None:  # surfaced by run()/CLI like a face-stage error
            self.error = exc
        self.stop_event.set()
        return True

    def _after_spot(self, item: _SpotItem, steps: list[SpotStep]) -> bool:
        """What follows the spotters for one frame: trace and per-frame rows, hand-off of decided intervals, the
        intensity windows, latencies. True when it failed (the error is kept, the run stops)."""
        lat = self.latency
        try:
            frame_index, face_ms, ts_ns, lane_items = item
            time_s = (ts_ns - (self._first_ts or 0)) / 1e9
            t0 = time.perf_counter()
            rows: list[FaceRow] = []
            spot_ms = 0.0
            for li, step in zip(lane_items, steps, strict=True):
                lane = self._lanes[li.slot]
                if li.seq < 0:
                    lane.iwin_from = -1  # the next frame with a face starts a new stretch
                    if li.seq == SMALL:
                        rows.append(FaceRow(li.face_id, li.slot, li.sample, float("nan"), float("nan"), "small"))
                        self.record.face_small(frame_index, time_s, li.face_id, li.slot)
                    continue
                lane.face_frames += 1
                lane.spot_face_id = li.face_id
                spot_ms += step.update_ms
                lat.add("spotting", step.update_ms)
                self.record.trace(frame_index, time_s, step.signal, step.threshold, step.calibrating, step.blind,
                                  face_id=li.face_id, slot=li.slot)
                rows.append(FaceRow(li.face_id, li.slot, li.sample, step.signal, step.threshold,
                                    spotter_state(step.calibrating, step.blind)))
                for iv in step.intervals:
                    self._hand_off(lane, iv, li.face_id)
                if self._iwin:
                    self._queue_window(lane, li.seq, li.face_id)
            if not rows:
                self.record.trace_no_face(frame_index, time_s, multi=self._max_faces > 1)
                lat.add("total", face_ms)
                return False
            self.record.rows(frame_index, time_s, rows)
            lat.add("total", face_ms + spot_ms + (time.perf_counter() - t0) * 1e3)
        except BaseException as exc:
            return self._spot_failed(exc)
        return False

    def _check_length(self) -> None:
        """A run with fewer face frames than the spotter needs to score anything gets one warning line saying so."""
        sp = self._spotter
        assert sp is not None  # built in prepare()
        need = int(sp.min_frames)
        if not self._warm_frames:  # a camera or the demo: the calibration comes first
            need += round(float(sp.calibration_ms) * self._spot_fps / 1000.0)
        most = max(lane.face_frames for lane in self._lanes)
        if 0 < most < need:
            ms = lambda n: f"{n * 1000.0 / self._spot_fps:.0f} ms"  # noqa: E731
            self.state.warnings.append(
                f"only {most} frames with a face ({ms(most)}): the {sp.name} spotter needs at least "
                f"{need} ({ms(need)}) to detect anything, so nothing could be detected")

    def _hand_off(self, lane: _Lane, iv: Interval, face_id: int) -> None:
        """Copy what recognition needs out of the lane's ring buffer (it may be overwritten later) and queue it:
        the onset / apex pair, or (a ``ClipInput`` classifier with ``needs_clip``) the crops onset..offset."""
        b = lane.buffer
        on, ap, off = b.seq_of_frame(iv.onset), b.seq_of_frame(iv.apex), b.seq_of_frame(iv.offset)
        crops: _Pair | _Clip | None = None
        if self._clip_input is not None:
            if on is not None and ap is not None and off is not None and on <= ap <= off:
                crops = _Clip(b.window(on, off - on + 1), 0, ap - on, off - on)
        elif on is not None and ap is not None:
            crops = _Pair(b.crop(on).copy(), b.crop(ap).copy())
        grab = int(lane.grab_ns[off % b.capacity]) if off is not None else 0
        self._recog_q.put(_Decided(iv, crops, grab, face_id))

    def _queue_window(self, lane: _Lane, seq: int, face_id: int) -> None:
        """Every ``_ievery`` frames, hand the lane's newest ``_iwin`` crops (all with a face, contiguous) to recognition."""
        if lane.iwin_from < 0:
            lane.iwin_from = seq
        start = seq - self._iwin + 1
        if seq - lane.iwin_last < self._ievery or start < lane.iwin_from or lane.iwin_busy.is_set():
            return
        b = lane.buffer
        if not b.has(start):
            return
        frames = np.fromiter((b.frame_index(s) for s in range(start, seq + 1)), np.int64, self._iwin)
        lane.iwin_busy.set()
        lane.iwin_last = seq
        self._recog_q.put(_Window(b.window(start, self._iwin), frames, lane.slot, face_id))

    def _window_intensity(self, w: _Window) -> None:
        """The model's intensity over a window, placed on source frames: each frame newer than the trace so far
        gets the value interpolated between the model's steps (a frame's value comes from the first window that ends at or
        after it: the one that saw it newest)."""
        try:
            t0 = time.perf_counter()
            assert self._intensity_model is not None  # windows are queued only for one (_setup_intensity)
            it = self._intensity_model.window_intensity(w.crops)
            pos = np.interp(it.frames, np.arange(len(w.frames)), w.frames.astype(np.float64))  # step -> source frame
            lane = self._lanes[w.slot]
            new = w.frames[w.frames > lane.iwin_done]
            if len(new):
                self.record.intensity(new, np.interp(new.astype(np.float64), pos, it.values), source="window",
                                      face_id=w.face_id)
                lane.iwin_done = int(new[-1])
            self.latency.add("intensity", (time.perf_counter() - t0) * 1e3)
        finally:
            self._lanes[w.slot].iwin_busy.clear()

    def _emit(self, d: _Decided) -> None:
        t0 = time.perf_counter()
        clf = self._classifier
        assert clf is not None  # built in prepare()
        iv, crops = d.interval, d.crops
        if crops is None:
            probs: dict[str, float] = {}
        elif isinstance(crops, _Clip):
            assert self._clip_input is not None  # clips are copied only for one (_hand_off)
            probs = self._clip_input.classify_clip(crops.frames, crops.onset, crops.apex, crops.offset)
        else:
            probs = clf.classify(crops.onset, crops.apex)
        t1 = time.perf_counter()
        self.latency.add("recognition", (t1 - t0) * 1e3)
        ev = make_event(iv, probs, origin_ns=self._first_ts or 0, origin_wall=self._first_wall,
                        model=self.state.model, grab_ns=d.grab_ns, time_source=self.time_source, source=self.source_label,
                        face_id=d.face_id)
        ev.model_sha256 = self._model_sha256
        intensity = self._clip_input.last_intensity if isinstance(crops, _Clip) and self._clip_input is not None else None
        if intensity is not None and isinstance(crops, _Clip):  # clip positions -> source frames (linear over onset..offset)
            scale = (iv.offset - iv.onset) / max(1, crops.offset)
            self.record.intensity(iv.onset + intensity.frames * scale, intensity.values, face_id=d.face_id)
        for s in self.sinks:
            s.write(ev)
        self.latency.add("events", (time.perf_counter() - t1) * 1e3)
        self.record.event(ev, timed=bool(d.grab_ns))

    # -- report ------------------------------------------------------------------------------
    @property
    def achieved_fps(self) -> float:
        return self.record.achieved_fps

    def summary(self) -> dict[str, Any]:
        """The run summary (see ``run_state.RunRecord.summary``) with the run's ``provenance``."""
        return {**self.record.summary(), "provenance": self.provenance}


__all__ = ["Pipeline", "spot_ahead"]
