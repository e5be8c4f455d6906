"""Synthetic aligned-face sequences with known movements, for the spotting tests.

A 128x128 crop of the bundled astronaut face, aligned to the pipeline's face template (or, when
that asset is absent, a face drawn on the template's landmarks), is warped frame by frame with
``cv2.remap``: Gaussian displacement bumps anchored on landmarks with raised-cosine onset ->
apex -> offset profiles, sensor noise, sub-pixel alignment jitter, head jerks, and blinks (lids
close over the darkened eyes; the lid bump is as wide as ``realtime_mer.synth``'s, so it drags
the skin around the eyes and the brows too). Everything is given in milliseconds and converted
with ``fps``, so the same scenario runs at 200 and at 30 fps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.buffer import RingBuffer
from realtime_mer.face.geometry import RIGID_FIT, fit_similarity, template
from realtime_mer.types import Interval, classify_kind

ASSETS = Path(__file__).resolve().parents[2] / "realtime_mer" / "assets"
CROP = 128
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)


@dataclass(frozen=True)
class Movement:
    """A local facial movement: tissue near ``anchor`` moves by ``shift`` px at the apex."""

    anchor: tuple[int, ...]
    shift: tuple[float, float]
    onset_ms: float
    duration_ms: float
    sigma: float = 5.0  # px, spatial extent of the bump
    apex_frac: float = 0.5  # apex position within the movement
    hold_ms: float = 0.0  # plateau at the apex (macro expressions)


@dataclass(frozen=True)
class Blink:
    """Both upper lids close and reopen."""

    onset_ms: float
    duration_ms: float = 150.0
    depth: float = 1.0


@dataclass(frozen=True)
class Jerk:
    """A sudden global translation of the crop (head jerk / alignment jump), held afterwards."""

    at_ms: float
    shift: tuple[float, float]
    ramp_ms: float = 10.0


@dataclass
class Scenario:
    fps: float = 200.0
    seconds: float = 6.0
    noise: float = 2.0  # grey levels, sensor noise
    jitter: float = 0.15  # px, per-frame global alignment jitter (std)
    landmark_jitter: float = 0.3  # px, FaceMesh jitter (std)
    movements: list[Movement] = field(default_factory=list)
    blinks: list[Blink] = field(default_factory=list)
    jerks: list[Jerk] = field(default_factory=list)
    seed: int = 0
    drawn: bool = False  # force the drawn face instead of the astronaut


@dataclass
class Sequence:
    fps: float
    frames: np.ndarray  # (N, 128, 128) uint8
    landmarks: np.ndarray  # (N, 468, 2) float32
    truth: list[tuple[int, int, int, str]]  # onset, apex, offset, kind (0-based inclusive frames)


@lru_cache(maxsize=2)
def base_face(drawn: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(crop (128,128) float32, landmarks (468,2) float32) of the neutral face on the pipeline's template."""
    tpl = template(CROP).astype(np.float32)
    img_path, lm_path = ASSETS / "astronaut.png", ASSETS / "astronaut_landmarks.npy"
    if drawn or not (img_path.is_file() and lm_path.is_file()):
        return _drawn_face(tpl), tpl
    img = cv2.imread(str(img_path), cv2.IMREAD_GRAYSCALE)
    lm = np.load(lm_path).astype(np.float32)
    if lm.max() <= 1.5:  # normalised coordinates
        lm = lm * np.float32([img.shape[1], img.shape[0]])
    m = fit_similarity(lm[list(RIGID_FIT)], tpl[list(RIGID_FIT)]).astype(np.float32)
    crop = cv2.warpAffine(img, m, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return crop.astype(np.float32), (lm @ m[:, :2].T + m[:, 2]).astype(np.float32)


def _drawn_face(lm: np.ndarray) -> np.ndarray:
    """A textured face drawn on the landmark template: skin texture, brows, eyes, nose, lips."""
    rng = np.random.default_rng(1234)
    tex = cv2.GaussianBlur(rng.normal(0, 1, (CROP, CROP)).astype(np.float32), (0, 0), 2.0)
    img = 150 + 25 * tex / tex.std()
    canvas = np.zeros((CROP * 4, CROP * 4), np.uint8)
    p = np.round(lm * 4).astype(np.int32)
    oval = cv2.convexHull(p)
    cv2.fillConvexPoly(canvas, oval, 40)
    for brow in ((70, 63, 105, 66, 107), (336, 296, 334, 293, 300)):
        cv2.polylines(canvas, [p[list(brow)]], False, 120, 14)
    for eye in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(canvas, [p[list(eye)]], 160)
    cv2.polylines(canvas, [p[[98, 97, 2, 326, 327]]], False, 110, 8)  # nostrils
    lips = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
    cv2.fillPoly(canvas, [p[list(lips)]], 90)
    shade = cv2.resize(canvas, (CROP, CROP), interpolation=cv2.INTER_AREA).astype(np.float32)
    return np.clip(img - cv2.GaussianBlur(shade, (0, 0), 0.8), 0, 255)


def _profile(t_ms: np.ndarray, onset: float, duration: float, apex_frac: float, hold: float) -> np.ndarray:
    """Raised-cosine rise to 1 at the apex, optional plateau, raised-cosine fall to 0."""
    rise = max(duration - hold, 1e-6) * apex_frac
    fall = max(duration - hold, 1e-6) - rise
    x = t_ms - onset
    out = np.zeros_like(t_ms)
    up = (x >= 0) & (x < rise)
    out[up] = 0.5 - 0.5 * np.cos(np.pi * x[up] / rise)
    out[(x >= rise) & (x <= rise + hold)] = 1.0
    down = (x > rise + hold) & (x <= duration)
    out[down] = 0.5 + 0.5 * np.cos(np.pi * (x[down] - rise - hold) / fall)
    return out


def _bump(lm: np.ndarray, anchor: tuple[int, ...], sigma: tuple[float, float]) -> np.ndarray:
    cx, cy = lm[list(anchor)].mean(0)
    yy, xx = np.mgrid[0:CROP, 0:CROP].astype(np.float32)
    return np.exp(-((xx - cx) ** 2) / (2 * sigma[0] ** 2) - (yy - cy) ** 2 / (2 * sigma[1] ** 2)).astype(np.float32)


def make_sequence(sc: Scenario) -> Sequence:
    """Render the scenario; truth frames are 0-based and inclusive."""
    base, lm0 = base_face(sc.drawn)
    rng = np.random.default_rng(sc.seed)
    n = round(sc.seconds * sc.fps)
    t_ms = np.arange(n) * 1000.0 / sc.fps
    yy, xx = np.mgrid[0:CROP, 0:CROP].astype(np.float32)
    fields = [_bump(lm0, m.anchor, (m.sigma, m.sigma)) for m in sc.movements]
    amps = [_profile(t_ms, m.onset_ms, m.duration_ms, m.apex_frac, m.hold_ms) for m in sc.movements]
    # blinks: upper lids slide down over the eyes and the eye darkens to lid skin
    # a lid-closure bump per eye as wide as the realtime_mer.synth blink (0.45 eye widths, 0.9 openings)
    eye_w = [_bump(lm0, (up, lo), (0.45 * float(np.linalg.norm(lm0[a] - lm0[b])), max(0.9 * float(np.linalg.norm(lm0[up] - lm0[lo])), 2.0))) for up, lo, a, b in ((159, 145, 33, 133), (386, 374, 263, 362))]
    lid_mask = np.zeros((CROP, CROP), np.float32)
    for eye in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(lid_mask, [np.round(lm0[list(eye)] * 8).astype(np.int32)], 1.0, shift=3)
    lid_mask = cv2.GaussianBlur(lid_mask, (0, 0), 1.0)
    eye_h = float(np.linalg.norm(lm0[159] - lm0[145]) + np.linalg.norm(lm0[386] - lm0[374])) / 2
    lid_tone = float(base[(lid_mask > 0.05) & (lid_mask < 0.3)].mean())
    blink_amp = sum((_profile(t_ms, b.onset_ms, b.duration_ms, 0.4, 0.0) * b.depth for b in sc.blinks), np.zeros(n))
    glob = rng.normal(0, sc.jitter, (n, 2))
    for j in sc.jerks:
        step = np.clip((t_ms - j.at_ms) / max(j.ramp_ms, 1e-6), 0, 1)[:, None]
        glob += step * np.asarray(j.shift)[None]
    frames = np.empty((n, CROP, CROP), np.uint8)
    lms = np.empty((n, len(lm0), 2), np.float32)
    ax, ay = lm0[:, 0].round().astype(int).clip(0, CROP - 1), lm0[:, 1].round().astype(int).clip(0, CROP - 1)
    for i in range(n):
        # local movements are defined on the neutral face, which the global shift then moves
        local = np.zeros((CROP, CROP, 2), np.float32)
        lm = lm0.copy()
        moving = blink_amp[i] > 0
        for m, f, a in zip(sc.movements, fields, amps, strict=True):
            if a[i] > 0:
                moving = True
                local[..., 0] += (a[i] * m.shift[0]) * f
                local[..., 1] += (a[i] * m.shift[1]) * f
                lm += a[i] * np.stack([m.shift[0] * f[ay, ax], m.shift[1] * f[ay, ax]], 1)
        img = base
        if blink_amp[i] > 0:
            c = float(blink_amp[i])
            for w in eye_w:
                local[..., 1] += (c * eye_h) * w
            img = base * (1 - c * lid_mask) + lid_tone * c * lid_mask
        g = glob[i].astype(np.float32)
        shift = np.float32([[1, 0, g[0]], [0, 1, g[1]]])
        if moving:
            local = cv2.warpAffine(local, shift, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        warped = cv2.remap(img, xx - g[0] - local[..., 0], yy - g[1] - local[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        lm += g
        warped += rng.normal(0, sc.noise, warped.shape).astype(np.float32)
        frames[i] = np.clip(np.round(warped), 0, 255).astype(np.uint8)
        lms[i] = lm + rng.normal(0, sc.landmark_jitter, lm.shape).astype(np.float32)
    truth = []
    for m in sc.movements:
        on = int(np.ceil(m.onset_ms * sc.fps / 1000.0 - 1e-9))
        off = int(np.floor((m.onset_ms + m.duration_ms) * sc.fps / 1000.0 + 1e-9))
        apex = round((m.onset_ms + (m.duration_ms - m.hold_ms) * m.apex_frac + m.hold_ms / 2) * sc.fps / 1000.0)
        truth.append((on, apex, off, classify_kind(on, off, sc.fps)))
    return Sequence(sc.fps, frames, lms, sorted(truth))


def run_spotter(seq: Sequence, spotter: object, *, start: int = 0, stop: int | None = None, buffer: RingBuffer | None = None) -> list[Interval]:
    """Push frames ``start:stop`` through a ring buffer and a spotter; returns all intervals (flushed)."""
    buf = buffer or RingBuffer.for_seconds(5.0, seq.fps)
    out: list[Interval] = []
    stop = len(seq.frames) if stop is None else stop
    for i in range(start, stop):
        s = buf.push(seq.frames[i], seq.landmarks[i], round(i * 1e9 / seq.fps), i)
        out += spotter.update(buf, s)  # type: ignore[attr-defined]
    return out + spotter.flush()  # type: ignore[attr-defined]


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Inclusive-frame IoU of two intervals."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def best_match(truth: tuple[int, int, int, str], found: list[Interval]) -> tuple[float, Interval | None]:
    """The found interval with the highest IoU to ``truth`` and that IoU."""
    best: tuple[float, Interval | None] = (0.0, None)
    for iv in found:
        v = iou((truth[0], truth[2]), (iv.onset, iv.offset))
        if v > best[0]:
            best = (v, iv)
    return best
