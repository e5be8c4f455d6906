"""The default ``roiflow`` spotter on synthetic aligned-face sequences with known movements."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.errors import MerError
from realtime_mer.spotting import SPOTTERS, Spotter, SpotterError, make_spotter
from realtime_mer.types import Interval
from tests.helpers.spotting import Blink, Jerk, Movement, Scenario, Sequence, best_match, make_sequence, run_spotter

# brow raise 1.5 px / 200 ms, lip-corner pull 2 px / 300 ms, a 2 s macro smile with a hold
THREE = [
    Movement((105, 63), (0.0, -1.5), 1800.0, 200.0),
    Movement((61,), (-1.4, -1.4), 3000.0, 300.0),
    Movement((291,), (1.5, -1.5), 4200.0, 2000.0, sigma=7.0, hold_ms=800.0),
]


def spot(seq: Sequence, **cfg: float) -> tuple[list[Interval], Spotter]:
    sp = make_spotter("roiflow", seq.fps, SpotConfig(**cfg))
    return run_spotter(seq, sp), sp


def assert_found(seq: Sequence, found: list[Interval]) -> None:
    """Every truth has its own interval with IoU >= 0.5, the right type and the apex inside; nothing else."""
    for truth in seq.truth:
        score, iv = best_match(truth, found)
        assert iv is not None and score >= 0.5, f"{truth} not found (best IoU {score:.2f}) in {found}"
        assert iv.kind == truth[3], f"{truth} found as {iv.kind}"
        assert iv.onset <= iv.apex <= iv.offset
    assert len(found) == len(seq.truth), f"extra intervals: {found}"


@pytest.fixture(scope="module")
def three_200() -> Sequence:
    return make_sequence(Scenario(fps=200.0, seconds=7.5, movements=THREE, blinks=[Blink(1200.0, 200.0)], seed=1))


def test_registry_and_interface() -> None:
    assert "roiflow" in SPOTTERS
    sp = make_spotter("roiflow", 200.0, SpotConfig())
    assert isinstance(sp, Spotter) and sp.name == "roiflow"
    assert sp.lookahead_frames == 2 + 12  # half the 25 ms smoothing + the 60 ms merge wait at 200 fps
    assert make_spotter("roiflow", 30.0, SpotConfig()).lookahead_frames == 0 + 2
    with pytest.raises(SpotterError, match="unknown spotter"):
        make_spotter("nope", 200.0, SpotConfig())
    with pytest.raises(MerError, match="positive frame rate"):
        make_spotter("roiflow", 0.0, SpotConfig())
    with pytest.raises(MerError, match="durations"):
        make_spotter("roiflow", 200.0, SpotConfig(min_ms=500.0, max_ms=100.0))


def test_static_noisy_face_gives_nothing() -> None:
    seq = make_sequence(Scenario(fps=200.0, seconds=4.0, noise=3.0, jitter=0.2, seed=2))
    found, sp = spot(seq)
    assert found == []
    frames, signal, threshold = sp.history()
    assert len(frames) == len(signal) == len(threshold) <= round(sp.cfg.history_s * 200.0)
    assert np.all(np.diff(frames) == 1) and np.isfinite(signal).all()
    assert (signal[300:] < threshold[300:]).all()
    assert not sp.calibrating


def test_three_movements_at_200_fps(three_200: Sequence) -> None:
    sp = make_spotter("roiflow", 200.0, SpotConfig())
    buf = RingBuffer.for_seconds(5.0, 200.0)
    found: list[Interval] = []
    for i, (crop, lm) in enumerate(zip(three_200.frames, three_200.landmarks, strict=True)):
        for iv in sp.update(buf, buf.push(crop, lm, round(i * 5e6), i)):
            assert i - iv.offset <= sp.lookahead_frames, "decided later than the stated look-ahead"
            found.append(iv)
    found += sp.flush()
    assert_found(three_200, found)
    assert [iv.kind for iv in found] == ["micro", "micro", "macro"]
    assert all(iv.offset_ns == round(iv.offset * 5e6) for iv in found)


def test_three_movements_at_30_fps() -> None:
    seq = make_sequence(Scenario(fps=30.0, seconds=7.5, movements=THREE, blinks=[Blink(1200.0, 200.0)], seed=3))
    found, _ = spot(seq)
    assert_found(seq, found)


def test_head_jerks_give_nothing() -> None:
    # 2 px jerks there and back (a 200-300 ms "bump" of the whole face) and one held jump
    jerks = [Jerk(1300.0, (2.0, 0.0)), Jerk(1500.0, (-2.0, 0.0)), Jerk(2200.0, (-1.5, 1.5), 30.0), Jerk(2500.0, (1.5, -1.5), 30.0), Jerk(3300.0, (1.0, -2.0), 5.0)]
    seq = make_sequence(Scenario(fps=200.0, seconds=4.5, jerks=jerks, seed=4))
    assert spot(seq)[0] == []


def test_blinks_give_nothing() -> None:
    blinks = [Blink(1300.0, 120.0), Blink(2000.0, 250.0), Blink(2800.0, 400.0, depth=0.7), Blink(3400.0, 150.0)]
    seq = make_sequence(Scenario(fps=200.0, seconds=4.0, blinks=blinks, seed=5))
    assert spot(seq)[0] == []


def test_movement_after_a_head_jerk_is_found() -> None:
    seq = make_sequence(Scenario(fps=200.0, seconds=4.0, jerks=[Jerk(1300.0, (2.0, 1.0), 20.0)], movements=[Movement((61,), (-1.4, -1.4), 2200.0, 250.0)], seed=6))
    assert_found(seq, spot(seq)[0])


def test_reset_restarts_calibration(three_200: Sequence) -> None:
    sp = make_spotter("roiflow", 200.0, SpotConfig())
    buf = RingBuffer.for_seconds(5.0, 200.0)
    # the face is lost just before the brow raise (1800 ms) and found again 100 ms later:
    # the brow raise falls in the new calibration second and is not reported, the rest is
    before = run_spotter(three_200, sp, stop=340, buffer=buf)
    assert before == [] and not sp.calibrating
    sp.reset()
    assert sp.calibrating
    after = run_spotter(three_200, sp, start=360, buffer=buf)
    assert all(iv.onset >= 360 for iv in after)
    truth = three_200.truth[1:]
    assert [round(best_match(t, after)[0], 1) >= 0.5 for t in truth] == [True, True]
    assert len(after) == 2


def test_drawn_face_fallback_works() -> None:
    seq = make_sequence(Scenario(fps=200.0, seconds=3.0, movements=[Movement((61,), (-1.4, -1.4), 1800.0, 250.0)], drawn=True, seed=7))
    assert_found(seq, spot(seq)[0])
