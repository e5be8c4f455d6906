"""The spotter in its own process (issue 24 §1): same events as on a thread, shared-memory reads, faults in one line."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from realtime_mer.app.pipeline import Pipeline
from realtime_mer.buffer import RingBuffer
from realtime_mer.config import PipelineConfig
from realtime_mer.spotting.process import SpotterProcessError
from realtime_mer.types import Interval
from tests.realtime_mer.app.test_pipeline import CountSource, FakeAligner, FakeClassifier, FakeSpotter, run


class DyingSpotter(FakeSpotter):
    """Kills its own process (as the OOM killer would) at frame ``die_at``."""

    def __init__(self, die_at: int) -> None:
        super().__init__()
        self.die_at = die_at

    def update(self, buffer, seq: int) -> list[Interval]:
        if buffer.frame_index(seq) == self.die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().update(buffer, seq)


class SlowSpotter(FakeSpotter):
    """Takes 2 ms a frame, so a run lasts long enough to be interrupted."""

    def update(self, buffer, seq: int) -> list[Interval]:
        time.sleep(0.002)
        return super().update(buffer, seq)


def _run(n: int, gone: set[int], spotter: FakeSpotter, process: bool, **kw) -> tuple[Pipeline, BaseException | None]:
    p = run(n, gone, spotter, spot_process=process, **kw)
    return p, p.run_error  # type: ignore[attr-defined]


def _events(p: Pipeline) -> list[tuple[int, int, int, str, str]]:
    return [(e.onset_frame, e.apex_frame, e.offset_frame, e.type, e.label) for e in p.events]


def test_a_shared_ring_buffer_is_read_from_another_attachment() -> None:
    a = RingBuffer(8, 16, shared=True)
    try:
        b = RingBuffer.attach(a.shared_name, 8, 16)
        for f in range(11):
            a.push(np.full((16, 16), f, np.uint8), np.full((468, 2), f, np.float32), f * 10, f, np.float32([1, 2, 3, f]))
        assert (b.oldest_seq, b.latest_seq) == (3, 10)
        assert [b.frame_index(s) for s in range(3, 11)] == list(range(3, 11))
        assert int(b.crop(10)[5, 5]) == 10 and b.landmarks_at(9)[0, 0] == 9 and b.picture_at(8)[3] == 8
        assert b.timestamp_ns(7) == 70
        b.close()
    finally:
        a.close(unlink=True)
    assert a.shm is None


def test_ordinary_buffers_are_not_shared() -> None:
    b = RingBuffer(4, 16)
    assert b.shared_name is None
    b.close(unlink=True)  # nothing to release
    with pytest.raises(ValueError, match="shared ring buffer"):
        from realtime_mer.spotting.process import SpotProcess

        SpotProcess(FakeSpotter(), RingBuffer(4, 16))


def test_the_process_gives_the_events_the_thread_gives(tmp_path) -> None:
    gone = {100, 101, 102, 250}
    thread, e1 = _run(400, gone, FakeSpotter(), False, trace_path=tmp_path / "a.trace.csv")
    proc, e2 = _run(400, gone, FakeSpotter(), True, trace_path=tmp_path / "b.trace.csv")
    assert e1 is None and e2 is None
    assert _events(proc) == _events(thread) and len(proc.events) == 41  # 40 during the run + the flush
    # the spotter in the child read every crop from shared memory (FakeSpotter asserts each slot holds its frame)
    assert (tmp_path / "a.trace.csv").read_text() == (tmp_path / "b.trace.csv").read_text()
    assert proc._remote is not None and not proc._remote.proc.is_alive()  # the child exited with the run
    assert proc.summary()["frames_with_face"] == 396


def test_a_spotter_error_in_the_process_surfaces_and_earlier_events_are_kept() -> None:
    p, err = _run(2000, set(), FakeSpotter(boom=57), True)
    assert isinstance(err, RuntimeError) and "spotter exploded" in str(err)
    assert [e.offset_frame for e in p.events] == [5, 15, 25, 35, 45, 55]


def test_a_dead_spotting_process_is_one_line_and_keeps_what_was_decided(tmp_path) -> None:
    p, err = _run(3000, set(), DyingSpotter(die_at=500), True)
    assert isinstance(err, SpotterProcessError) and err.exit_code == 3
    msg = str(err)
    assert "\n" not in msg and "spotting process ended unexpectedly" in msg and "killed by signal 9" in msg
    offsets = [e.offset_frame for e in p.events]
    assert offsets[:5] == [5, 15, 25, 35, 45] and all(o < 500 for o in offsets)
    assert p.summary()["frames_processed"] < 3000 or p.state.incomplete


def test_ctrl_c_reaches_the_parent_only_and_a_stop_ends_both(tmp_path) -> None:
    p = Pipeline(PipelineConfig(), CountSource(100_000), aligner=FakeAligner(set()), spotter=SlowSpotter(),
                 classifier=FakeClassifier(), spot_process=True)
    p.start()
    try:
        deadline = time.monotonic() + 30
        while len(p.events) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        child = p._remote.proc  # type: ignore[union-attr]
        os.kill(child.pid, signal.SIGINT)  # what a terminal's Ctrl-C sends the whole process group
        time.sleep(0.2)
        assert child.is_alive()  # the child ignores it: the parent decides when it stops
        p.stop()
        assert p.wait(30)
    finally:
        p.close()
    assert not child.is_alive() and child.exitcode == 0
    assert p.error is None
    offsets = [e.offset_frame for e in p.events]
    assert offsets[:-1] == sorted(offsets[:-1]) and len(offsets) >= 4
    assert p.events[-1].offset_frame == 2  # the spotter was flushed at the stop (FakeSpotter's flush interval)


def test_a_refused_prepare_leaves_no_spotting_process_or_shared_block(monkeypatch) -> None:
    """A failure after the spotting process started (here: the provenance) stops it and frees the shared block, so a
    refused run ends with its one line and nothing left behind (no leaked-memory warning at exit)."""
    from multiprocessing import shared_memory

    import realtime_mer.app.pipeline as pipeline

    p = Pipeline(PipelineConfig(), CountSource(10), aligner=FakeAligner(set()), classifier=FakeClassifier())
    seen = {}

    def refuse(*a, **kw):
        seen["proc"], seen["name"] = p._remote.proc, p.buffer.shared_name  # type: ignore[union-attr]
        raise OSError("provenance could not be read")

    monkeypatch.setattr(pipeline, "collect", refuse)
    with pytest.raises(OSError, match="provenance"):
        p.prepare()
    seen["proc"].join(10)
    assert not seen["proc"].is_alive() and p._shared == []
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=seen["name"])
    p.close()  # still safe afterwards
