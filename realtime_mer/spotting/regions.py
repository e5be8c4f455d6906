"""Facial regions of interest placed from the 468 MediaPipe FaceMesh landmarks (crop coordinates).

Micro-expressions show in a few places (brows, eye corners, nose wings, mouth corners, chin);
the rest of the face mostly adds noise. Each region is a box around the mean of a few anchor
landmarks, shifted and sized in face units: ``u`` runs from the subject's right eye to the
left eye (image left -> right for a frontal face), ``v`` down the face, and one unit is the
distance between the two eye centres. "Right"/"left" are the subject's, as in MediaPipe
(landmark 33 is the outer corner of the subject's right eye, on the image's left).

The nose bridge is the rigid reference (its motion is head motion); the eyes and the area the
upper lids sweep during a blink are masked out of every region.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from realtime_mer.errors import DataError, fail

N_LANDMARKS = 468
RIGHT_EYE_CENTRE = (33, 133)
LEFT_EYE_CENTRE = (362, 263)
# eye contours (FACEMESH_RIGHT_EYE / FACEMESH_LEFT_EYE), clockwise from the outer corner
RIGHT_EYE_CONTOUR = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE_CONTOUR = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGID = (33, 133, 362, 263, 168, 6, 197, 195, 5, 4)  # eye corners and nose: expression-independent
RIGHT_UPPER_LID = (173, 157, 158, 159, 160, 161, 246)
LEFT_UPPER_LID = (398, 384, 385, 386, 387, 388, 466)


@dataclass(frozen=True, slots=True)
class RegionSpec:
    """A box centred on the mean of ``anchors`` + ``offset``; half-sizes, offset in eye-distance units.

    ``blinks`` marks regions a blink moves too (brows, around the eyes, cheeks): they are ignored
    while one is under way. A ``probe`` is not part of the signal and is not masked: the
    upper-lid probes detect the blinks.
    """

    name: str
    anchors: tuple[int, ...]
    half: tuple[float, float]
    offset: tuple[float, float] = (0.0, 0.0)
    blinks: bool = False
    probe: bool = False


REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("brow_inner_r", (55, 65, 66, 107), (0.14, 0.09), blinks=True),  # AU1, AU4
    RegionSpec("brow_outer_r", (46, 53, 63, 70, 105), (0.16, 0.09), blinks=True),  # AU2
    RegionSpec("brow_inner_l", (285, 295, 296, 336), (0.14, 0.09), blinks=True),
    RegionSpec("brow_outer_l", (276, 283, 293, 300, 334), (0.16, 0.09), blinks=True),
    RegionSpec("eye_outer_r", (33,), (0.10, 0.12), (-0.20, 0.08), blinks=True),  # crow's feet, AU6
    RegionSpec("eye_outer_l", (263,), (0.10, 0.12), (0.20, 0.08), blinks=True),
    RegionSpec("eye_inner_r", (133,), (0.06, 0.10), (0.05, 0.12), blinks=True),
    RegionSpec("eye_inner_l", (362,), (0.06, 0.10), (-0.05, 0.12), blinks=True),
    RegionSpec("lower_lid_r", (145,), (0.12, 0.06), (0.0, 0.13), blinks=True),  # AU7, AU6
    RegionSpec("lower_lid_l", (374,), (0.12, 0.06), (0.0, 0.13), blinks=True),
    RegionSpec("cheek_r", (117, 118), (0.12, 0.09), blinks=True),  # AU6, AU12
    RegionSpec("cheek_l", (346, 347), (0.12, 0.09), blinks=True),
    RegionSpec("nose_wing_r", (48, 64, 98, 129), (0.10, 0.10), (-0.04, 0.0)),  # AU9, AU10
    RegionSpec("nose_wing_l", (278, 294, 327, 358), (0.10, 0.10), (0.04, 0.0)),
    RegionSpec("upper_lip", (0, 37, 267), (0.20, 0.06)),  # AU10
    RegionSpec("mouth_corner_r", (61,), (0.13, 0.13), (-0.02, 0.0)),  # AU12, AU14, AU15
    RegionSpec("mouth_corner_l", (291,), (0.13, 0.13), (0.02, 0.0)),
    RegionSpec("chin", (18, 200, 199), (0.18, 0.12)),  # AU17, AU26
)
PROBES: tuple[RegionSpec, ...] = (
    RegionSpec("upper_lid_r", (158, 159, 160), (0.12, 0.06), probe=True),
    RegionSpec("upper_lid_l", (385, 386, 387), (0.12, 0.06), probe=True),
)
REFERENCE = RegionSpec("nose_bridge", (6, 197, 195, 5, 4), (0.11, 0.34))


@dataclass(frozen=True)
class RegionLayout:
    """Integer boxes of the regions (``REGIONS`` then ``PROBES``) for one crop or a scaled copy of it."""

    names: tuple[str, ...]
    boxes: np.ndarray  # (R, 4) int32 x0, y0, x1, y1 (exclusive ends), image coordinates
    reference: np.ndarray  # (4,) int32 box of the nose bridge
    eye_mask: np.ndarray  # (H, W) bool, True where eyes / lids are excluded
    masked: np.ndarray  # (R,) bool: the eye mask applies to this region (False for probes)
    eye_distance: float  # in the layout's pixels

    def scaled(self, factor: float) -> RegionLayout:
        """The same layout on an image resized by ``factor`` (e.g. 0.5 for a pyrDown crop)."""
        h, w = self.eye_mask.shape
        size = (max(1, round(w * factor)), max(1, round(h * factor)))
        mask = cv2.resize(self.eye_mask.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)
        boxes = np.round(self.boxes * factor).astype(np.int32)
        ref = np.round(self.reference * factor).astype(np.int32)
        return RegionLayout(self.names, boxes, ref, mask, self.masked, self.eye_distance * factor)


def face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(u, v, eye distance): unit vectors right eye -> left eye and down the face, and their scale."""
    check_landmarks(landmarks)
    r = landmarks[list(RIGHT_EYE_CENTRE)].mean(0)
    lft = landmarks[list(LEFT_EYE_CENTRE)].mean(0)
    d = lft - r
    dist = float(np.hypot(d[0], d[1]))
    if not np.isfinite(dist) or dist < 4.0:
        raise fail(DataError, f"eye distance {dist:.1f} px is too small for region placement", "pass landmarks in crop pixel coordinates")
    u = (d / dist).astype(np.float32)
    v = np.array([-u[1], u[0]], np.float32)
    return u, v, dist


def check_landmarks(landmarks: np.ndarray) -> None:
    if landmarks.ndim != 2 or landmarks.shape[0] < N_LANDMARKS or landmarks.shape[1] != 2:
        raise fail(DataError, f"landmarks have shape {landmarks.shape}, expected ({N_LANDMARKS}, 2)", "pass MediaPipe FaceMesh landmarks in crop coordinates")


def _box(spec: RegionSpec, landmarks: np.ndarray, u: np.ndarray, v: np.ndarray, dist: float, size: int) -> np.ndarray:
    c = landmarks[list(spec.anchors)].mean(0) + dist * (spec.offset[0] * u + spec.offset[1] * v)
    hw = max(1.0, spec.half[0] * dist)
    hh = max(1.0, spec.half[1] * dist)
    x0, y0 = int(np.floor(c[0] - hw + 0.5)), int(np.floor(c[1] - hh + 0.5))
    x1, y1 = int(np.floor(c[0] + hw + 0.5)), int(np.floor(c[1] + hh + 0.5))
    return np.clip(np.array([x0, y0, x1, y1], np.int32), 0, size)


def eye_mask(landmarks: np.ndarray, size: int, lid: float = 0.12, margin: float = 0.05) -> np.ndarray:
    """Eyes plus the band the upper lids sweep during a blink (``lid`` above the lid line), dilated by ``margin``."""
    _, v, dist = face_axes(landmarks)
    mask = np.zeros((size, size), np.uint8)
    for contour, upper in ((RIGHT_EYE_CONTOUR, RIGHT_UPPER_LID), (LEFT_EYE_CONTOUR, LEFT_UPPER_LID)):
        pts = landmarks[list(contour)]
        raised = landmarks[list(upper)] - lid * dist * v
        hull = cv2.convexHull(np.round(np.concatenate([pts, raised]) * 16).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    r = max(1, round(margin * dist))
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    return mask.astype(bool)


def layout(landmarks: np.ndarray, size: int, specs: tuple[RegionSpec, ...] = REGIONS + PROBES) -> RegionLayout:
    """Boxes of ``specs`` and the reference region for a ``size`` x ``size`` crop with ``landmarks``."""
    u, v, dist = face_axes(landmarks)
    boxes = np.stack([_box(s, landmarks, u, v, dist, size) for s in specs])
    ref = _box(REFERENCE, landmarks, u, v, dist, size)
    masked = np.array([not s.probe for s in specs])
    return RegionLayout(tuple(s.name for s in specs), boxes, ref, eye_mask(landmarks, size), masked, dist)
