"""``lagflow``: online spotting of rise-and-return movements from lagged region motion.

Built for faces that move by themselves (talking, blinking, shifting, smiling), where a frozen
reference accumulates displacement (``roiflow``). Per frame t:

1. ``D(t)``: each region's displacement of frame t against frame ``t - k`` (``k`` = ``lag_ms``,
   about half a micro-expression), head translation removed (``region_motion``), smoothed by a short
   centred average, minus a robust similarity fit over all regions (``globalfit``: rotation,
   scale and translation left over between the two frames).
2. The rise-and-return test for the frame ``c = t - k`` (the look-ahead is ``k``):
   ``r = D(c)`` = p(c) - p(c-k) (how far the region went out) and ``q = -D(c+k)`` = p(c) - p(c+k)
   (how far it comes back). A micro-expression goes out and comes back: ``r`` and ``q`` point the
   same way. A slow drift gives ``r = -q``, a step (a held pose, a head shift that stays) gives
   ``q = 0``, so the region's score is the smaller of the projections of ``r`` and ``q`` on
   ``r + q`` (``out_and_back``), in units of the region's median curvature ``|r + q|``.
3. Per-region noise from all recent samples (talking, chewing: regions that move all the time
   get a high noise level and count less), signal = the largest region score (upper face left
   out around blinks, seen as the upper lids moving either way), threshold above the signal's
   running median, and the shared ``IntervalTracker``; a movement still open after
   ``max_open_ms`` is given up and the tracker re-arms at once (nothing is frozen, so the
   spotter is never blind for long).

Everything is causal with a fixed look-ahead of ``k + smooth/2 + merge`` frames (290 ms at 200 fps).

Since issue 22 it is the micro path of ``hybrid`` (the default; ``roiflow`` finds the macro-expressions
it misses). Measured numbers are in the README (``tools/bench_spotting.py``); what limits it on faces that
move by themselves: their own region motion over 200 ms is as large as an injected micro-expression.
"""

from __future__ import annotations

import numpy as np

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.spotting.base import Spotter
from realtime_mer.spotting.baseline import RAYLEIGH_Q25_TO_MEDIAN, RunningBaseline, RunningCovariance
from realtime_mer.spotting.globalfit import similarity_residual
from realtime_mer.spotting.placement import RegionPlacer
from realtime_mer.spotting.region_motion import Prepared, PrepCache, RoiMotion
from realtime_mer.spotting.regions import PROBES, REGIONS
from realtime_mer.spotting.tracker import ARMED, REFRACTORY_MS, IntervalTracker, TrackerSettings
from realtime_mer.types import Interval

N_SIGNAL = len(REGIONS)


def out_and_back(r: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Per region, how far it went out (``r``) *and* came back (``q``): the smaller of the two
    projections on their common direction ``r + q``, never below 0. A drift (``q = -r``), a step
    (``q = 0``) or one large half with noise in the other give about 0; a bump gives its height."""
    u = r + q
    n = np.sqrt(np.einsum("ij,ij->i", u, u)) + 1e-12
    return np.maximum(np.minimum(np.einsum("ij,ij->i", r, u), np.einsum("ij,ij->i", q, u)) / n, 0.0)


def smoothing_half(smooth_ms: float, fps: float) -> int:
    """Half-width of a centred average about ``smooth_ms`` long at ``fps``: 2 * half + 1 frames (0 where one frame is
    already that long: at 25-30 fps a 60 ms average would otherwise span 100 ms)."""
    return max(0, round((smooth_ms * fps / 1000.0 - 1.0) / 2.0))


class LagFlowSpotter(Spotter):
    """Lagged rise-and-return region-motion spotter. Decision delay: ``lag + smooth/2 + merge``."""

    name = "lagflow"
    can_rewind = True

    def __init__(self, fps: float, cfg: SpotConfig) -> None:
        super().__init__(fps, cfg)
        self.s = s = cfg.lagflow
        self.k = self.frames(s.lag_ms, minimum=2)
        self._every = self.frames(s.ref_every_ms)
        self.half = smoothing_half(s.smooth_ms, fps)
        self.merge = self.frames(cfg.merge_ms)
        self.calib = self.frames(cfg.calibration_ms)
        self.lookahead_frames = self.k + self.half + self.merge
        # the shared --threshold / --release settings scale lagflow's tuned levels (at their defaults: as tuned)
        self._high = s.threshold * cfg.threshold / SpotConfig.threshold
        self._low = s.release * cfg.release / SpotConfig.release
        n_reg = len(REGIONS) + len(PROBES)
        self._n_reg = n_reg
        self._cov = RunningCovariance(n_reg, self.frames(s.noise_ms), self.frames(s.stats_every_ms), s.noise_floor_px)
        self._mad = RunningBaseline(n_reg, self.frames(s.noise_ms), self.frames(s.stats_every_ms), s.noise_floor_px)
        self._sbase = RunningBaseline(1, self.frames(cfg.baseline_ms), self.frames(s.floor_every_ms))
        self._usable = np.arange(n_reg) < N_SIGNAL
        names = [r.name for r in REGIONS + PROBES]
        self._lids = np.array([names.index("upper_lid_r"), names.index("upper_lid_l")])
        self._brows = np.array([[names.index(f"brow_{p}_{side}") for p in ("inner", "outer")] for side in "rl"])
        self._gated = np.array([r.blinks for r in REGIONS])
        self._gated_all = np.concatenate([self._gated, np.ones(len(PROBES), bool)])
        self._ungated = {False: np.arange(N_SIGNAL), True: np.flatnonzero(~self._gated)}  # region ids of e's entries
        self.top_region = -1  # the region with the highest score at the latest scored frame (diagnostics)
        self._blink_margin = self.frames(s.blink_margin_ms, minimum=0)
        self._armed_max = self.frames(s.armed_max_ms)
        max_open = self.frames(min(s.max_open_ms, cfg.max_ms))
        settings_t = TrackerSettings(self.merge, self.frames(cfg.min_ms, minimum=0), max_open, self.frames(s.lookback_ms), self.frames(REFRACTORY_MS), rearm=True)
        self._tracker = IntervalTracker(settings_t, self.kind_of)
        self._motion: RoiMotion | None = None
        self._placer: RegionPlacer | None = None
        self._refs: list[Prepared] = []
        self._win = 2 * self.half + 1
        self._raw = np.zeros((self._win, n_reg, 2), np.float32)
        self._raw_ok = np.zeros(self._win, bool)
        self._max_open = max_open
        m = 2 * self.k + 2 * max_open + self.merge + 4  # smoothed D of the last m centre frames (extents look this far)
        self._d = np.zeros((m, n_reg, 2), np.float64)
        self._d_ok = np.zeros(m, bool)
        self._d_seen = np.ones((m, n_reg), bool)
        self._raw_seen = np.ones((self._win, n_reg), bool)
        self._d_frame = np.zeros(m, np.int64)
        self._d_ts = np.zeros(m, np.int64)
        self._frame = np.zeros(self._win + self.k + 1, np.int64)
        self._ts = np.zeros(self._win + self.k + 1, np.int64)
        self._pending: list[Interval] = []
        self.prep: PrepCache | None = None  # shared with another spotter on the same frames (``hybrid``)
        self.reset()

    # -- state ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """The face was lost. Once calibrated, the per-region noise levels and the signal's floor are kept (the
        face that comes back is almost always the same person): spotting resumes as soon as the lag window has
        refilled (``lag_ms`` + smoothing), not after a new calibration second (``lagflow.keep_on_loss``)."""
        keep = getattr(self, "_m", 0) > 0 and self.s.keep_on_loss and not self.calibrating
        self._restart(keep_stats=keep)

    def rewind(self) -> None:
        """Warm start: calibration on frames read ahead is done; spot them again from the first. The noise levels
        and the signal's floor come from the quietest half of the calibration (a short clip is mostly movement)."""
        self._mad.settle_quiet(RAYLEIGH_Q25_TO_MEDIAN)
        self._sbase.settle_quiet()
        self._restart(keep_stats=True)

    def _restart(self, keep_stats: bool) -> None:
        self._warm = keep_stats
        self._n = 0  # frames since the last reset
        self._m = 0  # smoothed samples D produced since the last reset
        self._last_blink = -(10**9)  # index (in D samples) of the last lid motion
        if self._placer is not None:
            self._placer.reset()
        if not keep_stats:
            self._cov.clear()
            self._mad.clear()
            self._sbase.clear()
        self._tracker.reset()
        self._raw_ok[:] = False
        self._d_ok[:] = False
        self._pending = []
        self.signal = 0.0
        self.threshold = 0.0

    @property
    def calibrating(self) -> bool:
        """Learning the noise levels (the first ``calibration_ms``; skipped after a warm start or a face loss
        once calibrated), or still filling the lag window (``lag_ms`` + smoothing: nothing can be scored yet)."""
        if self._warm:
            return self._m <= self.k
        return self._n < self.calib + self.lookahead_frames - self.merge

    @property
    def min_frames(self) -> int:
        """The lag window twice (out, then back) with the smoothing and the decision wait."""
        return 2 * self.k + self._every + self._win + self.merge

    @property
    def blind(self) -> bool:
        """Nothing new can be detected now: calibrating or tracking a confirmed movement (after
        ``max_open_ms`` the tracker gives up and re-arms at once, so this never lasts long). A rise that
        is only armed can still become a detection: not blind."""
        return self.calibrating or self._tracker.active or self._tracker.quiet

    @property
    def blinking(self) -> bool:
        return self._m - self._last_blink <= 2 * self.k + self._blink_margin

    # -- per frame -----------------------------------------------------------------------------
    def update(self, buffer: RingBuffer, seq: int) -> list[Interval]:
        motion = self._prepare_motion(buffer.crop_size)
        assert self._placer is not None
        new_layout = self._placer.update(buffer.landmarks_at(seq))
        if new_layout is not None:
            motion.set_layout(new_layout)
        n = self._n
        cur = self._refs[n % len(self._refs)]
        if self.prep is not None:
            self.prep.prepare(motion, buffer, seq, buffer.crop(seq), cur.img)
        else:
            motion.prepare(buffer.crop(seq), cur.img)
        self._seen[n % len(self._refs)] = motion.visible(buffer.picture_at(seq))
        ok = False
        w = n % self._win
        if n >= self.k + self._every - 1:
            # the reference is the latest frame at or before n - k on the ``ref_every`` grid: each
            # reference's solver rows serve ``ref_every`` frames in a row (the lag is k .. k + ref_every - 1)
            ref = n - self.k - (n - self.k) % self._every
            d = motion.measure(self._refs[ref % len(self._refs)], cur.img)
            ok = bool(np.isfinite(d).all()) and float(np.hypot(*motion.shift)) <= self.s.head_jump_px
            self._raw[w] = d if ok else 0.0
            self._raw_seen[w] = self._seen[n % len(self._refs)] & self._seen[ref % len(self._refs)]
            if not ok:
                motion.shift = np.zeros(2)  # the head-shift search starts from zero again
        if n % self._every == 0:
            motion.set_reference(cur)  # frame n becomes a reference (of frames n + k ...)
        self._raw_ok[w] = ok
        j = n % len(self._frame)
        self._frame[j] = buffer.frame_index(seq)
        self._ts[j] = buffer.timestamp_ns(seq)
        self._n += 1
        if n < self.k + self._every - 1 + self._win - 1:
            return []
        return self._push_d(n - self.half)

    def _push_d(self, t: int) -> list[Interval]:
        """A new smoothed D(t); scores the centre frame ``t - k`` once D(t) is known."""
        ok = bool(self._raw_ok.all())
        i = self._m % len(self._d)
        if ok:
            d = np.add.reduce(self._raw, axis=0) * (1.0 / self._win)
            down = np.abs(d[self._lids, 1])  # blinks: from the motion before the global fit
            brow = np.hypot(d[self._brows, 0], d[self._brows, 1]).max(axis=1)
            lid_noise = self.s.blink_z * self._mad.median[self._lids] if self._mad.count else 0.0
            if bool(((down > self.s.blink_px) & (down > self.s.blink_ratio * brow) & (down > lid_noise)).any()):
                self._last_blink = self._m
            usable = self._usable & ~self._gated_all if self._m - self._last_blink <= self.k + self._blink_margin else self._usable
            seen = self._raw_seen.all(axis=0)  # regions inside the camera's picture in every frame of the average
            self._d[i] = similarity_residual(d, self._motion.centres, usable & seen)  # type: ignore[union-attr]
            self._d_seen[i] = seen
        self._d_ok[i] = ok
        tj = t % len(self._frame)
        self._d_frame[i], self._d_ts[i] = self._frame[tj], self._ts[tj]
        self._m += 1
        if self._m <= self.k:
            return []
        c = t - self.k  # the frame scored now
        ic = (self._m - 1 - self.k) % len(self._d)
        fj = c % len(self._frame)
        frame, ts = int(self._frame[fj]), int(self._ts[fj])
        if ok and self._d_ok[ic]:
            r = self._d[ic]  # p(c) - p(c-k)
            q = -self._d[i]  # p(c) - p(c+k)
            a = r + q  # curvature 2p(c) - p(c-k) - p(c+k): a steady drift cancels in it
            if self.s.norm == "mad":
                self._mad.add(np.hypot(a[:, 0], a[:, 1]))
                scale = self._mad.median + self.s.noise_floor_px
                e = out_and_back(r, q) / scale
            else:
                e = np.sqrt(np.maximum(self._cov.inner(r, q), 0.0))
            e = np.where(self._d_seen[ic] & self._d_seen[i], e, 0.0)  # out of the picture: replicated border, not a face
            e = e[:N_SIGNAL][~self._gated] if self.blinking else e[:N_SIGNAL]
            self.top_region = int(self._ungated[self.blinking][int(np.argmax(e))])
            s = float(np.max(e)) if self.s.top <= 1 else float(np.mean(np.partition(e, len(e) - self.s.top)[-self.s.top :]))
            if not self._tracker.busy:
                self._sbase.add(np.array([s], np.float32))
            quiet = not self._tracker.busy and s <= float(self._sbase.median[0]) + self.s.release
            if self.s.norm == "cov" and (self.s.noise_all or self.calibrating or quiet):
                self._add_noise(a)
        else:
            s = float(self._sbase.median[0])
        floor = float(self._sbase.median[0])
        high = floor + self._high
        self.signal, self.threshold = s, high
        self._trace.push(frame, s, high)
        if self.calibrating:
            return []
        self._pending += self._tracker.push(frame, ts, s, high, floor + self._low, floor)
        if self._tracker.state == ARMED and self._tracker.age > self._armed_max:
            self._tracker.cancel()  # a rise that never reached the detection level: noise, not a movement
        return self._decide(final=False) if self._pending else []

    def _decide(self, final: bool) -> list[Interval]:
        """Intervals whose extent is known now (``final``: end of stream, with the data there is)."""
        out: list[Interval] = []
        keep: list[Interval] = []
        for iv in self._pending:
            done = self._extent(iv, final)
            if done is None:
                keep.append(iv)
            elif isinstance(done, Interval):
                out.append(done)
        self._pending = keep
        return out

    def _sample(self, frame: int) -> int | None:
        """The D sample index of ``frame`` if still held."""
        n = len(self._d)
        lo = max(0, self._m - n)
        hits = np.nonzero(self._d_frame == frame)[0]
        for h in hits:
            idx = self._m - 1 - ((self._m - 1 - h) % n)
            if idx >= lo:
                return int(idx)
        return None

    def _extent(self, iv: Interval, final: bool) -> Interval | bool | None:
        """Onset and offset from the apex region's own out and back motion (None: wait for data; False: drop).

        At the apex c the region with the largest score moved along ``u`` (``r + q``). Onset: walking
        back, the last frame x where the out motion ``D(x) . u`` (= p(x) - p(x-k)) is still above
        ``extent_frac`` of its apex value; offset: walking forward, the last frame y where the back
        motion ``-D(y+k) . u`` (= p(y) - p(y+k)) still is. Both fall to zero where the movement
        starts and ends, whatever its length (the score itself only spans about k around the apex)."""
        n = len(self._d)
        ma = self._sample(iv.apex)
        if ma is None or ma + self.k > self._m - 1:
            return None if not final and ma is not None else iv
        d = self._d
        r, q = d[ma % n], -d[(ma + self.k) % n]
        e = out_and_back(r, q)[:N_SIGNAL] / (self._mad.median[:N_SIGNAL] + self.s.noise_floor_px)
        rho = int(np.argmax(e))
        u = r[rho] + q[rho]
        norm = float(np.hypot(*u))
        if norm <= 0:
            return iv
        u = u / norm
        lo = max(0, self._m - n)
        f = self.s.extent_frac
        peak_r = float(d[ma % n, rho] @ u)
        x = ma
        while x - 1 >= lo and ma - (x - 1) <= self._max_open and self._d_ok[(x - 1) % n] and float(d[(x - 1) % n, rho] @ u) > f * peak_r:
            x -= 1
        peak_q = float(-d[(ma + self.k) % n, rho] @ u)
        y = ma
        while (y + 1) - ma <= self._max_open:
            if y + 1 + self.k > self._m - 1:
                if not final:
                    return None
                break
            j = (y + 1 + self.k) % n
            if not self._d_ok[j] or float(-d[j, rho] @ u) <= f * peak_q:
                break
            y += 1
        onset, offset = int(self._d_frame[x % n]), int(self._d_frame[y % n])
        if offset - onset < 2:
            return False
        return Interval(
            onset=onset, apex=iv.apex, offset=offset, kind=self.kind_of(onset, offset), score=iv.score,
            onset_ns=int(self._d_ts[x % n]), apex_ns=iv.apex_ns, offset_ns=int(self._d_ts[y % n]),
        )

    def _add_noise(self, d: np.ndarray) -> None:
        """D of a scored frame into the regions' covariance, clipped (a movement counts as at most ``noise_clip`` sigma)."""
        if self.s.noise_clip > 0 and self._cov.count >= self._cov.every:
            dist = self._cov.distance(d)
            over = dist > self.s.noise_clip
            if over.any():
                mean = self._cov.mean
                d = np.where(over[:, None], mean + (d - mean) * (self.s.noise_clip / np.maximum(dist, 1e-12))[:, None], d)
        self._cov.add(d)

    def flush(self) -> list[Interval]:
        self._pending += self._tracker.flush()
        return self._decide(final=True)

    def _prepare_motion(self, crop_size: int) -> RoiMotion:
        if self._motion is None or self._motion.crop_size != crop_size:
            self._motion = RoiMotion(crop_size)
            self._placer = RegionPlacer(self.fps, crop_size, every=self.frames(20.0))
            self._refs = [self._motion.blank() for _ in range(self.k + self._every)]
            self._seen = np.ones((len(self._refs), self._n_reg), bool)  # regions inside the picture, per reference slot
            self.reset()
        return self._motion
