"""Clip datasets for training the clip models: aligned-crop clips -> model inputs via ``preprocess.clip_input``.

Two kinds of source, one result (``ClipData``):

* ``synthetic-clips``: a clip-set ``.npz`` (``tools/make_synthetic_clips.py``) or a generator
  output folder (``tools/make_synthetic.py``: videos + ``truth.csv``; its clips are cut once and
  cached in ``<folder>/.clip_cache/``). Subject = source face.
* ``casme2`` / ``samm`` / ``smic`` (licensed; ``mer_lab.datasets`` loaders): each clip's
  onset..offset frames are aligned with ``FaceAligner`` (or, with ``align=False``, taken as
  already-cropped faces and resized) and cached as a clip set.

Model inputs are built by ``realtime_mer.recognition.preprocess.clip_input`` -- the same function the live
pipeline calls on a spotted interval -- and cached per model and preprocessing config as ``.npy``
(twostream3d's magnification + TV-L1 flow is the expensive one).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_lab.datasets.datasets import LOADERS
from mer_lab.datasets.samples import ClipSample
from mer_lab.models import input_contract
from mer_lab.synthetic.clip_set import (
    SyntheticClipConfig,
    SyntheticClipSet,
    align_span,
    build_from_dir,
    kept_indices,
    load_or_build,
)
from realtime_mer.errors import DataError, MerError, fail, log
from realtime_mer.recognition.preprocess import PreprocessConfig, clip_input, uniform_positions
from realtime_mer.types import CLASSES

SYNTHETIC = "synthetic-clips"
LICENSED: tuple[str, ...] = ("casme2", "samm", "smic", "casme_sq")
CLIP_DATASETS: tuple[str, ...] = (SYNTHETIC, *LICENSED)
INPUT_CACHE_VERSION = 1


@dataclass
class ClipData:
    """A clip set with the per-sample metadata the runner needs (same fields as ``MegcFlowSet`` minus images)."""

    clips: SyntheticClipSet
    name: str
    root: Path
    datasets: list[str]
    files: list[str]
    cache_dir: Path | None = None
    source: str = ""

    @property
    def labels(self) -> np.ndarray:
        return self.clips.labels

    @property
    def subjects(self) -> list[str]:
        return self.clips.subjects

    @property
    def classes(self) -> tuple[str, ...]:
        return self.clips.classes

    def __len__(self) -> int:
        return len(self.clips)

    def fingerprint(self) -> str:
        """A hash of the clips' crops, boundaries and labels (input caches are keyed by it)."""
        h = hashlib.blake2b(digest_size=16)
        for a in (self.clips.crops, self.clips.starts, self.clips.onset, self.clips.apex, self.clips.offset,
                  self.clips.labels):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def inputs(self, model_name: str, cfg: PreprocessConfig | None = None,
               progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """All clips as ``model_name`` inputs (N, *contract.shape) float32, from the cache when it matches."""
        cfg = cfg or PreprocessConfig()
        shape = input_contract(model_name).shape
        path = None
        if self.cache_dir is not None:
            key = hashlib.sha256(json.dumps({"v": INPUT_CACHE_VERSION, "model": model_name, "shape": shape,
                                             "cfg": asdict(cfg), "clips": self.fingerprint()},
                                            sort_keys=True, default=str).encode()).hexdigest()[:20]
            path = self.cache_dir / f"{model_name}-{key}.npy"
            if path.is_file():
                try:
                    x = np.load(path, allow_pickle=False)
                    if x.shape == (len(self), *shape) and x.dtype == np.float32:
                        return x
                except (OSError, ValueError):
                    pass
        x = np.empty((len(self), *shape), np.float32)
        for i in range(len(self)):
            x[i] = clip_input(model_name, *self.clips.sample(i), cfg=cfg)
            if progress is not None:
                progress(i + 1, len(self))
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, x)
                os.replace(tmp, path)
            except OSError as e:
                log.warning("cannot cache model inputs in %s: %s", path, e)
        return x

    def aux(self, model_name: str) -> np.ndarray | None:
        """Auxiliary per-sample targets: tcgru's per-step phase intensity (0 onset, 0.5 apex, 1 offset), else None."""
        if model_name != "tcgru":
            return None
        from mer_lab.models.tcgru import phase_targets
        from realtime_mer.recognition.contracts import TCGRU_STEPS

        out = np.empty((len(self), TCGRU_STEPS), np.float32)
        for i in range(len(self)):
            on, ap, off = int(self.clips.onset[i]), int(self.clips.apex[i]), int(self.clips.offset[i])
            pos = uniform_positions(on, off, TCGRU_STEPS + 1)  # the sampling of clip_input('tcgru'); step k ends at k+1
            out[i] = phase_targets(pos[1:], on, ap, off)
        return out


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


def load_synthetic(root: Path | str, cache_dir: Path | None = None) -> ClipData:
    """A ``synthetic-clips`` root: a clip-set ``.npz`` or a generator folder (videos + truth.csv)."""
    root = Path(root).expanduser()
    hint = "pass a clip-set .npz from tools/make_synthetic_clips.py or a tools/make_synthetic.py folder (videos + truth.csv)"
    if root.is_file() and root.suffix == ".npz":
        clips, meta = SyntheticClipSet.load(root)
        default_cache = root.with_name(root.stem + ".inputs")
        source = json.dumps({k: meta.get(k) for k in ("sources", "n_clips", "seconds", "seed")})
    elif root.is_dir() and (root / "truth.csv").is_file():
        cache = root / ".clip_cache"
        clips = load_or_build(root, cache / "clips.npz") if _writable(cache) else build_from_dir(root)
        default_cache = cache
        source = "generator folder"
    elif not root.exists():
        raise fail(DataError, f"synthetic-clips data root {root} does not exist", hint)
    else:
        raise fail(DataError, f"synthetic-clips data root {root} is neither a .npz clip set nor a folder with truth.csv", hint)
    if len(clips) == 0:
        raise fail(DataError, f"synthetic-clips data root {root} holds no clips", "generate more or longer clips")
    files = [f"{v}#{i}" for i, v in enumerate(clips.videos)]
    return ClipData(clips, SYNTHETIC, root, ["synthetic"] * len(clips), files,
                    cache_dir if cache_dir is not None else default_cache, source)


def _sample_crops(sample: ClipSample, cfg: SyntheticClipConfig, align: bool) -> np.ndarray:
    """(T, S, S) uint8 crops of a dataset clip: aligned with a fresh ``FaceAligner``, or resized (pre-cropped faces)."""
    gray = sample.read_gray()
    s = cfg.crop_size
    if not align:
        return np.stack([cv2.resize(g, (s, s), interpolation=cv2.INTER_AREA if min(g.shape) >= s else cv2.INTER_LINEAR)
                         for g in gray])
    return align_span(lambda i: cv2.cvtColor(gray[i], cv2.COLOR_GRAY2BGR), 0, len(gray) - 1, cfg, sample.key,
                      "check the frames, or pass --no-align when they are already face crops")


def clipset_from_samples(samples: list[ClipSample], cfg: SyntheticClipConfig | None = None,
                         align: bool = True, classes: tuple[str, ...] = CLASSES) -> SyntheticClipSet:
    """A clip set of dataset clips (onset..offset, at most ``cfg.max_frames`` kept by stride, onset/apex/offset kept);
    labels are indices into ``classes`` (the class set the samples were labelled with)."""
    cfg = cfg or SyntheticClipConfig()
    parts, on, ap, off = [], [], [], []
    for smp in samples:
        crops = _sample_crops(smp, cfg, align)
        keep = kept_indices(smp.onset, smp.apex, smp.offset, cfg.max_frames)
        pos = {int(v): k for k, v in enumerate(keep)}
        parts.append(crops[keep])
        on.append(pos[smp.onset])
        ap.append(pos[smp.apex])
        off.append(pos[smp.offset])
    s = cfg.crop_size
    return SyntheticClipSet(
        np.concatenate(parts) if parts else np.zeros((0, s, s), np.uint8),
        np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64),
        np.array(on, np.int64), np.array(ap, np.int64), np.array(off, np.int64),
        np.array([classes.index(x.label) for x in samples], np.int64),
        [x.subject for x in samples], [x.key for x in samples], ["micro"] * len(samples), tuple(classes))


def load_licensed(name: str, root: Path | str, cache_dir: Path | None = None, align: bool = True,
                  class_set: str = "megc3") -> ClipData:
    """CASME II / SAMM / SMIC-HS / CAS(ME)^2 clips (``mer_lab.datasets`` loaders) as a ``ClipData``, labelled in
    ``class_set`` (``realtime_mer.recognition.classes``); crops cached in ``cache_dir``."""
    from mer_lab.datasets.megc_classes import class_set_mapping
    from realtime_mer.recognition.classes import class_set as named_set

    if name not in LICENSED:
        raise fail(DataError, f"unknown clip dataset {name!r}", f"use one of {', '.join(CLIP_DATASETS)}")
    classes = named_set(class_set).classes
    samples = LOADERS[name](root, class_set_mapping(class_set, name))
    if not samples:
        raise fail(DataError, f"{name} under {root}: no clip with a MEGC 2019 label", "check the annotation file")
    cfg = SyntheticClipConfig()
    key = hashlib.sha256(json.dumps({"v": INPUT_CACHE_VERSION, "align": align, "cfg": asdict(cfg), "classes": classes,
                                     "clips": [(x.key, [str(f) for f in x.frames], x.onset, x.apex, x.offset, x.label)
                                               for x in samples]}, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir / f"{name}-crops-{key}.npz" if cache_dir is not None else None
    clips = None
    if path is not None and path.is_file():
        try:
            clips = dataclasses.replace(SyntheticClipSet.load(path)[0], classes=classes)  # the file keeps label indices only
        except MerError:
            clips = None
    if clips is None:
        clips = clipset_from_samples(samples, cfg, align, classes)
        if path is not None and _writable(path.parent):
            clips.save(path, {"dataset": name, "root": str(root), "align": align})
    return ClipData(clips, name, Path(root), [name] * len(clips), [x.key for x in samples], cache_dir,
                    f"{name} ({'aligned' if align else 'pre-cropped'})")
