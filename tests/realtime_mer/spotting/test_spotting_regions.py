"""Regions of interest: inside the crop, on the right facial features, eyes masked."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realtime_mer.errors import DataError
from realtime_mer.face.geometry import template
from realtime_mer.spotting.region_motion import gather
from realtime_mer.spotting.regions import PROBES, REFERENCE, REGIONS, eye_mask, layout
from tests.helpers.spotting import base_face

FACES = {"template": lambda: template(128).astype(np.float32), "astronaut": lambda: base_face(False)[1]}


def _contains(box: np.ndarray, pt: np.ndarray, slack: float = 0.0) -> bool:
    x0, y0, x1, y1 = box
    return x0 - slack <= pt[0] < x1 + slack and y0 - slack <= pt[1] < y1 + slack


def _centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0])


@pytest.fixture(params=sorted(FACES))
def lm(request: pytest.FixtureRequest) -> np.ndarray:
    return FACES[request.param]()


def test_boxes_inside_crop_and_not_empty(lm: np.ndarray) -> None:
    lay = layout(lm, 128)
    assert lay.names == tuple(s.name for s in REGIONS + PROBES)
    assert (lay.boxes >= 0).all() and (lay.boxes <= 128).all()
    assert ((lay.boxes[:, 2] - lay.boxes[:, 0]) >= 4).all() and ((lay.boxes[:, 3] - lay.boxes[:, 1]) >= 4).all()
    g = gather(lay)
    sums = np.add.reduceat(g.weight, g.starts)
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)  # every region keeps unmasked pixels
    in_mask = lay.eye_mask.ravel()[g.index]
    probe = np.isin(g.region, [i for i, s in enumerate(REGIONS + PROBES) if s.probe])
    assert not in_mask[~probe].any()  # no expression-region pixel lies in the eye mask ...
    assert in_mask[probe].mean() > 0.5  # ... while the blink probes watch the upper lids inside it


def test_regions_sit_on_their_features(lm: np.ndarray) -> None:
    lay = layout(lm, 128)
    box = dict(zip(lay.names, lay.boxes, strict=True))
    assert _contains(box["mouth_corner_r"], lm[61]) and _contains(box["mouth_corner_l"], lm[291])
    assert _contains(box["nose_wing_r"], lm[[48, 64, 98, 129]].mean(0)) and _contains(box["nose_wing_l"], lm[[278, 294, 327, 358]].mean(0))
    assert _contains(box["brow_inner_r"], lm[107], 1) and _contains(box["brow_outer_r"], lm[105], 1)
    assert _contains(box["brow_inner_l"], lm[336], 1) and _contains(box["brow_outer_l"], lm[334], 1)
    assert _contains(box["chin"], lm[200]) and _contains(box["upper_lip"], lm[0])
    assert _contains(box["cheek_r"], lm[[117, 118]].mean(0)) and _contains(box["cheek_l"], lm[[346, 347]].mean(0))
    assert _contains(box["upper_lid_r"], lm[159]) and _contains(box["upper_lid_l"], lm[386])
    assert box["lower_lid_r"][1] > lm[145, 1] and box["lower_lid_l"][1] > lm[374, 1]  # just below the lower lids
    assert _contains(lay.reference, lm[6]) and _contains(lay.reference, lm[4])
    eye_y = lm[[33, 133, 362, 263], 1].mean()
    for side, sign in (("r", -1), ("l", 1)):  # subject's right is on the image's left
        assert (_centre(box[f"brow_inner_{side}"])[0] - 64) * sign > 0
        assert _centre(box[f"brow_inner_{side}"])[1] < eye_y and _centre(box[f"brow_outer_{side}"])[1] < eye_y
        assert _centre(box[f"mouth_corner_{side}"])[1] > lm[1, 1]  # below the nose tip
    assert _centre(box["eye_outer_r"])[0] < lm[33, 0] and _centre(box["eye_outer_l"])[0] > lm[263, 0]
    assert _centre(box["chin"])[1] > lm[[61, 291], 1].mean()
    # the head-motion reference does not overlap any expression region
    for b in lay.boxes:
        assert b[2] <= lay.reference[0] or b[0] >= lay.reference[2] or b[3] <= lay.reference[1] or b[1] >= lay.reference[3]


def test_eye_mask_covers_eyes_and_lids_only(lm: np.ndarray) -> None:
    mask = eye_mask(lm, 128)
    at = lambda i: bool(mask[round(float(lm[i, 1])), round(float(lm[i, 0]))])  # noqa: E731
    for i in (33, 133, 159, 145, 362, 263, 386, 374):
        assert at(i), f"landmark {i} (eye) is not masked"
    dist = float(np.linalg.norm(lm[[362, 263]].mean(0) - lm[[33, 133]].mean(0)))
    above_lid = lm[159] - np.array([0.0, 0.1 * dist])
    assert mask[round(float(above_lid[1])), round(float(above_lid[0]))], "the band the upper lid sweeps is masked"
    for i in (61, 291, 1, 4, 152, 6, 105, 334):
        assert not at(i), f"landmark {i} is masked but is not an eye"


def test_layout_follows_a_rotated_face() -> None:
    lm = template(128).astype(np.float32)
    rot = cv2.getRotationMatrix2D((64.0, 64.0), 12.0, 0.9).astype(np.float32)
    lm2 = lm @ rot[:, :2].T + rot[:, 2]
    lay = layout(lm2, 128)
    box = dict(zip(lay.names, lay.boxes, strict=True))
    assert _contains(box["mouth_corner_r"], lm2[61]) and _contains(box["mouth_corner_l"], lm2[291])
    assert _contains(lay.reference, lm2[6])


def test_scaled_layout_halves_boxes() -> None:
    lay = layout(template(128).astype(np.float32), 128)
    half = lay.scaled(0.5)
    assert half.eye_mask.shape == (64, 64)
    np.testing.assert_allclose(half.boxes, np.round(lay.boxes * 0.5), atol=0)
    assert half.eye_distance == pytest.approx(lay.eye_distance / 2)


def test_bad_landmarks_raise_a_one_line_error() -> None:
    with pytest.raises(DataError, match="expected"):
        layout(np.zeros((10, 2), np.float32), 128)
    with pytest.raises(DataError, match="too small"):
        layout(np.zeros((468, 2), np.float32), 128)
    assert REFERENCE.name == "nose_bridge"
