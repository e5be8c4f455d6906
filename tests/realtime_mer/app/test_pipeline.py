"""The pipeline's threads with injected fakes: frame order, face-loss resets, flush, errors, no hang."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from realtime_mer.app.pipeline import Pipeline, spot_ahead
from realtime_mer.capture import Source
from realtime_mer.config import PipelineConfig
from realtime_mer.types import AlignedFace, Frame, Interval

CROP = PipelineConfig().face.crop_size


class CountSource(Source):
    """``n`` tiny frames at 100 fps whose pixel value is the frame index."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.i, self.name, self.live = n, 0, "count", False

    def _open(self) -> None:
        self.fps, self.width, self.height, self.total_frames = 100.0, 4, 4, self.n

    def _read(self) -> np.ndarray | None:
        if self.i >= self.n:
            return None
        self.i += 1
        return np.full((4, 4, 3), (self.i - 1) % 256, np.uint8)

    def _close(self) -> None:
        pass


class FakeAligner:
    """A face on every frame except those in ``gone``; the crop carries the frame index."""

    def __init__(self, gone: set[int]) -> None:
        self.gone = gone

    def process(self, frame: Frame, out: np.ndarray) -> AlignedFace | None:
        if frame.index in self.gone:
            return None
        out[:] = frame.index % 256
        return AlignedFace(frame.index, frame.timestamp_ns, out, np.zeros((468, 2), np.float32),
                           np.eye(2, 3, dtype=np.float32), (0, 0, 4, 4))

    def close(self) -> None:
        pass


class FakeSpotter:
    """Records what it sees (on which thread); one interval every 10 frames; may raise at ``boom``."""

    name = "fake"
    signal = threshold = 0.0
    calibrating = False
    blind = False
    can_rewind = False
    lookahead_frames = 0
    min_frames = 0
    calibration_ms = 0.0

    def __init__(self, boom: int | None = None) -> None:
        self.log: list[object] = []
        self.threads: set[str] = set()
        self.boom = boom

    def update(self, buffer, seq: int) -> list[Interval]:
        self.threads.add(threading.current_thread().name)
        f = buffer.frame_index(seq)
        assert int(buffer.crop(seq)[0, 0]) == f % 256  # the slot was not overwritten before it was read
        if f == self.boom:
            raise RuntimeError("spotter exploded")
        self.log.append(f)
        if f >= 5 and f % 10 == 5:
            return [Interval(f - 4, f - 2, f, "micro", 1.0, 0, 0, 0)]
        return []

    def reset(self) -> None:
        self.log.append("reset")

    def rewind(self) -> None:
        self.log.append("rewind")

    def flush(self) -> list[Interval]:
        self.log.append("flush")
        return [Interval(0, 1, 2, "micro", 0.5)]


class FakeClassifier:
    name = "fake"
    backend = backend_reason = "none"
    classes = ("negative", "positive", "surprise")
    closed = False

    def classify(self, onset: np.ndarray, apex: np.ndarray) -> dict[str, float]:
        return {"negative": 0.2, "positive": 0.7, "surprise": 0.1}

    def close(self) -> None:
        self.closed = True


def run(n: int, gone: set[int], spotter: FakeSpotter, **kw) -> Pipeline:
    """The pipeline over ``n`` counted frames on a thread (``kw``: more Pipeline arguments); its error in ``run_error``."""
    p = Pipeline(PipelineConfig(), CountSource(n), aligner=FakeAligner(gone), spotter=spotter,
                 classifier=FakeClassifier(), **kw)
    done = threading.Event()
    err: list[BaseException] = []

    def go() -> None:
        try:
            p.run()
        except BaseException as exc:
            err.append(exc)
        done.set()

    threading.Thread(target=go, daemon=True).start()
    assert done.wait(60), "the pipeline hung"
    p.run_error = err[0] if err else None  # type: ignore[attr-defined]
    return p


def test_spotter_runs_on_its_own_thread_in_frame_order_with_resets_and_flush() -> None:
    sp = FakeSpotter()
    p = run(300, {100, 101, 102}, sp)
    assert p.run_error is None  # type: ignore[attr-defined]
    assert sp.threads == {"spotting"}
    frames = [x for x in sp.log if isinstance(x, int)]
    assert frames == [f for f in range(300) if f not in (100, 101, 102)]
    assert sp.log.index("reset") == sp.log.index(99) + 1  # the reset arrives in order, when the face is lost
    assert sp.log[-1] == "flush"
    # every decided interval became an event (30 during the run + 1 from the flush); the one whose
    # onset frame had no face (so no crop) is kept unlabelled
    assert len(p.events) == 31
    assert [e.offset_frame for e in p.events if e.label != "positive"] == [105]
    assert next(e for e in p.events if e.offset_frame == 105).label == "unknown"
    s = p.summary()
    assert s["frames_processed"] == 300 and s["frames_with_face"] == 297
    assert {"face", "buffer", "spotting", "total"} <= set(s["stage_latency_ms"])
    assert len(p.latency.values("total")) == 300  # one total per frame, with or without a face
    assert (s["model"], s["backend"], s["spotter"], s["classes"]) == ("fake", "none", "fake", list(FakeClassifier.classes))
    assert {e.model for e in p.events} == {"fake"}
    assert p._classifier.closed  # type: ignore[union-attr]  # stages are closed with the pipeline


def test_spotter_error_surfaces_without_hanging_and_keeps_earlier_events() -> None:
    sp = FakeSpotter(boom=57)
    p = run(2000, set(), sp)
    assert isinstance(p.run_error, RuntimeError) and "spotter exploded" in str(p.run_error)  # type: ignore[attr-defined]
    assert [e.offset_frame for e in p.events] == [5, 15, 25, 35, 45, 55]
    assert "flush" not in sp.log  # a failed spotter is not asked for more


@pytest.mark.parametrize(("capacity", "expected"), [(4, 2), (72, 18), (300, 32), (600, 32)])
def test_spot_ahead_stays_small_against_the_buffer(capacity: int, expected: int) -> None:
    assert spot_ahead(capacity) == expected


class FakeClipClassifier(FakeClassifier):
    """A clip model: records the clips it is handed (on which thread) and reports a per-step intensity."""

    needs_clip = True
    model_sha256 = "ab" * 32
    model_path = None  # an in-memory model (protocols.ModelFile)

    def __init__(self) -> None:
        self.clips: list[tuple[np.ndarray, int, int, int]] = []
        self.threads: set[str] = set()
        self.last_intensity = None

    def classify_clip(self, frames: np.ndarray, onset: int, apex: int, offset: int) -> dict[str, float]:
        from realtime_mer.recognition.clip_classifier import Intensity

        self.threads.add(threading.current_thread().name)
        self.clips.append((frames.copy(), onset, apex, offset))
        self.last_intensity = Intensity(np.array([0.0, float(offset)]), np.array([0.1, 0.9]))
        return {"negative": 0.1, "positive": 0.1, "surprise": 0.8}


def test_a_clip_model_gets_onset_to_offset_from_the_ring_buffer_on_the_recognition_thread(tmp_path) -> None:
    clf = FakeClipClassifier()
    p = Pipeline(PipelineConfig(), CountSource(60), aligner=FakeAligner(set()), spotter=FakeSpotter(),
                 classifier=clf, trace_path=tmp_path / "t.trace.csv")
    p.run()
    assert clf.threads == {"recognition"} and len(clf.clips) == len(p.events) == 7  # 6 during the run + the flush
    for (frames, on, ap, off), ev in zip(clf.clips, p.events, strict=True):
        # the crops carry their frame index: exactly onset..offset, in order, with apex / offset relative to onset
        assert [int(f[0, 0]) for f in frames] == list(range(ev.onset_frame, ev.offset_frame + 1))
        assert (on, ap, off) == (0, ev.apex_frame - ev.onset_frame, ev.offset_frame - ev.onset_frame)
        assert ev.label == "surprise" and ev.model_sha256 == "ab" * 32
    rows = (tmp_path / "t.intensity.csv").read_text().splitlines()
    assert rows[0] == "frame,intensity,source,face_id" and len(rows) == 1 + 2 * 7  # no window trace: the model has no head
    first = next(e for e in p.events if e.onset_frame == 1)
    assert rows[1:3] == ["1.00,0.1000,event,0", f"{first.offset_frame:.2f},0.9000,event,0"]  # clip positions -> source frames


class FakeIntensityModel(FakeClipClassifier):
    """A clip model with an intensity head whose value at each step is the crop's frame index / 1000 (the crops
    carry their index), so the trace written for frame f must read f / 1000 wherever it comes from."""

    has_intensity = True

    def __init__(self) -> None:
        super().__init__()
        self.windows: list[list[int]] = []

    def window_intensity(self, frames: np.ndarray):
        from realtime_mer.recognition.clip_classifier import Intensity

        self.threads.add(threading.current_thread().name)
        idx = [int(f[0, 0]) for f in frames]
        self.windows.append(idx)
        pos = np.linspace(0.0, len(frames) - 1.0, 9)[1:]  # 8 steps, like tcgru
        return Intensity(pos, np.interp(pos, np.arange(len(idx)), idx) / 1000.0)


class HoldingSink:
    """A per-frame sink that takes the intensity (like FramesWriter with hold_for_intensity): rows in order."""

    def __init__(self) -> None:
        self.hold = 0
        self.frames: list[int] = []
        self.values: dict[int, float] = {}

    def hold_for_intensity(self, frames: int) -> None:
        self.hold = frames

    def intensity(self, frames, values, face_id=0) -> None:
        self.values.update(zip(map(int, frames), map(float, values), strict=True))

    def rows(self, frame, time_s, faces) -> None:
        self.frames.append(frame)

    def close(self) -> None:
        pass


def test_an_intensity_model_writes_a_continuous_trace_without_crossing_face_losses(tmp_path) -> None:
    from realtime_mer.config import ModelConfig

    clf, sink = FakeIntensityModel(), HoldingSink()
    gone = set(range(100, 110))
    cfg = PipelineConfig(model=ModelConfig(intensity_every_ms=50.0, intensity_window_ms=200.0))  # 100 fps: 5 / 20 frames
    p = Pipeline(cfg, CountSource(240), aligner=FakeAligner(gone), spotter=FakeSpotter(), classifier=clf,
                 trace_path=tmp_path / "t.trace.csv", frame_sinks=[sink])
    p.run()
    assert clf.threads == {"recognition"} and clf.windows and sink.hold >= 20
    for w in clf.windows:  # 20 contiguous frames with a face, never across the face loss
        assert len(w) == 20 and w == list(range(w[0], w[0] + 20)) and not gone & set(w)
    text = (tmp_path / "t.intensity.csv").read_text().splitlines()
    window = [r.split(",") for r in text[1:] if r.endswith(",window,0")]
    frames = [int(float(f)) for f, _v, _s, _face in window]
    assert frames == sorted(set(frames))  # each frame once, in order
    # the spec: each window places its values on its frames newer than the trace so far; a frame before the window's
    # first step (position 19/8 of 20 crops with 8 steps) takes that step's value; windows skipped while the model was
    # busy leave gaps (this source is not paced, so some are skipped)
    expected, done = {}, -1
    for w in clf.windows:
        for f in w:
            if f > done:
                expected[f] = max(f, w[0] + 19 / 8) / 1000.0
        done = max(done, w[-1])
    assert frames == sorted(expected)
    for f, v, _s, _face in window:
        assert float(v) == pytest.approx(expected[int(float(f))], abs=1e-4)
    assert sink.values and all(v == pytest.approx(f / 1000.0, abs=4e-3) for f, v in sink.values.items())
    assert "intensity" in p.summary()["stage_latency_ms"]


def test_the_continuous_trace_is_off_without_an_output_or_with_every_0(tmp_path) -> None:
    from realtime_mer.config import ModelConfig

    clf = FakeIntensityModel()
    Pipeline(PipelineConfig(), CountSource(80), aligner=FakeAligner(set()), spotter=FakeSpotter(), classifier=clf).run()
    assert clf.windows == []  # nothing would take it
    clf = FakeIntensityModel()
    cfg = PipelineConfig(model=ModelConfig(intensity_every_ms=0.0))
    Pipeline(cfg, CountSource(80), aligner=FakeAligner(set()), spotter=FakeSpotter(), classifier=clf,
             trace_path=tmp_path / "t.trace.csv").run()
    assert clf.windows == []
