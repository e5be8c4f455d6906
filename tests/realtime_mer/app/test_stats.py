from __future__ import annotations

import numpy as np

from realtime_mer.app.stats import LatencyRecorder, RateMeter, summarize


def test_summary_percentiles() -> None:
    s = summarize(np.arange(1, 101, dtype=np.float32))
    assert s["p50"] == 50.5 and s["max"] == 100.0 and 95.0 <= s["p95"] <= 96.0


def test_recorder_is_bounded_and_recent_wraps() -> None:
    r = LatencyRecorder(cap=10)
    for i in range(25):
        r.add("face", float(i))
    assert len(r.values("face")) == 10
    assert list(r.recent("face", 3)) == [22.0, 23.0, 24.0]
    assert r.summary("missing") == {"p50": 0.0, "p95": 0.0, "max": 0.0}


def test_rate_meter() -> None:
    m = RateMeter(window_s=1.0)
    for i in range(101):
        m.tick(i * 5_000_000)  # 200 fps
    assert abs(m.rate() - 200.0) < 1.0
