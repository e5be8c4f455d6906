"""Head pose (pitch, yaw, roll in radians, OpenFace's ``pose_Rx``, ``pose_Ry``, ``pose_Rz``) from 2-D FaceMesh landmarks.

The pose is the rotation ``cv2.solvePnP`` (SQPnP) finds between a 3-D reference face and the frame's landmarks
(rigid points only: eye corners, nose, temples, forehead), through a pinhole camera with OpenFace's
uncalibrated defaults (focal length ``500 * width / 640`` px, principal point at the image centre).
Axes are OpenCV's camera axes, as in OpenFace: x right, y down, z away from the camera; the
rotation is split as ``R = Rx(pose_Rx) @ Ry(pose_Ry) @ Rz(pose_Rz)``. Zero is the reference face
looking into the camera.

The reference (``reference3d.npy``, 468 x 3, crop pixels of the 128 px template) is MediaPipe
FaceMesh's own 3-D output (x, y and its relative depth z) on the bundled public-domain portrait
``assets/astronaut.png``, rotated and scaled so that its orthographic view best matches the
mirror-symmetric alignment template (``template.npy``): frontal by the template's definition.
``python tools/make_face_reference.py`` rebuilds it (``build_reference``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.errors import DataError, fail
from realtime_mer.face.geometry import RIGID_FIT, TEMPLATE_SIZE, template

REFERENCE_PATH = Path(__file__).with_name("reference3d.npy")
FOREHEAD: tuple[int, ...] = (10, 151, 9, 108, 337, 67, 297)
POSE_POINTS: tuple[int, ...] = (*RIGID_FIT, *FOREHEAD)  # rigid: expressions barely move them


@lru_cache(maxsize=1)
def reference() -> np.ndarray:
    """The (468, 3) float64 frontal reference face (template crop pixels, centred on its pose points)."""
    try:
        ref = np.load(REFERENCE_PATH)
    except OSError as e:
        raise fail(DataError, f"head-pose reference {REFERENCE_PATH} cannot be read ({e})",
                   "reinstall realtime-mer or run tools/make_face_reference.py") from None
    return np.asarray(ref, np.float64)


def camera_matrix(width: int, height: int) -> np.ndarray:
    """OpenFace's default intrinsics for an uncalibrated camera."""
    f = 500.0 * width / 640.0
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def euler_xyz(r: np.ndarray) -> tuple[float, float, float]:
    """(rx, ry, rz) with ``r = Rx(rx) @ Ry(ry) @ Rz(rz)``."""
    ry = float(np.arcsin(np.clip(r[0, 2], -1.0, 1.0)))
    rx = float(np.arctan2(-r[1, 2], r[2, 2]))
    rz = float(np.arctan2(-r[0, 1], r[0, 0]))
    return rx, ry, rz


def rotation_xyz(rx: float, ry: float, rz: float) -> np.ndarray:
    """``Rx(rx) @ Ry(ry) @ Rz(rz)``."""
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return x @ y @ z


class HeadPose:
    """Pose solver for one stream (keeps the camera matrix of its image size). SQPnP finds the global
    optimum without a starting guess, so frames are independent (0.1 ms per frame here)."""

    def __init__(self) -> None:
        self._obj = np.ascontiguousarray(reference()[list(POSE_POINTS)])
        self._k = camera_matrix(640, 480)
        self._size = (640, 480)

    def solve(self, image_landmarks: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
        """(pose_Rx, pose_Ry, pose_Rz) in radians from (468, 2) landmarks in image pixels; NaNs if PnP fails."""
        pts = np.asarray(image_landmarks, np.float64)
        return self.solve_points(pts[list(POSE_POINTS)], width, height)

    def solve_points(self, points: np.ndarray, width: int, height: int) -> tuple[float, float, float]:
        """``solve`` given only the ``POSE_POINTS`` landmarks (in that order, image pixels)."""
        if self._size != (width, height):
            self._k, self._size = camera_matrix(width, height), (width, height)
        img = np.ascontiguousarray(points, np.float64)
        ok, rvec, tvec = cv2.solvePnP(self._obj, img, self._k, None, flags=cv2.SOLVEPNP_SQPNP)
        if not ok or not np.isfinite(rvec).all() or float(tvec[2, 0]) <= 0:
            return float("nan"), float("nan"), float("nan")
        return euler_xyz(cv2.Rodrigues(rvec)[0])


def build_reference(points3d: np.ndarray) -> np.ndarray:
    """The frontal reference from FaceMesh's (468, 3) output of a face (pixels, z in the same scale as x):
    the rotation, scale and shift whose orthographic view best matches the alignment template, applied."""
    from scipy.optimize import least_squares

    pts = np.asarray(points3d, np.float64)
    if pts.shape != (468, 3) or not np.isfinite(pts).all():
        raise fail(DataError, f"expected (468, 3) finite FaceMesh points, got {pts.shape}", "pass one face's landmarks with z")
    tpl = template(TEMPLATE_SIZE).astype(np.float64)
    idx = list(POSE_POINTS) + [i for i in range(468) if i not in POSE_POINTS]
    w = np.ones(468)
    w[: len(POSE_POINTS)] = 4.0  # the rigid points lead; the rest keep the depth plausible
    c = pts.mean(0)

    def residual(p: np.ndarray) -> np.ndarray:
        r = rotation_xyz(*p[:3])
        proj = p[3] * ((pts[idx] - c) @ r.T)[:, :2] + p[4:6]
        return ((proj - tpl[idx]) * w[:, None]).ravel()

    scale0 = float(np.ptp(tpl[:, 0]) / max(np.ptp(pts[:, 0]), 1e-9))
    fit = least_squares(residual, np.array([0.0, 0.0, 0.0, scale0, *tpl.mean(0)]))
    r = rotation_xyz(*fit.x[:3])
    ref = fit.x[3] * ((pts - c) @ r.T)
    ref[:, :2] += fit.x[4:6]
    return (ref - ref[list(POSE_POINTS)].mean(0)).astype(np.float32)


__all__ = ["POSE_POINTS", "REFERENCE_PATH", "HeadPose", "build_reference", "camera_matrix", "euler_xyz", "reference", "rotation_xyz"]
