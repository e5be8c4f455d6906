from __future__ import annotations

from pathlib import Path

import numpy as np

from realtime_mer.timeline import plot, read_trace, write_trace
from realtime_mer.types import Interval


def test_trace_roundtrip_and_plot(tmp_path: Path) -> None:
    f = np.arange(100)
    sig = np.sin(f / 10.0) ** 2
    thr = np.full(100, 0.8)
    write_trace(tmp_path / "t.csv", f, sig, thr)
    f2, s2, t2 = read_trace(tmp_path / "t.csv")
    assert np.allclose(f2, f) and np.allclose(s2, sig, atol=1e-5) and np.allclose(t2, thr)
    out = plot(tmp_path / "t.png", f, sig, thr, [(Interval(10, 15, 20, "micro"), "positive")], [Interval(11, 16, 21, "micro")])
    assert out.stat().st_size > 5000
