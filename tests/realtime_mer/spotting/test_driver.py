"""SpotDriver: the one update / reset / flush loop over the ring buffer (pipeline, benchmark, training)."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mer.buffer import RingBuffer
from realtime_mer.spotting.driver import SpotDriver, replay, ring_seconds
from realtime_mer.types import Interval


class Recorder:
    """A spotter that logs what it is asked; decides one interval at frame 6 and holds one for the flush."""

    name = "recorder"
    signal = threshold = 0.0
    calibrating = blind = can_rewind = False
    lookahead_frames = min_frames = 0
    calibration_ms = 0.0

    def __init__(self) -> None:
        self.log: list[object] = []

    def rewind(self) -> None:
        self.log.append("rewind")

    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]:
        f = buffer.frame_index(seq)
        assert seq == buffer.latest_seq  # always the newest buffered frame
        assert buffer.timestamp_ns(seq) == round(f * 1e9 / 50.0)
        assert int(buffer.crop(seq)[0, 0]) == f  # the crop of that frame
        self.log.append(f)
        return [Interval(2, 4, 6, "micro", 1.0)] if f == 6 else []

    def reset(self) -> None:
        self.log.append("reset")

    def flush(self) -> list[Interval]:
        self.log.append("flush")
        return [Interval(8, 9, 10, "micro", 0.5)]


class Features:
    """A stepper without ``flush`` (like ``GruFeatures``): returns the frame index as its feature."""

    def __init__(self) -> None:
        self.resets = 0

    def update(self, buffer: RingBuffer, seq: int) -> float:
        return float(buffer.frame_index(seq))

    def reset(self) -> None:
        self.resets += 1


def clip(n: int) -> tuple[np.ndarray, np.ndarray]:
    crops = np.stack([np.full((8, 8), i, np.uint8) for i in range(n)])
    return crops, np.zeros((n, 468, 2), np.float32)


def test_replay_updates_in_order_resets_once_per_loss_and_flushes() -> None:
    crops, marks = clip(14)
    present = np.ones(14, bool)
    present[[0, 3, 4, 5, 9]] = False  # no face at the start (no reset), a loss of three frames, a loss of one
    sp = Recorder()
    driver = SpotDriver(sp, RingBuffer(32, crop_size=8))
    got = list(replay(driver, crops, marks, present, 50.0))
    assert [i for i, _ in got] == [1, 2, 6, 7, 8, 10, 11, 12, 13]
    assert [iv.offset for _, ivs in got for iv in ivs] == [6]
    assert sp.log == [1, 2, "reset", 6, 7, 8, "reset", 10, 11, 12, 13]
    assert [iv.offset for iv in driver.flush()] == [10]
    assert sp.log[-1] == "flush"
    assert driver.update_ms > 0.0


def test_face_lost_reports_whether_it_reset() -> None:
    sp = Recorder()
    driver = SpotDriver(sp, RingBuffer(8, crop_size=8))
    assert driver.face_lost() is False  # nothing to reset before the first face
    driver.push(np.full((8, 8), 0, np.uint8), None, 0, 0)
    assert driver.face_lost() is True
    assert driver.face_lost() is False  # once per loss
    assert sp.log == [0, "reset"]


def test_a_stepper_without_flush_yields_its_features() -> None:
    crops, marks = clip(6)
    present = np.array([1, 1, 0, 1, 0, 1], bool)
    feats = Features()
    driver = SpotDriver(feats, RingBuffer(8, crop_size=8))
    assert dict(replay(driver, crops, marks, present, 50.0)) == {0: 0.0, 1: 1.0, 3: 3.0, 5: 5.0}
    assert feats.resets == 2
    assert driver.flush() == []


@pytest.mark.parametrize(("max_ms", "at_least", "expected"), [(1000.0, 3.0, 3.0), (4000.0, 3.0, 5.0), (1000.0, 6.0, 6.0)])
def test_ring_seconds_hold_the_longest_interval_and_a_second_of_lookback(max_ms: float, at_least: float, expected: float) -> None:
    assert ring_seconds(max_ms, at_least) == expected
