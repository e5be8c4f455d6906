"""Backend benchmark: one row per (model, backend, batch) with medians, and a Markdown table."""

from __future__ import annotations

from pathlib import Path

import pytest

from mer_lab.benchmarks.backends import BackendTiming, bench_backends, format_backend_table, time_calls


def test_time_calls_respects_min_and_max_repeats() -> None:
    calls: list[int] = []
    times = time_calls(lambda: calls.append(1), repeats=5, min_repeats=2, warmup=1, budget_s=0.0)
    assert len(times) == 2 and len(calls) == 3  # warm-up + min_repeats when the budget is spent
    assert len(time_calls(lambda: None, repeats=5, min_repeats=1, warmup=0, budget_s=10.0)) == 5


def test_bench_apexflow_on_cpu_backends(tmp_path: Path) -> None:
    rows = bench_backends(["apexflow"], batches=(1, 8), repeats=3, min_repeats=2, budget_s=0.05,
                          engines_dir=tmp_path, include_tensorrt=False)
    assert {(r.backend, r.batch) for r in rows} == {(b, n) for b in ("torch-cpu", "onnxruntime-cpu") for n in (1, 8)}
    for r in rows:
        assert r.model == "apexflow" and r.latency_ms > 0 and r.p90_ms >= r.latency_ms
        assert r.throughput == pytest.approx(r.batch / (r.latency_ms / 1e3))
    table = format_backend_table(rows).splitlines()
    assert table[0].startswith("| model | backend | batch |") and len(table) == 2 + len(rows)


def test_row_to_dict() -> None:
    row = BackendTiming("m", "onnxruntime-cpu", 8, 2.0, 3.0, 4000.0, 10, 1)
    assert row.to_dict()["throughput"] == 4000.0
