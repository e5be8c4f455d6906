"""tools/bench_models.py: per-event latency of the live models through the live classifier code path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mer_lab.benchmarks.event_latency import bench_events, event_clip, format_event_table
from tests.helpers.tools import load_tool


def test_event_clip_moves_out_and_back() -> None:
    clip = event_clip(21)
    assert clip.shape == (21, 128, 128) and (clip[0] == clip[-1]).all() and not (clip[0] == clip[10]).all()


def test_bench_times_preprocessing_and_inference_per_model(tmp_path: Path) -> None:
    rows = bench_events(["apexflow", "tcgru"], ["onnxruntime", "torch"], frames=9, repeats=1, rounds=2)
    assert {(r.model, r.backend) for r in rows} == {(m, b) for m in ("apexflow", "tcgru") for b in ("onnxruntime", "torch")}
    for r in rows:
        assert r.events == 2 and r.preprocess_ms > 0 and r.inference_ms > 0
        assert r.total_ms <= r.p90_total_ms + 1e-9 or r.events < 3
    assert format_event_table(rows).count("\n") == len(rows) + 1


def test_tool_writes_json_and_refuses_unknown_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tool = load_tool("bench_models")
    out = tmp_path / "b.json"
    assert tool.main(["--models", "learnet", "--backends", "onnxruntime", "--frames", "9", "--repeats", "1",
                      "--rounds", "1", "--json", str(out)]) == 0
    assert [r["model"] for r in json.loads(out.read_text())] == ["learnet"]
    assert tool.main(["--models", "resnet"]) == 2
    assert "unknown model or backend: resnet" in capsys.readouterr().err
