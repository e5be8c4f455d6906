"""clip_input builds every registered model's input from aligned crops, following its contract."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mer_lab.models import available_models, input_contract
from realtime_mer.errors import DataError, ModelError
from realtime_mer.recognition.preprocess import BUILDERS, clip_input, resize_frames


def moving_clip(n: int = 30, size: int = 128, step: float = 0.3) -> np.ndarray:
    """A smooth random texture drifting right by ``step`` px per frame (uint8 crops; step * n <= 24)."""
    rng = np.random.default_rng(0)
    big = cv2.GaussianBlur((rng.random((size, size + 32)) * 255).astype(np.float32), (0, 0), 3)
    big = cv2.normalize(big, None, 30, 220, cv2.NORM_MINMAX)
    out = []
    for t in range(n):
        m = np.float32([[1, 0, -24 + step * t], [0, 1, 0]])
        out.append(cv2.warpAffine(big, m, (size, size), flags=cv2.INTER_LINEAR))
    return np.clip(np.rint(np.stack(out)), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return moving_clip()


def test_every_model_has_a_builder_matching_its_contract(clip: np.ndarray) -> None:
    assert set(available_models()) <= set(BUILDERS)
    for name in available_models():
        c = input_contract(name)
        x = clip_input(name, clip, 2, 12, 27)
        assert x.shape == c.shape and x.dtype == np.float32, name
        assert c.value_range[0] - 1e-6 <= x.min() and x.max() <= c.value_range[1] + 1e-6, name
        assert np.isfinite(x).all() and x.std() > 0, name


def test_frame_sampling_follows_the_contracts(clip: np.ndarray) -> None:
    c3d = clip_input("c3d", clip, 2, 12, 27)
    np.testing.assert_allclose(c3d[0, 0], resize_frames(clip[2:3].astype(np.float32), 64)[0] / 255, atol=1e-6)
    np.testing.assert_allclose(c3d[0, -1], resize_frames(clip[27:28].astype(np.float32), 64)[0] / 255, atol=1e-6)
    lstm = clip_input("convlstm", clip, 2, 12, 27)  # onset, apex, offset at steps 0, 4, 8
    for step, idx in ((0, 2), (4, 12), (8, 27)):
        np.testing.assert_allclose(lstm[step, 0], resize_frames(clip[idx : idx + 1].astype(np.float32), 90)[0] / 255, atol=1e-6)
    tc = clip_input("tcgru", clip, 2, 12, 27)
    np.testing.assert_array_equal(tc[1:, 0], tc[:-1, 1])  # step k's second frame is step k+1's first
    assert tc[:, 2].mean() > 0.5 + 1e-3  # the texture moves right: u > 0
    assert abs(tc[:, 3].mean() - 0.5) < abs(tc[:, 2].mean() - 0.5)


def test_static_clip_gives_neutral_motion_channels() -> None:
    still = np.repeat(moving_clip(1), 12, axis=0)
    ts = clip_input("twostream3d", still, 0, 5, 11)
    np.testing.assert_allclose(ts[1:], 0.5, atol=0.02)  # no flow
    np.testing.assert_allclose(ts[0], ts[0, :1].repeat(8, axis=0), atol=1e-6)  # nothing to magnify
    ln = clip_input("learnet", still, 0, 5, 11)
    np.testing.assert_allclose(ln, 0.5)  # dynamic images of no change


def test_twostream_frames_are_original_and_the_flow_is_of_magnified_frames() -> None:
    """Stream 1 sees the original frames (Yan & Li); the flow channels move more than plain frames' flow would."""
    from realtime_mer.recognition.preprocess import consecutive_flows, encode_flow_unit, uniform_positions
    from realtime_mer.recognition.preprocess.sampling import interpolate_frames, to_uint8

    slow = moving_clip(20, step=0.05)
    ts = clip_input("twostream3d", slow, 0, 10, 19)
    plain = resize_frames(slow[19:20].astype(np.float32), 64)[0] / 255
    np.testing.assert_allclose(ts[0, -1], plain, atol=1e-6)
    g = to_uint8(resize_frames(interpolate_frames(slow, uniform_positions(0, 19, 9)), 64))
    plain_flow = encode_flow_unit(consecutive_flows(g, "tvl1-fast"))
    assert np.abs(ts[1:] - 0.5).mean() > 3 * np.abs(plain_flow - 0.5).mean()


def test_bad_clips_and_names(clip: np.ndarray) -> None:
    with pytest.raises(DataError, match="do not fit"):
        clip_input("c3d", clip, 5, 3, 10)
    with pytest.raises(DataError, match="do not fit"):
        clip_input("c3d", clip, 0, 3, 30)
    with pytest.raises(DataError, match="uint8"):
        clip_input("c3d", clip.astype(np.float32), 0, 3, 10)
    with pytest.raises(ModelError, match="unknown model"):
        clip_input("nope", clip, 0, 3, 10)


def test_one_and_two_frame_intervals(clip: np.ndarray) -> None:
    """A spotted interval can be a single frame (onset = apex = offset): every builder still works."""
    for name in available_models():
        for args in ((clip[:1], 0, 0, 0), (clip[:2], 0, 1, 1), (clip[:2], 0, 0, 1)):
            x = clip_input(name, *args)
            assert x.shape == input_contract(name).shape and np.isfinite(x).all(), name
