"""``--demo``: the bundled astronaut portrait animated at 200 fps with known micro-expressions.

Slight head sway, sensor noise, blinks, the odd head jerk and brightness flicker, and a few
injected AU movements (mostly micro, ≈ one every 2 s) whose frames are listed in ``truth``.
Frames are rendered on demand (nothing per frame is precomputed), so any length works.
"""

from __future__ import annotations

import numpy as np

from realtime_mer.capture.base import Source
from realtime_mer.errors import SourceError, fail
from realtime_mer.synth.backdrop import StillBackdrop, load_astronaut
from realtime_mer.synth.clip import ASTRONAUT, Clip, SynthConfig
from realtime_mer.synth.render import RenderConfig
from realtime_mer.synth.scene import SceneConfig
from realtime_mer.synth.truth import TruthRow


def demo_config(fps: float = 200.0, width: int = 640, height: int = 480) -> SynthConfig:
    """The demo's synth settings: clear micro-expressions ≈ 2 s apart, light distractors."""
    scene = SceneConfig(
        lead_in_s=1.0,
        lead_jitter_s=0.0,
        tail_s=0.6,
        min_gap_s=1.3,
        max_gap_s=2.0,
        macro_fraction=0.15,
        micro_typical_p=1.0,
        micro_amp_px=(1.2, 2.5),
        macro_amp_px=(2.0, 3.5),
        blink_every_s=(3.0, 6.0),
        jerk_every_s=(5.0, 9.0),
        jerk_return_s=(0.8, 1.6),
        drift_rot_deg=0.0,  # translation-only drift: two map passes per pose update
        drift_scale=0.0,
        flicker_every_s=(4.0, 8.0),
    )
    return SynthConfig(fps=fps, render=RenderConfig(width=width, height=height), scene=scene, sway_hold=4, jpeg_prob=0.0)


class DemoSource(Source):
    """Synthetic 200 fps stream of the astronaut with injected movements listed in ``truth``."""

    name = "demo"
    live = False

    def __init__(self, seconds: float = 12.0, fps: float = 200.0, width: int = 640, height: int = 480, seed: int = 0) -> None:
        super().__init__()
        if not seconds > 0 or not fps > 0 or width < 64 or height < 64:
            raise fail(SourceError, f"invalid demo settings seconds={seconds} fps={fps} size={width}x{height}", "use seconds > 0, fps > 0 and a size of at least 64x64")
        self.seconds, self.seed = float(seconds), int(seed)
        self._size = (int(width), int(height))
        self._fps = float(fps)
        self.n_frames = max(round(seconds * fps), 1)
        cfg = demo_config(self._fps, *self._size)
        image, marks = load_astronaut()
        backdrop = StillBackdrop(image, marks, width, height, cfg.face_frac, name=ASTRONAUT)
        self.clip = Clip(backdrop, self.n_frames, self.seed, cfg, name=self.name)
        self.truth: list[TruthRow] = self.clip.truth
        self._next = 0

    def _open(self) -> None:
        self.fps = self._fps
        self.width, self.height = self._size
        self.total_frames = self.n_frames
        self.clip.prepare()
        self._next = 0

    def _read(self) -> np.ndarray | None:
        if self._next >= self.n_frames:
            return None
        image = self.clip.frame(self._next)
        self._next += 1
        return image

    def _close(self) -> None:
        self._next = 0

    def frame(self, index: int, inject: bool = True) -> np.ndarray:
        """Frame ``index`` on demand (``inject=False``: the same frame without the movements)."""
        if not 0 <= index < self.n_frames:
            raise fail(SourceError, f"demo frame {index} out of range 0..{self.n_frames - 1}", "ask for a frame inside the demo")
        return self.clip.frame(index, inject)
