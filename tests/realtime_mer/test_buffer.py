from __future__ import annotations

import threading

import numpy as np
import pytest

from realtime_mer.buffer import RingBuffer


def _crop(v: int, s: int = 16) -> np.ndarray:
    return np.full((s, s), v % 256, np.uint8)


def test_capacity_for_seconds_holds_three_seconds_at_200fps() -> None:
    b = RingBuffer.for_seconds(3.0, 200.0, crop_size=16)
    assert b.capacity >= 600


def test_push_and_wraparound() -> None:
    b = RingBuffer(5, crop_size=16, n_landmarks=3)
    for i in range(12):
        seq = b.push(_crop(i), np.full((3, 2), i, np.float32), i * 1000, 10 + 2 * i)
        assert seq == i
    assert len(b) == 5
    assert b.oldest_seq == 7 and b.latest_seq == 11
    assert b.crop(9)[0, 0] == 9
    assert b.landmarks_at(11)[0, 0] == 11
    assert b.frame_index(8) == 26 and b.timestamp_ns(8) == 8000
    with pytest.raises(IndexError):
        b.crop(6)
    assert not b.has(6) and b.has(7)


def test_seq_of_frame_with_gaps() -> None:
    b = RingBuffer(8, crop_size=4, n_landmarks=1)
    frames = [0, 1, 5, 6, 9, 20, 21, 22, 30, 31]  # gaps: no-face frames
    for f in frames:
        b.push(_crop(f, 4), None, f, f)
    assert b.seq_of_frame(31) == 9
    assert b.seq_of_frame(5) == 2
    assert b.seq_of_frame(7) is None  # never buffered
    assert b.seq_of_frame(0) is None  # overwritten


def test_window_copies_across_wrap_without_allocating() -> None:
    b = RingBuffer(6, crop_size=4, n_landmarks=1)
    for i in range(10):
        b.push(_crop(i, 4), None, i, i)
    out = np.empty((4, 4, 4), np.uint8)
    res = b.window(5, 4, out=out)
    assert res is out
    assert [int(x[0, 0]) for x in out] == [5, 6, 7, 8]
    with pytest.raises(IndexError):
        b.window(2, 4, out=out)


def test_views_do_not_allocate_crop_memory() -> None:
    b = RingBuffer(4, crop_size=8, n_landmarks=1)
    b.push(_crop(3, 8), None, 0, 0)
    v = b.crop(0)
    assert v.base is b.crops or np.shares_memory(v, b.crops)


def test_concurrent_producer_consumer_sees_consistent_entries() -> None:
    b = RingBuffer(64, crop_size=8, n_landmarks=1)
    n = 5000
    errors: list[str] = []

    def produce() -> None:
        for i in range(n):
            b.push(_crop(i, 8), None, i, i)

    t = threading.Thread(target=produce)
    t.start()
    while t.is_alive() or b.latest_seq < n - 1:
        seq = b.latest_seq
        if seq >= 0:
            f = b.seq_of_frame(seq)
            if f is not None and f != seq:
                errors.append(f"seq_of_frame({seq}) = {f}")
    t.join()
    assert not errors
    assert b.frame_index(n - 1) == n - 1
