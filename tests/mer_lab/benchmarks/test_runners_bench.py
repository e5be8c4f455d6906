"""Backend benchmark: the timing loop's stopping rules, the statistics of known call times, the table."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from mer_lab.benchmarks import backends
from mer_lab.benchmarks.backends import bench_backends, format_backend_table, time_calls


class FakeClock:
    """A ``time`` stand-in whose clock advances only when the timed function runs (by scripted seconds)."""

    def __init__(self, durations: list[float]) -> None:
        self.now, self.durations, self.calls = 0.0, list(durations), 0

    def perf_counter(self) -> float:
        return self.now

    def call(self) -> None:
        self.now += self.durations[self.calls % len(self.durations)]
        self.calls += 1


def test_time_calls_stops_at_the_budget_but_not_before_min_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock([0.1])
    monkeypatch.setattr(backends, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    times = time_calls(clock.call, repeats=100, min_repeats=3, warmup=2, budget_s=0.25)
    # 2 warm-up calls are not timed; then calls until 0.25 s have passed (3 calls), each timed at 0.1 s
    assert clock.calls == 5 and times == pytest.approx([0.1, 0.1, 0.1])
    clock = FakeClock([0.1])
    monkeypatch.setattr(backends, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    assert len(time_calls(clock.call, repeats=10, min_repeats=4, warmup=0, budget_s=0.0)) == 4  # budget spent: the minimum
    clock = FakeClock([0.001])
    monkeypatch.setattr(backends, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    assert len(time_calls(clock.call, repeats=6, min_repeats=1, warmup=0, budget_s=10.0)) == 6  # fast calls: the cap


def test_timing_reports_median_p90_and_throughput_of_known_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    # ten calls of one batch of 8: 9 x 4 ms and one 40 ms hiccup -> median 4 ms, p90 between them, 2000 samples/s
    clock = FakeClock([0.004] * 9 + [0.040])
    monkeypatch.setattr(backends, "time", types.SimpleNamespace(perf_counter=clock.perf_counter))
    runner = types.SimpleNamespace(backend="fake-cpu", infer=lambda x: clock.call())
    row = backends._timing("m", runner, 8, np.zeros((8, 1)), 1, repeats=10, min_repeats=10, warmup=0, budget_s=60.0)
    assert (row.model, row.backend, row.batch, row.repeats) == ("m", "fake-cpu", 8, 10)
    assert row.latency_ms == pytest.approx(4.0) and row.throughput == pytest.approx(2000.0)
    assert row.p90_ms == pytest.approx(7.6)  # sorted times: position 0.9 * 9 = 8.1, i.e. 4 ms + 0.1 * (40 - 4) ms
    assert row.to_dict()["throughput"] == pytest.approx(2000.0)


def test_bench_apexflow_on_cpu_backends(tmp_path: Path) -> None:
    rows = bench_backends(["apexflow"], batches=(1, 8), repeats=3, min_repeats=2, budget_s=0.05,
                          engines_dir=tmp_path, include_tensorrt=False)
    assert {(r.backend, r.batch) for r in rows} == {(b, n) for b in ("torch-cpu", "onnxruntime-cpu") for n in (1, 8)}
    for r in rows:
        assert r.model == "apexflow" and 2 <= r.repeats <= 3 and 0 < r.latency_ms <= r.p90_ms < 10_000
    table = format_backend_table(rows).splitlines()
    assert table[0].startswith("| model | backend | batch |") and len(table) == 2 + len(rows)
    assert any(line.startswith("| apexflow | onnxruntime-cpu | 8 |") for line in table)
