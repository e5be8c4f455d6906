"""Bad input: one line on stderr naming the problem and the fix, non-zero exit, no traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.realtime_mer.app.cli.helpers import assert_one_line_error, cli


def test_missing_camera() -> None:
    proc = cli("--camera", "7", "--no-ui")
    assert_one_line_error(proc, "camera 7", "--camera")


def test_missing_video(tmp_path: Path) -> None:
    assert_one_line_error(cli("--video", str(tmp_path / "nope.mp4"), "--no-ui"), "nope.mp4")


def test_unreadable_video(tmp_path: Path) -> None:
    p = tmp_path / "notavideo.mp4"
    p.write_text("this is not a video\n" * 100)
    assert_one_line_error(cli("--video", str(p), "--no-ui"), "notavideo.mp4")


def _write_mp4(path: Path, n: int = 60) -> None:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(n):
        w.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    w.release()


def test_truncated_video(tmp_path: Path) -> None:
    full = tmp_path / "full.mp4"
    _write_mp4(full)
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # the index (moov) is lost
    assert_one_line_error(cli("--video", str(cut), "--no-ui"), "truncated.mp4")


def test_empty_image_folder(tmp_path: Path) -> None:
    d = tmp_path / "EP01"
    d.mkdir()
    assert_one_line_error(cli("--frames", str(d), "--no-ui"), "EP01")


def test_unwritable_events_path_is_refused_before_capture(tmp_path: Path) -> None:
    # the camera does not exist either: the events path must be refused first
    bad = tmp_path / "no_such_dir" / "e.jsonl"
    line = assert_one_line_error(cli("--camera", "7", "--events", str(bad), "--no-ui"), "no_such_dir")
    assert "camera" not in line.lower()


def test_same_output_twice_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    assert_one_line_error(cli("--demo", "--events", str(p), "--stats", str(p), "--no-ui"), "x.json")


@pytest.mark.parametrize("args,needle", [(["--fps", "0"], "--fps"), (["--demo-seconds", "-1"], "--demo-seconds"), (["--spotter", "nope"], "nope")])
def test_bad_options(args: list[str], needle: str) -> None:
    assert_one_line_error(cli("--demo", "--no-ui", *args), needle)


def test_no_face_video_runs_to_the_end_without_events(real_faces: Path, tmp_path: Path) -> None:
    ev, st = tmp_path / "e.jsonl", tmp_path / "s.json"
    proc = cli("--video", str(real_faces / "no_face.mp4"), "--no-ui", "--events", str(ev), "--stats", str(st))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "no face" in proc.stderr.lower()
    assert ev.read_text() == ""
    s = json.loads(st.read_text())
    assert s["frames_with_face"] == 0 and s["events"] == 0 and s["frames_processed"] >= 90


def test_stats_file_has_the_required_fields(tmp_path: Path) -> None:
    st = tmp_path / "s.json"
    proc = cli("--demo", "--demo-seconds", "2", "--no-ui", "--stats", str(st))
    assert proc.returncode == 0, proc.stderr
    s = json.loads(st.read_text())
    for k in ("frames_captured", "frames_processed", "frames_dropped", "frames_with_face", "processing_fps", "fps_requested",
              "fps_granted", "events", "stage_latency_ms", "emit_latency_ms", "peak_rss_mb", "backend"):
        assert k in s, k
    assert s["frames_processed"] == s["frames_captured"] == 400 and s["frames_dropped"] == 0
    for stage in ("face", "spotting", "total"):
        assert set(s["stage_latency_ms"][stage]) == {"p50", "p95", "max"}
    assert s["fps_granted"] == 200.0


def test_image_folder_source_runs(tmp_path: Path) -> None:
    # a CASME II-like folder of frames from the demo face
    from realtime_mer.capture.demo import DemoSource

    d = tmp_path / "sub01" / "EP02_01f"
    d.mkdir(parents=True)
    src = DemoSource(seconds=0.5, fps=200.0, seed=3)
    src.open()
    i = 0
    while (img := src.read()) is not None:
        cv2.imwrite(str(d / f"img{i + 1}.jpg"), img)
        i += 1
    src.close()
    st = tmp_path / "s.json"
    proc = cli("--frames", str(d), "--fps", "200", "--no-ui", "--stats", str(st))
    assert proc.returncode == 0, proc.stderr
    s = json.loads(st.read_text())
    assert s["frames_processed"] == i == 100 and s["frames_with_face"] >= 95
    shutil.rmtree(d)
