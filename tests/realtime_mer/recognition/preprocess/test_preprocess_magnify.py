"""Phase-based magnification: exact at alpha 0, amplifies a tiny translation by 1 + alpha."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mer.errors import DataError
from realtime_mer.recognition.preprocess.magnify import MagnifyConfig, magnify_phase, pyramid_filters

SIZE, WAVELENGTH = 64, 16.0


def grating(shift: float) -> np.ndarray:
    """A vertical sinusoidal grating translated right by ``shift`` pixels."""
    x = np.arange(SIZE, dtype=np.float64)
    return np.tile(128.0 + 60.0 * np.sin(2.0 * np.pi * (x - shift) / WAVELENGTH), (SIZE, 1))


def measured_shift(img: np.ndarray) -> float:
    """Translation of a grating image, from the phase of its fundamental."""
    x = np.arange(SIZE)
    row = img.mean(axis=0) - img.mean()
    phase = np.angle(np.sum(row * np.exp(-2j * np.pi * x / WAVELENGTH)))
    return float(-(phase + np.pi / 2.0) * WAVELENGTH / (2.0 * np.pi))


def test_filters_are_a_tight_frame() -> None:
    analysis, synthesis, residual = pyramid_filters((48, 64), 3, 4)
    assert analysis.shape == synthesis.shape == (12, 48, 64)
    np.testing.assert_allclose(residual**2 + (synthesis**2).sum(0), 1.0, atol=1e-5)


def test_alpha_zero_reproduces_the_frames() -> None:
    rng = np.random.default_rng(0)
    frames = rng.random((3, 40, 56)) * 200 + 20
    np.testing.assert_allclose(magnify_phase(frames, MagnifyConfig(alpha=0.0)), frames, atol=1e-2)


@pytest.mark.parametrize("alpha", [5.0, 20.0])
def test_tiny_translation_is_amplified(alpha: float) -> None:
    delta = 0.05  # px: a micro-movement
    frames = np.stack([grating(0.0), grating(delta), grating(2 * delta)])
    out = magnify_phase(frames, MagnifyConfig(alpha=alpha))
    assert measured_shift(out[0]) == pytest.approx(0.0, abs=1e-3)  # the reference frame is kept
    assert measured_shift(out[1]) == pytest.approx((1 + alpha) * delta, rel=0.05)
    assert measured_shift(out[2]) == pytest.approx((1 + alpha) * 2 * delta, rel=0.05)
    assert measured_shift(frames[1]) == pytest.approx(delta, rel=0.01)


def test_bad_input() -> None:
    with pytest.raises(DataError, match="at least 8x8"):
        magnify_phase(np.zeros((2, 4, 4)))
    with pytest.raises(DataError, match="reference frame 5"):
        magnify_phase(np.zeros((2, 16, 16)), ref=5)
