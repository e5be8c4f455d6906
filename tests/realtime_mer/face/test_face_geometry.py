"""Template, similarity maths and warping of the face stage."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mer.errors import DataError
from realtime_mer.face import geometry
from realtime_mer.synth.backdrop import load_astronaut


def test_template_frames_brows_to_chin_symmetric() -> None:
    t = geometry.template()
    assert t.shape == (468, 2) and t.dtype == np.float32 and not t.flags.writeable
    brow_top, chin = t[list(geometry.BROWS), 1].min(), t[geometry.CHIN, 1]
    assert 4.0 <= brow_top <= 16.0, "brows must be inside the crop with a small margin"
    assert 112.0 <= chin <= 124.0, "chin must be inside the crop with a small margin"
    eyes = t[list(geometry.EYES)]
    assert np.allclose(eyes[:, 1], eyes[::-1, 1], atol=1e-4), "eye line is horizontal"
    assert np.allclose(eyes[:, 0] + eyes[::-1, 0], 128.0, atol=1e-3), "eyes are mirror images about x = 64"
    assert 60.0 < np.linalg.norm(eyes[3] - eyes[0]) < 90.0
    assert np.allclose(t[list(geometry.MIDLINE), 0], 64.0, atol=0.5)
    assert np.allclose(geometry.template(64), t / 2.0)


def test_template_is_built_from_the_bundled_portrait() -> None:
    _, marks = load_astronaut()
    assert np.allclose(geometry.build_template(marks), geometry.template(), atol=1e-3)


def test_build_template_rejects_bad_shape() -> None:
    with pytest.raises(DataError):
        geometry.build_template(np.zeros((10, 2)))


def test_fit_similarity_recovers_known_transform() -> None:
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 640, (20, 2))
    ang, s = np.radians(7.5), 0.37
    truth = geometry.similarity_matrix(s * np.cos(ang), s * np.sin(ang), -41.25, 12.5)
    dst = geometry.apply(truth, src)
    assert np.allclose(geometry.fit_similarity(src, dst), truth, atol=1e-9)
    scale, deg, _ = geometry.params(geometry.fit_similarity(src, dst))
    assert scale == pytest.approx(0.37) and deg == pytest.approx(7.5)
    # a few gross outliers are dropped by the robust fit, not averaged in
    bad = dst.copy()
    bad[:3] += 25.0
    m, keep, rms = geometry.fit_similarity_robust(src, bad)
    assert not keep[:3].any() and keep[3:].all()
    assert np.allclose(m, truth, atol=1e-6) and rms < 1e-6
    assert not np.allclose(geometry.fit_similarity(src, bad), truth, atol=1e-2)


def test_compose_and_invert() -> None:
    a = geometry.similarity_matrix(0.8, 0.3, 5.0, -2.0)
    b = geometry.similarity_matrix(1.1, -0.2, -7.0, 3.0)
    p = np.array([[10.0, 20.0], [-3.0, 4.0]])
    assert np.allclose(geometry.apply(geometry.compose(a, b), p), geometry.apply(a, geometry.apply(b, p)))
    assert np.allclose(geometry.apply(geometry.compose(geometry.invert(a), a), p), p)


def test_fit_similarity_rejects_degenerate_input() -> None:
    with pytest.raises(DataError):
        geometry.fit_similarity(np.ones((5, 2)), np.zeros((5, 2)))
    with pytest.raises(DataError):
        geometry.fit_similarity(np.zeros((5, 2)), np.zeros((4, 2)))


@pytest.mark.parametrize("channels", [1, 3])
def test_warp_fills_preallocated_output(channels: int) -> None:
    rng = np.random.default_rng(0)
    shape = (60, 80) if channels == 1 else (60, 80, 3)
    img = rng.integers(0, 255, shape, dtype=np.uint8)
    out = np.zeros((32, 32), np.uint8)
    m = geometry.similarity_matrix(1.0, 0.0, -10.0, -5.0)  # pure shift: crop = img[5:37, 10:42]
    got = geometry.warp(img, m, 32, out=out, scratch=np.empty((32, 32, 3), np.uint8))
    assert got is out
    gray = img if channels == 1 else (img.astype(float) @ [0.114, 0.587, 0.299])
    assert np.abs(out.astype(float) - gray[5:37, 10:42]).max() <= 1.0
    with pytest.raises(DataError):
        geometry.warp(img, m, 32, out=np.zeros((16, 16), np.uint8))


def test_to_crop_maps_landmarks() -> None:
    m = geometry.similarity_matrix(0.5, 0.0, 1.0, 2.0)
    lm = np.array([[10.0, 20.0]], np.float32)
    got = geometry.to_crop(lm, m)
    assert got.dtype == np.float32 and np.allclose(got, [[6.0, 12.0]])
