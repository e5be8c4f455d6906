"""Training of the ``gru`` spotter: synthetic clips -> aligned faces -> live features -> GRU -> weights.

1. ``render_clips``: clips of the synthetic generator (seeds >= ``MIN_SEED``, so never one of
   the benchmark's seeds 0..49), cycling over the sources, rendered and aligned exactly like the
   benchmark (``spot_bench.load_source`` / ``align_frames``); each clip's aligned crops,
   landmarks, face flags, truth and per-frame target intensity (the injected movement's
   onset -> apex -> offset profile, 0 outside) are cached as one ``.npz``.
2. ``clip_features``: the crops replayed through ``gru.GruFeatures`` one frame at a time - the
   same code the live spotter runs (``reset`` where the face is lost) - cached next to the clip.
3. ``train``: a ``torch.nn.GRU`` + intensity head, BPTT over random windows, BCE on the target
   delayed by ``--delay-ms`` (``gru.DEFAULT_DELAY_MS``: the model may look that far ahead); thresholds are chosen on a
   validation split of the training seeds; ``export`` writes the weights (``.npz``) and the
   JSON sidecar that ``GruSpotter`` loads.
"""

from __future__ import annotations

import datetime as _dt
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mer_lab.paths import REPO
from realtime_mer.errors import DataError, fail, log
from realtime_mer.types import Interval

MIN_SEED = 1000  # training seeds start here (the benchmark uses 0..49)
Progress = Callable[[str, int, int], None]


# -- 1. clips -----------------------------------------------------------------------------------
@dataclass
class ClipSpec:
    source: str
    seed: int
    motion: str  # hold | play


def clip_plan(sources: list[str], n_clips: int, seed: int, play_every: int) -> list[ClipSpec]:
    """``n_clips`` clips cycling over ``sources``; every ``play_every``-th video clip plays its video."""
    if seed < MIN_SEED:
        raise fail(DataError, f"training seed {seed} overlaps the benchmark seeds", f"use --seed >= {MIN_SEED}")
    plan = []
    n_video = 0
    for i in range(n_clips):
        src = sources[i % len(sources)]
        motion = "hold"
        if src != "astronaut":
            n_video += 1
            if play_every > 0 and n_video % play_every == 0:
                motion = "play"
        plan.append(ClipSpec(src, seed + i, motion))
    return plan


def render_clips(plan: list[ClipSpec], seconds: float, cache: Path, fps: float = 200.0, progress: Progress | None = None) -> list[Path]:
    """Render, align and cache every clip of ``plan`` (skips clips already cached); returns the files."""
    from mer_lab.evaluation.spot_bench import align_frames, load_source
    from realtime_mer.config import FaceConfig
    from realtime_mer.face.aligner import FaceAligner
    from realtime_mer.synth.backdrop import VideoBackdrop
    from realtime_mer.synth.clip import ASTRONAUT, Clip, SynthConfig

    cache.mkdir(parents=True, exist_ok=True)
    n_frames = max(2, round(seconds * fps))
    backdrops: dict[tuple[str, str], Any] = {}
    aligner = FaceAligner(FaceConfig())
    paths = []
    try:
        for k, spec in enumerate(plan):
            label = ASTRONAUT if spec.source == ASTRONAUT else Path(spec.source).stem
            path = cache / f"clip_{spec.seed}_{label}_{spec.motion}_{n_frames}.npz"
            paths.append(path)
            if progress:
                progress(path.stem, k, len(plan))
            if path.is_file():
                continue
            synth = SynthConfig(fps=fps, video_motion=spec.motion)
            key = (spec.source, spec.motion)
            if key not in backdrops:
                backdrops[key] = load_source(spec.source, synth)
            bd = backdrops[key]
            start = 0
            if isinstance(bd, VideoBackdrop):  # as the benchmark: clips start at different points of the video
                period = int(2 * (bd.n_source - 1) * fps / bd.source_fps)
                start = int(np.random.default_rng(spec.seed).integers(0, max(period, 1)))
            clip = Clip(bd, n_frames, spec.seed, synth, name=path.stem, start=start)
            aligned = align_frames((clip.frame(i) for i in range(n_frames)), n_frames, fps, aligner)
            target = np.zeros(n_frames, np.float32)
            for i in range(n_frames):
                mv = clip.scene.movement_at(i)
                if mv is not None:
                    target[i] = mv[1]
            truth = np.array([(t.interval.onset, t.interval.apex, t.interval.offset, t.interval.kind == "micro") for t in clip.truth], np.int64).reshape(-1, 4)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, crops=aligned.crops, landmarks=aligned.landmarks, present=aligned.present, target=target, truth=truth, fps=fps, source=label, motion=spec.motion, seed=spec.seed)
            tmp.rename(path)
    finally:
        aligner.close()
    return paths


# -- 2. features --------------------------------------------------------------------------------
def replay_features(crops: np.ndarray, landmarks: np.ndarray, present: np.ndarray, fps: float) -> np.ndarray:
    """(N, F) live features of an aligned clip, frame by frame through ``GruFeatures`` (NaN rows: no face)."""
    from realtime_mer.buffer import RingBuffer
    from realtime_mer.spotting.driver import SpotDriver, replay
    from realtime_mer.spotting.gru import N_FEATURES, GruFeatures

    driver = SpotDriver(GruFeatures(fps), RingBuffer.for_seconds(3.0, fps, crops.shape[1]))
    out = np.full((len(present), N_FEATURES), np.nan, np.float32)
    for i, row in replay(driver, crops, landmarks, present, fps):
        out[i] = row
    return out


def clip_features(path: Path) -> dict[str, np.ndarray]:
    """Features (cached as ``<clip>.feat<version>.npy``), target, truth and face flags of one cached clip."""
    from realtime_mer.spotting.gru import FEATURE_VERSION

    z = np.load(path)
    fpath = path.with_name(f"{path.stem}.feat{FEATURE_VERSION}.npy")
    if fpath.is_file():
        feats = np.load(fpath)
    else:
        feats = replay_features(z["crops"], z["landmarks"], z["present"], float(z["fps"]))
        np.save(fpath, feats)
    return {"x": feats, "y": z["target"], "truth": z["truth"], "present": z["present"], "fps": float(z["fps"]), "source": str(z["source"]), "seed": int(z["seed"])}


# -- 3. training ---------------------------------------------------------------------------------
@dataclass
class GruTrainConfig:
    """How the GRU spotter's weights are fitted (tools/train_spotter.py)."""

    hidden: int = 48
    epochs: int = 30
    window: int = 400  # frames per BPTT window
    batch: int = 16
    lr: float = 3e-3
    val_fraction: float = 0.2
    seed: int = MIN_SEED
    steps_per_epoch: int = 30
    pos_weight: float = 2.0  # loss weight of frames inside a movement (target > 0.05)


def _segments(clips: list[dict[str, np.ndarray]], delay: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Face-present runs of each clip as (x, y delayed by ``delay``); NaN rows split runs."""
    out = []
    for c in clips:
        x, y = c["x"], c["y"]
        ok = np.isfinite(x).all(axis=1)
        yd = np.zeros_like(y)
        yd[delay:] = y[: len(y) - delay]  # output at t is the target of t - delay
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(idx) > 1)
        for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, idx.size - 1], strict=True):
            s, e = idx[a], idx[b] + 1
            if e - s > 50:
                out.append((x[s:e], yd[s:e]))
    return out


def train(clips: list[dict[str, np.ndarray]], cfg: GruTrainConfig, delay: int, progress: Progress | None = None, validate: Callable[[dict[str, np.ndarray]], float] | None = None, eval_every: int = 5) -> tuple[dict[str, np.ndarray], list[tuple[int, float]]]:
    """Fit GRU + intensity head on ``clips`` (BPTT over random windows, BCE on the delayed target).

    Returns numpy weights (with the input standardisation) and the validation history: every
    ``eval_every`` epochs ``validate(weights)`` scores the model and the best-scoring weights
    are kept (the epoch count is chosen on validation data, never on benchmark clips)."""
    import torch

    from realtime_mer.spotting.gru import N_FEATURES

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    segs = _segments(clips, delay)
    if not segs:
        raise fail(DataError, "no face-present training frames", "render more clips")
    allx = np.concatenate([s[0] for s in segs])
    x_mean = allx.mean(axis=0).astype(np.float32)
    x_std = np.maximum(allx.std(axis=0), 1e-3).astype(np.float32)
    segs = [((x - x_mean) / x_std, y) for x, y in segs]
    gru = torch.nn.GRU(N_FEATURES, cfg.hidden, batch_first=True)
    head = torch.nn.Linear(cfg.hidden, 1)
    params = list(gru.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr)
    total = cfg.epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=total, pct_start=0.15)
    lengths = np.array([len(s[0]) for s in segs], np.float64)
    prob = lengths / lengths.sum()
    w = cfg.window

    def export_weights() -> dict[str, np.ndarray]:
        sd = {k: v.detach().numpy().astype(np.float32).copy() for k, v in gru.state_dict().items()}
        return {
            "w_ih": sd["weight_ih_l0"],
            "w_hh": sd["weight_hh_l0"],
            "b_ih": sd["bias_ih_l0"],
            "b_hh": sd["bias_hh_l0"],
            "w_out": head.weight.detach().numpy().astype(np.float32)[0].copy(),
            "b_out": head.bias.detach().numpy().astype(np.float32).copy(),
            "x_mean": x_mean,
            "x_std": x_std,
        }

    best: tuple[float, dict[str, np.ndarray]] | None = None
    history: list[tuple[int, float]] = []
    for ep in range(cfg.epochs):
        tot = 0.0
        for _ in range(cfg.steps_per_epoch):
            xb = np.zeros((cfg.batch, w, N_FEATURES), np.float32)
            yb = np.zeros((cfg.batch, w), np.float32)
            mb = np.zeros((cfg.batch, w), np.float32)
            for b in range(cfg.batch):
                x, y = segs[rng.choice(len(segs), p=prob)]
                s = int(rng.integers(0, max(1, len(x) - w)))
                n = min(w, len(x) - s)
                xb[b, :n], yb[b, :n], mb[b, :n] = x[s : s + n], y[s : s + n], 1.0
            mb[:, : min(40, w // 4)] *= 0.25  # the state starts from zero mid-stream: early steps count less
            xt, yt, mt = torch.from_numpy(xb), torch.from_numpy(yb), torch.from_numpy(mb)
            h, _ = gru(xt)
            logit = head(h)[..., 0]
            wt = mt * (1.0 + (cfg.pos_weight - 1.0) * (yt > 0.05).float())
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logit, yt, reduction="none") * wt).sum() / wt.sum()
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            tot += loss.item()
        msg = f"epoch {ep + 1}/{cfg.epochs} loss {tot / cfg.steps_per_epoch:.4f}"
        if validate is not None and ((ep + 1) % eval_every == 0 or ep + 1 == cfg.epochs):
            weights = export_weights()
            v = validate(weights)
            history.append((ep + 1, v))
            msg += f" val {v:.4f}"
            if best is None or v > best[0]:
                best = (v, weights)
        if progress:
            progress(msg, ep + 1, cfg.epochs)
    return (best[1] if best is not None else export_weights()), history


def git_commit(root: Path) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def export(weights: dict[str, np.ndarray], meta: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """Write ``out`` (.npz weights) and its ``.json`` sidecar (meta + date + commit)."""
    from realtime_mer.spotting.gru import FEATURE_VERSION

    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, feature_version=np.int64(FEATURE_VERSION), **weights)
    side = out.with_suffix(".json")
    meta = {"feature_version": FEATURE_VERSION, "hidden": int(weights["w_hh"].shape[1])} | meta
    meta |= {"date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "git_commit": git_commit(REPO)}
    side.write_text(json.dumps(meta, indent=2) + "\n")
    log.info("wrote %s and %s", out, side)
    return out, side


# -- 4. validation: thresholds and epochs ----------------------------------------------------
def predict(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Per-frame intensity of one clip's features through the numpy GRU (state reset where the face is lost; NaN there)."""
    from realtime_mer.spotting.gru import GruModel

    model = GruModel(weights)
    p = np.full(len(x), np.nan, np.float32)
    had = False
    for i in range(len(x)):
        if not np.isfinite(x[i, 0]):
            if had:
                model.reset()
            had = False
            continue
        had = True
        p[i] = model.step(x[i])
    return p


def decode(p: np.ndarray, fps: float, meta: dict[str, Any]) -> list[Interval]:
    """The intervals ``GruSpotter`` would report for intensities ``p`` (NaN: no face; reset there)."""
    from realtime_mer.config import SpotConfig
    from realtime_mer.spotting.gru import make_decoder

    dec = make_decoder(fps, SpotConfig(name="gru"), meta)
    out, had = [], False
    for i in range(len(p)):
        if not np.isfinite(p[i]):
            if had:
                dec.reset()
            had = False
            continue
        had = True
        out += dec.push(float(p[i]), i, round(i * 1e9 / fps))[1]
    out += dec.flush()
    return out


def score(clips: list[dict[str, Any]], probs: list[np.ndarray], meta: dict[str, Any]) -> dict[str, Any]:
    """MEGC report (IoU >= 0.5) of the decoded intervals against the clips' truth."""
    from mer_lab.evaluation.spotting import evaluate

    truth, preds = {}, {}
    for k, (c, p) in enumerate(zip(clips, probs, strict=True)):
        truth[str(k)] = [Interval(int(a), int(ap), int(b), "micro" if m else "macro") for a, ap, b, m in c["truth"]]
        preds[str(k)] = decode(p, c["fps"], meta)
    return evaluate(truth, preds).to_dict()


HIGHS = (0.3, 0.4, 0.5, 0.6, 0.7)
LOWS = (0.1, 0.15, 0.2, 0.3)


def choose_thresholds(clips: list[dict[str, Any]], probs: list[np.ndarray], delay_ms: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (high, low) hysteresis levels with the best micro F1 (ties: overall F1) on ``clips``; (meta, report)."""
    best: tuple[tuple[float, float], dict[str, Any], dict[str, Any]] | None = None
    for high in HIGHS:
        for low in LOWS:
            if low >= high:
                continue
            meta = {"high": high, "low": low, "floor": 0.5 * low, "delay_ms": delay_ms}
            rep = score(clips, probs, meta)
            key = (rep["micro"]["f1"], rep["overall"]["f1"])
            if best is None or key > best[0]:
                best = (key, meta, rep)
    assert best is not None
    return best[1], best[2]


# -- 5. clips of the faces benchmark's cache (played real backdrops) ------------------------------
def faces_clip(path: Path) -> dict[str, Any]:
    """One cached clip of the faces benchmark (``spot_faces``: a real face video played or held,
    movements injected) as a training clip: features (cached beside it as ``<clip>.feat<version>.npy``),
    the target (each injected movement's onset -> apex -> offset profile, rebuilt from its truth),
    truth rows (onset, apex, offset, micro), face flags and who the face belongs to."""
    from mer_lab.evaluation.spot_faces import load_aligned
    from realtime_mer.spotting.gru import FEATURE_VERSION
    from realtime_mer.synth.profile import profile_value

    al, truth, meta = load_aligned(path)
    n = len(al.present)
    target = np.zeros(n, np.float32)
    for t in truth:
        for i in range(max(t.onset + 1, 0), min(t.offset, n)):
            target[i] = max(target[i], profile_value(i, t.onset, t.apex, t.offset))
    fpath = path.with_name(f"{path.stem}.feat{FEATURE_VERSION}.npy")
    if fpath.is_file():
        feats = np.load(fpath)
    else:
        feats = replay_features(al.crops, al.landmarks, al.present, al.fps)
        np.save(fpath, feats)
    rows = np.array([(t.onset, t.apex, t.offset, t.kind == "micro") for t in truth], np.int64).reshape(-1, 4)
    return {"x": feats, "y": target, "truth": rows, "present": al.present, "fps": al.fps, "source": str(meta["face"]),
            "seed": int(meta["seed"]), "person": str(meta["person"]), "variant": str(meta["variant"]), "split": str(meta["split"])}


def faces_training_clips(data: Path, cache: Path, cfg: Any, progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """Training clips from the TUNING faces only (``spot_faces.FACES``; ``cfg`` a ``FacesConfig``): each
    tuning face video played (and in the other ``cfg.variants``) with injected movements, rendered and aligned through the
    faces benchmark's cache, as ``faces_clip`` dicts. The reporting faces are never touched."""
    from mer_lab.evaluation.spot_faces import TUNING, build_all

    if cfg.faces != TUNING:
        raise fail(DataError, f"training on the {cfg.faces} faces would leak into the benchmark's reporting numbers", "train on --faces tuning")
    if cfg.seed < MIN_SEED:
        raise fail(DataError, f"training seed {cfg.seed} overlaps the benchmark seeds", f"use --seed >= {MIN_SEED}")
    per_variant, _ = build_all(cfg, data, cache, progress, real=False)
    files = [f for v in cfg.variants for f in per_variant[v]]
    if not files:
        raise fail(DataError, f"no tuning face videos under {data}", "point --data at the shared data folder (real_faces/, real_faces_more/)")
    clips = [faces_clip(f) for f in files]
    bad = [c["source"] for c in clips if c["split"] != TUNING]
    if bad:  # the cache keys name the face; a reporting face here would leak into the weights
        raise fail(DataError, f"reporting faces in the training cache: {', '.join(sorted(set(bad)))}", "use a fresh --cache")
    return clips


def split_by_person(clips: list[dict[str, Any]], val_persons: set[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(training clips, validation clips): validation = every clip of ``val_persons`` in the played
    variant (what the epoch and thresholds are chosen for); their other variants are left out of both."""
    persons = {c["person"] for c in clips}
    unknown = val_persons - persons
    if unknown:
        raise fail(DataError, f"validation persons not among the training faces: {', '.join(sorted(unknown))}", f"choose from: {', '.join(sorted(persons))}")
    trn = [c for c in clips if c["person"] not in val_persons]
    val = [c for c in clips if c["person"] in val_persons and c["variant"] == "played"]
    if not trn or not val:
        raise fail(DataError, "the person split leaves no training or no validation clips", "change --val-persons")
    return trn, val
