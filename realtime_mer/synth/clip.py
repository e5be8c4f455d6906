"""A synthetic clip: a face backdrop, a planned scene and a renderer; any frame by index."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import SourceError, fail
from realtime_mer.synth.aus import ACTION_UNITS
from realtime_mer.synth.backdrop import StillBackdrop, VideoBackdrop, is_image, load_astronaut
from realtime_mer.synth.field import anchor_point
from realtime_mer.synth.render import DynamicRenderer, FrameState, RenderConfig, StaticRenderer, noise_schedule
from realtime_mer.synth.scene import Scene, SceneConfig, plan_scene
from realtime_mer.synth.truth import TruthRow

ASTRONAUT = "astronaut"  # source name of the bundled portrait


@dataclass
class SynthConfig:
    """Everything about synthetic clips except the source and the seed."""

    fps: float = 200.0
    render: RenderConfig = field(default_factory=RenderConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    face_frac: float = 0.4  # face size (mean of width and height) / output height
    interp: str = "flow"  # video upsampling when played: flow | blend
    video_motion: str = "hold"  # video sources: hold one frame (per clip, at its start) | play at its own speed
    sway_hold: int = 1  # stills: update the head pose every N frames, except during a jerk's rise
    jpeg_prob: float = 0.3  # share of clips re-compressed frame by frame (compression distractor)
    jpeg_quality: tuple[int, int] = (50, 85)


Backdrop = StillBackdrop | VideoBackdrop


def make_backdrop(source: str | Path, cfg: SynthConfig, seconds: float) -> Backdrop:
    """``"astronaut"`` (bundled), an image file or a video file."""
    w, h = cfg.render.width, cfg.render.height
    if str(source) == ASTRONAUT:
        image, marks = load_astronaut()
        return StillBackdrop(image, marks, w, h, cfg.face_frac, name=ASTRONAUT)
    path = Path(source)
    if is_image(path):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise fail(SourceError, f"cannot read image {path}", "check the path and format")
        return StillBackdrop(image, None, w, h, cfg.face_frac, name=path.stem)
    return VideoBackdrop(path, w, h, cfg.fps, seconds, cfg.face_frac, cfg.interp)


def in_picture(backdrop: Backdrop, share: float = 0.9) -> Callable[[tuple[int, ...]], bool]:
    """Which AU combinations the camera sees: every anchor of their bumps inside the frame in at least ``share`` of the
    backdrop's frames with a face. A close-up that cuts off the mouth or chin gets no movements there: they could not
    be seen, so they would be truths that no spotter can find."""
    if isinstance(backdrop, StillBackdrop):
        marks_list, (h, w) = [backdrop.landmarks], backdrop.canvas.shape[:2]
    else:
        marks_list, (w, h) = [m for m in backdrop.marks if m is not None], backdrop.size
    cache: dict[int, bool] = {}

    def au_seen(au: int) -> bool:
        if au not in cache:
            inside = [all(0.0 <= p[0] < w and 0.0 <= p[1] < h for p in (anchor_point(mk, b.anchor) for b in ACTION_UNITS[au])) for mk in marks_list]
            cache[au] = not inside or float(np.mean(inside)) >= share
        return cache[au]

    return lambda aus: all(au_seen(a) for a in aus)


class Clip:
    """``n_frames`` of a backdrop with movements and distractors drawn from ``seed``.

    ``start`` shifts where a video backdrop's timeline begins (several clips of one video).
    With ``cfg.video_motion == "hold"`` (the default) a video backdrop is replaced by its
    source frame at ``start``, held still: the clip then moves only by the scene's head drift,
    jerks, blinks and movements, like a subject asked to keep a neutral face. ``"play"`` plays
    the video with its own (unlabelled) expressions and head turns under the injected ones.
    """

    def __init__(self, backdrop: Backdrop, n_frames: int, seed: int, cfg: SynthConfig | None = None, name: str = "clip", start: int = 0) -> None:
        self.cfg = cfg = cfg or SynthConfig()
        if cfg.video_motion not in ("hold", "play"):
            raise fail(SourceError, f"unknown video_motion {cfg.video_motion!r}", "use 'hold' or 'play'")
        if isinstance(backdrop, VideoBackdrop) and cfg.video_motion == "hold":
            backdrop, start = backdrop.still(backdrop.position(start)[0]), 0
        self.backdrop, self.n_frames, self.name, self.start = backdrop, n_frames, name, start
        rng = np.random.default_rng(seed)
        scene_cfg = cfg.scene
        if isinstance(backdrop, StillBackdrop):
            self.scene: Scene = plan_scene(n_frames, cfg.fps, rng, scene_cfg, visible=in_picture(backdrop))
        else:  # a video moves by itself: no synthetic drift
            scene_cfg = dataclasses.replace(scene_cfg, drift_px=0.0, drift_rot_deg=0.0, drift_scale=0.0)
            face_ok = backdrop.face_ok(n_frames + start)[start:]
            self.scene = plan_scene(n_frames, cfg.fps, rng, scene_cfg, face_ok, in_picture(backdrop))
        self._render_seed = int(rng.integers(2**31))
        self._noise_index = noise_schedule(cfg.render.noise_bank, self._render_seed + 1)
        self.jpeg_quality: int | None = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)) if rng.random() < cfg.jpeg_prob else None
        self._static: StaticRenderer | None = None
        self._dynamic: DynamicRenderer | None = None

    def prepare(self) -> None:
        """Build the renderer (noise bank, head rig); done on the first frame otherwise."""
        if self._static is None and self._dynamic is None:
            if isinstance(self.backdrop, StillBackdrop):
                self._static = StaticRenderer(self.backdrop.canvas, self.backdrop.landmarks, self.cfg.render, self._render_seed)
            else:
                self._dynamic = DynamicRenderer(self.cfg.render, self._render_seed)

    @property
    def truth(self) -> list[TruthRow]:
        return self.scene.truth(self.name)

    def state(self, i: int, inject: bool = True) -> FrameState:
        """The per-frame parameters of frame ``i`` (``inject=False``: without the movements)."""
        sc = self.scene
        hold = self.cfg.sway_hold
        pose_i = i if hold <= 1 or sc.jerking(i, hold) else (i // hold) * hold
        mv = sc.movement_at(i) if inject else None
        noise = int(self._noise_index[i % len(self._noise_index)])
        return FrameState(
            pose=sc.pose_at(pose_i),
            aus=mv[0].aus if mv else (),
            au_px=mv[0].amplitude_px * mv[1] if mv else 0.0,
            blink=sc.blink_at(i),
            gain=sc.gain_at(i),
            noise=noise,
        )

    def frame(self, i: int, inject: bool = True) -> np.ndarray:
        """Frame ``i`` as a new HxWx3 BGR uint8 array."""
        self.prepare()
        st = self.state(i, inject)
        if self._static is not None:
            hold = self.cfg.sway_hold
            key = None if hold <= 1 or self.scene.jerking(i, hold) else i // hold
            image = self._static.render(st, key)
        else:
            canvas, marks = self.backdrop.frame(i + self.start)  # type: ignore[union-attr]
            image = self._dynamic.render(canvas, marks, st)  # type: ignore[union-attr]
        if self.jpeg_quality is not None:
            _, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            image = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        return image
