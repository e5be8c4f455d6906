"""Measuring the face stage: alignment error, crop jitter, speed and face-found rate.

Used by ``tools/measure_alignment.py`` and the tests. All errors are in crop pixels, measured at
the template's rigid points (where a wrong transform shows up as fake motion).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.config import FaceConfig, TrackConfig
from realtime_mer.errors import SourceError, fail
from realtime_mer.face.aligner import FaceAligner
from realtime_mer.face.geometry import RIGID_FIT, apply, compose, fit_similarity, invert, template, warp
from realtime_mer.face.mesh import FaceMesh
from realtime_mer.types import Frame


def rigid_error(a: np.ndarray, b: np.ndarray, size: int = 128) -> float:
    """Mean distance (crop px) between where transforms ``a`` and ``b`` put the template's rigid points."""
    pts = template(size)[list(RIGID_FIT)]
    return float(np.linalg.norm(apply(compose(a, invert(b)), pts) - pts, axis=1).mean())


def read_video(path: Path, limit: int | None = None, step: int = 1) -> list[np.ndarray]:
    """BGR frames of a video file (every ``step``-th, at most ``limit``)."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise fail(SourceError, f"cannot open video {path}", "check the path and codec")
    frames: list[np.ndarray] = []
    i = 0
    while limit is None or len(frames) < limit:
        ok, img = cap.read()
        if not ok:
            break
        if i % step == 0:
            frames.append(img)
        i += 1
    cap.release()
    return frames


@dataclass
class Sway:
    """Synthetic head sway of a still face: a similarity per frame (base image -> frame)."""

    fps: float = 200.0
    shift_px: float = 30.0  # main translation amplitude (peak speed ~2 px/frame at 200 fps)
    roll_deg: float = 3.0
    zoom: float = 0.03
    noise: float = 3.0  # sensor noise sigma, grey levels
    seed: int = 0


def place_face(landmarks: np.ndarray, size: tuple[int, int] = (640, 480), width_px: float = 180.0) -> np.ndarray:
    """Scale+shift (2, 3) that puts a face (its landmarks' box) in the middle of a ``size`` canvas, ``width_px`` wide."""
    lo, hi = landmarks.min(0), landmarks.max(0)
    s = width_px / float(hi[0] - lo[0])
    c = (lo + hi) / 2.0
    return np.array([[s, 0.0, size[0] / 2 - s * c[0]], [0.0, s, size[1] / 2 - s * c[1]]])


def sway_frames(
    face: np.ndarray, base: np.ndarray, n: int, sway: Sway, size: tuple[int, int] = (640, 480)
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(frame, W)`` pairs: BGR ``face`` placed by ``base`` (see ``place_face``) on a ``size`` canvas, then moved.

    ``W`` maps ``face`` pixels to frame pixels; the motion is a sum of sines (translation, roll, zoom
    about the canvas centre) plus Gaussian sensor noise.
    """
    w, h = size
    rng = np.random.default_rng(sway.seed)
    phase = rng.uniform(0, 2 * np.pi, 5)
    bank = [np.round(rng.normal(0.0, sway.noise, (h, w, 3))).astype(np.int16) for _ in range(8)] if sway.noise > 0 else []
    for i in range(n):
        t = i / sway.fps
        tx = sway.shift_px * np.sin(2 * np.pi * 1.3 * t + phase[0]) + sway.shift_px / 3 * np.sin(2 * np.pi * 3.1 * t + phase[1])
        ty = sway.shift_px / 2 * np.sin(2 * np.pi * 0.9 * t + phase[2])
        ang = np.radians(sway.roll_deg * np.sin(2 * np.pi * 1.0 * t + phase[3]))
        s = 1.0 + sway.zoom * np.sin(2 * np.pi * 0.5 * t + phase[4])
        a, b = s * np.cos(ang), s * np.sin(ang)
        c = np.array([w / 2, h / 2])
        move = np.array([[a, -b, c[0] - a * c[0] + b * c[1] + tx], [b, a, c[1] - b * c[0] - a * c[1] + ty]])
        m = compose(move, base)
        img = cv2.warpAffine(face, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if bank:  # fresh-looking sensor noise: one of 8 fields, each used at a random offset
            k, dy, dx = rng.integers(len(bank)), rng.integers(0, 8), rng.integers(0, 8)
            field = np.roll(bank[k], (dy, dx), axis=(0, 1))
            img = np.clip(img.astype(np.int16) + field, 0, 255).astype(np.uint8)
        yield img, m


def mesh_fits(frames: list[np.ndarray], size: int = 128) -> list[np.ndarray | None]:
    """Per-frame FaceMesh (full image, video mode, one face) rigid-point fits: the reference transforms."""
    tpl = template(size)[list(RIGID_FIT)]
    out: list[np.ndarray | None] = []
    with FaceMesh(1, False) as mesh:
        for img in frames:
            lm = mesh.largest(img)
            out.append(None if lm is None else fit_similarity(lm[list(RIGID_FIT)], tpl))
    return out


@dataclass
class Run:
    """The aligner's output on a sequence: per-frame transform (None: no face), crops and cost."""

    transforms: list[np.ndarray | None]
    crops: list[np.ndarray | None]
    ms_per_frame: float  # wall clock per process() call
    cpu_ms_per_frame: float  # process CPU time (all threads, MediaPipe's included) per call
    stats: dict[str, float]

    @property
    def found(self) -> int:
        return sum(t is not None for t in self.transforms)


def run_aligner(frames: list[np.ndarray], cfg: FaceConfig, tune: TrackConfig | None = None, fps: float = 200.0) -> Run:
    """Align every frame with a fresh ``FaceAligner`` (its start-up is not timed)."""
    ts: list[np.ndarray | None] = []
    crops: list[np.ndarray | None] = []
    with FaceAligner(cfg, tune) as al:
        cpu = time.process_time()
        for i, img in enumerate(frames):
            face = al.process(Frame(i, int(i * 1e9 / fps), 0.0, img))
            ts.append(None if face is None else face.transform.astype(np.float64))
            crops.append(None if face is None else face.crop)
        cpu = time.process_time() - cpu
        st = al.stats()
    return Run(ts, crops, st["ms_per_frame"], 1e3 * cpu / max(len(frames), 1), st)


def errors_vs(run: list[np.ndarray | None], ref: list[np.ndarray | None], size: int = 128) -> np.ndarray:
    """Per-frame rigid error of ``run`` against reference transforms (frames where both exist)."""
    return np.array([rigid_error(a, b, size) for a, b in zip(run, ref, strict=True) if a is not None and b is not None])


def errors_vs_truth(run: list[np.ndarray | None], moves: list[np.ndarray], size: int = 128) -> np.ndarray:
    """Offset-free error against known motion: spread of ``M_t o W_t`` (base image -> crop) around its mean."""
    base = [compose(m, w) for m, w in zip(run, moves, strict=True) if m is not None]
    if not base:
        return np.zeros(0)
    mean = np.mean(base, axis=0)
    return np.array([rigid_error(b, mean, size) for b in base])


def fake_motion(run: list[np.ndarray | None], moves: list[np.ndarray], k: int = 1, size: int = 128) -> np.ndarray:
    """Crop motion over ``k`` frames that is not in the face (known motion removed): what a flow spotter would see."""
    base = [None if m is None else compose(m, w) for m, w in zip(run, moves, strict=True)]
    return np.array([rigid_error(b, a, size) for a, b in zip(base[:-k], base[k:], strict=True) if a is not None and b is not None])


def step_motion(run: list[np.ndarray | None], size: int = 128) -> np.ndarray:
    """Frame-to-frame crop motion implied by the transforms (crop px at rigid points)."""
    return np.array([rigid_error(b, a, size) for a, b in pairwise(run) if a is not None and b is not None])


def crop_jitter(crops: list[np.ndarray | None]) -> float:
    """Mean |frame-to-frame shift| of consecutive crops by phase correlation (Hann window), crop px."""
    pairs = [(a, b) for a, b in pairwise(crops) if a is not None and b is not None]
    if not pairs:
        return float("nan")
    win = cv2.createHanningWindow(pairs[0][0].shape[::-1], cv2.CV_32F)
    shifts = [np.hypot(*cv2.phaseCorrelate(a.astype(np.float32), b.astype(np.float32), win)[0]) for a, b in pairs]
    return float(np.mean(shifts))


def summary(err: np.ndarray) -> tuple[float, float]:
    """``(mean, p95)`` of an error array (nan when empty)."""
    if err.size == 0:
        return float("nan"), float("nan")
    return float(err.mean()), float(np.percentile(err, 95))


def fixed_crops(frames: list[np.ndarray], m: np.ndarray, size: int = 128) -> list[np.ndarray | None]:
    """Crops of every frame under one fixed transform: the jitter floor of a static scene."""
    return [warp(img, m, size) for img in frames]


Row = dict[str, float | int | str]


def to_gray(frames: list[np.ndarray]) -> list[np.ndarray]:
    """The frames as the pipeline gets them from a gray source (``source.gray``)."""
    return [f if f.ndim == 2 else cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]


def synthetic_rows(face: np.ndarray, base: np.ndarray, everies: tuple[int, ...], n: int, sway: Sway, gray: bool = False) -> list[Row]:
    """Known-motion accuracy: FaceMesh on every frame vs the aligner (tracked, smoothed or not); ``gray``: the aligner
    gets gray frames (the reference FaceMesh fits stay on the colour frames)."""
    pairs = list(sway_frames(face, base, n, sway))
    colour, moves = [f for f, _ in pairs], [w for _, w in pairs]
    ref = mesh_fits(colour)
    frames = to_gray(colour) if gray else colour
    rows: list[Row] = [_truth_row("FaceMesh every frame", 1, ref, moves, [None] * len(frames), float("nan"), float("nan"))]
    for every in everies:
        for name, tune in (("tracked+smoothed", TrackConfig()), ("tracked", TrackConfig(smooth=False)), ("held", TrackConfig(track=False, smooth=False))):
            run = run_aligner(frames, FaceConfig(landmark_every=every), tune, fps=sway.fps)
            row = _truth_row(name, every, run.transforms, moves, run.crops, run.ms_per_frame, run.cpu_ms_per_frame)
            row["vs_mesh_mean"], row["vs_mesh_p95"] = summary(errors_vs(run.transforms, ref))
            rows.append(row)
    if sway.shift_px == 0 and sway.roll_deg == 0 and sway.zoom == 0:
        m = next(t for t in ref if t is not None)
        rows.append({"method": "fixed transform (floor)", "every": 0, "jitter": crop_jitter(fixed_crops(frames, m))})
    return rows


def _truth_row(name: str, every: int, ts: list[np.ndarray | None], moves: list[np.ndarray], crops: list[np.ndarray | None], ms: float, cpu: float) -> Row:
    row: Row = {"method": name, "every": every}
    row["truth_mean"], row["truth_p95"] = summary(errors_vs_truth(ts, moves))
    row["fake1_mean"], row["fake1_p95"] = summary(fake_motion(ts, moves, 1))
    row["fake8_mean"], row["fake8_p95"] = summary(fake_motion(ts, moves, 8))
    row["jitter"] = crop_jitter(crops)
    row["ms"], row["cpu_ms"] = ms, cpu
    return row


def speed_rows(face: np.ndarray, base: np.ndarray, everies: tuple[int, ...], n: int, sway: Sway, gray: bool = False) -> list[Row]:
    """ms per ``process()`` call (wall, and CPU of all threads) per ``landmark_every``, with references.

    References: one full-frame FaceMesh call, and tracking alone (no keyframe after the first).
    """
    frames = [f for f, _ in sway_frames(face, base, n, sway)]
    frames = to_gray(frames) if gray else frames
    with FaceMesh(1, False) as mesh:
        mesh.detect(frames[0])
        wall, cpu = time.perf_counter(), time.process_time()
        for img in frames:
            mesh.detect(img)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows: list[Row] = [{"method": "FaceMesh alone, full frame", "every": 1, "ms": 1e3 * wall / n, "cpu_ms": 1e3 * cpu / n}]
    for every in (*everies, 1000):  # 1000: no keyframe after the first in these clips
        run = run_aligner(frames, FaceConfig(landmark_every=every), fps=sway.fps)
        name = "tracking alone" if every == 1000 else "FaceAligner.process"
        rows.append({"method": name, "every": every, "ms": run.ms_per_frame, "cpu_ms": run.cpu_ms_per_frame, "keyframes": int(run.stats["keyframes"])})
    return rows


def video_rows(path: Path, everies: tuple[int, ...], limit: int | None = None, gray: bool = False) -> list[Row]:
    """Real video: the aligner against per-frame FaceMesh fits (on the colour frames), and how often a face is found;
    ``gray``: the aligner gets the frames ``--video`` gives it by default (the decoder's luma plane)."""
    frames = read_video(path, limit)
    ref = mesh_fits(frames)
    if gray:
        from realtime_mer.capture.video import VideoSource

        luma: list[np.ndarray] = []
        with VideoSource(path, gray=True) as src:
            while len(luma) < len(frames) and (img := src.read()) is not None:
                luma.append(img)
        frames = luma
    fps = cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) or 25.0
    rows: list[Row] = [{"method": "FaceMesh every frame", "every": 1, "frames": len(frames), "found": sum(r is not None for r in ref)}]
    for every in everies:
        for name, tune in (("tracked+smoothed", TrackConfig()), ("tracked", TrackConfig(smooth=False))):
            run = run_aligner(frames, FaceConfig(landmark_every=every), tune, fps=fps)
            row: Row = {"method": name, "every": every, "frames": len(frames), "found": run.found}
            row["vs_mesh_mean"], row["vs_mesh_p95"] = summary(errors_vs(run.transforms, ref))
            row["keyframes"], row["track_failures"] = int(run.stats["keyframes"]), int(run.stats["track_failures"])
            row["ms"], row["cpu_ms"] = run.ms_per_frame, run.cpu_ms_per_frame
            rows.append(row)
    return rows


def presence(path: Path, every: int) -> tuple[int, int, str]:
    """``(frames, frames with a face, timeline)``; the timeline is run-length coded: ``72F 97.`` (F face, . none)."""
    frames = read_video(path)
    run = run_aligner(frames, FaceConfig(landmark_every=every))
    return len(frames), run.found, runs("".join("." if t is None else "F" for t in run.transforms))


def runs(line: str) -> str:
    """Run-length form of a timeline: ``"FFF.."`` -> ``"3F 2."``."""
    out: list[str] = []
    for ch in line:
        if out and out[-1][-1] == ch:
            out[-1] = f"{int(out[-1][:-1]) + 1}{ch}"
        else:
            out.append(f"1{ch}")
    return " ".join(out)
