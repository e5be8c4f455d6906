"""``roiflow``: online spotting from per-region motion against a lagged, freezable reference frame.

Per frame: each facial region's displacement relative to a reference frame (head translation
removed, eyes masked; ``region_motion``) -> centred moving average -> minus a robust similarity fit
over all regions (residual alignment sway; ``globalfit``) -> per-region distance from its running
noise distribution (whitened by the running mean and covariance of recent vectors, so noise is
~Rayleigh(1) in every region) -> signal = the largest distance (upper face left out during
blinks; ``blinks``) -> ``IntervalTracker`` with a threshold of ``cfg.threshold`` above the
signal's running median.

Why a reference frame and not flow(t-k, t): a frame-to-frame difference shows a movement twice
(rising and falling phase) with a dip at the apex. Here the reference trails the current frame
by ``ref_ms`` while nothing happens and is frozen as soon as the signal leaves the baseline,
so during a movement the signal is the displacement from the face before it: one bump, apex
at its top, back to baseline at the offset. After the movement the reference restarts from
the frames since it ended, so the movement is not seen a second time as a lagged reference
passes through it (``reference``). A head jump larger than ``roiflow.head_jump_px`` against the
reference restarts it too and drops the movement under way.
"""

from __future__ import annotations

import numpy as np

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.spotting.base import Spotter
from realtime_mer.spotting.baseline import RunningBaseline, RunningCovariance
from realtime_mer.spotting.blinks import BlinkGate
from realtime_mer.spotting.globalfit import similarity_residual
from realtime_mer.spotting.lagflow import smoothing_half
from realtime_mer.spotting.placement import RegionPlacer
from realtime_mer.spotting.reference import LaggedReference
from realtime_mer.spotting.region_motion import PrepCache, RoiMotion
from realtime_mer.spotting.regions import PROBES, REGIONS
from realtime_mer.spotting.tracker import ARMED, REFRACTORY_MS, IntervalTracker, TrackerSettings
from realtime_mer.types import Interval

N_SIGNAL = len(REGIONS)  # the probes after them only detect blinks


class RoiFlowSpotter(Spotter):
    """Region-motion spotter (the default). Decision delay: ``smooth_ms / 2 + merge_ms``."""

    name = "roiflow"
    can_rewind = True

    def __init__(self, fps: float, cfg: SpotConfig) -> None:
        super().__init__(fps, cfg)
        rc = cfg.roiflow
        lag = cfg.roiflow.flow_step if cfg.roiflow.flow_step > 0 else self.frames(cfg.roiflow.ref_ms)
        self.half = smoothing_half(cfg.roiflow.smooth_ms, fps)
        self.merge = self.frames(cfg.merge_ms)
        self.calib = self.frames(cfg.calibration_ms)
        self.lookahead_frames = self.half + self.merge
        every = self.frames(rc.ref_every_ms)
        alpha = 1.0 - float(np.exp(-1000.0 / (fps * rc.ref_tau_ms)))
        self._ref = LaggedReference(lag, every, alpha, self.frames(2 * rc.ref_tau_ms, minimum=0))
        self._every = every
        self._placer: RegionPlacer | None = None
        self._motion: RoiMotion | None = None
        n_reg = len(REGIONS) + len(PROBES)
        self._base = RunningCovariance(n_reg, self.frames(cfg.baseline_ms), self.frames(rc.stats_every_ms), rc.noise_floor_px)
        self._sbase = RunningBaseline(1, self.frames(cfg.baseline_ms), self.frames(rc.floor_every_ms))
        self._blinks = BlinkGate(fps)
        self._signal = np.arange(n_reg) < N_SIGNAL  # rows that are expression regions (not probes)
        self._blink_onset = self.frames(rc.blink_onset_ms)
        self._armed_max = self.frames(rc.armed_max_ms)
        self._settle_max = self.frames(rc.settle_ms)
        self._settle = 0
        settings = TrackerSettings(self.merge, self.frames(cfg.min_ms, minimum=0), self.frames(cfg.max_ms), self.frames(rc.lookback_ms), self.frames(REFRACTORY_MS), rearm=True)
        self._tracker = IntervalTracker(settings, self.kind_of)
        self._win = 2 * self.half + 1
        self._raw = np.zeros((self._win, n_reg, 2), np.float32)
        self._valid = np.zeros(self._win, bool)
        self._raw_seen = np.ones((self._win, n_reg), bool)
        self._win_frame = np.zeros(self._win, np.int64)
        self._win_ts = np.zeros(self._win, np.int64)
        self.prep: PrepCache | None = None  # shared with another spotter on the same frames (``hybrid``)
        self.reset()

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        self._restart(keep_stats=False)

    def rewind(self) -> None:
        """Warm start: calibration on frames read ahead is done; spot them again from the first."""
        self._restart(keep_stats=True)

    def _restart(self, keep_stats: bool) -> None:
        self._warm = keep_stats
        self._n = 0  # frames since the last reset
        self._ref.clear()
        if self._placer is not None:
            self._placer.reset()
        if not keep_stats:
            self._base.clear()
            self._sbase.clear()
        self._blinks.reset()
        self._tracker.reset()
        self.signal = 0.0
        self.threshold = 0.0

    @property
    def calibrating(self) -> bool:
        return self._n < (self._win if self._warm else self.calib + self.half)

    @property
    def blind(self) -> bool:
        """Calibrating, tracking a confirmed movement, waiting after a give-up, or re-acquiring the
        reference after a movement (a rise that is only armed can still become a detection: not blind)."""
        settling = self._ref.frozen and not self._tracker.busy
        return self.calibrating or self._tracker.active or self._tracker.quiet or settling

    @property
    def blinking(self) -> bool:
        """A blink is under way: the upper face is left out of the signal."""
        return self._blinks.blinking

    # -- per frame -----------------------------------------------------------------------------
    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]:
        motion = self._prepare_motion(buffer.crop_size)
        new_layout = self._placer.update(buffer.landmarks_at(seq)) if self._placer else None
        if new_layout is not None:
            motion.set_layout(new_layout)
        if self.prep is not None:
            cur = self.prep.prepare(motion, buffer, seq, buffer.crop(seq), self._ref.slot(seq))
        else:
            cur = motion.prepare(buffer.crop(seq), self._ref.slot(seq))
        w = self._n % self._win
        self._raw[w] = motion.measure(self._ref.get(seq), cur)
        self._raw_seen[w] = motion.visible(buffer.picture_at(seq))
        self._valid[w] = True
        if float(np.hypot(*motion.shift)) > self.cfg.roiflow.head_jump_px:
            self._ref.restart(seq)  # the head jumped: the reference starts again from this frame
            self._tracker.cancel()
            self._valid[w] = False
        self._win_frame[w] = buffer.frame_index(seq)
        self._win_ts[w] = buffer.timestamp_ns(seq)
        self._n += 1
        if self._n < self._win:
            return []
        c = (self._n - 1 - self.half) % self._win  # the centred average belongs to this frame
        values = np.add.reduce(self._raw, axis=0) * (1.0 / self._win) if self._valid.all() else None
        return self._step(values, int(self._win_frame[c]), int(self._win_ts[c]), seq, self._raw_seen.all(axis=0))

    def _step(self, values: np.ndarray | None, frame: int, ts: int, seq: int, seen: np.ndarray | None = None) -> list[Interval]:
        """Baseline, signal, threshold and tracker for one smoothed sample (None: invalid window); ``seen``: the
        regions inside the camera's picture (the others show replicated border pixels and are left out)."""
        if values is None:
            s = float(self._sbase.median[0])
        else:
            if self._blinks.update(values) and self._blinks.started and self._tracker.busy and self._tracker.age <= self._blink_onset:
                self._tracker.cancel()  # what rose just before the blink was the blink
            usable = self._signal & ~self._blinks.gated_all if self.blinking else self._signal
            if seen is not None:
                usable = usable & seen
            assert self._motion is not None  # built by the first update
            values = similarity_residual(values, self._motion.centres, usable)
            dist = self._base.distance(values)
            if seen is not None:
                dist = np.where(seen, dist, 0.0)
            s = float(np.max(dist[:N_SIGNAL][~self._blinks.gated] if self.blinking else dist[:N_SIGNAL]))
            if not (self._tracker.busy or self.blinking):  # movements and blinks are not noise
                self._base.add(values)
                self._sbase.add(np.array([s], np.float32))
        floor = float(self._sbase.median[0])
        high = floor + self.cfg.threshold
        self.signal, self.threshold = s, high
        self._trace.push(frame, s, high)
        if self.calibrating:
            return []
        low = floor + self.cfg.release
        dropped = self._tracker.dropped
        out = self._tracker.push(frame, ts, s, high, low, floor)
        if self._tracker.state == ARMED and self._tracker.age > self._armed_max:
            self._tracker.cancel()  # never confirmed: noise, not a movement (the reference and stats move on)
        if self._tracker.dropped != dropped and not self.blinking:
            # given up (open past max_ms: a pose that stays) or never confirmed: the frozen reference shows the
            # old pose, and waiting for the signal to fall back against it could last for ever (issue 22):
            # start the reference again from the latest frames at once
            self._ref.restart(seq, self.merge + self.half)
            self._valid[:] = False  # the smoothing window measured against the old reference: refill it
            self._settle = 0
            self._ref.frozen = False
            return out
        busy = self._tracker.busy or self.blinking
        if busy:
            self._settle = 0
        elif self._ref.frozen:  # the movement or blink is over: restart after it, once the face is back
            self._settle += 1
            busy = s > low and self._settle <= self._settle_max
            if not busy:
                self._ref.restart(seq, self.merge + self.half)
        self._ref.frozen = busy
        return out

    def flush(self) -> list[Interval]:
        out = self._tracker.flush()
        self._ref.frozen = False
        return out

    def _prepare_motion(self, crop_size: int) -> RoiMotion:
        """The motion estimator, (re)built for this crop size."""
        if self._motion is None or self._motion.crop_size != crop_size:
            self._motion = RoiMotion(crop_size)
            self._placer = RegionPlacer(self.fps, crop_size, every=self._every)
            self._ref.bind(self._motion)
        return self._motion
