"""The one loop that feeds a spotter the ring buffer: ``update`` / ``reset`` / ``flush``.

The live pipeline, the spotting benchmark and spotter training all drive a spotter the same way:
every frame with a face is pushed into the ring buffer and the spotter ``update``s on it, in frame
order; a frame without a face resets the spotter once (its baseline restarts when the face comes
back); at the end of the stream ``flush`` decides what is pending. ``SpotDriver`` is that loop;
``replay`` runs it over an aligned clip held in memory.

    driver = SpotDriver(spotter, RingBuffer.for_seconds(ring_seconds(cfg.max_ms), fps, 128))
    for i, intervals in replay(driver, crops, landmarks, present, fps):
        ...
    intervals = driver.flush()
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Generic, NamedTuple, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from realtime_mer.buffer import RingBuffer
from realtime_mer.spotting.base import SpotterStage
from realtime_mer.types import Image, Interval, Points

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")


class Stepper(Protocol[T_co]):
    """What a driver drives: a spotter (``SpotterStage``: ``update`` returns the intervals decided now) or a feature
    extractor with the same two calls (``update`` returns that frame's features; the GRU spotter's training)."""

    def update(self, buffer: RingBuffer, seq: int) -> T_co: ...

    def reset(self) -> None: ...


class SpotStep(NamedTuple):
    """What one frame through the spotter gives the pipeline: its time, the live signal and state, the intervals
    decided now. The same whether the spotter runs on a thread or in the spotting process (``spotting.process``)."""

    update_ms: float
    signal: float
    threshold: float
    calibrating: bool
    blind: bool
    intervals: list[Interval]


NO_FACE = SpotStep(0.0, 0.0, 0.0, False, False, [])  # a frame without a face: the spotter was reset (or stays so)


def ring_seconds(max_ms: float, at_least: float = 3.0) -> float:
    """Seconds of ring buffer a spotter needs: its longest interval plus a second of lookback, at least ``at_least``."""
    return max(at_least, max_ms / 1000.0 + 1.0)


class SpotDriver(Generic[T]):
    """Feeds ``spotter`` the frames of ``buffer`` in order; resets it once per face loss; flushes it at the end.

    ``update_ms`` is the duration of the latest ``spotter.update`` call alone (the benchmark's and the
    overlay's spotting time). Single-threaded: the pipeline calls it from its spotting thread only.
    """

    def __init__(self, spotter: Stepper[T], buffer: RingBuffer) -> None:
        self.spotter = spotter
        self.buffer = buffer
        # a spotter (live state, flush, rewind) or a plain stepper, resolved once: a Protocol isinstance costs ~25 us
        self._stage: SpotterStage | None = spotter if isinstance(spotter, SpotterStage) else None
        self.had_face = False
        self.update_ms = 0.0

    def update(self, seq: int) -> T:
        """The spotter on the face frame already buffered at ``seq`` (the newest)."""
        self.had_face = True
        t0 = time.perf_counter()
        out = self.spotter.update(self.buffer, seq)
        self.update_ms = (time.perf_counter() - t0) * 1e3
        return out

    def step(self, seq: int) -> SpotStep:
        """``update`` on ``seq`` (``-1``: a frame without a face, ``face_lost``) with the spotter's live state after it
        (a ``SpotterStage``; a feature extractor has none)."""
        if seq < 0:
            self.face_lost()
            return NO_FACE
        out = self.update(seq)
        sp = self._stage
        if sp is None:
            return SpotStep(self.update_ms, 0.0, 0.0, False, False, [])
        return SpotStep(self.update_ms, float(sp.signal), float(sp.threshold), bool(sp.calibrating), bool(sp.blind),
                        list(out) if isinstance(out, list) else [])

    def push(self, crop: Image, landmarks: Points | None, timestamp_ns: int, frame_index: int,
             picture: Points | None = None) -> T:
        """Buffer one face frame (``picture``: the crop's box that shows the camera's picture) and ``update`` on it."""
        return self.update(self.buffer.push(crop, landmarks, timestamp_ns, frame_index, picture))

    def face_lost(self) -> bool:
        """A frame without a face: reset the spotter if the previous frame had one; True when it was reset."""
        if not self.had_face:
            return False
        self.had_face = False
        self.spotter.reset()
        return True

    def flush(self) -> list[Interval]:
        """End of stream: the intervals the spotter still holds (none for a stepper without ``flush``)."""
        return self._stage.flush() if self._stage is not None else []

    def warm_start(self, seqs: Sequence[int]) -> bool:
        """A file or folder: calibrate on the buffered frames ``seqs`` (its first second, or the whole clip when
        shorter) and rewind, so that they are spotted again from the first with calibration done. False (nothing
        done) for a stepper that cannot rewind; the frames are then spotted once, after the usual calibration."""
        sp = self._stage
        if sp is None or not sp.can_rewind or not seqs:
            return False
        for seq in seqs:
            sp.update(self.buffer, seq)
        sp.rewind()
        return True


def calibration_frames(spotter: SpotterStage, fps: float, capacity: int) -> int:
    """How many frames a warm start reads ahead: the spotter's calibration (``calibration_ms``, at least one
    second) plus its look-ahead, and at most half of a ``capacity``-frame ring buffer (the frames read ahead must
    still be there when they are spotted, while newer ones arrive)."""
    ms = max(1000.0, float(spotter.calibration_ms))
    return min(round(ms * fps / 1000.0) + int(spotter.lookahead_frames), capacity // 2)


def replay(driver: SpotDriver[T], crops: Image, landmarks: Points, present: NDArray[np.bool_],
           fps: float, warm: bool = False, pictures: Points | None = None) -> Iterator[tuple[int, T]]:
    """Drive over an aligned clip (frame ``i`` at ``round(i * 1e9 / fps)`` ns); yields ``(i, update result)``
    for every frame with a face. Call ``driver.flush()`` afterwards for the pending intervals.

    ``warm``: as the pipeline does for a file, the first run of face frames (up to ``calibration_frames``)
    is read ahead for calibration (``SpotDriver.warm_start``) before it is spotted from its first frame.
    ``pictures`` (N, 4): each crop's box that shows the camera's picture (None: all of every crop)."""
    i, n = 0, len(present)
    if warm:
        while i < n and not present[i]:
            i += 1
        ahead: list[tuple[int, int]] = []
        sp = driver._stage
        limit = calibration_frames(sp, fps, driver.buffer.capacity) if sp is not None else 0
        j = i
        while j < n and present[j] and len(ahead) < limit:
            ahead.append((j, driver.buffer.push(crops[j], landmarks[j], round(j * 1e9 / fps), j, None if pictures is None else pictures[j])))
            j += 1
        driver.warm_start([s for _, s in ahead])
        for k, seq in ahead:
            yield k, driver.update(seq)
        i = j
    for k in range(i, n):
        if not present[k]:
            driver.face_lost()
            continue
        yield k, driver.push(crops[k], landmarks[k], round(k * 1e9 / fps), k, None if pictures is None else pictures[k])


__all__ = ["NO_FACE", "SpotDriver", "SpotStep", "SpotterStage", "Stepper", "calibration_frames", "replay", "ring_seconds"]
