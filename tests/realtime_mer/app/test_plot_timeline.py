"""``tools/plot_timeline.py`` run as a subprocess on small files written here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from realtime_mer.app.timeline import Trace, write_trace

TOOL = Path(__file__).resolve().parents[3] / "tools" / "plot_timeline.py"
SIGNAL_BGR = (180, 119, 31)  # matplotlib tab:blue, the signal line


def run_tool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True, timeout=60)


def write_events(path: Path) -> None:
    rows = [
        {"type": "micro", "onset_frame": 40, "apex_frame": 50, "offset_frame": 60, "label": "positive"},
        {"type": "macro", "onset_frame": 120, "apex_frame": 150, "offset_frame": 190, "label": "negative"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def blue_pixels(png: Path) -> int:
    img = cv2.imread(str(png), cv2.IMREAD_COLOR)
    assert img is not None and img.shape[0] > 100 and img.shape[1] > 300
    return int((np.abs(img.astype(int) - SIGNAL_BGR).sum(axis=2) < 40).sum())


def test_plots_events_truth_and_found_trace(tmp_path: Path) -> None:
    events = tmp_path / "run.jsonl"
    write_events(events)
    truth = tmp_path / "truth.csv"
    truth.write_text("video,onset,apex,offset,type,aus,label\nrun,42,50,58,micro,12,positive\nother,5,6,7,micro,4,negative\n")
    f = np.arange(200)
    face = np.ones(200, bool)
    write_trace(tmp_path / "run.trace.csv", Trace(f, f / 200.0, face, 1.0 + np.exp(-((f - 50) / 6.0) ** 2) * 5,
                                                   np.full(200, 4.0), np.zeros(200, bool)))
    out = tmp_path / "plots" / "run.png"
    res = run_tool(events, "--truth", truth, "--video", "run", "-o", out)
    assert res.returncode == 0, res.stderr
    assert "2 events, 1 truths" in res.stdout and "run.trace.csv" in res.stdout
    assert out.stat().st_size > 5000
    with_trace = blue_pixels(out)
    assert with_trace > 200  # the signal line is drawn

    bare = tmp_path / "bare.png"
    (tmp_path / "run.trace.csv").unlink()
    res = run_tool(events, "-o", bare)
    assert res.returncode == 0, res.stderr
    assert "trace: none" in res.stdout
    assert bare.stat().st_size > 5000 and blue_pixels(bare) < with_trace / 4


def test_errors_are_one_line(tmp_path: Path) -> None:
    res = run_tool(tmp_path / "missing.jsonl", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not found" in res.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    res = run_tool(bad, "-o", tmp_path / "x.png")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not JSON" in res.stderr
    events = tmp_path / "ok.jsonl"
    write_events(events)
    (tmp_path / "t.csv").write_text("frame,signal,threshold\n1,abc\n")  # the old three-column format
    res = run_tool(events, "--trace", tmp_path / "t.csv", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not a realtime-mer trace" in res.stderr
    (tmp_path / "t2.csv").write_text("frame,time_s,face,signal,threshold,blind\n1,0.005,1,abc,4,0\n")
    res = run_tool(events, "--trace", tmp_path / "t2.csv", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "not a valid trace" in res.stderr
    res = run_tool(events, "--trace", tmp_path / "nope.csv", "-o", tmp_path / "x.png")
    assert res.returncode == 2 and "trace file" in res.stderr
    assert not (tmp_path / "x.png").exists()


def test_events_of_several_faces_get_a_panel_each(tmp_path: Path) -> None:
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    write_events(one)
    rows = [json.loads(x) for x in one.read_text().splitlines()]
    rows[1]["face_id"] = 1
    two.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    for events in (one, two):
        res = run_tool(events, "-o", events.with_suffix(".png"))
        assert res.returncode == 0, res.stderr
    h1 = cv2.imread(str(one.with_suffix(".png"))).shape[0]
    h2 = cv2.imread(str(two.with_suffix(".png"))).shape[0]
    assert h2 > 1.4 * h1  # face 0 and face 1: two panels
