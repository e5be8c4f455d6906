"""Smooth displacement fields anchored on face landmarks (MediaPipe 468 indexing).

Fields are *forward* displacements in pixels (where the tissue at ``x`` moves to); the
renderer samples the source at ``x - d(x)`` (backward map), which is exact to first order
for the small, smooth fields used here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime_mer.errors import DataError, fail
from realtime_mer.synth.aus import Bump, bumps_for

REF_FACE_PX = 200.0  # amplitudes are given for a face of this size
N_LANDMARKS = 468
_TRUNCATE = 3.5  # bumps are evaluated within this many sigmas of their anchor


@dataclass(frozen=True, slots=True)
class FaceGeometry:
    """Face frame from landmarks: ``u`` (subject's right eye → left eye), ``v`` (down), size in px."""

    center: np.ndarray  # (2,) px
    u: np.ndarray  # (2,) unit vector
    v: np.ndarray  # (2,) unit vector
    size: float  # mean of face width (234↔454) and height (10↔152), px

    @property
    def scale(self) -> float:
        """Face size relative to the 200 px reference face."""
        return self.size / REF_FACE_PX

    def to_image(self, du: float, dv: float) -> np.ndarray:
        """A face-axes vector in image coordinates."""
        return du * self.u + dv * self.v


def check_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks as (468, 2) float64 or ``DataError``."""
    pts = np.asarray(landmarks, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] < N_LANDMARKS or pts.shape[1] < 2 or not np.isfinite(pts[:N_LANDMARKS, :2]).all():
        raise fail(DataError, f"face landmarks have shape {pts.shape}, expected (468, 2) finite values", "pass MediaPipe FaceMesh landmarks in pixels")
    return pts[:N_LANDMARKS, :2]


def face_geometry(landmarks: np.ndarray) -> FaceGeometry:
    """The face frame (centre, axes, size) of a set of FaceMesh landmarks."""
    pts = check_landmarks(landmarks)
    eye_axis = pts[263] - pts[33]
    norm = float(np.hypot(*eye_axis))
    if norm < 1e-6:
        raise fail(DataError, "degenerate face landmarks (eye corners coincide)", "pass real FaceMesh landmarks")
    u = eye_axis / norm
    v = np.array([-u[1], u[0]])
    width = float(np.hypot(*(pts[454] - pts[234])))
    height = float(np.hypot(*(pts[152] - pts[10])))
    center = 0.5 * (pts[10] + pts[152])
    return FaceGeometry(center=center, u=u, v=v, size=0.5 * (width + height))


def anchor_point(landmarks: np.ndarray, anchor: tuple[int, ...]) -> np.ndarray:
    """Mean position of the anchor landmarks."""
    return np.asarray(landmarks, np.float64)[list(anchor), :2].mean(axis=0)


def add_gaussian(fx: np.ndarray, fy: np.ndarray, origin: tuple[int, int], point: np.ndarray, direction: np.ndarray, sigmas: tuple[float, float], geo: FaceGeometry, weight: float = 1.0) -> None:
    """Add ``weight * exp(-r²/2) * direction`` to the field arrays in place.

    ``r`` is the distance to ``point`` in units of ``sigmas`` (px along the face axes u, v);
    ``fx``/``fy`` cover the image region whose top-left pixel is ``origin`` (x0, y0).
    """
    su, sv = max(sigmas[0], 0.5), max(sigmas[1], 0.5)
    reach = _TRUNCATE * max(su, sv)
    x0, y0 = origin
    h, w = fx.shape
    c0, c1 = max(int(np.floor(point[0] - reach)) - x0, 0), min(int(np.ceil(point[0] + reach)) - x0 + 1, w)
    r0, r1 = max(int(np.floor(point[1] - reach)) - y0, 0), min(int(np.ceil(point[1] + reach)) - y0 + 1, h)
    if c0 >= c1 or r0 >= r1:
        return
    xs = (np.arange(c0, c1, dtype=np.float32) + np.float32(x0 - point[0]))[None, :]
    ys = (np.arange(r0, r1, dtype=np.float32) + np.float32(y0 - point[1]))[:, None]
    a = (xs * np.float32(geo.u[0]) + ys * np.float32(geo.u[1])) * np.float32(1.0 / su)
    b = (xs * np.float32(geo.v[0]) + ys * np.float32(geo.v[1])) * np.float32(1.0 / sv)
    g = np.exp(-0.5 * (a * a + b * b)) * np.float32(weight)
    fx[r0:r1, c0:c1] += g * np.float32(direction[0])
    fy[r0:r1, c0:c1] += g * np.float32(direction[1])


def add_bump(fx: np.ndarray, fy: np.ndarray, origin: tuple[int, int], landmarks: np.ndarray, geo: FaceGeometry, bump: Bump) -> None:
    """Add one AU bump (unit peak times its weight) to the field arrays in place."""
    d = geo.to_image(*bump.direction)
    d = d / max(float(np.hypot(*d)), 1e-9)
    sigmas = (bump.radius[0] * geo.size, bump.radius[1] * geo.size)
    add_gaussian(fx, fy, origin, anchor_point(landmarks, bump.anchor), d, sigmas, geo, bump.weight)


def unit_field(landmarks: np.ndarray, bumps: tuple[Bump, ...], roi: tuple[int, int, int, int], geo: FaceGeometry | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Field of ``bumps`` over ``roi`` (x0, y0, x1, y1), normalised to a peak magnitude of 1."""
    geo = geo or face_geometry(landmarks)
    x0, y0, x1, y1 = roi
    fx = np.zeros((y1 - y0, x1 - x0), np.float32)
    fy = np.zeros_like(fx)
    for bump in bumps:
        add_bump(fx, fy, (x0, y0), landmarks, geo, bump)
    peak = float(np.sqrt((fx * fx + fy * fy).max())) if fx.size else 0.0
    if peak > 0:
        fx /= peak
        fy /= peak
    return fx, fy


def displacement_field(landmarks: np.ndarray, aus: tuple[int, ...] | list[int], shape: tuple[int, int], amplitude_px: float) -> np.ndarray:
    """Forward displacement (H, W, 2) of an AU combination over a whole image.

    The peak magnitude is ``amplitude_px`` times the face scale (size / 200 px), so a given
    amplitude means the same relative movement on any face size.
    """
    geo = face_geometry(landmarks)
    fx, fy = unit_field(landmarks, bumps_for(tuple(aus)), (0, 0, shape[1], shape[0]), geo)
    k = np.float32(amplitude_px * geo.scale)
    return np.stack([fx * k, fy * k], axis=-1)


def blink_bumps(landmarks: np.ndarray, geo: FaceGeometry) -> tuple[list[tuple[np.ndarray, float, float]], float]:
    """Per eye (centre, sigma along u, sigma along v) of the lid-closure bump, and the eye opening in px."""
    pts = check_landmarks(landmarks)
    eyes = []
    openings = []
    for upper, lower, outer, inner in ((159, 145, 33, 133), (386, 374, 263, 362)):
        opening = float(np.hypot(*(pts[lower] - pts[upper])))
        width = float(np.hypot(*(pts[inner] - pts[outer])))
        centre = 0.5 * (pts[upper] + pts[lower])
        openings.append(opening)
        eyes.append((centre, 0.45 * width, max(0.9 * opening, 0.02 * geo.size)))
    return eyes, float(np.mean(openings))


def blink_field(landmarks: np.ndarray, roi: tuple[int, int, int, int], geo: FaceGeometry | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Downward upper-lid field over ``roi`` whose peak equals the eye opening (full closure)."""
    geo = geo or face_geometry(landmarks)
    eyes, opening = blink_bumps(landmarks, geo)
    x0, y0, x1, y1 = roi
    fx = np.zeros((y1 - y0, x1 - x0), np.float32)
    fy = np.zeros_like(fx)
    for centre, su, sv in eyes:
        add_gaussian(fx, fy, (x0, y0), centre, geo.v, (su, sv), geo)
    peak = float(np.sqrt((fx * fx + fy * fy).max())) if fx.size else 0.0
    if peak > 0:
        k = np.float32(max(opening, 1.0) / peak)
        fx *= k
        fy *= k
    return fx, fy
