"""The ``lbp`` spotter (Moilanen et al. 2014): LBP codes, chi-squared, and spotting on synthetic crops.

On the helpers' warp-only movements (tissue shifts of 1.5-5 px, no shading change) the LBP
histograms barely change, so the tests inject what LBP does see: local appearance changes
(a furrow darkening and fading, a blink) with the onset -> apex -> offset profile.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import LbpConfig, SpotConfig
from realtime_mer.spotting import SPOTTERS, make_spotter
from realtime_mer.spotting.base import SpotterError
from realtime_mer.spotting.lbp import N_BINS, UNIFORM_LUT, BlockHistograms, chi2, lbp_codes
from realtime_mer.types import Interval, classify_kind
from tests.helpers.spotting import Blink, Scenario, Sequence, base_face, best_match, make_sequence, run_spotter


def test_lbp_code_of_a_hand_computed_3x3() -> None:
    img = np.array([[90, 20, 60], [10, 50, 50], [70, 40, 30]], np.uint8)
    # clockwise from the top-left: 90 20 60 50 30 40 70 10 vs centre 50 -> bits 1 0 1 1 0 0 1 0
    assert int(lbp_codes(img)[0, 0]) == 1 + 4 + 8 + 64
    assert lbp_codes(np.full((3, 3), 7, np.uint8))[0, 0] == 255  # >= centre everywhere


def test_uniform_lut() -> None:
    labels = set(UNIFORM_LUT.tolist())
    assert len(labels) == N_BINS and max(labels) == N_BINS - 1
    assert UNIFORM_LUT[0] == 0 and UNIFORM_LUT[255] != N_BINS - 1  # flat patterns are uniform
    assert UNIFORM_LUT[0b00011100] != N_BINS - 1 and UNIFORM_LUT[0b01010000] == N_BINS - 1
    assert UNIFORM_LUT[0b10000001] != N_BINS - 1  # a circular run is uniform


def test_chi2_and_histograms() -> None:
    a = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], np.float32)
    b = np.array([[0.5, 0.5, 0.0], [0.5, 0.3, 0.2]], np.float32)
    assert np.allclose(chi2(a, b), [0.0, 2 * 0.3**2 / 0.7], atol=1e-5)
    rng = np.random.default_rng(0)
    crop = rng.integers(0, 256, (128, 128), dtype=np.uint8)
    bh = BlockHistograms(128, 6, mask_eyes=True)
    h = bh(crop)
    assert h.shape == (36, N_BINS) and np.allclose(h[bh.valid].sum(1), 1.0, atol=1e-5)
    assert BlockHistograms(128, 6, mask_eyes=False).valid.all()
    with pytest.raises(SpotterError, match="LBP blocks"):
        BlockHistograms(16, 6, mask_eyes=False)


def furrow_sequence(fps: float, seconds: float, events: list[tuple[float, float]], seed: int = 0) -> Sequence:
    """The astronaut crop with sensor noise, jitter-free, and dark furrows between the brows at
    the given (onset_ms, duration_ms), each rising to its apex and fading (raised cosine)."""
    base, lm = base_face()
    rng = np.random.default_rng(seed)
    n = round(seconds * fps)
    t = np.arange(n) * 1000.0 / fps
    furrow = np.zeros((128, 128), np.float32)
    for x in (54, 60, 68, 74):  # vertical furrows between and above the brows
        cv2.line(furrow, (x, 6), (x + (2 if x < 64 else -2), 30), 1.0, 2)
    amp = np.zeros(n)
    truth = []
    for on, dur in events:
        x = (t - on) / dur
        inside = (x >= 0) & (x <= 1)
        amp[inside] += 0.5 - 0.5 * np.cos(2 * np.pi * x[inside])
        a, b = int(np.ceil(on * fps / 1000.0)), int(np.floor((on + dur) * fps / 1000.0))
        truth.append((a, (a + b) // 2, b, classify_kind(a, b, fps)))
    frames = np.empty((n, 128, 128), np.uint8)
    for i in range(n):
        img = base - 60.0 * amp[i] * furrow + rng.normal(0, 2.0, base.shape)
        frames[i] = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return Sequence(fps, frames, np.repeat(lm[None], n, 0), truth)


def test_registry_and_delay() -> None:
    assert "lbp" in SPOTTERS
    sp = make_spotter("lbp", 200.0, SpotConfig())
    assert sp.name == "lbp" and sp.k == 30 and sp.avg == 5
    assert sp.lookahead_frames == 2 + 4 * 30 + 12  # avg/2 + 4k + merge at 200 fps
    assert make_spotter("lbp", 30.0, SpotConfig()).lookahead_frames == 0 + 4 * 4 + 2
    with pytest.raises(SpotterError, match="bad lbp settings"):
        make_spotter("lbp", 200.0, SpotConfig(lbp=LbpConfig(top=0.0)))


def test_static_noisy_face_gives_nothing() -> None:
    seq = make_sequence(Scenario(fps=200.0, seconds=4.0, noise=3.0, jitter=0.2, seed=2))
    sp = make_spotter("lbp", 200.0, SpotConfig())
    assert run_spotter(seq, sp) == []
    frames, signal, threshold = sp.history()
    assert len(frames) > 400 and np.all(np.diff(frames) == 1) and np.isfinite(signal).all()
    assert (signal[200:] < threshold[200:]).all() and not sp.calibrating


@pytest.mark.parametrize("fps", [200.0, 60.0])
def test_appearance_changes_found_within_the_delay(fps: float) -> None:
    seq = furrow_sequence(fps, 5.0, [(1800.0, 250.0), (3200.0, 350.0)], seed=3)
    sp = make_spotter("lbp", fps, SpotConfig())
    buf = RingBuffer.for_seconds(5.0, fps)
    found: list[Interval] = []
    for i, (crop, lm) in enumerate(zip(seq.frames, seq.landmarks, strict=True)):
        for iv in sp.update(buf, buf.push(crop, lm, round(i * 1e9 / fps), i)):
            assert i - iv.offset <= sp.lookahead_frames, "decided later than the stated look-ahead"
            found.append(iv)
    found += sp.flush()
    assert len(found) == len(seq.truth), found
    for truth in seq.truth:
        score, iv = best_match(truth, found)
        assert iv is not None and score >= 0.5, f"{truth} not found (best IoU {score:.2f}) in {found}"
        assert iv.kind == "micro" and iv.onset <= iv.apex <= iv.offset and abs(iv.apex - truth[1]) <= 0.05 * fps


def test_blink_seen_only_without_the_eye_mask() -> None:
    seq = make_sequence(Scenario(fps=200.0, seconds=4.0, blinks=[Blink(2000.0, 200.0)], seed=4))
    found = run_spotter(seq, make_spotter("lbp", 200.0, SpotConfig(lbp=LbpConfig(mask_eyes=False))))
    assert len(found) == 1 and best_match((400, 0, 440, "micro"), found)[0] >= 0.5


def test_reset_restarts_calibration_and_cost() -> None:
    seq = furrow_sequence(200.0, 2.0, [])
    sp = make_spotter("lbp", 200.0, SpotConfig())
    buf = RingBuffer.for_seconds(3.0, 200.0)
    times = []
    for i, crop in enumerate(seq.frames):
        s = buf.push(crop, seq.landmarks[i], i * 5_000_000, i)
        t0 = time.perf_counter()
        sp.update(buf, s)
        times.append(time.perf_counter() - t0)
    assert not sp.calibrating
    sp.reset()
    assert sp.calibrating
    assert float(np.median(times)) < 3e-3  # ~0.3-0.6 ms on one core; generous for shared CI machines
