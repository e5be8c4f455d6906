"""Apex-flow features: flow, strain, encoding, flip, and live == training preprocessing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from mer_lab.datasets import load_megc_flow
from mer_lab.training.trainer import hflip_flow
from realtime_mer.errors import DataError
from realtime_mer.recognition.features import (
    DEFAULT_FLOW_METHOD,
    apex_flow_image,
    encode_flow,
    hflip_flow_image,
    minmax_uint8,
    optical_flow,
    optical_strain,
    to_model_input,
)
from tests.helpers.recognition import bump_flow, textured_crop, warp, write_flow_tree


@pytest.mark.parametrize("method", ["tvl1-fast", "dis", "farneback"])
def test_known_translation_gives_constant_u(method: str) -> None:
    img = textured_crop()
    moved = cv2.warpAffine(img, np.float32([[1, 0, 1.0], [0, 1, 0]]), img.shape[::-1], flags=cv2.INTER_CUBIC,
                           borderMode=cv2.BORDER_REFLECT)
    flow = optical_flow(img, moved, method)
    assert flow.shape == (*img.shape, 2) and flow.dtype == np.float32
    inner = flow[16:-16, 16:-16]
    assert np.median(inner[..., 0]) == pytest.approx(1.0, abs=0.1)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.1)
    assert np.percentile(np.abs(inner[..., 0] - 1.0), 75) < 0.25


def test_optical_strain_of_analytic_fields() -> None:
    yy, xx = np.mgrid[0:32, 0:40].astype(np.float32)
    translation = np.dstack([np.full_like(xx, 2.0), np.full_like(xx, -1.0)])
    assert np.allclose(optical_strain(translation), 0.0)
    stretch = np.dstack([0.01 * xx, np.zeros_like(xx)])  # u_x = 0.01
    assert np.allclose(optical_strain(stretch), 0.01, atol=1e-6)
    shear = np.dstack([0.02 * yy, np.zeros_like(xx)])  # u_y = 0.02 -> e_xy = 0.01
    assert np.allclose(optical_strain(shear), np.sqrt(2) * 0.01, atol=1e-6)
    with pytest.raises(DataError):
        optical_strain(np.zeros((5, 5)))


def test_encoding_matches_published_statistics() -> None:
    onset = textured_crop()
    apex = warp(onset, bump_flow(seed=1))
    img = apex_flow_image(onset, apex, method="tvl1-fast")
    assert img.shape == (28, 28, 3) and img.dtype == np.uint8
    # like every published PNG: each channel spans exactly 0..255 (normalised after the resize)
    assert (img.reshape(-1, 3).min(0) == 0).all() and (img.reshape(-1, 3).max(0) == 255).all()
    assert np.array_equal(minmax_uint8(np.full((4, 4), 3.0)), np.zeros((4, 4), np.uint8))


def test_encoding_follows_the_true_motion() -> None:
    onset = textured_crop()
    truth = bump_flow(seed=2)
    apex = warp(onset, truth)
    img = apex_flow_image(onset, apex, method=DEFAULT_FLOW_METHOD).astype(float)
    ref = encode_flow(truth).astype(float)
    for c in (0, 1):  # u and v follow the true displacement
        assert np.corrcoef(img[..., c].ravel(), ref[..., c].ravel())[0, 1] > 0.8


def test_flip_negates_u_numpy_and_torch_agree() -> None:
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (4, 28, 28, 3), dtype=np.uint8)
    flipped = hflip_flow_image(imgs)
    assert np.array_equal(flipped[..., 0], 255 - imgs[:, :, ::-1, 0])
    assert np.array_equal(flipped[..., 1:], imgs[:, :, ::-1, 1:])
    t = hflip_flow(torch.from_numpy(to_model_input(imgs)))
    assert torch.allclose(t, torch.from_numpy(to_model_input(flipped)), atol=1e-6)
    assert torch.allclose(hflip_flow(t), torch.from_numpy(to_model_input(imgs)), atol=1e-6)


def test_flip_matches_the_flow_of_mirrored_frames() -> None:
    onset = textured_crop()
    apex = warp(onset, bump_flow(seed=3))
    img = apex_flow_image(onset, apex, method="tvl1-fast").astype(float)
    mirrored = apex_flow_image(onset[:, ::-1], apex[:, ::-1], method="tvl1-fast").astype(float)
    flipped = hflip_flow_image(img.astype(np.uint8)).astype(float)
    r_u = np.corrcoef(mirrored[..., 0].ravel(), flipped[..., 0].ravel())[0, 1]
    r_u_wrong = np.corrcoef(mirrored[..., 0].ravel(), img[:, ::-1, 0].ravel())[0, 1]  # flip without negation
    assert r_u > 0.8 and r_u_wrong < -0.5
    assert np.corrcoef(mirrored[..., 1].ravel(), flipped[..., 1].ravel())[0, 1] > 0.8


def test_to_model_input_layout_and_errors() -> None:
    img = np.zeros((28, 28, 3), np.uint8)
    img[3, 5] = (255, 51, 0)
    x = to_model_input(img)
    assert x.shape == (1, 3, 28, 28) and x.dtype == np.float32
    assert x[0, :, 3, 5].tolist() == pytest.approx([1.0, 0.2, 0.0])
    with pytest.raises(DataError):
        to_model_input(np.zeros((28, 28, 3), np.float32))
    with pytest.raises(DataError):
        apex_flow_image(np.zeros((8, 8), np.uint8), np.zeros((9, 8), np.uint8))
    with pytest.raises(DataError):
        optical_flow(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), "nope")


def test_live_features_equal_training_data_path(tmp_path) -> None:
    """Live features written as the published PNGs and read back by the training loader are bit-identical."""
    onset = textured_crop()
    live = np.stack([apex_flow_image(onset, warp(onset, bump_flow(seed=s))) for s in range(3)])
    root = write_flow_tree(tmp_path / "set", live, np.array([0, 1, 2]), ["a", "b", "c"])
    loaded = load_megc_flow(root)
    assert np.array_equal(loaded.images, live)
    assert np.array_equal(to_model_input(loaded.images), to_model_input(live))
