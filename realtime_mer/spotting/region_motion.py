"""Per-region motion of a face crop against a reference crop, head motion removed.

Each region's mean displacement is one weighted Lucas-Kanade step with a free brightness
offset (centred gradients), after a global gain normalisation, so flicker and shading are not
motion. Head motion first: the nose-bridge box is registered by a few Gauss-Newton steps and
the current crop is resampled at the shifted positions before the regions are measured.

Only the region pixels (eyes masked out, weights tapered towards the box edges) are touched
after the gradients: they are gathered into flat lists once per layout, and a reference
frame's per-pixel solver rows (inverse normal matrix times its centred, weighted gradient)
are computed once, so a measurement is one ``remap``, one product and one ``np.add.reduceat``.
No BLAS / LAPACK calls: tiny matrix routines stall when their threads wait for busy cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from realtime_mer.spotting.regions import PROBES, REGIONS, RegionLayout

RIDGE = 1e-2  # relative diagonal loading: near-singular (textureless) regions stay finite
GLOBAL_STEPS = 4  # Gauss-Newton steps at most for the head shift (warm-started: usually 1-2)
PRE_BLUR = 1.0  # Gaussian sigma (crop px) before gradients: widens the linear range of one LK step
MEAN_GREY = 128.0  # frames are scaled to this mean (global gain normalisation against flicker)
PICTURE_SHARE = 0.8  # a region counts only while this share of its box shows the camera's picture


@dataclass
class Prepared:
    """A reference image at working resolution, its gradients and its cached solver rows."""

    img: np.ndarray  # (H, W) float32, blurred and gain-normalised
    grad: np.ndarray  # (2, H, W) float32, d/dx and d/dy per working pixel (``set_reference``)
    version: int = -1  # layout version of the cached solver rows (-1: none)
    rows: np.ndarray = field(default_factory=lambda: np.zeros((2, 0), np.float32))  # (2, M) region solver rows
    values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # (M,) gathered image
    box_rows: np.ndarray = field(default_factory=lambda: np.zeros((2, 0), np.float32))  # (2, n) head box solver rows
    box_values: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))


@dataclass(frozen=True)
class Gather:
    """Flat pixel lists of all regions, concatenated, with per-pixel weights."""

    index: np.ndarray  # (M,) flat pixel indices
    xs: np.ndarray  # (1, M) float32 x of each pixel (a remap map)
    ys: np.ndarray  # (1, M) float32 y
    weight: np.ndarray  # (M,) float32, sums to 1 within each region
    region: np.ndarray  # (M,) region id of each pixel
    starts: np.ndarray  # (R,) start of each region in the lists


def gather(lay: RegionLayout) -> Gather:
    """Pixels of each region (outside the eye mask unless a probe), weighted by a raised-cosine taper to the box edges."""
    w = lay.eye_mask.shape[1]
    idx, wts, rid, starts = [], [], [], []
    n = 0
    for r, (x0, y0, x1, y1) in enumerate(lay.boxes):
        yy, xx = np.mgrid[y0:y1, x0:x1]
        keep = ~lay.eye_mask[y0:y1, x0:x1] if lay.masked[r] else np.ones((y1 - y0, x1 - x0), bool)
        tx = 0.5 - 0.5 * np.cos(2 * np.pi * (xx - x0 + 0.5) / max(x1 - x0, 1))
        ty = 0.5 - 0.5 * np.cos(2 * np.pi * (yy - y0 + 0.5) / max(y1 - y0, 1))
        taper = (0.25 + 0.75 * tx * ty)[keep]
        starts.append(n)
        if taper.size == 0:  # fully masked: one zero-weight pixel keeps the region slot
            idx.append(np.zeros(1, np.intp))
            wts.append(np.zeros(1))
        else:
            idx.append((yy * w + xx)[keep])
            wts.append(taper / taper.sum())
        rid.append(np.full(len(idx[-1]), r))
        n += len(idx[-1])
    index = np.concatenate(idx).astype(np.intp)
    return Gather(
        index,
        (index % w).astype(np.float32)[None],
        (index // w).astype(np.float32)[None],
        np.concatenate(wts).astype(np.float32),
        np.concatenate(rid).astype(np.intp),
        np.array(starts, np.intp),
    )


def solver_rows(gx: np.ndarray, gy: np.ndarray, weight: np.ndarray, region: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(2, M) rows q with displacement_r = sum over region r of q * residual (offset-free weighted LK)."""
    wg = np.stack([gx * weight, gy * weight])  # (2, M)
    sums = np.add.reduceat(np.concatenate([wg * gx, wg[1:] * gy, wg]), starts, axis=1)  # xx, xy, yy, x, y
    wsum = np.add.reduceat(weight, starts)
    wsum = np.where(wsum > 0, wsum, 1.0)
    mx, my = sums[3] / wsum, sums[4] / wsum
    a = sums[0] - wsum * mx * mx
    b = sums[1] - wsum * mx * my
    c = sums[2] - wsum * my * my
    a, c = a * (1 + RIDGE) + 1e-9, c * (1 + RIDGE) + 1e-9
    det = a * c - b * b
    ia, ib, ic = c / det, -b / det, a / det
    cx = (gx - mx[region]) * weight  # centred, weighted gradients
    cy = (gy - my[region]) * weight
    ia, ib, ic = ia[region], ib[region], ic[region]
    # the image moved by d where ref(x) ~ cur(x + d): d = -A^-1 sum(c * (cur - ref))
    return -np.stack([ia * cx + ib * cy, ib * cx + ic * cy]).astype(np.float32)


class PrepCache:
    """One prepared (blurred, gain-normalised) working image per buffered frame, shared by spotters that run on the
    same frames (``hybrid``'s two paths): the second one copies it instead of preparing the crop again."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int, int] | None = None
        self._img: np.ndarray | None = None

    def prepare(self, motion: RoiMotion, buffer: object, seq: int, crop: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``motion.prepare(crop, out)`` for ``crop`` = buffer frame ``seq``, or a copy of what it gave for that frame."""
        key = (id(buffer), seq, motion.crop_size, motion.levels)
        if key == self._key and self._img is not None and self._img.shape == out.shape:
            np.copyto(out, self._img)
            return out
        motion.prepare(crop, out)
        self._key, self._img = key, out  # read before the frame's next writer: each path prepares into its own array
        return out


class RoiMotion:
    """Measures per-region displacement (crop pixels) of ``cur`` relative to ``ref``."""

    def __init__(self, crop_size: int) -> None:
        self.crop_size = int(crop_size)
        self.levels = max(0, round(np.log2(max(crop_size, 128) / 128.0)))  # work at ~128 px
        self.scale = 0.5**self.levels
        self.size = max(8, round(crop_size * self.scale))
        self.blur = PRE_BLUR * self.scale
        self.layout: RegionLayout | None = None
        self.g: Gather | None = None
        self.version = 0
        self.shift = np.zeros(2, np.float64)  # last head shift (crop px), current vs reference
        self.centres = np.zeros((0, 2))  # (R, 2) region box centres, crop px
        self.boxes = np.zeros((0, 4))  # (R, 4) region boxes, crop px
        self._seen_key: tuple[int, float, bytes] | None = None  # (layout version, share, picture) of the cached answer
        self._seen = np.ones(0, bool)

    def set_layout(self, layout: RegionLayout) -> None:
        """Regions in crop coordinates; invalidates cached solver rows."""
        self.layout = layout.scaled(self.scale) if self.levels else layout
        self.g = gather(self.layout)
        self.centres = (layout.boxes[:, :2] + layout.boxes[:, 2:]).astype(np.float64) / 2.0  # crop px
        self.boxes = layout.boxes.astype(np.float64)  # crop px
        self.version += 1

    def visible(self, picture: np.ndarray, share: float = PICTURE_SHARE) -> np.ndarray:
        """(R,) bool: the regions with at least ``share`` of their box inside ``picture`` (x0, y0, x1, y1, crop px): the
        part of the crop that shows the camera's picture (elsewhere the crop repeats the picture's border)."""
        b = self.boxes
        if b.shape[0] == 0:  # no layout yet
            return np.ones(len(REGIONS) + len(PROBES), bool)
        key = (self.version, share, picture.tobytes())
        if key == self._seen_key:  # the picture box rarely changes from frame to frame: the same answer (read-only)
            return self._seen
        w = np.clip(np.minimum(b[:, 2], picture[2]) - np.maximum(b[:, 0], picture[0]), 0.0, None)
        h = np.clip(np.minimum(b[:, 3], picture[3]) - np.maximum(b[:, 1], picture[1]), 0.0, None)
        area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1e-6)
        seen = (w * h) / area >= share
        seen.setflags(write=False)
        self._seen_key, self._seen = key, seen
        return seen

    def blank(self) -> Prepared:
        return Prepared(np.zeros((self.size, self.size), np.float32), np.zeros((2, self.size, self.size), np.float32))

    def prepare(self, crop: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Blurred, gain-normalised working image of ``crop``, written into ``out`` (H, W) float32."""
        img = crop.astype(np.float32)
        for _ in range(self.levels):
            img = cv2.pyrDown(img)
        cv2.GaussianBlur(img, (5, 5), self.blur, dst=out)
        mean = cv2.mean(out)[0]
        if mean > 1.0:
            out *= MEAN_GREY / mean
        return out

    def set_reference(self, ref: Prepared, restart: bool = False) -> None:
        """``ref.img`` changed: take its gradients; solver rows follow lazily. ``restart``: the
        reference is a new frame, so the head-shift search starts from zero again."""
        if restart:
            self.shift = np.zeros(2)
        cv2.Scharr(ref.img, cv2.CV_32F, 1, 0, dst=ref.grad[0], scale=1 / 32)
        cv2.Scharr(ref.img, cv2.CV_32F, 0, 1, dst=ref.grad[1], scale=1 / 32)
        ref.version = -1

    def _ensure(self, ref: Prepared) -> None:
        """Solver rows of ``ref`` for the current layout (cached on ``ref``)."""
        if ref.version == self.version:
            return
        lay, g = self.layout, self.g
        assert lay is not None and g is not None
        flat = ref.grad.reshape(2, -1)
        ref.rows = solver_rows(flat[0, g.index], flat[1, g.index], g.weight, g.region, g.starts)
        ref.values = ref.img.ravel()[g.index]
        x0, y0, x1, y1 = (int(v) for v in lay.reference)
        n = (x1 - x0) * (y1 - y0)
        one = np.full(n, 1.0 / n, np.float32)
        bx, by = ref.grad[0, y0:y1, x0:x1].ravel(), ref.grad[1, y0:y1, x0:x1].ravel()
        ref.box_rows = solver_rows(bx, by, one, np.zeros(n, np.intp), np.zeros(1, np.intp))
        ref.box_values = ref.img[y0:y1, x0:x1].ravel().copy()
        ref.version = self.version

    def _head_shift(self, ref: Prepared, cur: np.ndarray) -> np.ndarray:
        """Translation of the reference box from ``ref`` to ``cur`` (working px), Gauss-Newton."""
        lay = self.layout
        assert lay is not None
        x0, y0, x1, y1 = (int(v) for v in lay.reference)
        cx, cy = (x0 + x1 - 1) / 2.0, (y0 + y1 - 1) / 2.0
        s = self.shift * self.scale  # start from the last frame's shift: one or two steps suffice
        for _ in range(GLOBAL_STEPS):
            patch = cv2.getRectSubPix(cur, (x1 - x0, y1 - y0), (cx + s[0], cy + s[1]))
            d = np.einsum("in,n->i", ref.box_rows, patch.ravel() - ref.box_values)
            s = s + d
            if abs(d[0]) + abs(d[1]) < 0.01:
                break
        return s

    def measure(self, ref: Prepared, cur: np.ndarray) -> np.ndarray:
        """(R, 2) displacement (dx, dy) of each region of ``cur`` against ``ref``, head motion removed (crop px)."""
        g = self.g
        assert g is not None
        self._ensure(ref)
        s = self._head_shift(ref, cur)
        self.shift = s / self.scale
        warped = cv2.remap(cur, g.xs + np.float32(s[0]), g.ys + np.float32(s[1]), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        r = warped[0] - ref.values
        return np.add.reduceat(ref.rows * r, g.starts, axis=1).T / self.scale
