"""The ``lagflow`` spotter (rise-and-return of lagged region motion) on synthetic aligned-face sequences."""

from __future__ import annotations

import pytest

from realtime_mer.buffer import RingBuffer
from realtime_mer.config import SpotConfig
from realtime_mer.spotting import SPOTTERS, make_spotter
from realtime_mer.spotting.lagflow import LagFlowSpotter
from realtime_mer.types import Interval
from tests.helpers.spotting import Blink, Jerk, Movement, Scenario, Sequence, best_match, make_sequence

MICROS = [
    Movement((105, 63), (0.0, -1.5), 1800.0, 200.0),  # brow raise 1.5 px / 200 ms
    Movement((61,), (-1.4, -1.4), 3000.0, 300.0),  # lip-corner pull 2 px / 300 ms
    Movement((291,), (1.2, -1.2), 4200.0, 450.0),  # a long micro: longer than the lag
]


def run(seq: Sequence) -> tuple[list[Interval], LagFlowSpotter, list[int]]:
    sp = make_spotter("lagflow", seq.fps, SpotConfig(name="lagflow"))
    assert isinstance(sp, LagFlowSpotter)
    buf = RingBuffer.for_seconds(5.0, seq.fps)
    found: list[Interval] = []
    delays: list[int] = []
    for i, (crop, lm) in enumerate(zip(seq.frames, seq.landmarks, strict=True)):
        for iv in sp.update(buf, buf.push(crop, lm, round(i * 1e9 / seq.fps), i)):
            delays.append(i - iv.offset)
            found.append(iv)
    found += sp.flush()
    return found, sp, delays


def test_registered_with_bounded_lookahead() -> None:
    assert "lagflow" in SPOTTERS
    sp = make_spotter("lagflow", 200.0, SpotConfig(name="lagflow"))
    assert sp.lookahead_frames == 40 + 6 + 12  # the 200 ms lag + half the 60 ms smoothing + the 60 ms merge wait
    assert sp.lookahead_ms <= 300.0


def test_micro_movements_found_within_the_lookahead() -> None:
    seq = make_sequence(Scenario(fps=200.0, seconds=6.0, movements=MICROS, blinks=[Blink(1200.0, 200.0)], seed=11))
    found, sp, delays = run(seq)
    for truth in seq.truth:
        score, iv = best_match(truth, found)
        assert iv is not None and score >= 0.5, f"{truth} not found (best IoU {score:.2f}) in {found}"
        assert iv.kind == "micro" and iv.onset <= iv.apex <= iv.offset
    assert len(found) == len(seq.truth), f"extra intervals: {found}"
    assert delays and max(delays) <= sp.lookahead_frames


def test_static_noisy_face_gives_nothing() -> None:
    seq = make_sequence(Scenario(fps=200.0, seconds=4.0, noise=3.0, jitter=0.2, seed=2))
    found, sp, _ = run(seq)
    assert found == []
    assert not sp.calibrating and not sp.blind


def test_blinks_and_head_jerks_give_nothing() -> None:
    blinks = [Blink(1300.0, 120.0), Blink(2000.0, 250.0), Blink(3400.0, 150.0)]
    jerks = [Jerk(1600.0, (2.0, 0.0)), Jerk(2600.0, (-1.5, 1.5), 30.0)]
    seq = make_sequence(Scenario(fps=200.0, seconds=4.5, blinks=blinks, jerks=jerks, seed=5))
    assert run(seq)[0] == []


@pytest.mark.parametrize("fps", [30.0])
def test_lower_frame_rate(fps: float) -> None:
    seq = make_sequence(Scenario(fps=fps, seconds=6.0, movements=MICROS[:2], seed=3))
    found, _, _ = run(seq)
    assert all(best_match(t, found)[0] >= 0.5 for t in seq.truth), found
