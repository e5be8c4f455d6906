"""The grabber thread: backpressure vs drop policy, pacing, indices/timestamps, stop and errors."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from realtime_mer.capture import Grabber, Source
from realtime_mer.errors import SourceError, fail
from realtime_mer.types import Frame


class ListSource(Source):
    """``n`` tiny frames (pixel value = index) at ``fps``; optionally fails at frame ``fail_at``."""

    def __init__(self, n: int | None, fps: float = 100.0, *, live: bool = False, fail_at: int | None = None,
                 exc: Exception | None = None, declared: int | None = None) -> None:
        super().__init__()
        self.n, self.fail_at, self.exc, self.declared = n, fail_at, exc, declared
        self.live = live
        self.name = "list"
        self._fps = fps
        self.i = 0
        self.closed = threading.Event()

    def _open(self) -> None:
        self.fps, self.width, self.height = self._fps, 4, 2
        self.total_frames = self.declared if self.declared is not None else self.n

    def _read(self) -> np.ndarray | None:
        if self.fail_at is not None and self.i == self.fail_at:
            raise self.exc or RuntimeError("decoder exploded")
        if self.n is not None and self.i >= self.n:
            return None
        self.i += 1
        return np.full((2, 4, 3), (self.i - 1) % 256, np.uint8)

    def _close(self) -> None:
        self.closed.set()


def consume(g: Grabber, delay: float = 0.0) -> list[Frame]:
    out = []
    for f in g:
        out.append(f)
        if delay:
            time.sleep(delay)
    return out


def test_backpressure_drops_nothing_with_a_slow_consumer() -> None:
    g = Grabber(ListSource(60, fps=50.0), drop=False, maxsize=4).start()
    frames = consume(g, delay=0.002)
    g.stop()
    assert g.captured == 60 and g.dropped == 0 and not g.ended_early and g.error is None
    assert [f.index for f in frames] == list(range(60))
    assert [f.timestamp_ns for f in frames] == [i * 20_000_000 for i in range(60)]  # index / fps
    assert all(int(f.image[0, 0, 0]) == f.index for f in frames)
    assert all(f.grab_ns > 0 and f.wall_time > 0 for f in frames)


def test_drop_policy_counts_every_dropped_frame() -> None:
    g = Grabber(ListSource(150), drop=True, maxsize=4).start()
    frames = consume(g, delay=0.002)
    g.stop()
    assert g.dropped > 0
    assert g.captured == 150 == len(frames) + g.dropped
    idx = [f.index for f in frames]
    assert idx == sorted(set(idx)) and idx[-1] == 149  # newest kept, gaps show drops
    assert all(f.timestamp_ns == f.index * 10_000_000 for f in frames)


def test_drop_policy_counts_frames_displaced_by_the_end_marker() -> None:
    g = Grabber(ListSource(6), drop=True, maxsize=2).start()
    time.sleep(0.2)  # consumer away: the finished producer must make room for its end marker
    frames = consume(g)
    g.stop()
    assert g.captured == 6 == len(frames) + g.dropped
    assert frames[-1].index == 5


def test_pacing_respects_pace_fps() -> None:
    g = Grabber(ListSource(100), drop=False, maxsize=8, pace_fps=200.0)
    t0 = time.monotonic()
    g.start()
    frames = consume(g)
    elapsed = time.monotonic() - t0
    g.stop()
    assert len(frames) == 100
    assert 0.4 <= elapsed < 5.0  # 99 periods of 5 ms = 0.495 s


def test_stop_joins_a_producer_blocked_on_a_full_queue() -> None:
    src = ListSource(None)  # endless
    g = Grabber(src, drop=False, maxsize=2).start()
    deadline = time.monotonic() + 5
    while not g.queue.full() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert g.queue.full() and g.running
    t0 = time.monotonic()
    g.stop(timeout=3)
    assert time.monotonic() - t0 < 1.0 and not g.running
    assert src.closed.is_set()
    assert g.get(timeout=1) is None  # after stop: end of stream, never a hang


def test_stop_after_the_end_leaves_get_returning_none() -> None:
    g = Grabber(ListSource(3), maxsize=8).start()
    deadline = time.monotonic() + 5
    while g.running and time.monotonic() < deadline:
        time.sleep(0.005)
    g.stop()  # the queue held frames and the end marker: both drained
    assert g.get(timeout=1) is None and g.get(timeout=1) is None


def test_stop_interrupts_a_slow_pace() -> None:
    g = Grabber(ListSource(None), drop=True, maxsize=4, pace_fps=0.5).start()
    assert g.get(timeout=5) is not None
    t0 = time.monotonic()
    g.stop(timeout=3)
    assert time.monotonic() - t0 < 1.0 and not g.running


@pytest.mark.parametrize("exc", [None, fail(SourceError, "frame 5 is broken", "fix it")])
def test_source_failing_mid_stream_surfaces_from_get(exc: Exception | None) -> None:
    g = Grabber(ListSource(20, fail_at=5, exc=exc), maxsize=4).start()
    got = [g.get(timeout=5) for _ in range(5)]
    with pytest.raises(SourceError) as err:
        g.get(timeout=5)
    with pytest.raises(SourceError):  # and keeps failing, never blocks
        g.get(timeout=1)
    g.stop()
    assert [f.index for f in got if f is not None] == [0, 1, 2, 3, 4]
    if exc is None:
        assert "failed at frame 5" in str(err.value) and "decoder exploded" in str(err.value)
    else:
        assert err.value is exc


def test_ended_early_when_stream_stops_before_declared_count() -> None:
    g = Grabber(ListSource(5, declared=10)).start()
    assert len(consume(g)) == 5
    g.stop()
    assert g.ended_early and g.error is None
    g = Grabber(ListSource(5, declared=5)).start()
    consume(g)
    g.stop()
    assert not g.ended_early


def test_live_source_uses_monotonic_timestamps_and_drops_by_default() -> None:
    t0 = time.monotonic_ns()
    g = Grabber(ListSource(10, live=True), maxsize=32).start()
    frames = consume(g)
    g.stop()
    assert g.drop
    ts = [f.timestamp_ns for f in frames]
    assert ts == sorted(ts) and ts[0] >= t0 and all(f.timestamp_ns == f.grab_ns for f in frames)


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Grabber(ListSource(1), maxsize=0)


def test_unexpected_error_past_read_surfaces_as_source_error() -> None:
    class BadClock(ListSource):
        def position_ns(self, index: int) -> int:
            raise ZeroDivisionError("fps is zero")

    g = Grabber(BadClock(5)).start()
    with pytest.raises(SourceError) as err:
        g.get(timeout=5)
    g.stop()
    assert "ZeroDivisionError: fps is zero" in str(err.value) and "\n" not in str(err.value)
