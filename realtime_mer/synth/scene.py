"""The timeline of a synthetic clip: injected movements and distractors, planned from a seed.

Every quantity is a pure function of the frame index, so any frame can be rendered in any
order (the demo source renders on demand; tests compare frames with and without movements).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from realtime_mer.synth.aus import MOVEMENTS, aus_str
from realtime_mer.synth.profile import profile_value, smoothstep
from realtime_mer.synth.truth import TruthRow
from realtime_mer.types import CLASSES, Interval, IntervalKind, classify_kind

Range = tuple[float, float]


@dataclass
class SceneConfig:
    """How movements and distractors are drawn (times in s or ms, amplitudes in px at a 200 px face)."""

    lead_in_s: float = 1.5  # no movement starts earlier: spotters calibrate on the first second
    lead_jitter_s: float = 1.0  # the first movement starts up to this much after the lead-in
    tail_s: float = 0.4  # nor ends later than this before the end
    min_gap_s: float = 1.0  # between one movement's offset and the next onset
    max_gap_s: float = 2.5
    max_movements: int | None = None
    macro_fraction: float = 0.25
    micro_ms: Range = (40.0, 490.0)  # onset → offset
    micro_typical_ms: Range = (150.0, 490.0)  # where most micro durations are drawn
    micro_typical_p: float = 0.85
    macro_ms: Range = (600.0, 3000.0)
    micro_amp_px: Range = (0.6, 2.5)
    macro_amp_px: Range = (1.5, 4.0)
    apex_frac: Range = (0.3, 0.55)  # apex position within the movement
    margin_s: float = 0.15  # distractors keep this far from movements
    blink_every_s: Range = (2.0, 6.0)
    blink_ms: Range = (100.0, 300.0)
    blink_closure: Range = (0.7, 1.0)
    jerk_every_s: Range = (4.0, 10.0)
    jerk_px: Range = (0.8, 2.5)
    jerk_rot_deg: float = 0.4
    jerk_ms: Range = (20.0, 60.0)
    jerk_hold_s: Range = (0.2, 0.8)
    jerk_return_s: Range = (0.4, 1.2)
    drift_px: float = 1.5  # amplitude of the slow head drift per axis (0: none)
    drift_rot_deg: float = 0.3
    drift_scale: float = 0.003
    drift_hz: Range = (0.05, 0.35)
    flicker_every_s: Range = (3.0, 8.0)
    flicker_ms: Range = (30.0, 150.0)
    flicker_gain: Range = (0.02, 0.05)


@dataclass(frozen=True, slots=True)
class Movement:
    """An injected AU movement (frame indices inclusive)."""

    onset: int
    apex: int
    offset: int
    aus: tuple[int, ...]
    label: str
    amplitude_px: float  # peak displacement at a 200 px face

    def kind(self, fps: float) -> IntervalKind:
        return classify_kind(self.onset, self.offset, fps)

    def intensity(self, i: int) -> float:
        return profile_value(i, self.onset, self.apex, self.offset)

    def truth(self, video: str, fps: float) -> TruthRow:
        return TruthRow(video, Interval(self.onset, self.apex, self.offset, self.kind(fps)), aus_str(self.aus), self.label)


@dataclass(frozen=True, slots=True)
class Pulse:
    """A raised-cosine distractor (blink closure fraction, flicker gain offset)."""

    onset: int
    apex: int
    offset: int
    value: float

    def at(self, i: int) -> float:
        return self.value * profile_value(i, self.onset, self.apex, self.offset)


@dataclass(frozen=True, slots=True)
class Jerk:
    """A sudden small head shift: fast move, hold, slow return."""

    onset: int
    reached: int
    hold_end: int
    offset: int
    dx: float
    dy: float
    rot: float  # radians

    def weight(self, i: int) -> float:
        if i <= self.onset or i >= self.offset:
            return 0.0
        if i < self.reached:
            return smoothstep((i - self.onset) / (self.reached - self.onset))
        if i <= self.hold_end:
            return 1.0
        return 1.0 - smoothstep((i - self.hold_end) / (self.offset - self.hold_end))


class _Track:
    """Non-overlapping events sorted by onset, looked up by frame index."""

    def __init__(self, events: list) -> None:
        self.events = sorted(events, key=lambda e: e.onset)
        self._onsets = [e.onset for e in self.events]

    def at(self, i: int):  # -> event | None
        k = bisect.bisect_right(self._onsets, i) - 1
        if k >= 0 and self.events[k].onset <= i <= self.events[k].offset:
            return self.events[k]
        return None


@dataclass
class Scene:
    """Planned timeline of one clip of ``n_frames`` at ``fps``."""

    n_frames: int
    fps: float
    movements: list[Movement]
    blinks: list[Pulse] = field(default_factory=list)
    jerks: list[Jerk] = field(default_factory=list)
    flickers: list[Pulse] = field(default_factory=list)
    drift: np.ndarray = field(default_factory=lambda: np.zeros((4, 3, 3)))  # (param, component, [amp, hz, phase])

    def __post_init__(self) -> None:
        self._mov = _Track(self.movements)
        self._blink = _Track(self.blinks)
        self._jerk = _Track(self.jerks)
        self._flicker = _Track(self.flickers)
        self._drift = [[tuple(float(x) for x in c) for c in p] for p in self.drift]

    def truth(self, video: str) -> list[TruthRow]:
        return [m.truth(video, self.fps) for m in self._mov.events]

    def movement_at(self, i: int) -> tuple[Movement, float] | None:
        """The movement active at frame ``i`` and its intensity (0..1), or None."""
        m = self._mov.at(i)
        if m is None:
            return None
        w = m.intensity(i)
        return (m, w) if w > 0 else None

    def blink_at(self, i: int) -> float:
        """Lid closure fraction (0 open .. 1 closed)."""
        b = self._blink.at(i)
        return b.at(i) if b else 0.0

    def gain_at(self, i: int) -> float:
        """Global brightness gain (1 = unchanged)."""
        f = self._flicker.at(i)
        return 1.0 + (f.at(i) if f else 0.0)

    def jerking(self, i: int, after: int = 0) -> bool:
        """True during the fast rise of a head jerk (and ``after`` frames past it)."""
        j = self._jerk.at(i)
        return j is not None and i < j.reached + after

    def pose_at(self, i: int) -> tuple[float, float, float, float]:
        """Head motion (tx px, ty px at a 200 px face, rotation rad, relative scale change)."""
        t = 2 * math.pi * i / self.fps
        tx, ty, rot, sc = (sum(a * math.sin(f * t + ph) for a, f, ph in comps) for comps in self._drift)
        j = self._jerk.at(i)
        if j is not None:
            w = j.weight(i)
            tx, ty, rot = tx + w * j.dx, ty + w * j.dy, rot + w * j.rot
        return tx, ty, rot, sc


def _ms(rng: np.random.Generator, r: Range, fps: float, lo: int = 1) -> int:
    return max(round(rng.uniform(*r) * fps / 1000.0), lo)


class _Occupancy:
    """Frames that are taken (by movements and distractors) or unusable (no face)."""

    def __init__(self, n: int, face_ok: np.ndarray | None) -> None:
        self.n = n
        ok = np.ones(n, bool) if face_ok is None else np.asarray(face_ok, bool)[:n]
        self.free = ok.copy()

    def fits(self, a: int, b: int) -> bool:
        return 0 <= a and b < self.n and bool(self.free[a : b + 1].all())

    def take(self, a: int, b: int) -> None:
        self.free[max(a, 0) : min(b + 1, self.n)] = False

    def next_fit(self, a: int, length: int) -> int | None:
        """First start ≥ ``a`` where ``length`` frames are free."""
        while a + length <= self.n:
            blocked = np.flatnonzero(~self.free[a : a + length])
            if blocked.size == 0:
                return a
            a += int(blocked[-1]) + 1
        return None


def _movement(rng: np.random.Generator, cfg: SceneConfig, fps: float, onset: int, macro: bool,
              visible: Callable[[tuple[int, ...]], bool] | None = None) -> Movement:
    if macro:
        dur = _ms(rng, cfg.macro_ms, fps, 4)
        amp = rng.uniform(*cfg.macro_amp_px)
    else:
        r = cfg.micro_typical_ms if rng.random() < cfg.micro_typical_p else cfg.micro_ms
        dur = _ms(rng, r, fps, 2)
        amp = rng.uniform(*cfg.micro_amp_px)
    apex = onset + min(max(round(rng.uniform(*cfg.apex_frac) * dur), 1), dur - 1)
    label = CLASSES[int(rng.integers(len(CLASSES)))]
    choices = [aus for aus, lab in MOVEMENTS if lab == label and (visible is None or visible(aus))]
    if not choices:  # no movement of this class can be seen (a close-up without its mouth): any that can
        choices = [aus for aus, _ in MOVEMENTS if visible is None or visible(aus)] or [aus for aus, _ in MOVEMENTS]
        label = dict(MOVEMENTS)[choices[0]] if len(choices) == 1 else label
    aus = choices[int(rng.integers(len(choices)))]
    label = dict(MOVEMENTS)[aus]
    return Movement(onset, apex, onset + dur, aus, label, float(amp))


def plan_scene(n_frames: int, fps: float, seed: int | np.random.Generator, cfg: SceneConfig | None = None, face_ok: np.ndarray | None = None,
               visible: Callable[[tuple[int, ...]], bool] | None = None) -> Scene:
    """Draw a scene: movements ≥ ``min_gap_s`` apart, then blinks, jerks and flickers clear of them.

    ``visible`` (an AU combination -> whether the camera sees it) keeps movements to what the picture shows.

    ``face_ok`` (bool per frame) limits every event to frames where a face is present.
    """
    cfg = cfg or SceneConfig()
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    occ = _Occupancy(n_frames, face_ok)
    margin = round(cfg.margin_s * fps)
    end_limit = n_frames - 1 - round(cfg.tail_s * fps)
    movements: list[Movement] = []
    t = round((cfg.lead_in_s + (rng.uniform(0.0, cfg.lead_jitter_s) if cfg.lead_jitter_s > 0 else 0.0)) * fps)
    while cfg.max_movements is None or len(movements) < cfg.max_movements:
        for attempt in range(4):  # the last attempts are micro: a long macro may not fit the end
            m = _movement(rng, cfg, fps, 0, attempt < 2 and rng.random() < cfg.macro_fraction, visible)
            start = occ.next_fit(t, m.offset + 1 + 2 * margin)
            if start is not None and start + margin + m.offset <= end_limit:
                break
        else:
            break
        assert start is not None
        s = start + margin
        m = Movement(s, s + m.apex, s + m.offset, m.aus, m.label, m.amplitude_px)
        movements.append(m)
        occ.take(m.onset - margin, m.offset + margin)
        t = m.offset + round(rng.uniform(cfg.min_gap_s, cfg.max_gap_s) * fps)

    blinks = [Pulse(a, a + max(round(0.4 * (b - a)), 1), b, rng.uniform(*cfg.blink_closure)) for a, b in _place(rng, occ, fps, cfg.blink_every_s, lambda: _ms(rng, cfg.blink_ms, fps, 3))]
    phases: list[tuple[int, int, int]] = []

    def jerk_length() -> int:
        phases.append(_jerk_phases(rng, cfg, fps))
        return sum(phases[-1])

    jerks = []
    for (a, _), (rise, hold, back) in zip(_place(rng, occ, fps, cfg.jerk_every_s, jerk_length), phases, strict=False):
        ang = rng.uniform(0, 2 * math.pi)
        mag = rng.uniform(*cfg.jerk_px)
        rot = math.radians(rng.uniform(-1, 1) * cfg.jerk_rot_deg)
        jerks.append(Jerk(a, a + rise, a + rise + hold, a + rise + hold + back, mag * math.cos(ang), mag * math.sin(ang), rot))
    flickers = [Pulse(a, (a + b) // 2, b, float(rng.choice([-1.0, 1.0]) * rng.uniform(*cfg.flicker_gain))) for a, b in _place(rng, occ, fps, cfg.flicker_every_s, lambda: _ms(rng, cfg.flicker_ms, fps, 3))]

    drift = np.zeros((4, 3, 3))
    amps = (cfg.drift_px, cfg.drift_px, math.radians(cfg.drift_rot_deg), cfg.drift_scale)
    for p, amp in enumerate(amps):
        w = rng.uniform(0.5, 1.0, 3)
        drift[p, :, 0] = amp * w / w.sum()
        drift[p, :, 1] = rng.uniform(*cfg.drift_hz, 3)
        drift[p, :, 2] = rng.uniform(0, 2 * math.pi, 3)
    return Scene(n_frames, fps, movements, blinks, jerks, flickers, drift)


def _jerk_phases(rng: np.random.Generator, cfg: SceneConfig, fps: float) -> tuple[int, int, int]:
    return _ms(rng, cfg.jerk_ms, fps, 2), _ms(rng, (cfg.jerk_hold_s[0] * 1e3, cfg.jerk_hold_s[1] * 1e3), fps), _ms(rng, (cfg.jerk_return_s[0] * 1e3, cfg.jerk_return_s[1] * 1e3), fps, 2)


def _place(rng: np.random.Generator, occ: _Occupancy, fps: float, every_s: Range, draw_length: Callable[[], int]) -> list[tuple[int, int]]:
    """(start, end) frames of events recurring every ``every_s``, in free frames only (then taken)."""
    out: list[tuple[int, int]] = []
    t = round(rng.uniform(0.3, 1.0) * rng.uniform(*every_s) * fps)
    while True:
        n = draw_length()
        start = occ.next_fit(t, n + 1)
        if start is None:
            return out
        occ.take(start, start + n)
        out.append((start, start + n))
        t = start + n + round(rng.uniform(*every_s) * fps)

