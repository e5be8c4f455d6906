"""The lagged, freezable reference frame and the per-region motion measured against it."""

from __future__ import annotations

import numpy as np

from realtime_mer.spotting.globalfit import similarity_residual
from realtime_mer.spotting.reference import LaggedReference
from realtime_mer.spotting.region_motion import RoiMotion
from realtime_mer.spotting.regions import REGIONS, layout
from tests.helpers.spotting import Movement, Scenario, make_sequence


def setup(lag: int = 4) -> tuple[RoiMotion, LaggedReference]:
    motion = RoiMotion(128)
    ref = LaggedReference(lag=lag, every=1, alpha=1.0, warm=0)  # alpha 1: the reference is one frame
    ref.bind(motion)
    return motion, ref


def test_reference_lags_freezes_and_restarts() -> None:
    motion, ref = setup(lag=4)
    rng = np.random.default_rng(0)
    images = []
    for i in range(12):
        crop = rng.integers(0, 255, (128, 128), dtype=np.uint8)
        images.append(motion.prepare(crop, np.zeros((128, 128), np.float32)))
        motion.prepare(crop, ref.slot(i))
        if i == 8:
            ref.frozen = True
        want = 3 if i >= 8 else max(0, i - 4)  # trails by 4 frames (never before the first), then holds
        np.testing.assert_allclose(ref.get(i).img, images[want], rtol=1e-6)
    ref.restart(11, frames=2)  # restarts from the mean of the last two frames
    assert not ref.frozen
    np.testing.assert_allclose(ref.get(11).img, (images[10] + images[11]) / 2, rtol=1e-6)


def test_measured_motion_matches_the_injected_displacement() -> None:
    seq = make_sequence(Scenario(fps=100.0, seconds=0.5, noise=0.5, jitter=0.0, movements=[Movement((61,), (-1.0, -1.0), 0.0, 400.0, sigma=6.0, hold_ms=200.0)]))
    motion = RoiMotion(128)
    motion.set_layout(layout(seq.landmarks[0], 128))
    ref = LaggedReference(lag=1, every=1, alpha=1.0, warm=0)
    ref.bind(motion)
    motion.prepare(seq.frames[0], ref.slot(0))
    r = ref.get(0)
    cur = motion.prepare(seq.frames[20], np.zeros((128, 128), np.float32))  # at the apex
    d = motion.measure(r, cur)
    names = [s.name for s in REGIONS]
    mouth = d[names.index("mouth_corner_r")]
    assert mouth[0] < -0.3 and mouth[1] < -0.3  # up and to the subject's right, as injected
    others = np.delete(d[: len(REGIONS)], [names.index("mouth_corner_r"), names.index("cheek_r")], axis=0)
    assert np.hypot(others[:, 0], others[:, 1]).max() < 0.5 * np.hypot(*mouth)
    assert np.hypot(*motion.shift) < 0.1  # the nose bridge did not move


def test_similarity_fit_removes_global_motion_but_keeps_a_local_one() -> None:
    rng = np.random.default_rng(3)
    pos = rng.uniform(10, 118, (18, 2))
    c = pos.mean(axis=0)
    ang, scale, shift = 0.01, 0.008, np.array([0.3, -0.2])  # 0.6 deg, 0.8 %, 0.36 px: alignment sway
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]]) * (1 + scale)
    d = (pos - c) @ rot.T + c - pos + shift + rng.normal(0, 0.01, (18, 2))
    d[4] += [0.0, -0.8]  # one region really moves
    usable = np.ones(18, bool)
    usable[17] = False  # not used for the fit, but its residual is returned
    res = similarity_residual(d, pos, usable)
    assert np.hypot(*res[4]) > 0.7
    others = np.delete(res, 4, axis=0)
    assert np.hypot(others[:, 0], others[:, 1]).max() < 0.08
    assert np.hypot(*d[0]) > 0.2  # the raw displacements were all far from zero
