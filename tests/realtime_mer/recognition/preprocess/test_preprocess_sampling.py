"""Temporal sampling, interpolation and dynamic images (approximate rank pooling)."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mer.errors import DataError
from realtime_mer.recognition.preprocess import (
    anchored_positions,
    dynamic_image,
    interpolate_frames,
    rank_pool_coefficients,
    scale_unit,
    uniform_indices,
    uniform_positions,
)


def test_uniform_sampling() -> None:
    assert uniform_positions(2, 8, 4).tolist() == [2.0, 4.0, 6.0, 8.0]
    assert uniform_indices(0, 9, 4).tolist() == [0, 3, 6, 9]
    assert uniform_indices(5, 7, 5).tolist() == [5, 6, 6, 6, 7]  # a short span repeats frames
    assert uniform_indices(3, 3, 2).tolist() == [3, 3]
    with pytest.raises(DataError, match="at least 1"):
        uniform_positions(0, 1, 0)


def test_anchored_sampling_keeps_onset_apex_offset() -> None:
    p = anchored_positions(10, 20, 40, 9)
    assert p.tolist() == [10.0, 12.5, 15.0, 17.5, 20.0, 25.0, 30.0, 35.0, 40.0]
    q = anchored_positions(0, 3, 4, 6)  # 3 in between: 2 before the apex, 1 after
    assert q.tolist() == [0.0, 1.0, 2.0, 3.0, 3.5, 4.0]
    assert anchored_positions(5, 5, 5, 9).tolist() == [5.0] * 9
    with pytest.raises(DataError, match="n >= 3"):
        anchored_positions(0, 1, 2, 2)
    with pytest.raises(DataError, match="out of order"):
        anchored_positions(0, 5, 3, 9)


def test_interpolation_endpoints_and_midpoints() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 6, 7), dtype=np.uint8)
    out = interpolate_frames(frames, np.array([0.0, 4.0, 1.5, 2.0, -3.0, 9.0]))
    assert out.dtype == np.float32 and out.shape == (6, 6, 7)
    np.testing.assert_array_equal(out[0], frames[0])
    np.testing.assert_array_equal(out[1], frames[4])
    np.testing.assert_allclose(out[2], 0.5 * (frames[1].astype(np.float32) + frames[2]), atol=1e-4)
    np.testing.assert_array_equal(out[3], frames[2])
    np.testing.assert_array_equal(out[4], frames[0])  # clipped below
    np.testing.assert_array_equal(out[5], frames[4])  # clipped above
    with pytest.raises(DataError):
        interpolate_frames(np.zeros((0, 4, 4), np.uint8), np.array([0.0]))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 18])
def test_rank_pool_coefficients_match_the_time_varying_mean_form(n: int) -> None:
    # Bilen et al.: d = sum_t (2t - T - 1) V_t with V_t the mean of frames 1..t; expand per frame
    ref = np.zeros(n)
    for t in range(1, n + 1):
        ref[:t] += (2 * t - n - 1) / t
    alpha = rank_pool_coefficients(n)
    np.testing.assert_allclose(alpha, ref, atol=1e-9)
    assert abs(alpha.sum()) < 1e-9  # static content cancels
    if n >= 2:
        assert alpha[0] < 0 < alpha[-1]  # early frames weigh negatively, late ones positively
    if n == 3:
        np.testing.assert_allclose(alpha, [-4 / 3, 2 / 3, 2 / 3], atol=1e-12)  # 2(3-t+1) - 4 (H_3 - H_{t-1})


def test_dynamic_image_cancels_static_content_and_orders_time() -> None:
    rng = np.random.default_rng(1)
    still = np.repeat(rng.random((1, 8, 8)).astype(np.float32) * 255, 6, axis=0)
    np.testing.assert_allclose(dynamic_image(still), 0.0, atol=1e-3)
    ramp = np.stack([np.full((4, 4), 10.0 * t) for t in range(6)])  # brightening
    assert np.all(dynamic_image(ramp) > 0) and np.all(dynamic_image(ramp[::-1]) < 0)
    assert scale_unit(dynamic_image(still * 0)).tolist() == np.full((8, 8), 0.5).tolist()
    s = scale_unit(np.array([[-2.0, 0.0], [2.0, 1.0]]))
    assert s.min() == 0.0 and s.max() == 1.0 and s[0, 1] == pytest.approx(0.5)
    with pytest.raises(DataError):
        rank_pool_coefficients(0)
