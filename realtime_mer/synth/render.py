"""Fast frame rendering: head motion, AU fields and blinks as one backward ``cv2.remap`` over
the head region, then sensor noise from a precomputed bank and brightness flicker."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from realtime_mer.synth.aus import bumps_for
from realtime_mer.synth.field import blink_field, face_geometry, unit_field

AU_FIELDS_KEPT = 8  # AU-combination fields cached per face rig (least recently used dropped)
_TAPER_END = 1.4  # head-mask ellipse radius where head motion has faded to zero


@dataclass
class RenderConfig:
    """Output size and sensor model."""

    width: int = 640
    height: int = 480
    noise_sigma: float = 2.0  # grey levels
    noise_bank: int = 12  # independent noise frames, drawn per frame (never twice in a row)


@dataclass(frozen=True, slots=True)
class FrameState:
    """Everything that varies per frame (from the scene)."""

    pose: tuple[float, float, float, float]  # tx, ty (px at a 200 px face), rotation rad, scale change
    aus: tuple[int, ...] = ()
    au_px: float = 0.0  # current AU displacement peak, px at a 200 px face
    blink: float = 0.0  # lid closure 0..1
    gain: float = 1.0
    noise: int = 0  # noise bank index


class FaceRig:
    """Precomputed grids and basis fields over the head region of one set of landmarks."""

    def __init__(self, landmarks: np.ndarray, width: int, height: int) -> None:
        self.landmarks = np.asarray(landmarks, np.float64)
        self.geo = geo = face_geometry(self.landmarks)
        pts = self.landmarks
        rel = pts - geo.center
        half_u = 0.5 * float(np.ptp(rel @ geo.u)) * 1.2  # a little wider than the mesh: hair, ears
        half_v = 0.5 * float(np.ptp(rel @ geo.v)) * 1.25
        reach = _TAPER_END * np.hypot(half_u * geo.u, half_v * geo.v)  # bounding box of the rotated ellipse
        lo = np.minimum(geo.center - reach, pts.min(0) - 0.3 * geo.size)
        hi = np.maximum(geo.center + reach, pts.max(0) + 0.3 * geo.size)
        x0, y0 = max(int(np.floor(lo[0])), 0), max(int(np.floor(lo[1])), 0)
        x1, y1 = min(int(np.ceil(hi[0])) + 1, width), min(int(np.ceil(hi[1])) + 1, height)
        self.roi = (x0, y0, x1, y1)
        gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
        self.gx, self.gy = gx, gy
        cx, cy = (np.float32(c) for c in geo.center)
        a = ((gx - cx) * np.float32(geo.u[0]) + (gy - cy) * np.float32(geo.u[1])) / np.float32(half_u)
        b = ((gx - cx) * np.float32(geo.v[0]) + (gy - cy) * np.float32(geo.v[1])) / np.float32(half_v)
        rho = np.sqrt(a * a + b * b)
        t = np.clip((rho - 1.0) / (_TAPER_END - 1.0), 0.0, 1.0)
        self.w = (0.5 * (1.0 + np.cos(np.pi * t))).astype(np.float32)  # 1 on the head, 0 beyond the taper
        self.wx = self.w * (gx - cx)
        self.wy = self.w * (gy - cy)
        self._au: OrderedDict[tuple[int, ...], LocalField] = OrderedDict()
        self._blink: LocalField | None = None
        self.map_x = np.empty_like(gx)
        self.map_y = np.empty_like(gy)

    @property
    def shape(self) -> tuple[int, int]:
        return self.gx.shape  # type: ignore[return-value]

    def au_field(self, aus: tuple[int, ...]) -> LocalField:
        """Unit-peak field of an AU combination over the ROI (the last ``AU_FIELDS_KEPT`` combinations cached:
        each holds 1.5-3 MB, and a long demo keeps meeting new combinations, which made an unbounded cache
        grow the resident size by ~0.6 MB/min in the 10-minute soak)."""
        field = self._au.get(aus)
        if field is None:
            field = self._au[aus] = LocalField.of(*unit_field(self.landmarks, bumps_for(aus), self.roi, self.geo))
            while len(self._au) > AU_FIELDS_KEPT:
                self._au.popitem(last=False)
        else:
            self._au.move_to_end(aus)
        return field

    def blink_field(self) -> LocalField:
        """Full-closure lid field over the ROI (cached)."""
        if self._blink is None:
            self._blink = LocalField.of(*blink_field(self.landmarks, self.roi, self.geo))
        return self._blink

    def local_terms(self, st: FrameState) -> list[tuple[LocalField, float]]:
        """The active local fields and their coefficients (px) for one frame."""
        terms = []
        if st.aus and st.au_px > 0:
            terms.append((self.au_field(st.aus), st.au_px * self.geo.scale))
        if st.blink > 0:
            terms.append((self.blink_field(), st.blink))
        return terms

    def pose_maps(self, pose: tuple[float, float, float, float], mx: np.ndarray, my: np.ndarray) -> None:
        """Fill backward maps (absolute source coordinates) with the head motion only."""
        s = self.geo.scale
        tx, ty, rot, sc = pose
        cv2.scaleAdd(self.w, -tx * s, self.gx, mx)
        cv2.scaleAdd(self.w, -ty * s, self.gy, my)
        if rot:
            cv2.scaleAdd(self.wy, rot, mx, mx)
            cv2.scaleAdd(self.wx, -rot, my, my)
        if sc:
            cv2.scaleAdd(self.wx, -sc, mx, mx)
            cv2.scaleAdd(self.wy, -sc, my, my)

    def maps(self, st: FrameState) -> tuple[np.ndarray, np.ndarray]:
        """Backward maps over the whole ROI: head motion plus local fields (reused buffers)."""
        mx, my = self.map_x, self.map_y
        self.pose_maps(st.pose, mx, my)
        for f, c in self.local_terms(st):
            for sl in f.boxes:
                cv2.scaleAdd(f.fx[sl], -c, mx[sl], mx[sl])
                cv2.scaleAdd(f.fy[sl], -c, my[sl], my[sl])
        return mx, my


Box = tuple[slice, slice]  # ROI-relative (rows, cols)


@dataclass(frozen=True, slots=True)
class LocalField:
    """A unit field over the ROI and the boxes (one per connected blob) where it is non-negligible."""

    fx: np.ndarray
    fy: np.ndarray
    boxes: tuple[Box, ...]

    @staticmethod
    def of(fx: np.ndarray, fy: np.ndarray, eps: float = 1e-3) -> LocalField:
        mask = (np.maximum(np.abs(fx), np.abs(fy)) > eps).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes = tuple((slice(int(y), int(y + h)), slice(int(x), int(x + w))) for x, y, w, h, _ in stats[1:n])
        return LocalField(fx, fy, merge_boxes(list(boxes)))


def _overlap(a: Box, b: Box) -> bool:
    return a[0].start < b[0].stop and b[0].start < a[0].stop and a[1].start < b[1].stop and b[1].start < a[1].stop


def merge_boxes(boxes: list[Box]) -> tuple[Box, ...]:
    """Replace overlapping boxes by their bounding box until none overlap."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                if _overlap(out[i], out[j]):
                    a, b = out[i], out.pop(j)
                    out[i] = (slice(min(a[0].start, b[0].start), max(a[0].stop, b[0].stop)), slice(min(a[1].start, b[1].start), max(a[1].stop, b[1].stop)))
                    merged = True
                    break
            if merged:
                break
    return tuple(out)


def noise_schedule(size: int, seed: int, length: int = 1021) -> np.ndarray:
    """Bank index per frame (cycled): random, never the same twice in a row."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, size, length)
    for j in range(1, length):
        while idx[j] == idx[j - 1] or (j == length - 1 and idx[j] == idx[0]):
            idx[j] = rng.integers(0, size)
    return idx


class NoiseBank:
    """Independent Gaussian noise frames stored as uint8 with a positive mean ``offset``.

    ``image - offset + bank[k]`` is the image plus zero-mean noise; a renderer that keeps a
    pre-darkened image (``image - offset``) adds noise in a single saturating pass.
    """

    def __init__(self, height: int, width: int, sigma: float, size: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.offset = int(np.ceil(3.0 * sigma))
        self.bank = np.empty((size, height, width, 3), np.uint8)
        for k in range(size):
            n = rng.standard_normal((height, width, 3), dtype=np.float32)
            n *= np.float32(sigma)
            n += np.float32(self.offset + 0.5)  # + 0.5: truncation below rounds to nearest
            np.clip(n, 0, 255, out=n)
            self.bank[k] = n

    def darken(self, image: np.ndarray) -> np.ndarray:
        """``image - offset`` (saturating), to be passed to ``add``."""
        o = float(self.offset)
        return cv2.subtract(image, (o, o, o, 0.0)) if self.offset else image.copy()

    def add(self, dark: np.ndarray, k: int, roi: tuple[int, int, int, int] | None = None, dst: np.ndarray | None = None) -> np.ndarray:
        """``dark + bank[k]`` (saturating) over the full frame or the bank's ``roi`` (x0, y0, x1, y1)."""
        noise = self.bank[k] if roi is None else self.bank[k, roi[1] : roi[3], roi[0] : roi[2]]
        return cv2.add(dark, noise, dst=dst) if dst is not None else cv2.add(dark, noise)


def apply_gain(image: np.ndarray, gain: float) -> None:
    """Scale brightness in place (saturating)."""
    if abs(gain - 1.0) > 1e-4:
        cv2.convertScaleAbs(image, dst=image, alpha=gain)


class StaticRenderer:
    """Renders frames of one still canvas, cheaply.

    The background outside the head ROI comes from a bank of precomputed noisy copies. The
    head is warped by the head motion only when the motion key changes (``key=None``: every
    frame); active local fields (AUs, blinks) are then re-warped over their own small box.
    """

    def __init__(self, canvas: np.ndarray, landmarks: np.ndarray, cfg: RenderConfig, seed: int) -> None:
        self.rig = FaceRig(landmarks, canvas.shape[1], canvas.shape[0])
        self.noise = NoiseBank(canvas.shape[0], canvas.shape[1], cfg.noise_sigma, cfg.noise_bank, seed)
        self.canvas = self.noise.darken(canvas)  # warped, then noise is one saturating add
        self.backgrounds = np.stack([self.noise.add(self.canvas, k) for k in range(cfg.noise_bank)])
        h, w = self.rig.shape
        self._px = np.empty((h, w), np.float32)
        self._py = np.empty((h, w), np.float32)
        self._warped = np.empty((h, w, 3), np.uint8)
        self._pose_key: object = object()

    def render(self, st: FrameState, key: object = None) -> np.ndarray:
        """A new frame. Frames with an equal, non-None ``key`` must share ``st.pose``."""
        rig = self.rig
        if key is None or key != self._pose_key:
            rig.pose_maps(st.pose, self._px, self._py)
            cv2.remap(self.canvas, self._px, self._py, cv2.INTER_LINEAR, dst=self._warped, borderMode=cv2.BORDER_REPLICATE)
            self._pose_key = object() if key is None else key
        out = self.backgrounds[st.noise].copy()
        x0, y0, x1, y1 = rig.roi
        self.noise.add(self._warped, st.noise, rig.roi, dst=out[y0:y1, x0:x1])
        terms = rig.local_terms(st)
        boxes = merge_boxes([b for f, _ in terms for b in f.boxes]) if len(terms) > 1 else terms[0][0].boxes if terms else ()
        for rs, cs in boxes:
            mx, my = self._px[rs, cs].copy(), self._py[rs, cs].copy()
            for f, c in terms:
                cv2.scaleAdd(f.fx[rs, cs], -c, mx, mx)
                cv2.scaleAdd(f.fy[rs, cs], -c, my, my)
            patch = cv2.remap(self.canvas, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            box = (x0 + cs.start, y0 + rs.start, x0 + cs.stop, y0 + rs.stop)
            self.noise.add(patch, st.noise, box, dst=out[box[1] : box[3], box[0] : box[2]])
        apply_gain(out, st.gain)
        return out


class DynamicRenderer:
    """Renders frames whose canvas and landmarks change every frame (video backdrops)."""

    def __init__(self, cfg: RenderConfig, seed: int) -> None:
        self.noise = NoiseBank(cfg.height, cfg.width, cfg.noise_sigma, cfg.noise_bank, seed)
        self._rig: FaceRig | None = None

    def render(self, canvas: np.ndarray, landmarks: np.ndarray | None, st: FrameState) -> np.ndarray:
        """Warp the head of ``canvas`` in place (a copy the caller owns), add noise and flicker."""
        still = not any(st.pose) and not (st.aus and st.au_px > 0) and st.blink <= 0
        if landmarks is not None and not still:
            rig = self._rig
            if rig is None or rig.landmarks.shape != landmarks.shape or not np.array_equal(rig.landmarks, landmarks):
                rig = self._rig = FaceRig(landmarks, canvas.shape[1], canvas.shape[0])
            mx, my = rig.maps(st)
            x0, y0, x1, y1 = rig.roi
            warped = cv2.remap(canvas, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            canvas[y0:y1, x0:x1] = warped
        out = self.noise.add(self.noise.darken(canvas), st.noise)
        apply_gain(out, st.gain)
        return out
