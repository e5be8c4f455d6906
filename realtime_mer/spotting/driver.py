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
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar, runtime_checkable

import numpy as np

from realtime_mer.buffer import RingBuffer
from realtime_mer.types import Interval

T_co = TypeVar("T_co", covariant=True)
T = TypeVar("T")


class Stepper(Protocol[T_co]):
    """What a driver drives: a spotter (``update`` returns the intervals decided now) or a feature
    extractor with the same contract (``update`` returns that frame's features)."""

    def update(self, buffer: RingBuffer, seq: int) -> T_co: ...

    def reset(self) -> None: ...


@runtime_checkable
class Flushing(Protocol):
    """A stepper that may hold decisions back until the end of the stream (every ``Spotter``)."""

    def flush(self) -> list[Interval]: ...


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
        self.had_face = False
        self.update_ms = 0.0

    def update(self, seq: int) -> T:
        """The spotter on the face frame already buffered at ``seq`` (the newest)."""
        self.had_face = True
        t0 = time.perf_counter()
        out = self.spotter.update(self.buffer, seq)
        self.update_ms = (time.perf_counter() - t0) * 1e3
        return out

    def push(self, crop: np.ndarray, landmarks: np.ndarray | None, timestamp_ns: int, frame_index: int) -> T:
        """Buffer one face frame and ``update`` on it."""
        return self.update(self.buffer.push(crop, landmarks, timestamp_ns, frame_index))

    def face_lost(self) -> bool:
        """A frame without a face: reset the spotter if the previous frame had one; True when it was reset."""
        if not self.had_face:
            return False
        self.had_face = False
        self.spotter.reset()
        return True

    def flush(self) -> list[Interval]:
        """End of stream: the intervals the spotter still holds (none for a stepper without ``flush``)."""
        return self.spotter.flush() if isinstance(self.spotter, Flushing) else []


def replay(driver: SpotDriver[T], crops: np.ndarray, landmarks: np.ndarray, present: np.ndarray,
           fps: float) -> Iterator[tuple[int, T]]:
    """Drive over an aligned clip (frame ``i`` at ``round(i * 1e9 / fps)`` ns); yields ``(i, update result)``
    for every frame with a face. Call ``driver.flush()`` afterwards for the pending intervals."""
    for i in range(len(present)):
        if not present[i]:
            driver.face_lost()
            continue
        yield i, driver.push(crops[i], landmarks[i], round(i * 1e9 / fps), i)


__all__ = ["Flushing", "SpotDriver", "Stepper", "replay", "ring_seconds"]
