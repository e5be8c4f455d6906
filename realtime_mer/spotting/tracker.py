"""Online peak -> interval state machine, shared by the spotters.

Fed one signal sample at a time with its levels (``high`` detection threshold, ``low`` start /
end level, ``floor`` the baseline), it opens a movement when the signal rises above ``low``,
confirms it above ``high``, follows the apex (highest sample) and closes it once the signal has
stayed below the end level (``low``, raised to a quarter of the way up from the start level to
the peak) for ``merge`` samples, so dips shorter than that merge peaks. Onset
and offset are then refined outward to where the signal stops falling towards the baseline.
Movements shorter than ``min_len`` (or than two frame steps: onset, apex and offset need
distinct frames) are dropped, and so is one that starts within ``refractory`` frames of the
previous one's offset (the tail of that movement, not a new one); one still open after ``max_len`` (a held pose,
drift) is dropped and nothing new starts until the signal has fallen back (or, with ``rearm``, the
tracker gives up on it and is ready for a new onset at once). ``cancel`` drops the
movement under way when its measurements turn out invalid (head jump, blink onset).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from realtime_mer.types import Interval, IntervalKind

END_FRACTION = 0.1  # a large movement ends below this fraction of its peak (tails ride on drift)
REFRACTORY_MS = 150.0  # spotters' default: an onset this soon after an offset is that movement's tail
MIN_STEPS = 2  # offset - onset in frames at least this (onset, apex, offset distinct)
END_RISE = 0.25  # ... or below this share of its rise above the start level (a noise floor that rose meanwhile)

IDLE, ARMED, ACTIVE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    """Durations in samples (frames of the spotter's signal)."""

    merge: int  # samples below the end level that close a movement (the decision wait)
    min_len: int  # shortest movement, offset - onset
    max_len: int  # longest movement; longer ones are aborted
    lookback: int  # how far the onset may be refined back before the rise
    refractory: int = 0  # frames after an offset in which a new onset counts as the same movement's tail
    rearm: bool = False  # a movement open longer than max_len is dropped and a new one may start at once


class IntervalTracker:
    """Turns a scalar signal into complete intervals with a bounded decision delay (``merge`` samples)."""

    def __init__(self, settings: TrackerSettings, kind_of: Callable[[int, int], IntervalKind]) -> None:
        self.s = settings
        self.kind_of = kind_of
        cap = settings.max_len + settings.lookback + settings.merge + 4
        self._frame = np.zeros(cap, np.int64)
        self._ts = np.zeros(cap, np.int64)
        self._val = np.zeros(cap, np.float64)
        self._floor = np.zeros(cap, np.float64)
        self.capacity = cap
        self.reset()

    def reset(self) -> None:
        self._n = 0
        self.state = IDLE
        self._start = self._peak = self._last_above = 0
        self._below = 0
        self._barrier = 0  # onsets are not refined back past this sample (set by cancel)
        self._quiet = False  # after an abort: wait for the signal to fall before arming again
        self._last_offset: int | None = None  # frame index of the last closed movement's offset
        self.dropped = 0  # movements given up (open longer than max_len) or cancelled so far

    @property
    def age(self) -> int:
        """Samples since the movement under way (if any) started."""
        return self._n - self._start

    @property
    def quiet(self) -> bool:
        """After a give-up: waiting for the signal to fall back before anything new can start."""
        return self._quiet

    @property
    def active(self) -> bool:
        """A confirmed movement is under way (nothing new can start until it ends or is given up)."""
        return self.state == ACTIVE

    @property
    def busy(self) -> bool:
        """A movement is possibly under way (armed or active)."""
        return self.state != IDLE

    def _at(self, j: int) -> int:
        return j % self.capacity

    def push(self, frame: int, timestamp_ns: int, value: float, high: float, low: float, floor: float) -> list[Interval]:
        """Add one sample; returns the interval closed by it, if any."""
        j = self._n
        i = self._at(j)
        self._frame[i], self._ts[i], self._val[i], self._floor[i] = frame, timestamp_ns, value, floor
        self._n += 1
        if self.state == IDLE:
            if self._quiet:
                self._quiet = value > low
                return []
            if value > low:
                self.state, self._start, self._below = ARMED, j, 0
                self._peak = self._last_above = j
                if value >= high:
                    self.state = ACTIVE
            return []
        if value > self._val[self._at(self._peak)]:
            self._peak = j
        if self.state == ARMED:
            end_level = low
        else:
            peak, base = self._val[self._at(self._peak)], min(self._val[self._at(self._start)], low)
            end_level = max(low, END_FRACTION * peak, base + END_RISE * (peak - base))
        if value > end_level:
            if self.state == ARMED and self._below:
                self._start = j  # rose again: the movement (if any) starts from this rise
            self._last_above, self._below = j, 0
        else:
            self._below += 1
        if self.state == ARMED and value >= high:
            self.state = ACTIVE
        if j - self._start > self.s.max_len:  # too long for an expression (a held pose, drift): drop it
            self.state, self._quiet = IDLE, not self.s.rearm
            self.dropped += 1
            if self.s.rearm:
                self._barrier = self._n  # a new movement's onset is not refined back into this one
            return []
        if self._below >= self.s.merge:
            done = self.state == ACTIVE
            self.state = IDLE
            return [iv] if done and (iv := self._close()) is not None else []
        return []

    def cancel(self) -> None:
        """Drop the movement under way, if any (its measurements were invalid)."""
        if self.state != IDLE:
            self.dropped += 1
        self.state = IDLE
        self._barrier = self._n

    def flush(self) -> list[Interval]:
        """End of stream: a movement that has already fallen back is closed now (without the full
        merge wait); one still under way is dropped, its offset was never seen."""
        done = self.state == ACTIVE and self._below > 0
        self.state = IDLE
        iv = self._close() if done else None
        return [iv] if iv is not None else []

    def _close(self) -> Interval | None:
        lo = max(self._barrier, self._n - self.capacity + 1, self._start - self.s.lookback)
        onset = self._start
        while onset - 1 >= lo and self._falls(onset - 1, onset):
            onset -= 1
        offset = self._last_above
        while offset + 1 < self._n and self._falls(offset + 1, offset):
            offset += 1
        seg = np.arange(onset, offset + 1)
        vals = self._val[seg % self.capacity]
        apex = int(seg[int(np.argmax(vals))])
        f_on, f_ap, f_off = (int(self._frame[self._at(k)]) for k in (onset, apex, offset))
        last, self._last_offset = self._last_offset, f_off
        if f_off - f_on < max(self.s.min_len, MIN_STEPS):
            return None
        if last is not None and f_on - last <= self.s.refractory:
            return None
        return Interval(
            onset=f_on,
            apex=f_ap,
            offset=f_off,
            kind=self.kind_of(f_on, f_off),
            score=float(vals.max()),
            onset_ns=int(self._ts[self._at(onset)]),
            apex_ns=int(self._ts[self._at(apex)]),
            offset_ns=int(self._ts[self._at(offset)]),
        )

    def _falls(self, nxt: int, cur: int) -> bool:
        """Walking outward from ``cur`` to ``nxt`` the signal still falls and is above the baseline."""
        a, b = self._val[self._at(nxt)], self._val[self._at(cur)]
        return a < b and a > self._floor[self._at(nxt)]
