"""Several real faces in one video: actors pasted on a canvas along known paths, micro-movements injected into one.

Each *actor* is a real face video (``DEFAULT_SOURCES``, from ``../shared/data``) rendered as a face tile by a
``realtime_mer.synth.Clip`` -- held on one of its frames with the scene's small head sway, blinks and jerks
(``motion="hold"``), or played at its own speed (``"play"``) -- and pasted through a feathered elliptical mask
(or as a rectangle) onto a plain noisy background, at a position per frame. One actor (``inject_actor``) gets the
scene's injected AU movements and truth rows; the others are rendered with ``inject=False``. The injected
movements are planned only where that actor's face is fully in view (not off the canvas, not behind another).

Layouts (``build_multiface(layout=...)``), all drawn from the seed:

- ``side_by_side``: 2 faces on 960x360 or 3 on 1280x360, still tiles side by side, faces ~220 px tall.
- ``crossing``: 2 faces on 960x540 moving horizontally in opposite directions; actor 0 passes in front of actor 1
  (offset vertically, so the occlusion is partial), or with ``apart=True`` one above the other (no overlap).
- ``leave_return``: 2 faces on 960x360; actor 1 leaves through the right edge, stays out ``out_s`` seconds and
  comes back in at the same edge; actor 0 stays.
- ``grid``: 1, 2 or 4 faces of ~170 px on a 640x480 canvas (4 in 2x2) at 200 fps, for throughput per face count.

``write_multiface`` writes the video (Motion-JPEG ``.avi`` at quality 95, as the other generated sets; FFV1 ``.mkv``,
lossless but ~0.4 MB per 640x480 frame; or a folder of PNGs), ``truth.csv``
(``realtime_mer.synth.truth`` format; only the injected actor's movements), ``faces_truth.csv`` (the same rows with
an ``actor`` column first), ``boxes.csv`` (``BOX_COLUMNS``: the true face box of every actor on every frame) and
``multiface.json`` (the layout, the actors and their sources). The real_faces_listen clips have no open licence:
generated videos are for local tests and benchmarks only, never committed.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mer_lab.paths import shared_data
from realtime_mer.errors import DataError, OutputError, SourceError, fail
from realtime_mer.synth.backdrop import LandmarkDetector, StillBackdrop, VideoBackdrop, is_image, open_video
from realtime_mer.synth.clip import Clip, SynthConfig, in_picture
from realtime_mer.synth.field import face_geometry
from realtime_mer.synth.render import RenderConfig
from realtime_mer.synth.scene import SceneConfig, plan_scene
from realtime_mer.synth.truth import TRUTH_COLUMNS, TruthRow, write_truth_csv

LAYOUTS: tuple[str, ...] = ("side_by_side", "crossing", "leave_return", "grid")
FACE_COUNTS: dict[str, tuple[int, ...]] = {"side_by_side": (2, 3), "crossing": (2,), "leave_return": (2,), "grid": (1, 2, 4)}
DEFAULT_SECONDS: dict[str, float] = {"side_by_side": 3.0, "crossing": 3.5, "leave_return": 4.5, "grid": 2.0}
DEFAULT_FPS: dict[str, float] = {"side_by_side": 30.0, "crossing": 30.0, "leave_return": 30.0, "grid": 200.0}
# people who do not talk (../shared/data/README.md), faces small enough to be shown at ~160-220 px, then a fourth person
DEFAULT_SOURCES: tuple[str, ...] = (
    "real_faces_listen/stock_cap_man.mp4",
    "real_faces/WolfgangLanger_Pexels.mp4",
    "real_faces/single_face.mp4",
    "real_faces_more/fgnet_franck.mp4",
)
MOTIONS = ("hold", "play")
MASKS = ("ellipse", "rect")
VIDEO_FORMATS: tuple[str, ...] = ("mkv", "avi", "png")
BOX_COLUMNS: tuple[str, ...] = ("frame", "actor", "x", "y", "w", "h", "visible", "visible_frac")
FACES_TRUTH_COLUMNS: tuple[str, ...] = ("actor", *TRUTH_COLUMNS)
VISIBLE_MIN = 0.5  # boxes.csv ``visible`` = 1 when at least this share of the face box is on the canvas and uncovered
INJECT_VISIBLE = 0.98  # injected movements only where the actor's face is at least this much in view
HOLD_START_MAX = 60  # hold: the still is one of the source's first 2 s of frames (drawn from the seed; neutral in the defaults)
PLAY_START_MAX = 60  # play: the source starts at one of its first frames


def multiface_scene() -> SceneConfig:
    """Scene timing for clips of a few seconds: movements from 0.5-1 s on, closer together than in the long sets."""
    return SceneConfig(lead_in_s=0.5, lead_jitter_s=0.5, tail_s=0.3, min_gap_s=0.6, max_gap_s=1.5)


@dataclass(frozen=True)
class Placement:
    """Where one actor's tile goes: its size, the wanted face size (FaceMesh size: mean of face width and height),
    the tile's top-left corner on every frame (``path``, (n, 2) float px) and the drawing order (higher in front)."""

    tile: tuple[int, int]  # (w, h)
    face_px: float
    path: np.ndarray
    z: int


@dataclass(frozen=True)
class Layout:
    name: str
    width: int
    height: int
    placements: list[Placement]


@dataclass(frozen=True, slots=True)
class FaceBox:
    """The true face box of one actor on one frame (a row of ``boxes.csv``).

    ``x, y, w, h``: the box of the actor's 468 FaceMesh landmarks on the canvas, cut to the canvas (all 0 when the
    face is wholly outside). ``visible_frac``: the share of the uncut box that is on the canvas and not covered by an
    actor in front (alpha-weighted). ``visible``: ``visible_frac >= VISIBLE_MIN``."""

    frame: int
    actor: int
    x: int
    y: int
    w: int
    h: int
    visible: bool
    visible_frac: float


@dataclass
class Actor:
    """One face of the video: its source, its rendered tile and where it goes."""

    index: int
    name: str
    source: Path
    start: int  # source frame held (hold) or played from (play)
    motion: str
    inject: bool
    placement: Placement
    clip: Clip
    mask_kind: str  # ellipse: feathered, around the face on each frame | rect: the whole tile
    tile_boxes: np.ndarray  # (n, 4) float x0, y0, x1, y1 of the face in tile pixels
    _masks: dict[tuple[int, ...], np.ndarray] = dataclasses.field(default_factory=dict, repr=False)

    def mask(self, i: int) -> np.ndarray:
        """Alpha (th, tw, 1) float32 of frame ``i``: the ellipse follows the face (a played video moves in its tile)."""
        key = tuple(int(v) for v in np.round(self.tile_boxes[i])) if self.mask_kind == "ellipse" else ()
        m = self._masks.get(key)
        if m is None:
            if len(self._masks) >= 32:
                self._masks.pop(next(iter(self._masks)))
            tw, th = self.placement.tile
            m = self._masks[key] = _ellipse_mask(self.placement.tile, np.array(key, np.float64)) if key else np.ones((th, tw, 1), np.float32)
        return m

    @property
    def face_height(self) -> float:
        """Median face box height in px (as shown)."""
        return float(np.median(self.tile_boxes[:, 3] - self.tile_boxes[:, 1]))


# -- layouts ----------------------------------------------------------------------------------------------------------


def _static(n: int, x: float, y: float) -> np.ndarray:
    return np.tile(np.array([[x, y]], np.float64), (n, 1))


def _ramp(n: int, fps: float, keys: Sequence[tuple[float, float]]) -> np.ndarray:
    """Piecewise-linear values over frames through (time s, value) keys (constant beyond the ends)."""
    t = np.arange(n) / fps
    ts, vs = zip(*keys, strict=True)
    return np.interp(t, ts, vs)


def plan_layout(layout: str, faces: int, n_frames: int, fps: float, rng: np.random.Generator, *, apart: bool = False,
                out_s: float = 1.25) -> Layout:
    """Canvas size and each actor's placement for ``layout`` (small jitter of positions and times from ``rng``)."""
    n = n_frames
    seconds = n / fps

    def jit(px: float) -> float:
        return float(rng.uniform(-px, px))

    if layout == "side_by_side":
        width, height, tile, face = (960 if faces == 2 else 1280), 360, (280, 340), 210.0
        slot = width / faces
        places = [Placement(tile, face, _static(n, round(slot * k + (slot - tile[0]) / 2 + jit(12)), round(10 + jit(8))), 0) for k in range(faces)]
        return Layout(layout, width, height, places)
    if layout == "crossing":
        width, height, tile, face = 960, 540, (240, 270), 165.0
        left, right = 30 + jit(10), width - tile[0] - 30 + jit(10)
        t0, t1 = seconds * (0.2 + jit(0.03)), seconds * (0.8 + jit(0.03))
        if apart:  # one above the other, each tile in its half: the faces never meet
            cy = (135.0, 405.0)
        else:  # a vertical offset of ~1/3 face: actor 0 covers part of actor 1's face while they pass
            dy = 0.35 * face + jit(6)
            cy = (270.0 - dy / 2, 270.0 + dy / 2)
        xs = (_ramp(n, fps, [(t0, left), (t1, right)]), _ramp(n, fps, [(t0, right), (t1, left)]))
        places = [Placement(tile, face, np.stack([xs[k], np.full(n, cy[k] - tile[1] / 2)], 1), 1 - k) for k in range(2)]
        return Layout(layout, width, height, places)
    if layout == "leave_return":
        width, height, tile, face = 960, 360, (280, 340), 210.0
        slot = width / 2
        home0, home1 = (slot - tile[0]) / 2 + jit(12), slot + (slot - tile[0]) / 2 + jit(12)
        move = 0.6  # s to leave (or come back) through the right edge
        lead = max(0.5, (seconds - out_s - 2 * move) * (0.45 + jit(0.05)))
        keys = [(lead, home1), (lead + move, float(width)), (lead + move + out_s, float(width)), (lead + 2 * move + out_s, home1)]
        y = round(10 + jit(8))
        places = [Placement(tile, face, _static(n, round(home0), y), 0),
                  Placement(tile, face, np.stack([_ramp(n, fps, keys), np.full(n, float(y))], 1), 1)]
        return Layout(layout, width, height, places)
    if layout == "grid":
        width, height, tile, face = 640, 480, (220, 240), 160.0
        cells = {1: [(160, 120)], 2: [(0, 120), (320, 120)], 4: [(0, 0), (320, 0), (0, 240), (320, 240)]}[faces]
        places = [Placement(tile, face, _static(n, cx + (320 - tile[0]) / 2 + round(jit(4)), cy + round(jit(2))), 0) for cx, cy in cells]
        return Layout(layout, width, height, places)
    raise fail(DataError, f"unknown layout {layout!r}", f"use one of {', '.join(LAYOUTS)}")


def check_request(layout: str, faces: int, seconds: float, fps: float, inject_actor: int | None, out_s: float = 1.25) -> None:
    """Refuse a bad request in one line, before any video is read."""
    if layout not in LAYOUTS:
        raise fail(DataError, f"unknown layout {layout!r}", f"use one of {', '.join(LAYOUTS)}")
    counts = FACE_COUNTS[layout]
    if faces not in counts:
        takes = str(counts[0]) if len(counts) == 1 else f"{', '.join(map(str, counts[:-1]))} or {counts[-1]}"
        raise fail(DataError, f"layout {layout} takes {takes} faces, not {faces}", f"pass --faces {counts[-1]}")
    if not (math.isfinite(seconds) and seconds > 0 and math.isfinite(fps) and fps > 0):
        raise fail(DataError, f"--seconds {seconds:g} and --fps {fps:g} must be positive", "e.g. --seconds 3 --fps 30")
    if seconds * fps < 2:
        raise fail(DataError, f"{seconds:g} s at {fps:g} fps is fewer than 2 frames", "pass a longer --seconds")
    if layout == "leave_return" and seconds < out_s + 1.2 + 1.0:
        raise fail(DataError, f"leave_return needs at least {out_s + 2.2:g} s (0.6 s out, {out_s:g} s away, 0.6 s back, 1 s in view)",
                   f"pass --seconds {max(4.5, out_s + 2.2):g}")
    if inject_actor is not None and not 0 <= inject_actor < faces:
        raise fail(DataError, f"--inject-actor {inject_actor} is not one of the {faces} actors (0..{faces - 1})", "pass --inject-actor 0")


# -- actors -----------------------------------------------------------------------------------------------------------


def default_sources(faces: int) -> list[Path]:
    """The first ``faces`` of ``DEFAULT_SOURCES`` under the shared data; a missing one is a ``SourceError``."""
    paths = [shared_data(*s.split("/")) for s in DEFAULT_SOURCES[:faces]]
    for p in paths:
        if not p.is_file():
            raise fail(SourceError, f"face video {p} not found (the shared data is not there)",
                       "set REALTIME_MER_SHARED_DATA to the shared data folder, or pass --source FILE once per face")
    return paths


def read_source_frame(path: Path, k: int) -> np.ndarray:
    """Frame ``k`` of a video (read in order: exact and deterministic) or the image at ``path``."""
    if is_image(path):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise fail(SourceError, f"cannot read image {path}", "check the path and format")
        return image
    cap = open_video(path)
    frame = None
    try:
        for _ in range(k + 1):
            ok, f = cap.read()
            if not ok or f is None:
                break
            frame = f
    finally:
        cap.release()
    if frame is None:
        raise fail(SourceError, f"no frame could be decoded from {path}", "check the file plays elsewhere")
    return frame


def _still_tile(path: Path, start: int, tile: tuple[int, int], face_px: float, name: str) -> tuple[StillBackdrop, int]:
    """A still of frame ``start`` (or a later one with a face) cropped to the tile with the face at ``face_px``. The
    frame is padded (edge pixels) first, so a close-up can be shown smaller than its frame."""
    tw, th = tile
    det = LandmarkDetector(static=True)
    try:
        for k in (start, start + 7, start + 19, 0):
            image = read_source_frame(path, k)
            marks = det(image)  # on the frame itself: padded, the face would be too small for the detector
            if marks is None:
                continue
            pad = max(image.shape[:2])
            padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            return StillBackdrop(padded, marks + np.float32(pad), tw, th, face_px / th, name=f"{name}@{k}"), k
    finally:
        det.close()
    raise fail(SourceError, f"no face found in {path} (frames {start}, {start + 7}, {start + 19}, 0)", "use a video with a frontal face")


def _ellipse_mask(tile: tuple[int, int], box: np.ndarray, feather: float = 0.22) -> np.ndarray:
    """Alpha (th, tw, 1) float32: 1 inside an ellipse around the head (the face box grown for hair, ears and chin),
    a raised-cosine edge of ``feather`` (share of the radius), 0 outside; kept inside the tile."""
    tw, th = tile
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy = 0.5 * (x0 + x1), 0.5 * (y0 + y1) - 0.06 * (y1 - y0)
    a = min(0.72 * (x1 - x0), cx - 1, tw - 1 - cx)
    b = min(0.74 * (y1 - y0), cy - 1, th - 1 - cy)
    gx, gy = np.meshgrid(np.arange(tw, dtype=np.float32), np.arange(th, dtype=np.float32))
    rho = np.sqrt(((gx - cx) / max(a, 1.0)) ** 2 + ((gy - cy) / max(b, 1.0)) ** 2)
    t = np.clip((rho - (1.0 - feather)) / feather, 0.0, 1.0)
    return (0.5 * (1.0 + np.cos(np.pi * t))).astype(np.float32)[..., None]


def _landmark_box(marks: np.ndarray) -> np.ndarray:
    return np.concatenate([marks.min(0), marks.max(0)]).astype(np.float64)


def _tile_boxes(clip: Clip) -> np.ndarray:
    """(n, 4) face box (x0, y0, x1, y1) in tile pixels per frame: a still's landmarks moved by the scene's head
    translation, a played video's landmarks at the frame's source position (nearest source frame with a face)."""
    n = clip.n_frames
    bd = clip.backdrop
    out = np.empty((n, 4), np.float64)
    if isinstance(bd, StillBackdrop):
        box = _landmark_box(bd.landmarks)
        s = face_geometry(bd.landmarks).scale
        for i in range(n):
            tx, ty, _, _ = clip.state(i, inject=False).pose
            out[i] = box + s * np.array([tx, ty, tx, ty])
        return out
    marks = bd.marks
    with_face = [j for j, m in enumerate(marks) if m is not None]
    boxes = {j: _landmark_box(marks[j]) for j in with_face}  # type: ignore[arg-type]

    def near(j: int) -> np.ndarray:
        return boxes[min(with_face, key=lambda q: (abs(q - j), q))]

    for i in range(n):
        k, f = bd.position(i + clip.start)
        out[i] = (1.0 - f) * near(k) + f * near(k + 1)
    return out


def _make_actor(index: int, source: Path, placement: Placement, n_frames: int, fps: float, motion: str, inject: bool,
                seed: int, scene: SceneConfig, mask_kind: str, name: str) -> Actor:
    rng = np.random.default_rng(seed)
    tw, th = placement.tile
    cfg = SynthConfig(fps=fps, render=RenderConfig(width=tw, height=th), scene=scene, face_frac=placement.face_px / th,
                      video_motion="play" if motion == "play" else "hold", jpeg_prob=0.0)
    if motion == "play" and not is_image(source):
        start_src = int(rng.integers(0, PLAY_START_MAX))
        probe = open_video(source)
        src_fps = probe.get(cv2.CAP_PROP_FPS) or 30.0
        probe.release()
        start = round(start_src * fps / src_fps)
        backdrop: StillBackdrop | VideoBackdrop = VideoBackdrop(source, tw, th, fps, n_frames / fps + start_src / src_fps + 0.2, cfg.face_frac, "flow")
        clip = Clip(backdrop, n_frames, int(rng.integers(2**31)), cfg, name=name, start=start)
        source_start = start_src
    else:
        backdrop, source_start = _still_tile(source, int(rng.integers(0, HOLD_START_MAX)), placement.tile, placement.face_px, source.stem)
        clip = Clip(backdrop, n_frames, int(rng.integers(2**31)), cfg, name=name)
    return Actor(index, source.stem, source, source_start, motion, inject, placement, clip, mask_kind, _tile_boxes(clip))


def replan_where_visible(clip: Clip, visible: np.ndarray, seed: int) -> None:
    """Plan ``clip``'s scene again with movements (and distractors) only on frames where ``visible``."""
    scene_cfg = clip.cfg.scene
    face_ok = np.asarray(visible, bool)
    if isinstance(clip.backdrop, VideoBackdrop):  # as Clip does: a video moves by itself
        scene_cfg = dataclasses.replace(scene_cfg, drift_px=0.0, drift_rot_deg=0.0, drift_scale=0.0)
        face_ok = face_ok & clip.backdrop.face_ok(clip.n_frames + clip.start)[clip.start :]
    clip.scene = plan_scene(clip.n_frames, clip.cfg.fps, np.random.default_rng(seed), scene_cfg, face_ok, in_picture(clip.backdrop))


# -- the composed video -----------------------------------------------------------------------------------------------


class MultifaceClip:
    """A composed video of several actors; any frame by index (``frame``), its boxes and truth."""

    def __init__(self, layout: Layout, actors: list[Actor], n_frames: int, fps: float, seed: int, name: str) -> None:
        self.layout, self.actors, self.n_frames, self.fps, self.seed, self.name = layout, actors, n_frames, fps, seed, name
        self.width, self.height = layout.width, layout.height
        self.order = sorted(actors, key=lambda a: (a.placement.z, a.index))  # drawn back to front
        rng = np.random.default_rng(seed + 7)
        grey = rng.uniform(70.0, 140.0)
        tint = rng.uniform(-8.0, 8.0, 3)
        ramp = np.linspace(-10.0, 10.0, self.height)[:, None, None]
        base = np.clip(grey + tint[None, None, :] + ramp, 0, 255).astype(np.float32)
        self._backgrounds = [np.clip(base + rng.normal(0.0, 2.0, (self.height, self.width, 3)), 0, 255).astype(np.uint8) for _ in range(6)]
        self.boxes = self._compute_boxes()  # (n, actors) FaceBox

    # where each tile goes (integer offsets: what is pasted and what boxes.csv says)
    def offset(self, actor: Actor, i: int) -> tuple[int, int]:
        x, y = actor.placement.path[i]
        return round(float(x)), round(float(y))

    def _compute_boxes(self) -> list[list[FaceBox]]:
        out: list[list[FaceBox]] = []
        for i in range(self.n_frames):
            row = []
            for a in self.actors:
                ox, oy = self.offset(a, i)
                x0, y0, x1, y1 = a.tile_boxes[i] + np.array([ox, oy, ox, oy])
                frac = self._visible_frac(a, i, (x0, y0, x1, y1))
                cx0, cy0 = min(max(x0, 0.0), self.width), min(max(y0, 0.0), self.height)
                cx1, cy1 = min(max(x1, 0.0), self.width), min(max(y1, 0.0), self.height)
                if cx1 - cx0 < 1 or cy1 - cy0 < 1:
                    bx = (0, 0, 0, 0)
                else:
                    bx = (round(cx0), round(cy0), round(cx1 - cx0), round(cy1 - cy0))
                row.append(FaceBox(i, a.index, *bx, frac >= VISIBLE_MIN, round(frac, 3)))
            out.append(row)
        return out

    def _visible_frac(self, a: Actor, i: int, box: tuple[float, float, float, float]) -> float:
        """Share of the face box on the canvas, inside its own tile and not under the (alpha) masks of the actors in front."""
        x0, y0, x1, y1 = (round(v) for v in box)
        area = max((x1 - x0) * (y1 - y0), 1)
        ox, oy = self.offset(a, i)
        cx0, cy0 = max(x0, 0, ox), max(y0, 0, oy)
        cx1, cy1 = min(x1, self.width, ox + a.placement.tile[0]), min(y1, self.height, oy + a.placement.tile[1])
        if cx1 <= cx0 or cy1 <= cy0:
            return 0.0
        vis = np.ones((cy1 - cy0, cx1 - cx0), np.float32)
        for b in self.actors:
            if (b.placement.z, b.index) <= (a.placement.z, a.index):
                continue
            bx, by = self.offset(b, i)
            tw, th = b.placement.tile
            ix0, iy0, ix1, iy1 = max(cx0, bx), max(cy0, by), min(cx1, bx + tw), min(cy1, by + th)
            if ix1 > ix0 and iy1 > iy0:
                vis[iy0 - cy0 : iy1 - cy0, ix0 - cx0 : ix1 - cx0] *= 1.0 - b.mask(i)[iy0 - by : iy1 - by, ix0 - bx : ix1 - bx, 0]
        return float(vis.sum()) / area

    def visible(self, actor: int) -> np.ndarray:
        """(n,) float: ``visible_frac`` of ``actor`` per frame."""
        return np.array([row[actor].visible_frac for row in self.boxes])

    @property
    def inject_actor(self) -> int | None:
        return next((a.index for a in self.actors if a.inject), None)

    @property
    def truth(self) -> list[TruthRow]:
        """The injected actor's movements (``video`` = the clip's name)."""
        return [r for a in self.actors if a.inject for r in a.clip.truth]

    @property
    def faces_truth(self) -> list[tuple[int, TruthRow]]:
        """(actor, row) of every injected movement."""
        return [(a.index, r) for a in self.actors if a.inject for r in a.clip.truth]

    def frame(self, i: int) -> np.ndarray:
        """Frame ``i`` as a new (height, width, 3) BGR uint8 array."""
        canvas = self._backgrounds[i % len(self._backgrounds)].copy()
        for a in self.order:
            ox, oy = self.offset(a, i)
            tw, th = a.placement.tile
            x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + tw, self.width), min(oy + th, self.height)
            if x1 <= x0 or y1 <= y0:
                continue  # wholly outside: not rendered
            tile = a.clip.frame(i, inject=a.inject)
            sl = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
            alpha = a.mask(i)[sl]
            dst = canvas[y0:y1, x0:x1].astype(np.float32)
            dst += alpha * (tile[sl].astype(np.float32) - dst)
            canvas[y0:y1, x0:x1] = np.clip(dst + 0.5, 0, 255).astype(np.uint8)
        return canvas

    def meta(self) -> dict[str, object]:
        def where(p: Path) -> str:
            try:
                return Path(p).resolve().relative_to(shared_data().resolve()).as_posix()
            except ValueError:
                return str(p)

        return {
            "layout": self.layout.name, "faces": len(self.actors), "fps": self.fps, "n_frames": self.n_frames,
            "width": self.width, "height": self.height, "seed": self.seed, "name": self.name, "inject_actor": self.inject_actor,
            "actors": [{"actor": a.index, "name": a.name, "source": where(a.source), "start": a.start, "motion": a.motion,
                        "inject": a.inject, "z": a.placement.z, "tile": list(a.placement.tile), "face_height": round(a.face_height, 1)}
                       for a in self.actors],
        }


def build_multiface(layout: str = "side_by_side", faces: int = 2, *, seconds: float | None = None, fps: float | None = None,
                    seed: int = 0, inject_actor: int | None = 0, motion: str | None = None, apart: bool = False,
                    out_s: float = 1.25, mask: str = "ellipse", sources: Sequence[str | Path] | None = None,
                    scene: SceneConfig | None = None, name: str = "multiface") -> MultifaceClip:
    """Plan and prepare a composed clip (frames are rendered on demand by ``MultifaceClip.frame``).

    ``seconds`` / ``fps`` default per layout (``DEFAULT_SECONDS``, ``DEFAULT_FPS``); ``motion`` ``"hold"`` (a still
    with the scene's sway, blinks and jerks; the default of ``grid``) or ``"play"`` (the source at its own speed; the
    default of the others); ``inject_actor`` the actor with injected movements (None: none); ``sources`` one face video
    or image per actor (default: ``DEFAULT_SOURCES`` in the shared data); ``apart`` (crossing) no overlap; ``out_s``
    (leave_return) seconds wholly outside; ``mask`` ``"ellipse"`` (feathered) or ``"rect"`` (the whole tile).
    """
    seconds = DEFAULT_SECONDS.get(layout, 3.0) if seconds is None else float(seconds)
    fps = DEFAULT_FPS.get(layout, 30.0) if fps is None else float(fps)
    check_request(layout, faces, seconds, fps, inject_actor, out_s)
    motion = motion or ("hold" if layout == "grid" else "play")
    if motion not in MOTIONS:
        raise fail(DataError, f"unknown motion {motion!r}", f"use one of {', '.join(MOTIONS)}")
    if mask not in MASKS:
        raise fail(DataError, f"unknown mask {mask!r}", f"use one of {', '.join(MASKS)}")
    if sources is None:
        paths = default_sources(faces)
    else:
        paths = [Path(s) for s in sources]
        if len(paths) < faces:
            raise fail(DataError, f"{faces} faces need {faces} sources, {len(paths)} given", f"pass --source {faces} times (or none for the defaults)")
        paths = paths[:faces]
        for p in paths:
            if not p.is_file():
                raise fail(SourceError, f"face source {p} not found", "check the path")
    n_frames = max(round(seconds * fps), 2)
    rng = np.random.default_rng(seed)
    plan = plan_layout(layout, faces, n_frames, fps, rng, apart=apart, out_s=out_s)
    seeds = [int(s) for s in rng.integers(2**31, size=2 * faces)]
    scene = scene or multiface_scene()
    actors = [_make_actor(k, paths[k], plan.placements[k], n_frames, fps, motion, k == inject_actor, seeds[k], scene, mask, name)
              for k in range(faces)]
    clip = MultifaceClip(plan, actors, n_frames, fps, seed, name)
    if inject_actor is not None:  # injected movements only where that face is wholly in view
        replan_where_visible(actors[inject_actor].clip, clip.visible(inject_actor) >= INJECT_VISIBLE, seeds[faces + inject_actor])
    return clip


# -- files ------------------------------------------------------------------------------------------------------------


class FrameWriter:
    """Frames to ``<stem>.mkv`` (FFV1, lossless), ``<stem>.avi`` (Motion-JPEG, quality 95) or ``<stem>/000000.png``..."""

    def __init__(self, stem: Path, fmt: str, fps: float, size: tuple[int, int]) -> None:
        if fmt not in VIDEO_FORMATS:
            raise fail(DataError, f"unknown video format {fmt!r}", f"use one of {', '.join(VIDEO_FORMATS)}")
        self.fmt, self.count = fmt, 0
        self._writer: cv2.VideoWriter | None = None
        try:
            stem.parent.mkdir(parents=True, exist_ok=True)
            if fmt == "png":
                self.path = stem
                stem.mkdir(exist_ok=True)
                for old in stem.glob("*.png"):  # a folder source plays every image in it
                    old.unlink()
                return
        except OSError as exc:
            raise fail(OutputError, f"cannot write {stem}: {exc.strerror or exc}", "choose a writable --out folder") from exc
        self.path = stem.with_suffix(f".{fmt}")
        fourcc = cv2.VideoWriter_fourcc(*("FFV1" if fmt == "mkv" else "MJPG"))
        writer = cv2.VideoWriter(str(self.path), cv2.CAP_FFMPEG, fourcc, fps, size)
        if not writer.isOpened():
            raise fail(OutputError, f"cannot open a {fmt} video writer for {self.path}", "check the folder is writable, or pass --video png")
        if fmt == "avi":
            writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
        self._writer = writer

    def write(self, frame: np.ndarray) -> None:
        if self._writer is not None:
            self._writer.write(frame)
        elif not cv2.imwrite(str(self.path / f"{self.count:06d}.png"), frame):
            raise fail(OutputError, f"cannot write {self.path / f'{self.count:06d}.png'}", "check the disk space and permissions")
        self.count += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None


@dataclass(frozen=True)
class MultifaceFiles:
    video: Path  # the .mkv / .avi file, or the folder of PNGs
    truth: Path
    faces_truth: Path
    boxes: Path
    meta: Path


def write_boxes_csv(path: Path, boxes: list[list[FaceBox]]) -> Path:
    """``boxes.csv``: one row per frame and actor, columns ``BOX_COLUMNS``."""
    try:
        with Path(path).open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(BOX_COLUMNS)
            for row in boxes:
                for b in row:
                    w.writerow((b.frame, b.actor, b.x, b.y, b.w, b.h, int(b.visible), f"{b.visible_frac:.3f}"))
    except OSError as exc:
        raise fail(OutputError, f"cannot write {path}: {exc.strerror or exc}", "choose a writable --out folder") from exc
    return Path(path)


def read_boxes_csv(path: Path) -> list[FaceBox]:
    """The rows of a ``boxes.csv`` written by ``write_boxes_csv``."""
    path = Path(path)
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if tuple(reader.fieldnames or ()) != BOX_COLUMNS:
                raise fail(DataError, f"{path} has the columns {','.join(reader.fieldnames or ())}", f"expected {','.join(BOX_COLUMNS)}")
            return [FaceBox(int(r["frame"]), int(r["actor"]), int(r["x"]), int(r["y"]), int(r["w"]), int(r["h"]), r["visible"] == "1",
                            float(r["visible_frac"])) for r in reader]
    except (OSError, ValueError, TypeError) as exc:
        raise fail(DataError, f"cannot read boxes file {path}: {exc}", "write it with tools/make_multiface.py") from exc


def write_multiface(clip: MultifaceClip, out_dir: Path, video: str = "avi", progress: Callable[[int, int], None] | None = None) -> MultifaceFiles:
    """Render every frame of ``clip`` into ``out_dir`` (``<name>.mkv|.avi`` or ``<name>/`` PNGs) and write
    ``truth.csv``, ``faces_truth.csv``, ``boxes.csv`` and ``multiface.json``."""
    out_dir = Path(out_dir)
    writer = FrameWriter(out_dir / clip.name, video, clip.fps, (clip.width, clip.height))
    try:
        for i in range(clip.n_frames):
            writer.write(clip.frame(i))
            if progress is not None:
                progress(i, clip.n_frames)
    finally:
        writer.close()
    truth = write_truth_csv(out_dir / "truth.csv", clip.truth)
    faces_truth = out_dir / "faces_truth.csv"
    try:
        with faces_truth.open("w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(FACES_TRUTH_COLUMNS)
            for actor, r in clip.faces_truth:
                iv = r.interval
                w.writerow((actor, r.video, iv.onset, iv.apex, iv.offset, iv.kind, r.aus, r.label))
        meta_path = out_dir / "multiface.json"
        meta = {**clip.meta(), "video": writer.path.name, "format": video}
        meta_path.write_text(json.dumps(meta, indent=1) + "\n")
    except OSError as exc:
        raise fail(OutputError, f"cannot write into {out_dir}: {exc.strerror or exc}", "choose a writable --out folder") from exc
    boxes = write_boxes_csv(out_dir / "boxes.csv", clip.boxes)
    return MultifaceFiles(writer.path, truth, faces_truth, boxes, meta_path)
