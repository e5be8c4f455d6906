"""The throughput benchmark (tools/bench.py --throughput): decode-only runs, the side-by-side ratio, the table, and the
per-stage CPU time the pipeline reports."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mer_lab.benchmarks.decode import decode
from mer_lab.benchmarks.pipeline_runs import (
    CPU_STAGES,
    Throughput,
    decode_run,
    format_throughput_table,
    make_scaled_clip,
)


def _clip(path: Path, n: int = 12, size: tuple[int, int] = (64, 48)) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 25.0, size)
    for i in range(n):
        w.write(np.full((size[1], size[0], 3), 10 * i, np.uint8))
    w.release()
    return path


@pytest.mark.parametrize("gray", [False, True])
def test_decode_reads_every_frame(tmp_path: Path, gray: bool) -> None:
    r = decode(_clip(tmp_path / "c.mp4"), gray=gray)
    assert r["frames"] == 12 and r["fps"] > 0 and r["seconds"] > 0 and r["cpu_s"] >= 0


def test_decode_run_is_a_fresh_process_with_the_same_answer(tmp_path: Path) -> None:
    assert decode_run(_clip(tmp_path / "c.mp4"), gray=True)["frames"] == 12


def test_scaled_clip_has_the_size_and_the_frames(tmp_path: Path) -> None:
    out = make_scaled_clip(_clip(tmp_path / "small.mp4"), tmp_path / "big.mp4", 160, 96)
    cap = cv2.VideoCapture(str(out))
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == (160, 96)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    before = out.stat().st_mtime_ns
    assert make_scaled_clip(tmp_path / "small.mp4", out, 160, 96) == out and out.stat().st_mtime_ns == before  # kept


def test_the_ratio_is_taken_round_by_round_and_the_table_names_every_stage() -> None:
    t = Throughput("clip")
    # round 1: decode 1000, realtime-mer 500 (0.5); round 2: a loaded round, both slower (0.6); round 3: 0.7
    for d, r in ((1000.0, 500.0), (500.0, 300.0), (1000.0, 700.0)):
        t.decode.append({"fps": d})
        t.luma.append({"fps": 2 * d})
        t.rmer.append({"processing_fps": r, "frames_processed": 4000, "events": 8,
                       "stage_cpu_ms_per_frame": {"source": 0.3, "face": 0.6, "spotting": r / 1000}})
    assert t.ratio == pytest.approx(0.6)  # the median of the per-round ratios, not a ratio of medians (0.5)
    assert t.fps("decode") == 1000 and t.fps("rmer") == 500 and t.cpu("spotting") == pytest.approx(0.5)
    table = format_throughput_table([t])
    head, _, row = table.splitlines()
    assert all(f"{s} CPU ms/frame" in head for s in CPU_STAGES)
    assert "| clip | 4000 | 1000 | 2000 | 500 | **0.60** | 0.300 | 0.600 | 0.500 | 0.000 | 0.000 | 8/8/8 |" == row


def test_the_pipeline_reports_cpu_per_stage(tmp_path: Path) -> None:
    from realtime_mer.app.pipeline import Pipeline
    from realtime_mer.capture import VideoSource
    from realtime_mer.config import PipelineConfig
    from tests.realtime_mer.app.test_pipeline import FakeAligner, FakeClassifier, FakeSpotter

    p = Pipeline(PipelineConfig(), VideoSource(_clip(tmp_path / "c.mp4", n=40)), aligner=FakeAligner(set()),
                 spotter=FakeSpotter(), classifier=FakeClassifier())
    s = p.run()
    cpu = s["stage_cpu_ms_per_frame"]
    assert {"source", "face", "spotting", "recognition"} <= set(cpu) and all(v >= 0 for v in cpu.values())
    assert cpu["source"] > 0  # the grabbing thread decoded 40 frames


def test_a_baseline_gets_its_own_columns() -> None:
    t = Throughput("clip")
    for d, r, b in ((1000.0, 500.0, 250.0), (1000.0, 600.0, 300.0)):
        t.decode.append({"fps": d})
        t.luma.append({"fps": d})
        t.rmer.append({"processing_fps": r, "frames_processed": 10, "events": 1})
        t.baseline.append({"processing_fps": b, "frames_processed": 10, "events": 1})
    head, _, row = format_throughput_table([t]).splitlines()
    assert "| baseline (fps) | realtime-mer (fps) | baseline / decode | rmer / decode |" in head
    assert "| 275 | 550 | 0.28 | **0.55** |" in row
