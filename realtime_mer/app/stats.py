"""Run statistics: per-stage latency reservoirs, counters, and the ``--stats`` summary."""

from __future__ import annotations

import resource
import sys
import time
from collections import defaultdict

import numpy as np

STAGES = ("capture_wait", "face", "buffer", "spotting", "recognition", "events", "total")


class LatencyRecorder:
    """Per-stage latencies in ms, kept in preallocated arrays (bounded; the last ``cap`` samples).

    Each stage's array is written through when it is created (``np.full``, not ``np.zeros``, whose
    pages the OS would only commit as samples arrive): the memory is taken at the start of the run,
    so a long run's resident size stays flat instead of creeping up by 0.8 MB per stage over the
    first ``cap`` frames (17 minutes at 200 fps; seen in the 10-minute soak)."""

    def __init__(self, cap: int = 200_000) -> None:
        self.cap = cap
        self._data: dict[str, np.ndarray] = defaultdict(lambda: np.full(self.cap, 0.0, np.float32))
        self._n: dict[str, int] = defaultdict(int)

    def add(self, stage: str, ms: float) -> None:
        n = self._n[stage]
        self._data[stage][n % self.cap] = ms
        self._n[stage] = n + 1

    def values(self, stage: str) -> np.ndarray:
        n = self._n.get(stage, 0)
        return self._data[stage][: min(n, self.cap)] if n else np.zeros(0, np.float32)

    def recent(self, stage: str, k: int = 200) -> np.ndarray:
        n = self._n.get(stage, 0)
        if not n:
            return np.zeros(0, np.float32)
        if n <= self.cap:
            return self._data[stage][max(0, n - k) : n]
        idx = (np.arange(n - k, n)) % self.cap
        return self._data[stage][idx]

    def summary(self, stage: str) -> dict[str, float]:
        return summarize(self.values(stage))

    def stages(self) -> list[str]:
        return [s for s in STAGES if self._n.get(s)] + [s for s in self._n if s not in STAGES]


def summarize(v: np.ndarray) -> dict[str, float]:
    if len(v) == 0:
        return {"p50": 0.0, "p95": 0.0, "max": 0.0}
    p50, p95 = np.percentile(v, [50, 95])
    return {"p50": round(float(p50), 4), "p95": round(float(p95), 4), "max": round(float(np.max(v)), 4)}


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB."""
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / 1024.0 if sys.platform != "darwin" else r / 1024.0 / 1024.0, 1)


class RateMeter:
    """Frames per second over a sliding window of recent ticks (for the live overlay)."""

    def __init__(self, window_s: float = 1.0) -> None:
        self.window_ns = int(window_s * 1e9)
        self._t = np.zeros(4096, np.int64)
        self._n = 0

    def tick(self, t_ns: int | None = None) -> None:
        self._t[self._n % len(self._t)] = t_ns if t_ns is not None else time.monotonic_ns()
        self._n += 1

    def rate(self) -> float:
        n = min(self._n, len(self._t))
        if n < 2:
            return 0.0
        last = self._t[(self._n - 1) % len(self._t)]
        ts = self._t[:n]
        recent = ts[ts >= last - self.window_ns]
        if len(recent) < 2:
            return 0.0
        span = (recent.max() - recent.min()) / 1e9
        return (len(recent) - 1) / span if span > 0 else 0.0
