"""Synthetic clip dataset: aligned-crop clips + labels from the synthetic generator, cached to ``.npz``.

Sources: a generator output folder (``tools/make_synthetic.py``: ``<nnn>_<source>.avi`` videos
and ``truth.csv``) or ``realtime_mer.synth.Clip`` objects rendered directly. For every injected
movement of the wanted kinds a fresh ``FaceAligner`` runs from ``lead_frames`` before the onset
to the offset (warm-up: the crop settles before the movement starts) and the aligned crops of
onset..offset are kept: at most ``max_frames`` by a fixed temporal stride, onset, apex and offset
always included. The *subject* of a clip is its source face (``000_astronaut`` -> ``astronaut``),
so folds over subjects are face-disjoint. Model inputs then come from
``realtime_mer.recognition.preprocess.clip_input``, exactly as for real datasets and live intervals.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.config import FaceConfig
from realtime_mer.errors import DataError, OutputError, fail
from realtime_mer.face import FaceAligner
from realtime_mer.recognition.preprocess import PreprocessConfig, clip_input
from realtime_mer.synth.backdrop import VideoBackdrop
from realtime_mer.synth.clip import ASTRONAUT, Clip, SynthConfig
from realtime_mer.synth.truth import TruthRow, read_truth_csv
from realtime_mer.types import CLASSES, Frame

CACHE_VERSION = 1


@dataclass(frozen=True)
class SyntheticClipConfig:
    """Which movements become clips and how they are cut."""

    kinds: tuple[str, ...] = ("micro",)
    lead_frames: int = 24  # aligner warm-up before the onset (read, not kept)
    max_frames: int = 32  # kept frames per clip (stride sub-sampling; onset, apex, offset always kept)
    crop_size: int = 128
    landmark_every: int = 8


@dataclass
class SyntheticClipSet:
    """Clips of aligned crops, concatenated: clip ``i`` is ``crops[starts[i]:starts[i + 1]]``."""

    crops: np.ndarray  # (sum T_i, S, S) uint8
    starts: np.ndarray  # (N + 1,) int64
    onset: np.ndarray  # (N,) int64, index within the clip
    apex: np.ndarray
    offset: np.ndarray
    labels: np.ndarray  # (N,) int64 into CLASSES
    subjects: list[str]
    videos: list[str]
    kinds: list[str]
    classes: tuple[str, ...] = field(default=CLASSES)

    def __len__(self) -> int:
        return len(self.labels)

    def clip(self, i: int) -> np.ndarray:
        """The (T_i, S, S) uint8 crops of clip ``i``."""
        return self.crops[self.starts[i] : self.starts[i + 1]]

    def sample(self, i: int) -> tuple[np.ndarray, int, int, int]:
        """(crops, onset, apex, offset) of clip ``i``: the arguments of ``preprocess.clip_input`` after the model name."""
        return self.clip(i), int(self.onset[i]), int(self.apex[i]), int(self.offset[i])

    def inputs(self, model_name: str, cfg: PreprocessConfig | None = None) -> np.ndarray:
        """All clips as model ``model_name``'s inputs, (N, *contract.shape) float32 (``preprocess.clip_input``)."""
        return np.stack([clip_input(model_name, *self.sample(i), cfg=cfg) for i in range(len(self))])

    def save(self, path: Path, meta: dict[str, object] | None = None) -> Path:
        """Write a compressed ``.npz`` (``meta`` is stored as JSON)."""
        return save_npz(path, meta, "choose a writable cache path", crops=self.crops, starts=self.starts, onset=self.onset,
                        apex=self.apex, offset=self.offset, labels=self.labels, subjects=np.array(self.subjects, dtype=str),
                        videos=np.array(self.videos, dtype=str), kinds=np.array(self.kinds, dtype=str))

    @classmethod
    def load(cls, path: Path) -> tuple[SyntheticClipSet, dict[str, object]]:
        """Read a set written by ``save``; returns (set, meta)."""
        z, meta = load_npz(path, "synthetic clip cache", "delete it to rebuild")
        s = cls(z["crops"], z["starts"], z["onset"], z["apex"], z["offset"], z["labels"],
                [str(x) for x in z["subjects"]], [str(x) for x in z["videos"]], [str(x) for x in z["kinds"]])
        return s, meta


def save_npz(path: Path, meta: dict[str, object] | None, fix: str, compressed: bool = True, **arrays: np.ndarray) -> Path:
    """Write ``arrays`` and ``meta`` (as JSON) to an ``.npz`` at ``path`` (its folder made); a failure is one
    ``OutputError`` line ending in ``fix``. The lab's generated sets (clips, intensity windows, synthetic flows) use it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        (np.savez_compressed if compressed else np.savez)(path, meta=np.array(json.dumps(meta or {})), **arrays)
    except OSError as e:
        raise fail(OutputError, f"cannot write {path}: {e.strerror or e}", fix) from e
    return path


def load_npz(path: Path, what: str, fix: str) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Every array of an ``.npz`` written by ``save_npz`` (read into memory) and its meta; a missing, truncated or
    foreign file is one ``DataError`` line naming ``what`` and ending in ``fix``."""
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        return arrays, json.loads(str(arrays.pop("meta")))
    except (OSError, KeyError, ValueError) as e:
        raise fail(DataError, f"cannot read {what} {path}: {e}", fix) from e


def subject_of(video: str) -> str:
    """The source face of a generated video name: ``000_astronaut`` -> ``astronaut`` (names without a ``nnn_`` prefix stay)."""
    head, _, rest = video.partition("_")
    return rest if head.isdigit() and rest else video


def kept_indices(onset: int, apex: int, offset: int, max_frames: int) -> np.ndarray:
    """Frame indices kept of onset..offset: all when they fit, else every k-th plus apex and offset (sorted, unique)."""
    n = offset - onset + 1
    step = max(1, -(-n // max(max_frames, 1)))
    return np.unique(np.concatenate([np.arange(onset, offset + 1, step), [apex, offset]])).astype(np.int64)


def align_span(get_frame: Callable[[int], np.ndarray], first: int, last: int, cfg: SyntheticClipConfig, what: str,
               hint: str = "check the source video (a frontal face is needed)") -> np.ndarray:
    """Aligned crops of frames first..last with a fresh aligner; frames without a face repeat the nearest found crop."""
    crops: list[np.ndarray | None] = []
    face_cfg = FaceConfig(crop_size=cfg.crop_size, landmark_every=cfg.landmark_every)
    with FaceAligner(face_cfg) as aligner:
        for i in range(first, last + 1):
            face = aligner.process(Frame(index=i, timestamp_ns=0, wall_time=0.0, image=get_frame(i)))
            crops.append(None if face is None else face.crop)
    found = [k for k, c in enumerate(crops) if c is not None]
    if not found:
        raise fail(DataError, f"{what}: no face found in frames {first}..{last}", hint)
    out = np.empty((len(crops), cfg.crop_size, cfg.crop_size), np.uint8)
    for k in range(len(crops)):
        near = min(found, key=lambda j: abs(j - k))
        out[k] = crops[k] if crops[k] is not None else crops[near]  # type: ignore[assignment]
    return out


@dataclass
class _Builder:
    """Accumulates clips for a ``SyntheticClipSet``."""

    cfg: SyntheticClipConfig
    parts: list[np.ndarray] = field(default_factory=list)
    rows: list[tuple[int, int, int, int, str, str, str]] = field(default_factory=list)

    def add(self, get_frame: Callable[[int], np.ndarray], t: TruthRow, subject: str) -> None:
        iv = t.interval
        first = max(0, iv.onset - self.cfg.lead_frames)
        crops = align_span(get_frame, first, iv.offset, self.cfg, f"{t.video} frames {iv.onset}..{iv.offset}")
        keep = kept_indices(iv.onset, iv.apex, iv.offset, self.cfg.max_frames)
        self.parts.append(crops[keep - first])
        pos = {int(v): k for k, v in enumerate(keep)}
        self.rows.append((0, pos[iv.apex], len(keep) - 1, CLASSES.index(t.label), subject, t.video, iv.kind))

    def build(self) -> SyntheticClipSet:
        s = self.cfg.crop_size
        crops = np.concatenate(self.parts) if self.parts else np.zeros((0, s, s), np.uint8)
        starts = np.concatenate([[0], np.cumsum([len(p) for p in self.parts])]).astype(np.int64)
        col = lambda k: np.array([r[k] for r in self.rows], dtype=np.int64)  # noqa: E731
        return SyntheticClipSet(crops, starts, col(0), col(1), col(2), col(3), [r[4] for r in self.rows],
                                [r[5] for r in self.rows], [r[6] for r in self.rows])


class _VideoReader:
    """Random-access frames of a (Motion-JPEG) video: seeks only when not reading sequentially."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cap = cv2.VideoCapture(str(path))
        if not self.cap.isOpened():
            raise fail(DataError, f"cannot open video {path}", "regenerate the set with tools/make_synthetic.py")
        self.next = 0

    def __call__(self, i: int) -> np.ndarray:
        if i != self.next:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, img = self.cap.read()
        if not ok or img is None:
            raise fail(DataError, f"{self.path.name}: frame {i} cannot be read", "regenerate the set with tools/make_synthetic.py")
        self.next = i + 1
        return img

    def close(self) -> None:
        self.cap.release()


def build_from_dir(folder: Path | str, cfg: SyntheticClipConfig | None = None) -> SyntheticClipSet:
    """Clips of every wanted movement in a generator output folder (videos + truth.csv)."""
    cfg = cfg or SyntheticClipConfig()
    folder = Path(folder)
    if not folder.is_dir():
        raise fail(DataError, f"synthetic set {folder} is not a directory", "generate one with tools/make_synthetic.py")
    truth = [t for t in read_truth_csv(folder / "truth.csv") if t.interval.kind in cfg.kinds]
    b = _Builder(cfg)
    for video in sorted({t.video for t in truth}):
        matches = sorted(folder.glob(f"{video}.*"))
        if not matches:
            raise fail(DataError, f"video {video} of {folder / 'truth.csv'} not found in {folder}", "regenerate the set")
        reader = _VideoReader(matches[0])
        try:
            for t in sorted((t for t in truth if t.video == video), key=lambda t: t.interval.onset):
                b.add(reader, t, subject_of(video))
        finally:
            reader.close()
    return b.build()


def clip_subject(clip: Clip) -> str:
    """The source face of a synth ``Clip``: its backdrop's name without the ``@<frame>`` of a held video frame."""
    name = str(getattr(clip.backdrop, "name", "") or "")
    return name.split("@")[0] if name else subject_of(clip.name)


def build_from_clips(clips: Iterable[Clip], cfg: SyntheticClipConfig | None = None,
                     progress: Callable[[int, Clip], None] | None = None) -> SyntheticClipSet:
    """Clips of every wanted movement of synth ``Clip`` objects, rendering only the frames they need.

    The subject is the clip's source face (``clip_subject``): a video held still on frame ``k``
    (backdrop ``name@k``) is the same subject for every ``k``. ``progress(i, clip)`` runs before clip ``i``.
    """
    cfg = cfg or SyntheticClipConfig()
    b = _Builder(cfg)
    for i, clip in enumerate(clips):
        if progress is not None:
            progress(i, clip)
        subject = clip_subject(clip)
        for t in clip.truth:
            if t.interval.kind in cfg.kinds:
                b.add(clip.frame, t, subject)
    return b.build()


def source_label(source: str | Path) -> str:
    """The subject name of a generator source: ``astronaut`` or the file's stem."""
    return str(source) if str(source) == ASTRONAUT else Path(source).stem


def generator_clips(sources: Sequence[str | Path], n_clips: int, seconds: float, seed: int,
                    synth: SynthConfig) -> list[Clip]:
    """``n_clips`` generator clips of ``seconds``: clip ``i`` uses source ``i % len(sources)`` and seed ``seed + i``,
    is named ``<i:03d>_<source>``; a video source is held on the frame at a seed-drawn start of its ping-pong."""
    from mer_lab.evaluation.spot_bench import load_source  # the benchmark's source loader (face part of a video)

    if n_clips < 1 or seconds <= 0 or not sources:
        raise fail(DataError, f"bad clip-set size n_clips={n_clips} seconds={seconds} sources={len(sources)}",
                   "use n_clips >= 1, seconds > 0 and at least one source")
    backdrops = [(source_label(s), load_source(str(s), synth)) for s in sources]
    n_frames = max(round(seconds * synth.fps), 2)
    clips = []
    for i in range(n_clips):
        label, bd = backdrops[i % len(backdrops)]
        start = 0
        if isinstance(bd, VideoBackdrop):
            period = int(2 * (bd.n_source - 1) * synth.fps / bd.source_fps)
            start = int(np.random.default_rng(seed + i).integers(0, max(period, 1)))
        clips.append(Clip(bd, n_frames, seed + i, synth, name=f"{i:03d}_{label}", start=start))
    return clips


def render_clip_set(sources: Sequence[str | Path], n_clips: int, seconds: float, seed: int,
                    synth: SynthConfig | None = None, cfg: SyntheticClipConfig | None = None,
                    progress: Callable[[int, Clip], None] | None = None) -> tuple[SyntheticClipSet, dict[str, object]]:
    """A clip set rendered straight from the generator, no video written: ``n_clips`` clips of ``seconds``.

    Clip ``i`` uses source ``i % len(sources)`` and seed ``seed + i`` and is named ``<i:03d>_<source>``;
    a video source is held on the frame at a seed-drawn start of its ping-pong (as the spotting
    benchmark does, ``evaluation.spot_bench``), so each clip shows another source frame. Only the
    frames around each wanted movement are rendered and aligned. Returns (set, meta for ``save``).
    """
    cfg = cfg or SyntheticClipConfig()
    synth = synth or SynthConfig()
    clips = generator_clips(sources, n_clips, seconds, seed, synth)
    s = build_from_clips(clips, cfg, progress)
    meta: dict[str, object] = {
        "generator": "mer_lab.synthetic.clip_set.render_clip_set",
        "sources": [str(x) for x in sources], "n_clips": n_clips, "seconds": seconds, "seed": seed,
        "seeds": [seed, seed + n_clips - 1], "synth": json.loads(json.dumps(asdict(synth), default=str)),
        "config": asdict(cfg), "n_samples": len(s),
        "class_counts": np.bincount(s.labels, minlength=len(CLASSES)).tolist(),
        "subjects": {u: s.subjects.count(u) for u in sorted(set(s.subjects))},
    }
    return s, meta


def _fingerprint(folder: Path, cfg: SyntheticClipConfig) -> str:
    """A hash of the config and of the set's truth.csv and video sizes (rebuild when either changes)."""
    h = hashlib.sha256(json.dumps({"v": CACHE_VERSION, "cfg": asdict(cfg)}, sort_keys=True).encode())
    truth = folder / "truth.csv"
    if truth.is_file():
        h.update(truth.read_bytes())
    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
        if p.suffix.lower() in (".avi", ".mp4", ".mkv"):
            h.update(f"{p.name}:{p.stat().st_size}".encode())
    return h.hexdigest()


def load_or_build(folder: Path | str, cache: Path | str, cfg: SyntheticClipConfig | None = None) -> SyntheticClipSet:
    """The clips of generator folder ``folder``, from the ``.npz`` ``cache`` when it matches, else built and cached."""
    cfg = cfg or SyntheticClipConfig()
    folder, cache = Path(folder), Path(cache)
    key = _fingerprint(folder, cfg)
    if cache.is_file():
        s, meta = SyntheticClipSet.load(cache)
        if meta.get("fingerprint") == key:
            return s
    s = build_from_dir(folder, cfg)
    s.save(cache, {"fingerprint": key, "source": str(folder), "config": asdict(cfg)})
    return s
