"""Issue 27: tcgru intensity windows with neutral context, and the synthetic apex-flow pretraining set."""

from __future__ import annotations

import numpy as np
import pytest

from mer_lab.synthetic.intensity_windows import WindowSet, intensity_profile, step_positions, windows_of
from realtime_mer.recognition.preprocess import clip_input
from realtime_mer.types import Interval


def test_intensity_profile_is_zero_on_neutral_frames_and_one_at_the_apex() -> None:
    m = Interval(10, 14, 22, "micro")
    v = intensity_profile(np.array([0, 9, 10, 12, 14, 18, 22, 23, 40]), [m])
    np.testing.assert_allclose(v, [0, 0, 0, 0.5, 1, 0.5, 0, 0, 0], atol=1e-6)
    both = intensity_profile(np.array([12.0, 31.0]), [m, Interval(30, 31, 32, "macro")])
    np.testing.assert_allclose(both, [0.5, 1.0])
    assert intensity_profile(np.array([5.0, 6.0]), [Interval(5, 5, 5, "micro")]).tolist() == [1.0, 0.0]


def test_step_positions_match_the_live_window_sampling() -> None:
    # ClipClassifier.window_intensity: np.linspace(0, n - 1, T + 1)[1:] relative to the window's first crop
    np.testing.assert_allclose(step_positions(100, 60), 100 + np.linspace(0.0, 59.0, 9)[1:])


def test_windows_are_the_live_inputs_with_frame_targets(tmp_path) -> None:
    rng = np.random.default_rng(0)
    crops = rng.integers(60, 200, size=(50, 128, 128), dtype=np.uint8)
    moves = [Interval(20, 24, 30, "micro")]
    x, t, starts = windows_of(crops, moves, window=12, stride=7, offset=2)
    assert starts.tolist() == list(range(2, 50 - 12 + 1, 7)) and x.shape == (len(starts), 8, 4, 64, 64)
    k = 2  # the window at frame 16 reaches into the movement
    expect = clip_input("tcgru", crops[starts[k] : starts[k] + 12], 0, 5, 11)
    np.testing.assert_allclose(x[k].astype(np.float32), expect, atol=2e-3)  # stored as float16
    np.testing.assert_allclose(t[k], intensity_profile(step_positions(int(starts[k]), 12), moves))
    assert t[0].max() == 0.0 and t[k].max() > 0.0
    ws = WindowSet(x, t, ["a"] * len(t), ["v"] * len(t), starts)
    back, meta = WindowSet.load(ws.save(tmp_path / "w.npz", {"window": 12}))
    assert meta == {"window": 12} and np.array_equal(back.x, x) and back.subjects == ws.subjects


@pytest.mark.usefixtures("one_torch_thread")
def test_synthetic_flows_use_the_composite_encoding() -> None:
    from mer_lab.synthetic.flow_pretrain import SynthFlowConfig, face_stills, render_flow_set
    from realtime_mer.synth.aus import MOVEMENTS
    from realtime_mer.types import CLASSES

    cfg = SynthFlowConfig(flow_method="tvl1-fast")  # the fast variant keeps the test short; the tool uses tvl1
    s = render_flow_set(face_stills(["astronaut"], cfg, 0), 3, 1, cfg)
    assert s.images.shape == (3, 28, 28, 3) and s.images.dtype == np.uint8
    for i in range(len(s)):
        for c in range(3):  # min-max normalised per channel, as every published composite image
            assert s.images[i, ..., c].min() == 0 and s.images[i, ..., c].max() == 255
        aus = tuple(int(a) for a in s.aus[i].split("+"))
        assert CLASSES[s.labels[i]] == dict(MOVEMENTS)[aus]
    assert set(s.faces) == {"astronaut"} and ((s.amp_px >= 0.6) & (s.amp_px <= 3.0)).all()
