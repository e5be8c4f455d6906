"""The learned ``gru`` spotter: numpy GRU = torch GRU, online features, shipped weights end to end, errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import GruConfig, SpotConfig
from realtime_mer.errors import ModelError
from realtime_mer.spotting import SPOTTERS, Spotter, make_spotter
from realtime_mer.spotting import gru as gru_mod
from realtime_mer.spotting.gru import N_FEATURES, GruFeatures, GruModel, GruSpotter, load_weights
from tests.helpers.spotting import Movement, Scenario, make_sequence


def random_weights(n_in: int, hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f = np.float32
    return {
        "w_ih": rng.normal(0, 0.4, (3 * hidden, n_in)).astype(f),
        "w_hh": rng.normal(0, 0.4, (3 * hidden, hidden)).astype(f),
        "b_ih": rng.normal(0, 0.2, 3 * hidden).astype(f),
        "b_hh": rng.normal(0, 0.2, 3 * hidden).astype(f),
        "w_out": rng.normal(0, 0.5, hidden).astype(f),
        "b_out": np.array([0.1], f),
        "x_mean": rng.normal(0, 1, n_in).astype(f),
        "x_std": rng.uniform(0.5, 2, n_in).astype(f),
    }


def test_numpy_gru_step_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    n_in, hidden, steps = 7, 16, 50
    w = random_weights(n_in, hidden)
    gru = torch.nn.GRU(n_in, hidden, batch_first=True)
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.from_numpy(w["w_ih"]))
        gru.weight_hh_l0.copy_(torch.from_numpy(w["w_hh"]))
        gru.bias_ih_l0.copy_(torch.from_numpy(w["b_ih"]))
        gru.bias_hh_l0.copy_(torch.from_numpy(w["b_hh"]))
    x = np.random.default_rng(1).normal(0, 1.5, (steps, n_in)).astype(np.float32)
    with torch.no_grad():
        h, _ = gru(torch.from_numpy((x - w["x_mean"]) / w["x_std"])[None])
        want = torch.sigmoid(h[0] @ torch.from_numpy(w["w_out"]) + float(w["b_out"][0])).numpy()
    model = GruModel(w)
    got = np.array([model.step(xi) for xi in x])
    np.testing.assert_allclose(got, want, atol=2e-5)
    np.testing.assert_allclose(model.h, h[0, -1].numpy(), atol=2e-5)
    model.reset()
    assert model.step(x[0]) == pytest.approx(float(want[0]), abs=2e-5)


def features(frames: np.ndarray, landmarks: np.ndarray, fps: float) -> np.ndarray:
    f = GruFeatures(fps)
    buf = RingBuffer.for_seconds(3.0, fps)
    out = []
    for i in range(len(frames)):
        seq = buf.push(frames[i], landmarks[i], round(i * 1e9 / fps), i)
        out.append(f.update(buf, seq).copy())
    return np.array(out)


def test_features_are_online() -> None:
    """Frame t's features depend on frames <= t only: a prefix run equals the full run, whatever comes later."""
    seq = make_sequence(Scenario(fps=200.0, seconds=2.0, movements=[Movement((61,), (-1.5, -1.5), 1500.0, 200.0)], seed=3))
    full = features(seq.frames, seq.landmarks, seq.fps)
    assert full.shape == (len(seq.frames), N_FEATURES) and np.isfinite(full).all()
    cut = 250
    np.testing.assert_array_equal(features(seq.frames[:cut], seq.landmarks[:cut], seq.fps), full[:cut])
    other = seq.frames.copy()
    other[cut:] = 255 - other[cut:]  # a wholly different future
    np.testing.assert_array_equal(features(other, seq.landmarks, seq.fps)[:cut], full[:cut])
    assert not np.array_equal(features(other, seq.landmarks, seq.fps)[cut:], full[cut:])
    # the movement (1.5-1.7 s) raises the features above the quiet part before it
    assert full[300:340, :5].max() > full[200:280, :5].max() + 0.3


def test_registry_and_shipped_weights() -> None:
    assert "gru" in SPOTTERS
    sp = make_spotter("gru", 200.0, SpotConfig(name="gru"))
    assert isinstance(sp, GruSpotter) and isinstance(sp, Spotter) and sp.name == "gru"
    model, meta = load_weights()
    assert model.n_inputs == N_FEATURES and meta["feature_version"] == gru_mod.FEATURE_VERSION
    assert 0.0 < meta["low"] < meta["high"] < 1.0
    assert sp.lookahead_frames == round(meta["delay_ms"] * 0.2) + 12  # model delay + the 60 ms merge wait at 200 fps
    assert gru_mod.WEIGHTS.stat().st_size < 1_000_000


@pytest.fixture
def weights_at():
    def use(path: Path) -> SpotConfig:
        return SpotConfig(name="gru", gru=GruConfig(weights=path))

    return use


def test_missing_or_corrupt_weights_fail_with_one_line(tmp_path: Path, weights_at) -> None:
    cfg = weights_at(tmp_path / "none.npz")
    with pytest.raises(ModelError, match="not found") as err:
        make_spotter("gru", 200.0, cfg)
    assert "\n" not in str(err.value) and "train_spotter" in str(err.value)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    cfg = weights_at(bad)
    with pytest.raises(ModelError, match="cannot read"):
        make_spotter("gru", 200.0, cfg)
    partial = tmp_path / "partial.npz"
    np.savez(partial, feature_version=np.int64(gru_mod.FEATURE_VERSION), w_ih=np.zeros((3, 3), np.float32))
    cfg = weights_at(partial)
    with pytest.raises(ModelError, match="lack"):
        make_spotter("gru", 200.0, cfg)
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, feature_version=np.int64(gru_mod.FEATURE_VERSION), **random_weights(N_FEATURES + 2, 8))
    cfg = weights_at(wrong)
    with pytest.raises(ModelError, match="features"):
        make_spotter("gru", 200.0, cfg)
    old = tmp_path / "old.npz"
    np.savez(old, feature_version=np.int64(gru_mod.FEATURE_VERSION - 1), **random_weights(N_FEATURES, 8))
    cfg = weights_at(old)
    with pytest.raises(ModelError, match="feature version"):
        make_spotter("gru", 200.0, cfg)


def test_sidecar_thresholds_are_used(tmp_path: Path, weights_at) -> None:
    path = tmp_path / "w.npz"
    np.savez(path, feature_version=np.int64(gru_mod.FEATURE_VERSION), **random_weights(N_FEATURES, 8))
    path.with_suffix(".json").write_text(json.dumps({"high": 0.8, "low": 0.3, "delay_ms": 50.0}))
    cfg = weights_at(path)
    sp = make_spotter("gru", 200.0, cfg)
    assert (sp.decoder.high, sp.decoder.low, sp.decoder.delay, sp.lookahead_frames) == (0.8, 0.3, 10, 22)


def aligned_clip(seed: int, n_movements: int, seconds: float = 3.5):
    """A synthetic astronaut clip (one micro movement or none), rendered and aligned like the benchmark."""
    from mer_lab.evaluation.spot_bench import align_frames
    from realtime_mer.config import FaceConfig
    from realtime_mer.face.aligner import FaceAligner
    from realtime_mer.synth.clip import ASTRONAUT, Clip, SynthConfig, make_backdrop
    from realtime_mer.synth.scene import SceneConfig

    scene = dataclasses.replace(
        SceneConfig(),
        lead_in_s=1.6,
        max_movements=n_movements,
        macro_fraction=0.0,
        micro_typical_ms=(200.0, 400.0),
        micro_typical_p=1.0,
        micro_amp_px=(1.8, 2.5),
        blink_every_s=(60.0, 60.0),
        jerk_every_s=(60.0, 60.0),
    )
    cfg = SynthConfig(fps=200.0, scene=scene, jpeg_prob=0.0)
    clip = Clip(make_backdrop(ASTRONAUT, cfg, 1.0), round(seconds * 200), seed, cfg, name="test")
    aligner = FaceAligner(FaceConfig())
    try:
        aligned = align_frames((clip.frame(i) for i in range(clip.n_frames)), clip.n_frames, 200.0, aligner)
    finally:
        aligner.close()
    return aligned, clip.truth


def test_shipped_spotter_finds_one_movement_and_nothing_on_a_still_face() -> None:
    from mer_lab.evaluation.spot_bench import replay
    from mer_lab.evaluation.spotting import iou

    aligned, truth = aligned_clip(5001, 1)
    assert len(truth) == 1 and truth[0].interval.kind == "micro" and aligned.n_face == len(aligned.present)
    found = replay(aligned, "gru")
    t = truth[0].interval
    assert any(iou((s.onset, s.offset), (t.onset, t.offset)) >= 0.3 for s in found), f"{t} not found in {found}"
    assert len(found) == 1, found
    still, none = aligned_clip(5002, 0)
    assert none == [] and replay(still, "gru") == []


def test_decoder_shifts_by_the_delay_and_skips_a_movement_under_way_at_calibration_end() -> None:
    fps = 200.0
    dec = gru_mod.make_decoder(fps, SpotConfig(name="gru"), {"high": 0.5, "low": 0.2, "delay_ms": 50.0})
    assert (dec.delay, dec.calib) == (10, 200)
    n = 500
    p = np.full(n, 0.02)
    for a, b in ((195, 235), (330, 380)):  # model outputs; they describe frames 10 earlier
        t = np.arange(a, b + 1)
        p[a : b + 1] = np.maximum(p[a : b + 1], 0.9 * np.sin(np.pi * (t - a) / (b - a)) ** 2)
    out = []
    for i in range(n):
        frame, got = dec.push(float(p[i]), i, i * 5_000_000)
        assert frame == (i - 10 if i >= 10 else -1)
        out += got
    out += dec.flush()
    assert len(out) == 1, out  # the first bump was under way when calibration ended (frame 210 of the stream)
    iv = out[0]
    assert 318 <= iv.onset <= 326 and 364 <= iv.offset <= 372 and iv.apex == 345 and iv.kind == "micro"
