"""The canonical face template and the similarity-transform maths that maps a face onto it.

Landmark indices are MediaPipe FaceMesh's 468-point topology. The fit uses only rigid,
expression-independent points (eye corners, nose bridge and tip, temples): fitting on
brows, lids or mouth would cancel the very movements the spotter looks for.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, fail

TEMPLATE_SIZE = 128  # the stored template lives in a 128x128 crop frame
TEMPLATE_PATH = Path(__file__).with_name("template.npy")
N_LANDMARKS = 468

# eye corners (outer/inner), nose bridge + tip, nose sides, temples/contour at eye level
RIGID_FIT: tuple[int, ...] = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4, 122, 351, 196, 419, 45, 275, 127, 356, 234, 454)
# points tracked between keyframes: the rigid set plus textured points around the eyes' corners and nose
RIGID_TRACK: tuple[int, ...] = (
    *RIGID_FIT, 130, 359, 243, 463, 3, 248, 174, 399, 51, 281, 34, 264, 139, 368,
)
EYES: tuple[int, ...] = (33, 133, 362, 263)  # right outer, right inner, left inner, left outer
BROWS: tuple[int, ...] = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
CHIN = 152
CHEEKS: tuple[int, int] = (234, 454)
MIDLINE: tuple[int, ...] = (168, 6, 197, 195, 5, 4, 1, 152)


def similarity_matrix(a: float, b: float, tx: float, ty: float) -> np.ndarray:
    """``[[a, -b, tx], [b, a, ty]]``: scale ``hypot(a, b)``, angle ``atan2(b, a)``."""
    return np.array([[a, -b, tx], [b, a, ty]], dtype=np.float64)


def _complex(pts: np.ndarray) -> np.ndarray:
    """(N, 2) points as N complex numbers x + iy (a view when already float64 and contiguous)."""
    return np.ascontiguousarray(pts, dtype=np.float64).reshape(-1, 2).view(np.complex128).ravel()


def _fit(cs: np.ndarray, cd: np.ndarray, w: np.ndarray | None = None) -> tuple[complex, complex]:
    """Least squares ``cd ~ z * cs + t`` over complex points: z = scale * e^(i angle)."""
    if cs.shape != cd.shape or cs.size < 2:
        raise fail(DataError, f"similarity fit needs two matching point sets of >= 2 points, got {cs.size} and {cd.size}")
    if w is None:
        ms, md = cs.mean(), cd.mean()
        xs = cs - ms
        var, cov = np.vdot(xs, xs).real, np.vdot(xs, cd - md)
    else:
        w = w / w.sum()
        ms, md = w @ cs, w @ cd
        xs = cs - ms
        var, cov = (w * (xs.conj() * xs).real).sum(), (w * xs.conj() * (cd - md)).sum()
    if var <= 1e-12:
        raise fail(DataError, "similarity fit on coincident points", "pass at least two distinct points")
    z = complex(cov / var)
    return z, complex(md - z * ms)


def _matrix(z: complex, t: complex) -> np.ndarray:
    return similarity_matrix(z.real, z.imag, t.real, t.imag)


def fit_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping ``src`` onto ``dst``.

    Closed form (2-D Umeyama without reflection, as complex numbers); returns a (2, 3) float64 matrix.
    """
    w = None if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    return _matrix(*_fit(_complex(src), _complex(dst), w))


def _median(r: np.ndarray) -> float:
    """``np.median`` of a 1-D float array, without its generic machinery (the same value: the middle element, or the
    mean of the two middle ones): this runs on every tracked frame."""
    n = r.size
    h = n // 2
    if n % 2:
        return float(np.partition(r, h)[h])
    p = np.partition(r, (h - 1, h))
    return float((p[h - 1] + p[h]) / 2.0)


def fit_similarity_robust(
    src: np.ndarray, dst: np.ndarray, min_inliers: int = 4, floor_px: float = 0.3
) -> tuple[np.ndarray, np.ndarray, float]:
    """Similarity fit, then a refit without outliers (residual > max(3 x median, ``floor_px``)).

    Returns ``(M, inlier_mask, rms_residual)`` with the residual in ``dst`` units.
    """
    cs, cd = _complex(src), _complex(dst)
    z, t = _fit(cs, cd)
    r = np.abs(z * cs + t - cd)
    keep = r <= max(3.0 * _median(r), floor_px)
    if not keep.all() and keep.sum() >= min_inliers:
        z, t = _fit(cs[keep], cd[keep])
        r = np.abs(z * cs + t - cd)
        keep = r <= max(3.0 * _median(r[keep]), floor_px)
    rms = float(np.sqrt(np.mean(r[keep] ** 2))) if keep.any() else float("inf")
    return _matrix(z, t), keep, rms


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a (2, 3) affine matrix."""
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    return p @ m[:, :2].T + m[:, 2]


def to_crop(landmarks: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Image-pixel landmarks -> crop coordinates, (N, 2) float32."""
    return apply(m, landmarks).astype(np.float32)


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a o b``: first ``b``, then ``a`` (both (2, 3) affine)."""
    return np.hstack([a[:, :2] @ b[:, :2], (a[:, :2] @ b[:, 2] + a[:, 2])[:, None]])


def picture_box(m: np.ndarray, width: int, height: int, size: int) -> np.ndarray:
    """The part of a ``size`` x ``size`` crop (``m``: image -> crop) that shows the camera's picture, as an axis-aligned
    box (x0, y0, x1, y1) in crop pixels inside the mapped image rectangle: outside it the crop holds replicated border
    pixels (a close-up whose mouth or chin is out of the picture)."""
    c = apply(m, np.array([[0.0, 0.0], [width, 0.0], [width, height], [0.0, height]]))  # tl, tr, br, bl
    box = np.array([max(c[0, 0], c[3, 0]), max(c[0, 1], c[1, 1]), min(c[1, 0], c[2, 0]), min(c[2, 1], c[3, 1])])
    if c[1, 0] < c[0, 0]:  # mirrored or turned past 90 degrees: no sensible box, say all of it
        return np.array([0.0, 0.0, size, size], np.float32)
    return np.clip(box, 0.0, float(size)).astype(np.float32)


def invert(m: np.ndarray) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix."""
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


def params(m: np.ndarray) -> tuple[float, float, float]:
    """``(scale, angle_deg, translation_norm)`` of a similarity matrix."""
    return float(np.hypot(m[0, 0], m[1, 0])), float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))), float(np.hypot(m[0, 2], m[1, 2]))


def warp(
    image: np.ndarray, m: np.ndarray, size: int, out: np.ndarray | None = None, scratch: np.ndarray | None = None
) -> np.ndarray:
    """Warp ``image`` (gray, or BGR -> gray) by ``m`` into a (size, size) uint8 array; ``out`` is reused.

    A BGR image is warped into ``scratch`` (size, size, 3) first and converted, which is cheaper
    than converting the whole frame. Returns ``out`` itself when it is given.
    """
    if out is None:
        out = np.empty((size, size), dtype=np.uint8)
    elif out.shape != (size, size) or out.dtype != np.uint8:
        raise fail(DataError, f"warp output must be ({size}, {size}) uint8, got {out.shape} {out.dtype}")
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
    if image.ndim == 2:
        cv2.warpAffine(image, m, (size, size), dst=out, flags=flags, borderMode=border)
        return out
    if scratch is None or scratch.shape != (size, size, 3):
        scratch = np.empty((size, size, 3), dtype=np.uint8)
    cv2.warpAffine(image, m, (size, size), dst=scratch, flags=flags, borderMode=border)
    cv2.cvtColor(scratch, cv2.COLOR_BGR2GRAY, dst=out)
    return out


def mirror_pairs(landmarks: np.ndarray) -> np.ndarray:
    """Index of each point's left/right mirror partner (itself on the midline), by optimal matching."""
    from scipy.optimize import linear_sum_assignment  # build-time only (scipy comes with mediapipe's jax)

    q = _upright(landmarks)
    m = q * np.array([-1.0, 1.0])
    cost = np.linalg.norm(q[:, None] - m[None], axis=2)
    _, pairs = linear_sum_assignment(cost)
    return pairs


def _upright(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks rotated so the eye line is horizontal, origin on the nose/chin midline."""
    p = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    d = p[list(EYES[2:])].mean(0) - p[list(EYES[:2])].mean(0)
    ang = -np.arctan2(d[1], d[0])
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    return (p - p[list(MIDLINE)].mean(0)) @ rot.T


def build_template(landmarks: np.ndarray, size: int = TEMPLATE_SIZE, margin: float = 0.06) -> np.ndarray:
    """A frontal, left/right-symmetric template from one face's landmarks, framed brows-to-chin.

    The square crop spans max(brow-top-to-chin, cheek-to-cheek) plus ``margin`` of that on each side.
    """
    if np.asarray(landmarks).shape != (N_LANDMARKS, 2):
        raise fail(DataError, f"template needs ({N_LANDMARKS}, 2) landmarks, got {np.asarray(landmarks).shape}")
    q = _upright(landmarks)
    pairs = mirror_pairs(landmarks)
    q = 0.5 * (q + q[pairs] * np.array([-1.0, 1.0]))
    top, chin = q[list(BROWS), 1].min(), q[CHIN, 1]
    width = q[CHEEKS[1], 0] - q[CHEEKS[0], 0]
    side = max(chin - top, width) * (1.0 + 2.0 * margin)
    centre = np.array([0.0, 0.5 * (top + chin)])
    return ((q - centre) * (size / side) + size / 2.0).astype(np.float32)


@lru_cache(maxsize=8)
def _template(size: int) -> np.ndarray:
    if not TEMPLATE_PATH.is_file():
        raise fail(DataError, f"face template {TEMPLATE_PATH} is missing", "reinstall realtime-mer")
    t = np.load(TEMPLATE_PATH).astype(np.float32)
    if t.shape != (N_LANDMARKS, 2):
        raise fail(DataError, f"face template {TEMPLATE_PATH} has shape {t.shape}", "reinstall realtime-mer")
    t = t * (size / TEMPLATE_SIZE)
    t.setflags(write=False)
    return t


def template(size: int = TEMPLATE_SIZE) -> np.ndarray:
    """The canonical (468, 2) float32 landmark template in a (size x size) crop (read-only)."""
    return _template(int(size))
