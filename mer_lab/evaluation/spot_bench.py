"""Spotting benchmark: every spotter on in-memory synthetic clips (MEGC scores) and on real clips (false alarms).

Synthetic part: ``n_videos`` clips cycling over the sources (``"astronaut"`` or face videos),
seed ``seed + clip index``, rendered frame by frame in memory, aligned once by a
``FaceAligner`` (reset between clips), then the aligned crops are replayed through a fresh
instance of each spotter (``reset()`` where the aligner lost the face, ``flush()`` at the
end) and scored with ``evaluation.spotting.evaluate`` (IoU >= 0.5, counts pooled over clips).
The time of ``spotter.update`` alone is measured per frame (median reported).

Real part: the untouched real clips at their native fps through the same aligner -> spotter
path; they carry no micro-expressions, so every micro interval is a false alarm, reported per
minute of face-present video.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mer_lab.evaluation.spotting import evaluate
from realtime_mer.buffer import RingBuffer
from realtime_mer.config import FaceConfig, SpotConfig
from realtime_mer.errors import DataError, MerError, SourceError, fail, log
from realtime_mer.face.aligner import FaceAligner
from realtime_mer.face.geometry import picture_box
from realtime_mer.spotting import SPOTTERS, make_spotter
from realtime_mer.spotting.driver import SpotDriver, ring_seconds
from realtime_mer.spotting.driver import replay as replay_clip
from realtime_mer.synth.backdrop import LandmarkDetector, VideoBackdrop, is_image, open_video
from realtime_mer.synth.clip import ASTRONAUT, Backdrop, Clip, SynthConfig, make_backdrop
from realtime_mer.types import Frame, Interval

Progress = Callable[[str], None]


@dataclass
class BenchConfig:
    """What the benchmark runs: clip count, length, seed, rate, size, spotters and sources."""

    n_videos: int = 50
    seconds: float = 6.0
    seed: int = 0
    fps: float = 200.0
    width: int = 640
    height: int = 480
    spotters: tuple[str, ...] = SPOTTERS
    sources: tuple[str, ...] = (ASTRONAUT,)  # "astronaut" or video / image paths, cycled
    real_clips: tuple[str, ...] = ()  # untouched real videos for the false-alarm rate
    video_motion: str = "hold"  # video sources: hold a frame per clip | play (see synth.clip.Clip)
    face: FaceConfig = field(default_factory=FaceConfig)


@dataclass
class Aligned:
    """The aligned faces of one clip: crops (N, S, S), landmarks (N, 468, 2), source frame index, face flag."""

    crops: np.ndarray
    landmarks: np.ndarray
    present: np.ndarray
    fps: float
    pictures: np.ndarray | None = None  # (N, 4) each crop's box that shows the camera's picture (None: all of it)

    @property
    def n_face(self) -> int:
        return int(self.present.sum())


def face_frames_end(path: Path) -> tuple[int, float]:
    """(1 + index of the last source frame with a face, source fps) of a video (0: no face)."""
    cap = open_video(path)
    src_fps = cap.get(cv2.CAP_PROP_FPS)
    det = LandmarkDetector(static=False)
    last, i = -1, 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if det(frame) is not None:
                last = i
            i += 1
    finally:
        det.close()
        cap.release()
    return last + 1, (src_fps if src_fps and 1.0 <= src_fps <= 1000.0 else 30.0)


def load_source(source: str, cfg: SynthConfig) -> Backdrop:
    """The backdrop of ``source``; a video is cut after its last face frame (its face part), whole otherwise."""
    if source == ASTRONAUT or is_image(Path(source)):
        return make_backdrop(source, cfg, 1.0)
    path = Path(source)
    if not path.is_file():
        raise fail(SourceError, f"source video {path} not found", "pass existing videos or 'astronaut'")
    n_face, src_fps = face_frames_end(path)
    if n_face < 3:
        raise fail(SourceError, f"{path}: no usable face", "use a video with a visible frontal face")
    # VideoBackdrop reads ceil(seconds * fps) + 2 source frames: exactly the first n_face
    return VideoBackdrop(path, cfg.render.width, cfg.render.height, cfg.fps, (n_face - 2.5) / src_fps, cfg.face_frac, cfg.interp)


def align_frames(frames: Iterable[np.ndarray], n: int, fps: float, aligner: FaceAligner) -> Aligned:
    """Align ``n`` frames (an iterable of BGR images) once; keep crops, landmarks and the face flag."""
    s = aligner.size
    crops = np.zeros((n, s, s), np.uint8)
    marks = np.zeros((n, 468, 2), np.float32)
    present = np.zeros(n, bool)
    pictures = np.tile(np.float32([0, 0, s, s]), (n, 1))
    aligner.reset()
    k = 0
    for image in frames:
        if k >= n:
            break
        face = aligner.process(Frame(k, round(k * 1e9 / fps), 0.0, image), crops[k])
        if face is not None:
            present[k] = True
            marks[k] = face.landmarks
            pictures[k] = picture_box(face.transform, image.shape[1], image.shape[0], s)
        k += 1
    return Aligned(crops[:k], marks[:k], present[:k], fps, pictures[:k])


def replay(aligned: Aligned, name: str, spot_cfg: SpotConfig | None = None, times_ms: list[float] | None = None,
           blind: list[bool] | None = None) -> list[Interval]:
    """Run a fresh spotter ``name`` over ``aligned`` like the pipeline does; returns its intervals.

    ``times_ms`` (if given) receives the duration of every ``update`` call in milliseconds, ``blind``
    whether the spotter was blind after it (``Spotter.blind``); both once per frame with a face.
    """
    fps = aligned.fps
    spotter = make_spotter(name, fps, spot_cfg or SpotConfig(name=name))
    buffer = RingBuffer.for_seconds(ring_seconds(spotter.cfg.max_ms), fps, aligned.crops.shape[1])
    driver = SpotDriver(spotter, buffer)
    out: list[Interval] = []
    for _, intervals in replay_clip(driver, aligned.crops, aligned.landmarks, aligned.present, fps, pictures=aligned.pictures):
        if times_ms is not None:
            times_ms.append(driver.update_ms)
        if blind is not None:
            blind.append(bool(spotter.blind))
        out += intervals
    out += driver.flush()
    return out


def read_video(path: Path) -> tuple[list[np.ndarray], float]:
    """All frames of a video (BGR) and its fps."""
    cap = open_video(path)
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames: list[np.ndarray] = []
    try:
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            frames.append(frame)
    finally:
        cap.release()
    if len(frames) < 2:
        raise fail(SourceError, f"{path}: fewer than 2 frames could be decoded", "check the file")
    return frames, (fps if fps and 1.0 <= fps <= 1000.0 else 30.0)


def _label(source: str) -> str:
    return ASTRONAUT if source == ASTRONAUT else Path(source).stem


def run_benchmark(cfg: BenchConfig, progress: Progress | None = None, spot_cfgs: dict[str, SpotConfig] | None = None) -> dict[str, Any]:
    """Run the synthetic and the real-clip parts; returns a JSON-ready result (see module doc)."""
    if cfg.n_videos < 1 or cfg.seconds <= 0 or cfg.fps <= 0:
        raise fail(DataError, f"bad benchmark size n_videos={cfg.n_videos} seconds={cfg.seconds} fps={cfg.fps}", "use n_videos >= 1, seconds > 0, fps > 0")
    if not cfg.spotters:
        raise fail(DataError, "no spotter to benchmark", f"choose from: {', '.join(SPOTTERS)}")
    for name in cfg.spotters:
        make_spotter(name, cfg.fps)  # fails early on an unknown name
    spot_cfgs = spot_cfgs or {}
    t_start = time.perf_counter()
    synth = SynthConfig(fps=cfg.fps, video_motion=cfg.video_motion)
    synth.render = type(synth.render)(width=cfg.width, height=cfg.height)
    backdrops: list[tuple[str, Backdrop]] = []
    for src in cfg.sources:
        try:
            backdrops.append((_label(src), load_source(src, synth)))
        except MerError as err:
            log.warning("skipping source %s: %s", src, err)
    if not backdrops:
        raise fail(SourceError, "none of the sources has a usable face", "pass video paths with a frontal face or 'astronaut'")
    n_frames = max(round(cfg.seconds * cfg.fps), 2)
    truth: dict[str, list[Interval]] = {}
    preds: dict[str, dict[str, list[Interval]]] = {n: {} for n in cfg.spotters}
    times: dict[str, list[float]] = {n: [] for n in cfg.spotters}
    clips: list[dict[str, Any]] = []
    t_render = t_align = t_spot = 0.0
    aligner = FaceAligner(cfg.face)
    try:
        for i in range(cfg.n_videos):
            label, bd = backdrops[i % len(backdrops)]
            seed = cfg.seed + i
            name = f"{i:03d}_{label}"
            start = 0
            if isinstance(bd, VideoBackdrop):  # clips of one video start at different points of its ping-pong
                period = int(2 * (bd.n_source - 1) * cfg.fps / bd.source_fps)
                start = int(np.random.default_rng(seed).integers(0, max(period, 1)))
            if progress:
                progress(name)
            clip = Clip(bd, n_frames, seed, synth, name=name, start=start)
            render = [0.0]

            def frames(clip: Clip = clip, render: list[float] = render) -> Iterator[np.ndarray]:
                for k in range(n_frames):  # rendered one at a time: a clip never sits in memory as images
                    t = time.perf_counter()
                    image = clip.frame(k)
                    render[0] += time.perf_counter() - t
                    yield image

            t0 = time.perf_counter()
            aligned = align_frames(frames(), n_frames, cfg.fps, aligner)
            t2 = time.perf_counter()
            t1 = t0 + render[0]
            truth[name] = [t.interval for t in clip.truth]
            for sp in cfg.spotters:
                preds[sp][name] = replay(aligned, sp, spot_cfgs.get(sp), times[sp])
            t3 = time.perf_counter()
            t_render, t_align, t_spot = t_render + t1 - t0, t_align + t2 - t1, t_spot + t3 - t2
            clips.append(
                {
                    "name": name,
                    "source": label,
                    "seed": seed,
                    "start": start,
                    "frames": n_frames,
                    "face_rate": round(aligned.n_face / n_frames, 4),
                    "truth_micro": sum(s.kind == "micro" for s in truth[name]),
                    "truth_macro": sum(s.kind == "macro" for s in truth[name]),
                }
            )
        real = real_alarms(cfg, aligner, progress, spot_cfgs)
    finally:
        aligner.close()
    results: dict[str, Any] = {}
    for sp in cfg.spotters:
        report = evaluate(truth, preds[sp]).to_dict()
        t = np.asarray(times[sp]) if times[sp] else np.zeros(1)
        results[sp] = {
            "micro": report["micro"],
            "macro": report["macro"],
            "overall": report["overall"],
            "micro_macro_f1_mean": round((report["micro"]["f1"] + report["macro"]["f1"]) / 2, 6),
            "update_ms_median": round(float(np.median(t)), 4),
            "update_ms_p95": round(float(np.percentile(t, 95)), 4),
            "updates": len(times[sp]),
            "real": real[sp],
            "per_video": report["per_video"],
        }
    return {
        "params": {k: v for k, v in asdict(cfg).items() if k != "face"} | {"face": asdict(cfg.face), "sources_used": [b[0] for b in backdrops]},
        "spotters": results,
        "clips": clips,
        "timing_s": {"render": round(t_render, 2), "align": round(t_align, 2), "spot": round(t_spot, 2), "wall": round(time.perf_counter() - t_start, 2)},
    }


def real_alarms(cfg: BenchConfig, aligner: FaceAligner, progress: Progress | None = None, spot_cfgs: dict[str, SpotConfig] | None = None) -> dict[str, dict[str, Any]]:
    """Micro intervals per minute of face-present video on the untouched real clips, per spotter (None: no face)."""
    spot_cfgs = spot_cfgs or {}
    out: dict[str, dict[str, Any]] = {sp: {"micro_alarms": 0, "macro_intervals": 0, "face_minutes": 0.0, "per_clip": {}} for sp in cfg.spotters}
    for src in cfg.real_clips:
        path = Path(src)
        if not path.is_file():
            log.warning("real clip %s not found: skipped", path)
            continue
        if progress:
            progress(f"real {path.name}")
        frames, fps = read_video(path)
        aligned = align_frames(frames, len(frames), fps, aligner)
        minutes = aligned.n_face / fps / 60.0
        for sp in cfg.spotters:
            spans = replay(aligned, sp, spot_cfgs.get(sp))
            micro = sum(s.kind == "micro" for s in spans)
            o = out[sp]
            o["micro_alarms"] += micro
            o["macro_intervals"] += len(spans) - micro
            o["face_minutes"] += minutes
            o["per_clip"][path.name] = {"fps": round(fps, 3), "frames": len(frames), "face_frames": aligned.n_face, "micro": micro, "macro": len(spans) - micro}
    for o in out.values():
        o["micro_alarms_per_min"] = round(o["micro_alarms"] / o["face_minutes"], 3) if o["face_minutes"] > 0 else None
        o["face_minutes"] = round(o["face_minutes"], 4)
    return out


def markdown_table(result: dict[str, Any]) -> str:
    """The summary table: micro / macro P R F1, overall F1, update ms/frame, false micro alarms/min on real clips."""
    rows = [
        "| spotter | micro P | micro R | micro F1 | macro P | macro R | macro F1 | overall F1 | update ms/frame (median) | false micro alarms/min (real clips) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for sp, r in result["spotters"].items():
        mi, ma, ov = r["micro"], r["macro"], r["overall"]
        fa = r["real"]["micro_alarms_per_min"]
        fa_s = "n/a" if fa is None else f"{fa:.1f} ({r['real']['micro_alarms']} in {r['real']['face_minutes']:.2f} min)"
        rows.append(
            f"| {sp} | {mi['precision']:.3f} | {mi['recall']:.3f} | {mi['f1']:.3f} | {ma['precision']:.3f} | {ma['recall']:.3f} | {ma['f1']:.3f} | {ov['f1']:.3f} | {r['update_ms_median']:.2f} | {fa_s} |"
        )
    return "\n".join(rows)
