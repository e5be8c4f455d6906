"""``lbp``: feature-difference spotting with LBP block histograms (Moilanen et al., ICPR 2014).

Per frame: uniform LBP codes (8 neighbours, radius 1) of the lightly blurred aligned crop
(``lbp.blur``) -> one 59-bin histogram per block of a ``lbp.blocks`` x ``lbp.blocks`` grid (eyes optionally left out, so
blinks do not count), averaged over ``lbp.avg_ms`` (sensor noise moves histograms far more
than a sub-pixel warp does) -> chi-squared distance of frame i's histograms to the mean of the
histograms of frames i-k and i+k (k = ``lbp.k_ms``) -> feature difference F_i = mean of the
largest ``lbp.top`` share of the block distances -> contrast C_i = F_i - (F_{i-k} + F_{i+k}) / 2
(a movement about 2k long peaks at its apex; slow changes cancel) -> ``IntervalTracker`` (extent widened to at least apex -/+ k, as in the paper) with a
threshold of ``max(mean + lbp.p * (max - mean), median + threshold * sigma)``: Moilanen's
relative threshold, over a running window of ``lbp.window_ms`` (never the whole video), floored
by the contrast's running noise level (robust median / MAD while nothing happens), so a still
face gives nothing. C_i needs frame i + 2k, and the strongest of peaks within 2k of each other
is kept (side lobes), held 3k + merge past its apex: the decision delay after an offset
(>= apex + k) is ``avg/2 + 4k + merge`` frames.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.errors import fail
from realtime_mer.face.geometry import template
from realtime_mer.spotting.base import Spotter, SpotterError
from realtime_mer.spotting.baseline import RunningBaseline
from realtime_mer.spotting.regions import LEFT_EYE_CONTOUR, RIGHT_EYE_CONTOUR
from realtime_mer.spotting.tracker import IntervalTracker, TrackerSettings
from realtime_mer.types import Interval

# neighbour p of the centre (dy, dx), clockwise from the top-left; its bit is 1 << p when >= centre
NEIGHBOURS: tuple[tuple[int, int], ...] = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))
N_BINS = 59  # 58 uniform patterns (at most 2 circular 0/1 transitions) + 1 for all others
EPS = 1e-6


def uniform_lut() -> np.ndarray:
    """256 -> label: uniform codes numbered 0..57 in increasing code order, the rest 58."""
    lut = np.full(256, N_BINS - 1, np.uint8)
    label = 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            lut[code] = label
            label += 1
    return lut


UNIFORM_LUT = uniform_lut()


def lbp_codes(img: np.ndarray) -> np.ndarray:
    """Raw 8-bit LBP codes of the interior pixels of a grey uint8 image: shape (H-2, W-2)."""
    h, w = img.shape
    c = img[1 : h - 1, 1 : w - 1]
    out = np.zeros((h - 2, w - 2), np.uint8)
    ge = np.empty((h - 2, w - 2), bool)
    for p, (dy, dx) in enumerate(NEIGHBOURS):
        np.greater_equal(img[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx], c, out=ge)
        out |= ge.view(np.uint8) << np.uint8(p)
    return out


def chi2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Chi-squared distance of each row (block histogram) of ``a`` to the same row of ``b``."""
    d = a - b
    return (d * d / (a + b + EPS)).sum(axis=-1)


class BlockHistograms:
    """Normalised uniform-LBP histograms of a ``blocks`` x ``blocks`` grid of a square crop."""

    def __init__(self, size: int, blocks: int, mask_eyes: bool, eye_margin_px: int = 3) -> None:
        if blocks < 1 or size < 3 * blocks + 2:
            raise fail(SpotterError, f"cannot split a {size} px crop into {blocks}x{blocks} LBP blocks", "use 1 <= lbp.blocks <= crop_size / 3")
        inner = size - 2
        edges = np.linspace(0, inner, blocks + 1).round().astype(int)
        row = np.searchsorted(edges, np.arange(inner), side="right") - 1
        block = row[:, None] * blocks + row[None, :]
        if mask_eyes:
            block[eye_mask(size, eye_margin_px)[1:-1, 1:-1]] = blocks * blocks  # a dump block, never compared
        self.size = size
        self.n_blocks = blocks * blocks
        self._base = (block * N_BINS).astype(np.intp).ravel()
        counts = np.bincount(block.ravel(), minlength=self.n_blocks + 1)[: self.n_blocks].astype(np.float32)
        self.valid = counts > 0
        self._scale = np.where(self.valid, 1.0 / np.maximum(counts, 1.0), 0.0).astype(np.float32)[:, None]

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """(n_blocks, 59) float32 histograms, each summing to 1."""
        labels = cv2.LUT(lbp_codes(crop), UNIFORM_LUT).ravel()
        hist = np.bincount(self._base + labels, minlength=(self.n_blocks + 1) * N_BINS)
        return hist[: self.n_blocks * N_BINS].reshape(self.n_blocks, N_BINS).astype(np.float32) * self._scale


def eye_mask(size: int, margin_px: int = 3) -> np.ndarray:
    """Boolean (size, size) mask of both eyes on the aligned-face template, grown by ``margin_px`` (at 128 px)."""
    tpl = template(size)
    mask = np.zeros((size, size), np.uint8)
    for contour in (RIGHT_EYE_CONTOUR, LEFT_EYE_CONTOUR):
        cv2.fillPoly(mask, [np.round(tpl[list(contour)] * 8).astype(np.int32)], 1, shift=3)
    r = max(1, round(margin_px * size / 128))
    return cv2.dilate(mask, np.ones((2 * r + 1, 2 * r + 1), np.uint8)).astype(bool)


class LbpSpotter(Spotter):
    """LBP feature-difference spotter. Decision delay: ``lbp.avg_ms / 2 + 4 k + merge_ms``."""

    name = "lbp"

    def __init__(self, fps: float, cfg: SpotConfig) -> None:
        super().__init__(fps, cfg)
        if not (0.0 < cfg.lbp.top <= 1.0) or cfg.lbp.p < 0 or cfg.lbp.window_ms <= 0 or cfg.lbp.k_ms <= 0:
            raise fail(SpotterError, f"bad lbp settings top={cfg.lbp.top} p={cfg.lbp.p} window_ms={cfg.lbp.window_ms} k_ms={cfg.lbp.k_ms}", "use 0 < lbp.top <= 1, lbp.p >= 0 and positive lbp.window_ms, lbp.k_ms")
        self.k = self.frames(cfg.lbp.k_ms)
        self.merge = self.frames(cfg.merge_ms)
        self.calib = self.frames(cfg.calibration_ms)
        self.avg = 2 * self.frames(cfg.lbp.avg_ms / 2.0, minimum=0) + 1  # odd: centred
        self.lookahead_frames = self.avg // 2 + 4 * self.k + self.merge
        self._hists: BlockHistograms | None = None
        n = 2 * self.k + 1
        self._meta = np.zeros((self.avg, 2), np.int64)  # frame index, timestamp of the last raw frames
        self._hmeta = np.zeros((n, 2), np.int64)  # the same for the last 2k+1 averaged samples
        self._f = np.zeros(n, np.float64)  # feature difference F of the last 2k+1 centre frames
        self._win = np.zeros(self.frames(cfg.lbp.window_ms, minimum=3), np.float64)  # contrast values
        self._base = RunningBaseline(1, self.frames(cfg.baseline_ms), self.frames(cfg.lbp.floor_every_ms))
        settings = TrackerSettings(self.merge, self.frames(cfg.min_ms, minimum=0), self.frames(cfg.max_ms), self.frames(cfg.lbp.lookback_ms))
        self._tracker = IntervalTracker(settings, self.kind_of)
        self.reset()

    def reset(self) -> None:
        self._n = 0  # frames since the last reset
        self._nh = 0  # averaged histogram samples since the last reset
        self._nc = 0  # contrast values since the last reset
        self._win_sum = 0.0
        if self._hists is not None:
            self._sum[:] = 0.0
        self._base.clear()
        self._tracker.reset()
        self._pending: Interval | None = None  # strongest recent interval, waiting for stronger neighbours
        self._ready: list[Interval] = []
        self._last = (-(10**12), 0.0)  # apex and score of the interval decided last
        self.signal = self.threshold = 0.0

    @property
    def calibrating(self) -> bool:
        return self._nc < self.calib

    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]:
        crop = buffer.crop(seq)
        if self._hists is None or self._hists.size != crop.shape[0]:
            self._build(crop.shape[0])
        assert self._hists is not None
        if self.cfg.lbp.blur > 0:
            crop = cv2.GaussianBlur(crop, (3, 3), self.cfg.lbp.blur * crop.shape[0] / 128.0)
        a, i = self.avg, self._n
        r = i % a
        if i >= a:
            self._sum -= self._raw[r]
        self._raw[r] = self._hists(crop)
        self._sum += self._raw[r]
        self._meta[i % self._meta.shape[0]] = buffer.frame_index(seq), buffer.timestamp_ns(seq)
        self._n += 1
        if i < a - 1:
            return []
        return self._push((self._sum * (1.0 / a)).astype(np.float32), i - a // 2)

    def _push(self, hist: np.ndarray, centre: int) -> list[Interval]:
        """Add the averaged histograms of raw frame ``centre``; F and C follow k and 2k frames later."""
        k, n = self.k, 2 * self.k + 1
        j = self._nh  # index of this averaged sample
        self._h[j % n] = hist
        self._hmeta[j % n] = self._meta[centre % self._meta.shape[0]]
        self._nh += 1
        if j < 2 * k:
            return []
        c = j - k  # F of sample c compares it with samples c - k and c + k (= j)
        d = chi2(self._h[c % n], 0.5 * (self._h[(c - k) % n] + self._h[j % n]))[self._valid]
        self._f[c % n] = float(np.partition(d, d.size - self._top)[d.size - self._top :].mean())
        if c < 2 * k:
            return []
        m = c - k  # C of sample m needs F of samples m - k and m + k (= c)
        contrast = self._f[m % n] - 0.5 * (self._f[(m - k) % n] + self._f[c % n])
        frame, ts = self._hmeta[m % n]
        return self._step(contrast, int(frame), int(ts))

    def _build(self, size: int) -> None:
        """Histogram layout and buffers for this crop size."""
        self._hists = BlockHistograms(size, self.cfg.lbp.blocks, self.cfg.lbp.mask_eyes, self.cfg.lbp.eye_margin_px)
        shape = (self._hists.n_blocks, N_BINS)
        self._raw = np.zeros((self.avg, *shape), np.float32)
        self._sum = np.zeros(shape, np.float64)
        self._h = np.zeros((2 * self.k + 1, *shape), np.float32)
        self._valid = self._hists.valid
        self._top = max(1, round(self.cfg.lbp.top * int(self._valid.sum())))
        self.reset()

    def _step(self, value: float, frame: int, ts: int) -> list[Interval]:
        """Running threshold and tracker for the contrast of one frame."""
        w = self._win
        j = self._nc % w.size
        if self._nc >= w.size:
            self._win_sum -= w[j]
        w[j] = value
        self._win_sum += value
        self._nc += 1
        held = w[: min(self._nc, w.size)]
        mean = self._win_sum / held.size
        if not self._tracker.busy:  # movements are not noise
            self._base.add(np.array([value], np.float32))
        floor, sigma = float(self._base.median[0]), float(self._base.sigma[0])
        high = max(mean + self.cfg.lbp.p * (float(held.max()) - mean), floor + self.cfg.threshold * sigma)
        self.signal, self.threshold = value, high
        self._trace.push(frame, value, high)
        if self.calibrating:
            return []
        return self._hold(self._tracker.push(frame, ts, value, high, floor + self.cfg.release * sigma, floor), frame)

    def flush(self) -> list[Interval]:
        out = self._hold(self._tracker.flush(), None)
        return out

    def _hold(self, found: list[Interval], frame: int | None) -> list[Interval]:
        """Keep the strongest interval among apexes within 2k of each other (a movement leaves weaker
        side lobes up to 2k before and after its apex); decide it once the contrast 3k + merge past
        its apex is known (a stronger neighbour has been closed by the tracker by then) (``frame``; None: end of stream)."""
        for iv in found:
            if iv.apex - self._last[0] <= 2 * self.k and iv.score <= self._last[1]:
                continue  # a side lobe of the interval decided last
            p = self._pending
            if p is None or iv.apex - p.apex > 2 * self.k:
                if p is not None:
                    self._ready.append(p)
                self._pending = iv
            elif iv.score > p.score:
                self._pending = iv
        if self._pending is not None and (frame is None or frame - self._pending.apex >= 3 * self.k + self.merge):
            self._ready.append(self._pending)
            self._pending = None
        if self._ready:
            self._last = (self._ready[-1].apex, self._ready[-1].score)
        out, self._ready = [self._widen(iv) for iv in self._ready], []
        return out

    def _widen(self, iv: Interval) -> Interval:
        """Moilanen's extent: at least apex -/+ k (the contrast is positive only near the apex)."""
        step = 1e9 / self.fps
        onset, offset = min(iv.onset, iv.apex - self.k), max(iv.offset, iv.apex + self.k)
        return replace(
            iv,
            onset=onset,
            offset=offset,
            kind=self.kind_of(onset, offset),
            onset_ns=iv.onset_ns - round((iv.onset - onset) * step),
            offset_ns=iv.offset_ns + round((offset - iv.offset) * step),
        )
