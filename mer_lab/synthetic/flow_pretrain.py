"""Synthetic onset->apex flows for pretraining apexflow (issue 27).

The MEGC 2019 composite feature of a sample is the TV-L1 flow from the onset to the apex frame of the
aligned face, encoded as (u, v, strain) at 28x28, each channel min-max normalised. The project's
renderer (``realtime_mer.synth``) turns FACS action units into displacement fields on real faces,
which is what such a flow measures. Here each sample is a still of a real face video (never a
composite subject: no MEGC face is in ../shared/data), an AU combination from the generator's table
(``synth.aus.MOVEMENTS``, which also gives the class), an amplitude and a small head-pose change between
onset and apex, rendered twice (onset without the AUs, apex with them), aligned with the live
``FaceAligner`` and turned into the 28x28 image by ``recognition.features.apex_flow_image`` with full
TV-L1 -- the same flow and encoding as the composite features.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_lab.synthetic.clip_set import load_npz, save_npz
from realtime_mer.config import FaceConfig
from realtime_mer.errors import DataError, MerError, fail
from realtime_mer.face import FaceAligner
from realtime_mer.recognition.features import apex_flow_image
from realtime_mer.synth.aus import MOVEMENTS
from realtime_mer.synth.backdrop import StillBackdrop, load_astronaut, open_video
from realtime_mer.synth.clip import ASTRONAUT, in_picture
from realtime_mer.synth.render import FrameState, RenderConfig, StaticRenderer
from realtime_mer.types import CLASSES, Frame


@dataclass(frozen=True)
class SynthFlowConfig:
    """How the synthetic onset->apex pairs are drawn."""

    amp_px: tuple[float, float] = (0.6, 3.0)  # AU displacement peak, px at a 200 px face
    shift_px: float = 1.0  # head translation onset -> apex, up to this many px (x and y)
    rot_deg: float = 1.0  # head roll onset -> apex, up to
    scale: float = 0.01  # head scale change onset -> apex, up to
    flow_method: str = "tvl1"  # the composite features' flow
    width: int = 640
    height: int = 480
    stills_per_video: int = 4


@dataclass
class SynthFlowSet:
    """(N, 28, 28, 3) uint8 apex-flow images, labels into CLASSES, and what made each."""

    images: np.ndarray
    labels: np.ndarray
    faces: list[str]
    aus: list[str]
    amp_px: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def save(self, path: Path, meta: dict[str, object] | None = None) -> Path:
        return save_npz(path, meta, "choose a writable path", images=self.images, labels=self.labels,
                        faces=np.array(self.faces, dtype=str), aus=np.array(self.aus, dtype=str), amp_px=self.amp_px)

    @classmethod
    def load(cls, path: Path) -> tuple[SynthFlowSet, dict[str, object]]:
        z, meta = load_npz(path, "synthetic flow set", "rebuild it with tools/pretrain_apexflow.py")
        return cls(z["images"], z["labels"], [str(v) for v in z["faces"]], [str(v) for v in z["aus"]], z["amp_px"]), meta


def face_stills(sources: Sequence[str | Path], cfg: SynthFlowConfig, seed: int) -> list[StillBackdrop]:
    """Up to ``cfg.stills_per_video`` stills (seed-drawn frames with a face) of each video, or the astronaut."""
    rng = np.random.default_rng(seed)
    out: list[StillBackdrop] = []
    for src in sources:
        if str(src) == ASTRONAUT:
            image, marks = load_astronaut()
            out.append(StillBackdrop(image, marks, cfg.width, cfg.height, name=ASTRONAUT))
            continue
        path = Path(src)
        cap = open_video(path)
        try:
            n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            for k in sorted(rng.choice(max(n, 1), size=min(cfg.stills_per_video, max(n, 1)), replace=False)):
                cap.set(cv2.CAP_PROP_POS_FRAMES, int(k))
                ok, image = cap.read()
                if not ok:
                    continue
                try:
                    out.append(StillBackdrop(image, None, cfg.width, cfg.height, name=f"{path.stem}@{k}"))
                except MerError:  # no face in that frame
                    continue
        finally:
            cap.release()
    if not out:
        raise fail(DataError, "no face found in any source", "pass face videos (../shared/data/real_faces*)")
    return out


def _pose(rng: np.random.Generator, cfg: SynthFlowConfig) -> tuple[float, float, float, float]:
    return (float(rng.uniform(-cfg.shift_px, cfg.shift_px)), float(rng.uniform(-cfg.shift_px, cfg.shift_px)),
            float(np.radians(rng.uniform(-cfg.rot_deg, cfg.rot_deg))), float(rng.uniform(-cfg.scale, cfg.scale)))


def render_flow_set(stills: Sequence[StillBackdrop], per_still: int, seed: int, cfg: SynthFlowConfig | None = None,
                    progress: Callable[[int, int], None] | None = None) -> SynthFlowSet:
    """``per_still`` samples per still: a visible AU combination drawn uniformly from ``MOVEMENTS``, an amplitude, an
    onset pose (the onset is at rest: pose 0) and an apex pose; onset / apex rendered, aligned, TV-L1, encoded."""
    cfg = cfg or SynthFlowConfig()
    rng = np.random.default_rng(seed)
    images, labels, faces, aus_s, amps = [], [], [], [], []
    face_cfg = FaceConfig()
    with FaceAligner(face_cfg) as aligner:
        for si, still in enumerate(stills):
            seen = in_picture(still)
            moves = [m for m in MOVEMENTS if seen(m[0])]
            if not moves:
                continue
            renderer = StaticRenderer(still.canvas, still.landmarks, RenderConfig(cfg.width, cfg.height), int(rng.integers(2**31)))
            for _ in range(per_still):
                aus, label = moves[int(rng.integers(len(moves)))]
                amp = float(rng.uniform(*cfg.amp_px))
                onset = renderer.render(FrameState(pose=(0.0, 0.0, 0.0, 0.0), noise=0))
                apex = renderer.render(FrameState(pose=_pose(rng, cfg), aus=aus, au_px=amp, noise=1))
                aligner.reset()
                a = aligner.process(Frame(index=0, timestamp_ns=0, wall_time=0.0, image=onset))
                b = aligner.process(Frame(index=1, timestamp_ns=0, wall_time=0.0, image=apex))
                if a is None or b is None:
                    continue
                images.append(apex_flow_image(a.crop, b.crop, method=cfg.flow_method))
                labels.append(CLASSES.index(label))
                faces.append(still.name.split("@")[0])
                aus_s.append("+".join(map(str, aus)))
                amps.append(amp)
            if progress is not None:
                progress(si + 1, len(stills))
    if not images:
        raise fail(DataError, "no synthetic flow sample could be aligned", "check the face sources")
    return SynthFlowSet(np.stack(images), np.array(labels, np.int64), faces, aus_s, np.array(amps, np.float32))


def config_dict(cfg: SynthFlowConfig) -> dict[str, object]:
    return asdict(cfg)
