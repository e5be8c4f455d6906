"""``gru``: a learned spotter (after Nag et al.): cheap region-motion features -> small GRU -> intensity -> intervals.

Features (``GruFeatures``, one vector per frame, online): each facial region's displacement
(``region_motion``, head translation removed) against one lagged reference (``reference``, lag
``LONG_MS``: how far the face is from the face a moment ago) minus a least-squares similarity fit
over the regions (residual alignment sway; ``globalfit`` without the reweighting), and the change
of that residual over the last ``SHORT_MS`` (how the face moves now). Each region's magnitude
(of both) is divided by its running noise level (per-subject: a plain mean over the first
``cfg.calibration_ms``, then a clipped exponential mean over ``cfg.baseline_ms``; running
statistics only, never whole-video maxima), log-compressed and summarised in a location-invariant
way: the largest few regions (sorted), the mean, the largest of the upper and of the lower face,
and the two upper-lid probes (blinks); the same summary of each region's excess over its value
``LONG_MS`` back (a movement the lagging reference passes through shows again, as large as it
was then: only the excess is new). The largest raw residual and change (px), the head shift,
the reference's age and the calibration progress complete the vector (``N_FEATURES``).

Model: one GRU layer (hidden size from the weights) and a sigmoid intensity head, trained on
synthetic clips (``gru_train``) to output, at frame t, the injected movement's onset -> apex ->
offset intensity of frame t - ``delay`` (0 outside movements). Inference is a numpy GRU step.

Decoding: ``IntervalTracker`` on the intensity with the trained hysteresis levels (``high`` /
``low`` from the weights' sidecar), dips shorter than ``cfg.merge_ms`` merged, ``cfg.min_ms`` /
``cfg.max_ms`` bounds, onset and offset refined outward to where the intensity reaches its floor.
Decision delay (``lookahead_frames``): ``delay + merge`` frames (100 + 60 ms by default).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.errors import ModelError, fail
from realtime_mer.spotting.base import Spotter
from realtime_mer.spotting.placement import RegionPlacer
from realtime_mer.spotting.reference import LaggedReference
from realtime_mer.spotting.region_motion import RoiMotion
from realtime_mer.spotting.regions import PROBES, REGIONS
from realtime_mer.spotting.tracker import REFRACTORY_MS, IntervalTracker, TrackerSettings
from realtime_mer.types import Interval, IntervalKind, classify_kind

FEATURE_VERSION = 3
WEIGHTS = Path(__file__).resolve().parents[1] / "assets" / "spotter_gru.npz"
SHORT_MS = 50.0  # the short contrast: change of the displacement over this long
LONG_MS = 400.0  # lag of the long reference
REF_TAU_MS = 20.0  # time constant of the exponential average forming the reference
REF_EVERY_MS = 20.0  # the reference (and the region placement) advances in steps of this
HEAD_JUMP_PX = 1.5  # head shift against a reference (crop px) that restarts it
NOISE_FLOOR_PX = 0.02  # added to each region's running noise level
CLIP_SIGMAS = 3.0  # noise-level updates are clipped at this many times the level
TOP_K = 5  # the largest this many regions (sorted) enter the features
N_SIGNAL = len(REGIONS)
N_REG = len(REGIONS) + len(PROBES)
_UPPER = np.array([r.blinks for r in REGIONS])
PER_LAG = TOP_K + 1 + 2 + len(PROBES)  # top-k, mean, upper max, lower max, probes
N_FEATURES = 3 * PER_LAG + 5  # + max residual / change px, head shift px, reference age, calibration
MODEL_FPS = 200.0  # frame rate of the training clips (the sidecar's ``fps`` overrides it)
DEFAULT_DELAY_MS = 100.0
DEFAULT_HIGH = 0.5
DEFAULT_LOW = 0.25


def similarity_projector(pos: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """(2R, 2R) float32 P with ``(P @ d.ravel())`` = ``d`` (R, 2) minus the similarity (translation, scale,
    rotation) least-squares fitted to the ``usable`` rows: ``globalfit`` without the robust
    reweighting, as one cached matrix (a local movement leaks ~1/R of itself into the fit)."""
    r = len(pos)
    c = pos - pos[usable].mean(axis=0)
    basis = np.zeros((2 * r, 4))
    basis[0::2, 0] = 1.0  # translation x
    basis[1::2, 1] = 1.0  # translation y
    basis[0::2, 2], basis[1::2, 2] = c[:, 0], c[:, 1]  # scale
    basis[0::2, 3], basis[1::2, 3] = -c[:, 1], c[:, 0]  # rotation
    rows = np.repeat(usable, 2)
    fit = np.linalg.pinv(basis[rows])  # (4, 2U)
    sel = np.zeros((fit.shape[1], 2 * r))
    sel[np.arange(fit.shape[1]), np.flatnonzero(rows)] = 1.0
    return (np.eye(2 * r) - basis @ fit @ sel).astype(np.float32)


class GruFeatures:
    """Per-frame feature vector (``N_FEATURES``) of the newest buffered face; ``reset`` on face loss.

    One reference (lag ``LONG_MS``) is measured per frame; the short-lag contrast is the change of
    the residual displacement over the last ``SHORT_MS`` (a ring of past residuals), so it costs
    nothing extra. Noise levels are exponential running means (time constant ``cfg.baseline_ms``,
    samples clipped at ``CLIP_SIGMAS`` times the level so movements barely raise it), averaged
    plainly over the first ``cfg.calibration_ms`` (the per-subject calibration).
    """

    def __init__(self, fps: float, calibration_ms: float = 1000.0, baseline_ms: float = 3000.0) -> None:
        self.fps = float(fps)
        fr = self._frames
        self._every = fr(REF_EVERY_MS)
        alpha = 1.0 - float(np.exp(-1000.0 / (fps * REF_TAU_MS)))
        self.lag = fr(LONG_MS)
        self.short = fr(SHORT_MS)
        self._ref = LaggedReference(self.lag, self._every, alpha, fr(2 * REF_TAU_MS, 0))
        self._motion: RoiMotion | None = None
        self._placer: RegionPlacer | None = None
        self.calib = fr(calibration_ms)
        self._beta = 1.0 - float(np.exp(-1.0 / fr(baseline_ms)))
        self._usable = np.arange(N_REG) < N_SIGNAL
        self._hist = np.zeros((self.short + 1, N_REG, 2), np.float32)
        self._zhist = np.zeros((self.lag + 1, N_REG), np.float64)  # normalised residual magnitudes, last lag + 1 frames
        self._proj = np.eye(2 * N_REG, dtype=np.float32)
        self._proj_version = -1
        self._scale = np.zeros(2 * N_REG, np.float64)
        self._out = np.zeros(N_FEATURES, np.float32)
        self._mags = np.zeros(2 * N_REG, np.float64)
        self.reset()

    def _frames(self, ms: float, minimum: int = 1) -> int:
        return max(minimum, round(ms * self.fps / 1000.0))

    def _projector(self, motion: RoiMotion) -> np.ndarray:
        """(2R, 2R) matrix: displacements -> minus their least-squares similarity over the signal regions (cached per layout)."""
        if self._proj_version != motion.version:
            self._proj = similarity_projector(motion.centres, self._usable)
            self._proj_version = motion.version
        return self._proj

    def reset(self) -> None:
        self._n = 0
        self._since = 0  # frames since the reference (re)started
        self._ref.clear()
        if self._placer is not None:
            self._placer.reset()
        self._scale[:] = 0.0

    def _bind(self, crop_size: int) -> RoiMotion:
        if self._motion is None or self._motion.crop_size != crop_size:
            self._motion = RoiMotion(crop_size)
            self._placer = RegionPlacer(self.fps, crop_size, every=self._every)
            self._ref.bind(self._motion)
            self._proj_version = -1
        return self._motion

    def update(self, buffer: RingBuffer, seq: int) -> np.ndarray:
        """Features of frame ``seq`` (the newest); a view that the next call overwrites."""
        motion = self._bind(buffer.crop_size)
        assert self._placer is not None
        lay = self._placer.update(buffer.landmarks_at(seq))
        if lay is not None:
            motion.set_layout(lay)
        cur = motion.prepare(buffer.crop(seq), self._ref.slot(seq))
        d = motion.measure(self._ref.get(seq), cur)
        shift = float(np.hypot(*motion.shift))
        h = self._n % len(self._hist)
        if shift > HEAD_JUMP_PX:  # the head jumped: start the reference again from this frame
            self._ref.restart(seq)
            self._since = 0
            r = np.zeros((N_REG, 2), np.float32)
        else:
            r = (self._projector(motion) @ d.reshape(-1)).reshape(N_REG, 2)
        if self._since == 0:
            self._hist[:] = r  # no contrast across a restart
        self._hist[h] = r
        s = r - self._hist[(h + 1) % len(self._hist)]  # change over the last ``short`` frames
        mags, scale = self._mags, self._scale
        mags[:N_REG] = np.hypot(r[:, 0], r[:, 1])
        mags[N_REG:] = np.hypot(s[:, 0], s[:, 1])
        if self._n < self.calib:
            scale += (mags - scale) / (self._n + 1)
        else:
            scale += self._beta * (np.minimum(mags, CLIP_SIGMAS * scale) - scale)
        z = np.log1p(mags / (scale + NOISE_FLOOR_PX))
        zl = self._n % len(self._zhist)
        if self._since == 0:
            self._zhist[:] = z[:N_REG]
        self._zhist[zl] = z[:N_REG]
        # what the reference, lagging by ``lag``, shows again of a movement it has passed through
        # is as large as the movement was ``lag`` frames ago: only the excess over that is new
        fresh = np.maximum(z[:N_REG] - self._zhist[(zl + 1) % len(self._zhist)], 0.0)
        out = self._out
        for k in range(3):
            zk = z[k * N_REG : (k + 1) * N_REG] if k < 2 else fresh
            sig = zk[:N_SIGNAL]
            o = k * PER_LAG
            out[o : o + TOP_K] = np.sort(sig)[-TOP_K:]
            out[o + TOP_K] = sig.mean()
            out[o + TOP_K + 1] = sig[_UPPER].max()
            out[o + TOP_K + 2] = sig[~_UPPER].max()
            out[o + TOP_K + 3 : o + PER_LAG] = zk[N_SIGNAL:]
        o = 3 * PER_LAG
        out[o] = np.log1p(mags[:N_SIGNAL].max() / 0.1)
        out[o + 1] = np.log1p(mags[N_REG : N_REG + N_SIGNAL].max() / 0.1)
        out[o + 2] = np.log1p(shift / 0.1)
        out[o + 3] = min(self._since / self.lag, 1.0)
        out[o + 4] = min(self._n / self.calib, 1.0)
        self._since += 1
        self._n += 1
        return out


class GruModel:
    """Numpy GRU (PyTorch gate order r, z, n) + sigmoid intensity head; ``step`` = one frame."""

    def __init__(self, w: dict[str, np.ndarray]) -> None:
        self.w_ih = np.ascontiguousarray(w["w_ih"], np.float32)
        self.w_hh = np.ascontiguousarray(w["w_hh"], np.float32)
        self.b_ih = np.asarray(w["b_ih"], np.float32)
        self.b_hh = np.asarray(w["b_hh"], np.float32)
        self.w_out = np.asarray(w["w_out"], np.float32)
        self.b_out = float(np.asarray(w["b_out"]).ravel()[0])
        self.hidden = self.w_hh.shape[1]
        n_in = self.w_ih.shape[1]
        self.x_mean = np.asarray(w.get("x_mean", np.zeros(n_in)), np.float32)
        self.x_std = np.asarray(w.get("x_std", np.ones(n_in)), np.float32)
        if self.w_ih.shape != (3 * self.hidden, n_in) or self.b_ih.shape != (3 * self.hidden,) or self.w_out.shape != (self.hidden,):
            raise ValueError("inconsistent GRU weight shapes")
        self.h = np.zeros(self.hidden, np.float32)
        # the input standardisation folded into the input weights: one product per step
        self._w_in = np.ascontiguousarray(self.w_ih / self.x_std[None, :], np.float32)
        self._b_in = (self.b_ih - self._w_in @ self.x_mean).astype(np.float32)

    @property
    def n_inputs(self) -> int:
        return self.w_ih.shape[1]

    def reset(self) -> None:
        self.h[:] = 0.0

    def step(self, x: np.ndarray) -> float:
        """Advance one frame with input ``x`` (raw features); returns the intensity (0..1)."""
        hd = self.hidden
        gi = self._w_in @ x + self._b_in
        gh = self.w_hh @ self.h + self.b_hh
        rz = 1.0 / (1.0 + np.exp(-(gi[: 2 * hd] + gh[: 2 * hd])))
        n = np.tanh(gi[2 * hd :] + rz[:hd] * gh[2 * hd :])
        z = rz[hd:]
        self.h = (1.0 - z) * n + z * self.h
        return float(1.0 / (1.0 + np.exp(-(self.w_out @ self.h + self.b_out))))


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> tuple[dict[str, np.ndarray], dict]:
    p = Path(path)
    try:
        with np.load(p) as z:
            w = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise fail(ModelError, f"cannot read gru spotter weights {p} ({type(e).__name__})", "re-run tools/train_spotter.py or restore realtime_mer/assets/spotter_gru.npz") from None
    meta: dict = {}
    side = p.with_suffix(".json")
    if side.is_file():
        try:
            meta = json.loads(side.read_text())
        except (OSError, ValueError):
            raise fail(ModelError, f"cannot read {side}", "re-run tools/train_spotter.py") from None
    return w, meta


def load_weights(path: Path | None = None) -> tuple[GruModel, dict]:
    """The GRU and its sidecar metadata from ``path`` (default: the shipped asset); ``ModelError`` if missing or corrupt."""
    p = Path(path) if path is not None else WEIGHTS
    if not p.is_file():
        raise fail(ModelError, f"gru spotter weights {p} not found", "run tools/train_spotter.py --out realtime_mer/assets/spotter_gru.npz")
    w, meta = _load(str(p.resolve()), p.stat().st_mtime)
    need = ("w_ih", "w_hh", "b_ih", "b_hh", "w_out", "b_out")
    missing = [k for k in need if k not in w]
    if missing:
        raise fail(ModelError, f"gru spotter weights {p} lack {', '.join(missing)}", "re-run tools/train_spotter.py")
    version = int(w.get("feature_version", -1))
    if version != FEATURE_VERSION:
        raise fail(ModelError, f"gru spotter weights {p} were trained on feature version {version}, this code computes {FEATURE_VERSION}", "re-run tools/train_spotter.py")
    try:
        model = GruModel(w)
    except (ValueError, KeyError, IndexError) as e:
        raise fail(ModelError, f"gru spotter weights {p} are malformed ({e})", "re-run tools/train_spotter.py") from None
    if model.n_inputs != N_FEATURES:
        raise fail(ModelError, f"gru spotter weights {p} expect {model.n_inputs} features, this code computes {N_FEATURES}", "re-run tools/train_spotter.py")
    return model, meta


class GruDecoder:
    """Intensity -> intervals, online: the output of frame t belongs to frame t - ``delay``.

    ``IntervalTracker`` with hysteresis (opens above ``low``, confirmed above ``high``, closed after
    ``merge`` samples below the end level; onset / offset refined outward to ``floor``). Nothing
    is decided during the first ``calib`` frames after a reset (the features' calibration), nor
    before the intensity has been below ``low`` once after it (a movement already under way then
    has no onset to report).
    """

    def __init__(self, settings: TrackerSettings, kind_of: Callable[[int, int], IntervalKind], delay: int, calib: int, high: float, low: float, floor: float) -> None:
        self.delay, self.calib = int(delay), int(calib)
        self.high, self.low, self.floor = float(high), float(low), float(floor)
        self.tracker = IntervalTracker(settings, kind_of)
        self._ring = self.delay + 1
        self._frame = np.zeros(self._ring, np.int64)
        self._ts = np.zeros(self._ring, np.int64)
        self.reset()

    @property
    def calibrating(self) -> bool:
        return self._n < self.calib + self.delay

    def reset(self) -> None:
        self._n = 0
        self._settling = True  # a movement under way when calibration ends has no onset: wait until it is over
        self.tracker.reset()

    def push(self, p: float, frame: int, ts: int) -> tuple[int, list[Interval]]:
        """Add the model output of ``frame``; returns (the frame it belongs to or -1, decided intervals)."""
        i = self._n % self._ring
        self._frame[i], self._ts[i] = frame, ts
        self._n += 1
        if self._n <= self.delay:
            return -1, []
        j = (self._n - 1 - self.delay) % self._ring
        f = int(self._frame[j])
        if self.calibrating:
            return f, []
        if self._settling:
            self._settling = p > self.low
            if self._settling:
                return f, []
        return f, self.tracker.push(f, int(self._ts[j]), p, self.high, self.low, self.floor)

    def flush(self) -> list[Interval]:
        return self.tracker.flush()


def make_decoder(fps: float, cfg: SpotConfig, meta: dict) -> GruDecoder:
    """The decoder for a ``fps`` stream with the thresholds and delay of the weights' sidecar ``meta``."""

    def frames(ms: float, minimum: int = 1) -> int:
        return max(minimum, round(ms * fps / 1000.0))

    def kind_of(onset: int, offset: int) -> IntervalKind:
        return classify_kind(onset, offset, fps, cfg.micro_max_ms)

    settings = TrackerSettings(frames(cfg.merge_ms), frames(cfg.min_ms, 0), frames(cfg.max_ms), frames(cfg.gru.lookback_ms), frames(REFRACTORY_MS))
    low = float(meta.get("low", DEFAULT_LOW))
    delay = frames(float(meta.get("delay_ms", DEFAULT_DELAY_MS)), 0)
    return GruDecoder(settings, kind_of, delay, frames(cfg.calibration_ms), float(meta.get("high", DEFAULT_HIGH)), low, float(meta.get("floor", 0.5 * low)))


class GruSpotter(Spotter):
    """Learned spotter. Decision delay: ``delay`` (the model's look-ahead, 100 ms) + ``cfg.merge_ms``."""

    name = "gru"

    def __init__(self, fps: float, cfg: SpotConfig) -> None:
        super().__init__(fps, cfg)
        self.model, self.meta = load_weights(cfg.gru.weights)
        self.decoder = make_decoder(fps, cfg, self.meta)
        # the GRU's time step is the training frame period: at a lower rate each frame is held for
        # that many steps (e.g. 7 at 30 fps for a 200 fps model), so its dynamics keep their timing
        self.steps = max(1, round(float(self.meta.get("fps", MODEL_FPS)) / fps))
        self.lookahead_frames = self.decoder.delay + self.decoder.tracker.s.merge
        self._feats = GruFeatures(fps, cfg.calibration_ms, cfg.baseline_ms)
        self.reset()

    @property
    def calibrating(self) -> bool:
        return self.decoder.calibrating

    def reset(self) -> None:
        self._feats.reset()
        self.model.reset()
        self.decoder.reset()
        self.signal = 0.0
        self.threshold = self.decoder.high

    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]:
        x = self._feats.update(buffer, seq)
        for _ in range(self.steps):
            p = self.model.step(x)
        frame, out = self.decoder.push(p, buffer.frame_index(seq), buffer.timestamp_ns(seq))
        if frame >= 0:
            self.signal = p
            self._trace.push(frame, p, self.decoder.high)
        return out

    def flush(self) -> list[Interval]:
        return self.decoder.flush()
