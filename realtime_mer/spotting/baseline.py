"""Running robust baseline (median and MAD per channel) over a bounded window of recent samples.

Only the last ``capacity`` samples count (never the whole video), and the statistics are
recomputed every ``every`` samples, so the per-frame cost stays small and flat.
"""

from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this = its standard deviation
RAYLEIGH_Q25_TO_MEDIAN = 1.5514  # the length of 2-D Gaussian noise: median / 25th percentile = sqrt(ln 2 / ln(4/3))


class RunningBaseline:
    """Median / robust sigma of each of ``channels`` values over the last ``capacity`` samples."""

    def __init__(self, channels: int, capacity: int, every: int = 1, floor: float = 1e-6) -> None:
        self.channels = int(channels)
        self.capacity = max(3, int(capacity))
        self.every = max(1, int(every))
        self.floor = float(floor)
        self._samples = np.zeros((self.channels, self.capacity), np.float32)
        self._n = 0
        self.median = np.zeros(self.channels, np.float32)
        self.sigma = np.full(self.channels, self.floor, np.float32)

    @property
    def count(self) -> int:
        """Samples held (at most ``capacity``)."""
        return min(self._n, self.capacity)

    def clear(self) -> None:
        self._n = 0
        self.median[:] = 0.0
        self.sigma[:] = self.floor

    def add(self, values: np.ndarray) -> None:
        """Add one sample (one value per channel); statistics refresh every ``every`` samples."""
        self._samples[:, self._n % self.capacity] = values
        self._n += 1
        if self._n % self.every == 0 or self._n <= 3:
            self.refresh()

    def refresh(self) -> None:
        n = self.count
        if n == 0:
            return
        x = self._samples[:, :n]
        med = np.median(x, axis=1)
        mad = np.median(np.abs(x - med[:, None]), axis=1)
        self.median[:] = med
        self.sigma[:] = np.maximum(MAD_TO_SIGMA * mad, self.floor)

    def settle_quiet(self, scale: float = 1.0) -> None:
        """Keep what the quietest half of the samples says and nothing else: per channel the 25th percentile
        (times ``scale``, e.g. ``RAYLEIGH_Q25_TO_MEDIAN`` to stand for a median) fills the whole window as a prior
        that new samples replace as they come. A calibration read ahead on a short clip is mostly movement
        (a 300 ms movement with its 200 ms lag windows fills most of a 1 s clip); the median would not survive it."""
        n = self.count
        if n == 0:
            return
        q = np.percentile(self._samples[:, :n], 25.0, axis=1) * scale
        self._samples[:] = q[:, None]
        self._n = self.capacity
        self.refresh()

    def z(self, values: np.ndarray) -> np.ndarray:
        """``(values - median) / sigma`` per channel."""
        return (values - self.median) / self.sigma


class RunningCovariance:
    """Mean and 2x2 covariance of ``channels`` 2-D vectors over the last ``capacity`` samples.

    ``distance`` whitens a new sample: under Gaussian noise it is Rayleigh distributed with unit
    scale whatever the noise's size and direction (an edge-like region is noisy along the edge
    only), so one threshold fits every region. ``floor`` (same units as the vectors) is added to
    the standard deviation of both axes so that perfectly static input stays finite. Sums are
    kept incrementally (a sample in, the oldest out) and recomputed exactly once per window.
    """

    def __init__(self, channels: int, capacity: int, every: int = 1, floor: float = 1e-3) -> None:
        self.channels = int(channels)
        self.capacity = max(3, int(capacity))
        self.every = max(1, int(every))
        self.floor = float(floor)
        self._terms = np.zeros((self.capacity, 5, self.channels), np.float64)  # x, y, xx, xy, yy per sample
        self._sums = np.zeros((5, self.channels), np.float64)
        self._n = 0
        self.mean = np.zeros((self.channels, 2), np.float64)
        self._inv = np.zeros((3, self.channels), np.float64)  # a, b, c of the inverse covariance
        self.clear()

    @property
    def count(self) -> int:
        return min(self._n, self.capacity)

    def clear(self) -> None:
        self._n = 0
        self._sums[:] = 0.0
        self.mean[:] = 0.0
        f2 = self.floor**2
        self._inv[0], self._inv[1], self._inv[2] = 1.0 / f2, 0.0, 1.0 / f2

    def add(self, vectors: np.ndarray) -> None:
        """Add one (channels, 2) sample; statistics refresh every ``every`` samples."""
        t = self._terms[self._n % self.capacity]
        if self._n >= self.capacity:
            self._sums -= t
        t[0], t[1] = vectors[:, 0], vectors[:, 1]
        np.multiply(t[[0, 0, 1]], t[[0, 1, 1]], out=t[2:])
        self._sums += t
        self._n += 1
        if self._n % self.capacity == 0:  # exact sums once per window: no drift
            self._terms.sum(axis=0, out=self._sums)
        if self._n % self.every == 0 or self._n <= 3:
            self.refresh()

    def refresh(self) -> None:
        n = self.count
        if n == 0:
            return
        sx, sy, sxx, sxy, syy = self._sums / n
        f2 = self.floor**2
        vxx = np.maximum(sxx - sx * sx, 0.0) + f2
        vyy = np.maximum(syy - sy * sy, 0.0) + f2
        cxy = sxy - sx * sy
        det = vxx * vyy - cxy * cxy
        self.mean[:, 0], self.mean[:, 1] = sx, sy
        self._inv[0], self._inv[1], self._inv[2] = vyy / det, -cxy / det, vxx / det

    def inner(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Whitened inner product ``u' S^-1 v`` of each channel's (R, 2) vectors (S: running covariance)."""
        return self._inv[0] * u[:, 0] * v[:, 0] + self._inv[1] * (u[:, 0] * v[:, 1] + u[:, 1] * v[:, 0]) + self._inv[2] * u[:, 1] * v[:, 1]

    def distance(self, vectors: np.ndarray) -> np.ndarray:
        """Whitened distance of each channel's vector from its running mean."""
        dx = vectors[:, 0] - self.mean[:, 0]
        dy = vectors[:, 1] - self.mean[:, 1]
        q = self._inv[0] * dx * dx + 2 * self._inv[1] * dx * dy + self._inv[2] * dy * dy
        return np.sqrt(np.maximum(q, 0.0))
