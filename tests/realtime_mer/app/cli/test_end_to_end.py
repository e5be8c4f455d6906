"""End to end through the real CLI: injected movements are found, events match the schema,
and a video that ends mid-stream keeps the events found before the cut."""

from __future__ import annotations

import json
from pathlib import Path

import cv2

from realtime_mer.capture.demo import DemoSource
from realtime_mer.types import CLASSES, EVENT_FIELDS
from tests.realtime_mer.app.cli.helpers import cli


def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / ((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def check_schema(d: dict) -> None:
    assert tuple(d) == EVENT_FIELDS
    assert d["type"] in ("micro", "macro")
    assert d["onset_frame"] <= d["apex_frame"] <= d["offset_frame"]
    assert d["onset_s"] <= d["apex_s"] <= d["offset_s"]
    assert d["duration_ms"] >= 0 and d["emit_latency_ms"] >= 0
    assert d["label"] in CLASSES
    assert set(d["probabilities"]) == set(CLASSES)
    assert abs(sum(d["probabilities"].values()) - 1.0) < 1e-3
    assert d["wall_time"].endswith("Z") and "T" in d["wall_time"]
    assert isinstance(d["spot_score"], float) and d["face_id"] == 0 and d["model"]
    assert (d["type"] == "micro") == (d["duration_ms"] <= 500.0)


def test_three_injected_movements_are_found(tmp_path: Path) -> None:
    seconds, seed = 7.0, 0
    truth = DemoSource(seconds=seconds, seed=seed).truth
    assert len(truth) == 3
    ev, st, csv_path = tmp_path / "e.jsonl", tmp_path / "s.json", tmp_path / "e.csv"
    proc = cli("--demo", "--demo-seconds", str(seconds), "--seed", str(seed), "--no-ui", "--events", str(ev),
               "--csv", str(csv_path), "--stats", str(st))
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(ln) for ln in ev.read_text().splitlines()]
    for d in events:
        check_schema(d)
    for t in [r.interval for r in truth]:
        best = max((iou((t.onset, t.offset), (d["onset_frame"], d["offset_frame"])) for d in events), default=0.0)
        assert best >= 0.5, f"truth {t.onset}-{t.offset} not found (best IoU {best:.2f}) in {[(d['onset_frame'], d['offset_frame']) for d in events]}"
    assert len(csv_path.read_text().splitlines()) == len(events) + 1
    s = json.loads(st.read_text())
    assert s["events"] == len(events) and s["frames_processed"] == int(seconds * 200)


def _write_demo_video(path: Path, seconds: float, seed: int) -> list:
    src = DemoSource(seconds=seconds, seed=seed)
    src.open()
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (src.width, src.height))
    while (img := src.read()) is not None:
        w.write(img)
    w.release()
    src.close()
    return src.truth


def test_video_that_ends_mid_stream_keeps_events_found_so_far(tmp_path: Path) -> None:
    full = tmp_path / "full.avi"
    truth = _write_demo_video(full, 4.5, seed=0)
    first = truth[0].interval
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.75)])  # about 3.4 s survive: the first movement is inside
    ev, st = tmp_path / "e.jsonl", tmp_path / "s.json"
    proc = cli("--video", str(cut), "--no-ui", "--events", str(ev), "--stats", str(st))
    assert proc.returncode == 3, proc.stderr  # completed, but the input ended early: not 0 (issue 17)
    s = json.loads(st.read_text())
    assert not s["input_complete"] and "ended at frame" in s["incomplete_reason"] and s["exit_code"] == 3
    assert "Traceback" not in proc.stderr
    assert "ended at frame" in proc.stderr  # the user is told the file was cut
    events = [json.loads(ln) for ln in ev.read_text().splitlines()]
    assert any(iou((first.onset, first.offset), (d["onset_frame"], d["offset_frame"])) >= 0.5 for d in events)


def test_timeline_trace_and_blind_share(tmp_path: Path) -> None:
    """--timeline streams a per-frame trace (time, face, signal, threshold, blind) and draws the demo's
    truth; the stats report the share of frames in which the spotter was blind (its calibration second)."""
    from realtime_mer.app.timeline import read_trace

    png, stats = tmp_path / "t.png", tmp_path / "s.json"
    proc = cli("--demo", "--demo-seconds", "3", "--no-ui", "--quiet", "--timeline", str(png), "--stats", str(stats))
    assert proc.returncode == 0, proc.stderr
    assert png.stat().st_size > 10000
    tr = read_trace(tmp_path / "t.trace.csv")
    assert len(tr) == 600 and list(tr.frame) == list(range(600)) and tr.face.all()
    assert abs(tr.time_s[1] - tr.time_s[0] - 0.005) < 1e-6  # 200 fps demo clock
    assert tr.blind[:150].all()  # the spotter learns its baseline in the first second: blind
    s = json.loads(stats.read_text())["blind"]
    assert s["no_face_frames"] == 0 and s["spotter_blind_frames"] == int(tr.blind.sum())
    assert 0.3 <= s["share"] <= 1.0  # at least the calibration second of 3 s


def test_timeline_with_an_unknown_picture_type_is_refused_up_front(tmp_path: Path) -> None:
    from tests.realtime_mer.app.cli.helpers import assert_one_line_error

    proc = cli("--demo", "--demo-seconds", "1", "--no-ui", "--timeline", str(tmp_path / "out.txt"))
    assert_one_line_error(proc, "--timeline", ".png")
    assert not (tmp_path / "out.txt").exists() and not (tmp_path / "out.trace.csv").exists()
