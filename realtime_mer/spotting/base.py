"""The ``Spotter`` interface the pipeline calls, and the bounded trace behind its live plot.

A spotter sees each newly buffered face frame once, in order (``update``), and returns the
intervals it *decided* at that call: complete, with onset, apex and offset. A decision may
wait for at most ``lookahead_frames`` frames after the offset (the stated decision delay).
Everything is configured in milliseconds and converted with the source ``fps``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.errors import MerError, fail
from realtime_mer.types import Interval, IntervalKind, classify_kind


@runtime_checkable
class SpotterStage(Protocol):
    """The spotter interface, the one the pipeline, the spotting process and the benchmarks drive (``Spotter`` below
    implements it; a test fake needs only these members).

    Per frame ``update`` (the newest buffered frame) returns the intervals decided now; ``reset`` on a face loss;
    ``flush`` at the end. ``rewind`` after calibrating on frames read ahead (``can_rewind``). The live values are
    what the overlay and the per-frame outputs show."""

    @property
    def name(self) -> str: ...

    @property
    def signal(self) -> float: ...

    @property
    def threshold(self) -> float: ...

    @property
    def calibrating(self) -> bool: ...

    @property
    def blind(self) -> bool: ...

    @property
    def can_rewind(self) -> bool: ...

    @property
    def lookahead_frames(self) -> int: ...

    @property
    def min_frames(self) -> int: ...

    @property
    def calibration_ms(self) -> float: ...

    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]: ...

    def reset(self) -> None: ...

    def rewind(self) -> None: ...

    def flush(self) -> list[Interval]: ...


class SpotterError(MerError):
    """A spotter cannot be built (unknown name, bad fps or settings)."""


class Trace:
    """Ring of (frame index, signal, threshold) for the sparkline / timeline; fixed memory."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(2, int(capacity))
        self._frames = np.zeros(self.capacity, np.int64)
        self._values = np.zeros((2, self.capacity), np.float32)
        self._n = 0

    def push(self, frame: int, signal: float, threshold: float) -> None:
        i = self._n % self.capacity
        self._frames[i] = frame
        self._values[0, i] = signal
        self._values[1, i] = threshold
        self._n += 1

    def clear(self) -> None:
        self._n = 0

    @property
    def last_frame(self) -> int:
        """Frame index of the latest sample (-1: none yet)."""
        return int(self._frames[(self._n - 1) % self.capacity]) if self._n else -1

    def arrays(self) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
        """Copies in time order: (frame indices, signal, threshold)."""
        n = min(self._n, self.capacity)
        order = (np.arange(self._n - n, self._n)) % self.capacity
        return self._frames[order].copy(), self._values[0, order].copy(), self._values[1, order].copy()


class Spotter(ABC):
    """Online spotter: ``update`` once per buffered face frame, ``reset`` on face loss, ``flush`` at the end.

    Live attributes: ``signal`` and ``threshold`` (latest, same units), ``lookahead_frames``
    (decision delay after an offset, frames), ``calibrating`` (no detections yet), ``name``.
    """

    name: ClassVar[str] = "spotter"
    uses: ClassVar[tuple[str, ...]] = ()  # other spotters whose settings (SpotConfig sub-tables) this one runs with
    can_rewind: ClassVar[bool] = False  # ``rewind`` keeps what calibration learned (a file's warm start)

    def __init__(self, fps: float, cfg: SpotConfig) -> None:
        if not np.isfinite(fps) or fps <= 0:
            raise fail(SpotterError, f"spotter needs a positive frame rate, got {fps}", "pass the source fps (e.g. --fps 200)")
        if cfg.micro_max_ms <= 0 or cfg.min_ms < 0 or cfg.max_ms <= cfg.min_ms:
            raise fail(SpotterError, f"bad spotting durations min_ms={cfg.min_ms} micro_max_ms={cfg.micro_max_ms} max_ms={cfg.max_ms}", "use 0 <= min_ms < max_ms and micro_max_ms > 0")
        self.fps = float(fps)
        self.cfg = cfg
        self.signal = 0.0
        self.threshold = 0.0
        self.lookahead_frames = 0
        self._trace = Trace(self.frames(cfg.history_s * 1000.0))

    def frames(self, ms: float, minimum: int = 1) -> int:
        """``ms`` milliseconds as a whole number of frames at this fps (at least ``minimum``)."""
        return max(minimum, round(ms * self.fps / 1000.0))

    @property
    def calibration_ms(self) -> float:
        """How long the per-subject baseline is learned before anything is detected (``cfg.calibration_ms``)."""
        return float(self.cfg.calibration_ms)

    @property
    def lookahead_ms(self) -> float:
        return self.lookahead_frames * 1000.0 / self.fps

    @property
    def min_frames(self) -> int:
        """Frames with a face (after calibration) before anything can be detected: a movement needs room for its
        onset, apex and offset and the decision delay after it."""
        return 2 * self.lookahead_frames + 3

    @property
    @abstractmethod
    def calibrating(self) -> bool:
        """True while the per-subject baseline is being learned (nothing is detected then)."""

    @property
    def blind(self) -> bool:
        """Nothing new can be detected at this frame (calibrating here; spotters add their busy /
        re-acquiring states). The benchmark reports the share of such frames (with face-lost ones)."""
        return self.calibrating

    @property
    def blind_reason(self) -> str | None:
        """Why nothing new can be detected at this frame: ``"calibrating"``, ``"busy"`` (a movement under
        way, a give-up's wait, re-acquiring a reference), or None when the spotter can detect."""
        if self.calibrating:
            return "calibrating"
        return "busy" if self.blind else None

    @abstractmethod
    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]:
        """Process the frame at ``seq`` (the newest); return the intervals decided now."""

    @abstractmethod
    def reset(self) -> None:
        """The face was lost: drop pending state; calibration restarts with the next frame."""

    def rewind(self) -> None:
        """After calibrating on frames read ahead (``SpotDriver.warm_start``): start over at the first of them,
        keeping what calibration learned, so that they are spotted with calibration done. Spotters that cannot
        (``can_rewind`` False) only ``reset``."""
        self.reset()

    @abstractmethod
    def flush(self) -> list[Interval]:
        """End of stream: decide what is pending."""

    @property
    def scored_frame(self) -> int:
        """Frame index that the latest ``signal`` belongs to (a spotter with look-ahead scores an earlier frame; -1: none)."""
        return self._trace.last_frame

    def history(self) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
        """(frame indices, signal, threshold) over the last ``cfg.history_s`` seconds."""
        return self._trace.arrays()

    def kind_of(self, onset: int, offset: int) -> IntervalKind:
        """``micro`` if the movement lasts at most ``cfg.micro_max_ms``, else ``macro``."""
        return classify_kind(onset, offset, self.fps, self.cfg.micro_max_ms)
