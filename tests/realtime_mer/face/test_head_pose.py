"""Head pose from 2-D landmarks (``face.pose``): known rotations are recovered, and a rolled real face reads as rolled."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from realtime_mer.face.pose import POSE_POINTS, HeadPose, camera_matrix, euler_xyz, reference, rotation_xyz


def _project(angles: tuple[float, float, float], width: int = 640, height: int = 480) -> np.ndarray:
    k = camera_matrix(width, height)
    p = reference().astype(np.float64) @ rotation_xyz(*angles).T + np.array([15.0, -10.0, 550.0])
    uv = p @ k.T
    return uv[:, :2] / uv[:, 2:]


@pytest.mark.parametrize("angles", [(0.0, 0.0, 0.0), (0.25, 0.0, 0.0), (0.0, -0.35, 0.0), (0.0, 0.0, 0.3), (-0.15, 0.2, -0.1)])
def test_known_rotations_are_recovered(angles: tuple[float, float, float]) -> None:
    got = HeadPose().solve(_project(angles), 640, 480)
    np.testing.assert_allclose(got, angles, atol=1e-4)


def test_euler_round_trip_and_signs() -> None:
    for a in [(0.3, -0.2, 0.1), (-0.5, 0.4, -1.0)]:
        np.testing.assert_allclose(euler_xyz(rotation_xyz(*a)), a, atol=1e-12)
    nose = 4
    straight = _project((0.0, 0.0, 0.0))[nose]
    assert _project((0.3, 0.0, 0.0))[nose][1] > straight[1]  # pose_Rx > 0: pitched down (nose lower in the image)
    assert _project((0.0, 0.3, 0.0))[nose][0] < straight[0]  # pose_Ry > 0: turned toward the image's left


def test_reference_is_frontal_and_mirror_symmetric() -> None:
    from realtime_mer.face.geometry import mirror_pairs, template

    ref = reference()
    pairs = mirror_pairs(template())
    assert np.abs(ref[:, 2] - ref[pairs, 2]).mean() < 1.0  # depth of a point = depth of its mirror point (px of 128)
    assert ref[4, 2] < ref[33, 2] - 15  # the nose tip is nearer the camera than the eye corners
    assert set(POSE_POINTS) <= set(range(468))


def test_a_rolled_real_face_reads_as_rolled() -> None:
    """The bundled portrait through the real aligner, upright and rotated 12 degrees in the image plane about the
    nose (rotating about another point also moves the face in the image, which a pinhole camera reads as a turn)."""
    from realtime_mer.events.frames import FaceSample
    from realtime_mer.face.aligner import FaceAligner
    from realtime_mer.synth.backdrop import ASSETS
    from realtime_mer.types import Frame

    img = cv2.imread(str(ASSETS / "astronaut.png"))
    h, w = img.shape[:2]
    cx, cy = np.load(ASSETS / "astronaut_landmarks.npy")[[4]].mean(0)  # about the nose tip: a pure roll stays in place
    rolled = cv2.warpAffine(img, cv2.getRotationMatrix2D((float(cx), float(cy)), 12.0, 1.0), (w, h), borderMode=cv2.BORDER_REPLICATE)
    poses = []
    for im in (img, rolled):
        with FaceAligner() as al:
            face = al.process(Frame(0, 0, 0.0, im))
        assert face is not None
        poses.append(HeadPose().solve(FaceSample(face.transform, face.landmarks, w, h, True).image_landmarks(), w, h))
    d = np.subtract(poses[1], poses[0])
    assert d[2] == pytest.approx(-np.deg2rad(12.0), abs=np.deg2rad(1.5))  # counter-clockwise in the image: Rz < 0
    assert abs(d[0]) < np.deg2rad(3) and abs(d[1]) < np.deg2rad(3)
