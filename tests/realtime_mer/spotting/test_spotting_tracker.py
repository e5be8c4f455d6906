"""The online peak -> interval state machine and the running baselines, on hand-made signals."""

from __future__ import annotations

import numpy as np
import pytest

from realtime_mer.spotting.baseline import RunningBaseline, RunningCovariance
from realtime_mer.spotting.tracker import END_RISE, IntervalTracker, TrackerSettings
from realtime_mer.types import Interval

FLOOR, LOW, HIGH = 1.0, 3.0, 6.0


def bump(n: int, start: int, length: int, peak: float) -> np.ndarray:
    """A raised-cosine bump of ``length`` samples on a flat floor."""
    x = np.full(n, FLOOR)
    t = np.arange(n) - start
    inside = (t >= 0) & (t <= length)
    x[inside] += (peak - FLOOR) * (0.5 - 0.5 * np.cos(2 * np.pi * t[inside] / length))
    return x


def run(signal: np.ndarray, merge: int = 5, min_len: int = 3, max_len: int = 200) -> list[tuple[int, Interval]]:
    """(sample index at which it was decided, interval) for every interval, flushed at the end."""
    tr = IntervalTracker(TrackerSettings(merge=merge, min_len=min_len, max_len=max_len, lookback=50), lambda a, b: "micro" if b - a <= 20 else "macro")
    out = []
    for i, v in enumerate(signal):
        out += [(i, iv) for iv in tr.push(1000 + i, i * 5_000_000, float(v), HIGH, LOW, FLOOR)]
    out += [(len(signal), iv) for iv in tr.flush()]
    return out


def test_one_bump_one_interval_with_bounded_delay() -> None:
    sig = bump(120, 40, 20, 10.0)
    (when, iv), *rest = run(sig)
    assert rest == []
    assert iv.apex == 1050 and iv.score == pytest.approx(10.0)
    assert iv.onset == 1041 and iv.offset == 1059  # refined out to where the bump leaves the floor
    assert iv.kind == "micro" and iv.n_frames == 19
    assert iv.onset_ns == 41 * 5_000_000 and iv.offset_ns == 59 * 5_000_000
    end_level = LOW + END_RISE * (10.0 - LOW)  # a quarter of the way up from the start level
    last_above = max(i for i, v in enumerate(sig) if v > end_level)
    assert when == last_above + 5  # decided exactly ``merge`` samples after the fall


def test_close_bumps_merge_far_bumps_do_not() -> None:
    near = bump(150, 20, 20, 10.0) + bump(150, 36, 20, 10.0) - FLOOR  # a 3-sample dip between them
    assert len(run(near, merge=8)) == 1
    far = bump(200, 20, 20, 10.0) + bump(200, 100, 20, 9.0) - FLOOR
    got = [iv for _, iv in run(far, merge=8)]
    assert [iv.apex for iv in got] == [1030, 1110]


def test_below_threshold_too_short_and_too_long_are_dropped() -> None:
    assert run(bump(100, 30, 20, 5.0)) == []  # rises above LOW only
    assert run(bump(100, 30, 2, 10.0), min_len=4) == []  # shorter than min_len
    long = np.full(400, FLOOR)
    long[50:350] = 10.0  # a held pose: longer than max_len
    assert run(long, max_len=100) == []


def test_macro_typing_and_flush() -> None:
    (_, iv), *_ = run(bump(200, 20, 60, 12.0))
    assert iv.kind == "macro"
    fell = bump(100, 60, 30, 10.0)[:88]  # ends while falling back: closed by flush
    assert len(run(fell, merge=20)) == 1
    rising = bump(100, 80, 30, 10.0)[:95]  # ends mid-movement: its offset was never seen
    assert run(rising) == []


def test_cancel_drops_the_movement_under_way() -> None:
    tr = IntervalTracker(TrackerSettings(merge=3, min_len=1, max_len=100, lookback=10), lambda a, b: "micro")
    sig = bump(60, 10, 20, 10.0)
    out = []
    for i, v in enumerate(sig):
        if i == 20:
            tr.cancel()
        out += tr.push(i, 0, float(v), HIGH, LOW, FLOOR)
    assert [iv.onset for iv in out] == [20]  # what follows the cancel is new; nothing before it is reused


def test_tail_in_refractory_time_and_single_step_spans_are_dropped() -> None:
    two = bump(150, 20, 20, 10.0) + bump(150, 48, 14, 8.0) - FLOOR  # the second starts 8 samples after the first ends
    assert [iv.apex for _, iv in run(two)] == [1030, 1055]
    tr_settings = TrackerSettings(merge=5, min_len=0, max_len=200, lookback=50, refractory=10)
    tr = IntervalTracker(tr_settings, lambda a, b: "micro")
    got = [iv for i, v in enumerate(two) for iv in tr.push(1000 + i, 0, float(v), HIGH, LOW, FLOOR)]
    assert [iv.apex for iv in got] == [1030]  # the second is the first one's tail
    spike = np.full(40, FLOOR)
    spike[20] = 10.0  # one sample up: onset and offset cannot be distinct from the apex
    assert run(spike, min_len=0) == []


def test_running_baseline_forgets_old_samples() -> None:
    b = RunningBaseline(2, capacity=50, every=1)
    for _ in range(50):
        b.add(np.array([100.0, 5.0]))
    rng = np.random.default_rng(0)
    for _ in range(50):
        b.add(np.array([rng.normal(0, 1), 5.0]))
    assert abs(b.median[0]) < 0.5 and 0.6 < b.sigma[0] < 1.5  # the 100s are out of the window
    assert b.sigma[1] == pytest.approx(b.floor)  # constant channel: floor, no division by zero


def test_running_covariance_whitens_anisotropic_noise() -> None:
    rng = np.random.default_rng(1)
    cov = RunningCovariance(3, capacity=2000, every=50, floor=1e-6)
    scales = np.array([[1.0, 0.05], [0.2, 0.2], [0.01, 0.3]])
    for _ in range(2000):
        cov.add(rng.normal(0, 1, (3, 2)) * scales + np.array([[5.0, 0.0], [0.0, 0.0], [0.0, -1.0]]))
    d = np.array([cov.distance(rng.normal(0, 1, (3, 2)) * scales + np.array([[5.0, 0.0], [0.0, 0.0], [0.0, -1.0]])) for _ in range(2000)])
    # whitened noise is Rayleigh(1) in every channel: median sqrt(2 ln 2) = 1.177, whatever its size and shape
    np.testing.assert_allclose(np.median(d, axis=0), 1.177, atol=0.1)
    assert cov.distance(np.array([[5.0, 1.0], [0.0, 0.0], [0.0, -1.0]]))[0] > 15  # 1 along the quiet axis is far out


def test_give_up_after_max_len_and_rearm_at_once() -> None:
    """A movement still open after ``max_len`` is dropped. Without ``rearm`` nothing new starts until
    the signal falls back; with it the tracker is ready at once, so a new movement that starts while the
    old signal is still high is found (the spotter is never blind for long)."""
    sig = np.full(700, FLOOR)
    sig[50:300] = 10.0  # held far longer than max_len
    sig[300:330] = 4.0  # drops to just above the start level, never to the floor ...
    sig[330:360] = 4.0 + 6.0 * np.sin(np.linspace(0, np.pi, 30))  # ... and a real bump rides on it
    sig[360:400] = 4.0

    def intervals(rearm: bool) -> list[Interval]:
        tr = IntervalTracker(TrackerSettings(merge=5, min_len=3, max_len=100, lookback=50, rearm=rearm), lambda a, b: "micro")
        out = []
        for i, v in enumerate(sig):
            out += tr.push(i, i, float(v), HIGH, LOW, FLOOR)
            if i == 200:
                assert tr.quiet is (not rearm)  # given up on the held pose at 150
        return out + tr.flush()

    assert intervals(rearm=False) == []  # blind until the signal fell back below LOW
    got = intervals(rearm=True)
    assert any(330 <= iv.apex <= 360 for iv in got), got
    assert all(iv.offset - iv.onset <= 100 for iv in got)
