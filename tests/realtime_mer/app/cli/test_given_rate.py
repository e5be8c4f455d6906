"""Issue 23 §2: the rate the user gives is the rate. A 200 fps recording whose container says 25 fps (as high-speed
cameras often write it) is timed at ``--fps 200``: the spotter, the micro / macro typing and every timestamp; the
container's rate is reported beside it and the mismatch is one warning line. Through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from realtime_mer.capture import VideoSource
from realtime_mer.capture.demo import DemoSource
from realtime_mer.events import read_events, read_sidecar
from realtime_mer.spotting.match import found_by_type
from tests.realtime_mer.app.cli.helpers import cli

CONTAINER_FPS = 25.0
TRUE_FPS = 200.0


@pytest.fixture(scope="module")
def mislabelled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    """2.5 s of the demo rendered at 200 fps, written into an AVI that says 25 fps; and the demo's truth."""
    path = tmp_path_factory.mktemp("rate") / "highspeed.avi"
    src = DemoSource(seconds=2.5, fps=TRUE_FPS, seed=0, width=320, height=240)
    src.open()
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), CONTAINER_FPS, (320, 240))
    while (img := src.read()) is not None:
        w.write(img)
    w.release()
    src.close()
    return path, list(src.truth)


def test_the_source_takes_the_given_rate_and_keeps_the_containers(mislabelled: tuple[Path, list]) -> None:
    path, _ = mislabelled
    with VideoSource(path, fps=TRUE_FPS) as s:
        assert s.fps == TRUE_FPS and s.container_fps == CONTAINER_FPS
        assert s.position_ns(200) == 1_000_000_000  # frame 200 is 1 s in
        (warning,) = s.warnings
        assert "container says 25 fps" in warning and "--fps 200" in warning and "8x" in warning
    with VideoSource(path, fps=26.0) as s:  # within 10 % of the container: no warning
        assert s.fps == 26.0 and not s.warnings
    with VideoSource(path) as s:  # no rate given: the container's
        assert s.fps == CONTAINER_FPS and not s.warnings


def test_fps_times_a_mislabelled_recording(mislabelled: tuple[Path, list], tmp_path: Path) -> None:
    path, truth = mislabelled
    ev, st = tmp_path / "e.jsonl", tmp_path / "s.json"
    proc = cli("--video", str(path), "--fps", "200", "--no-ui", "--events", str(ev), "--stats", str(st))
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "its container says 25 fps, timed at --fps 200" in warnings[0]
    s = json.loads(st.read_text())
    assert (s["fps_requested"], s["fps_granted"], s["fps_container"]) == (200.0, 200.0, 25.0)
    assert s["provenance"]["source"]["fps"] == 200.0 and s["provenance"]["source"]["container_fps"] == 25.0
    events = read_events(ev)
    assert read_sidecar(ev)["source"]["fps"] == 200.0
    for e in events:  # every timestamp on the given time base
        assert e.onset_s == pytest.approx(e.onset_frame / TRUE_FPS, abs=1e-6)
        assert e.offset_s == pytest.approx(e.offset_frame / TRUE_FPS, abs=1e-6)
    # the injected micro-expression (85 ms at 200 fps) is found as a micro-expression, where it is
    assert [t.interval.kind for t in truth] == ["micro"]
    assert found_by_type([t.interval for t in truth], [e.interval() for e in events]) == 1
    micro = [e for e in events if e.type == "micro"]
    assert micro and all(e.duration_ms < 500 for e in micro)


def test_without_fps_the_container_rate_is_the_time_base(mislabelled: tuple[Path, list], tmp_path: Path) -> None:
    path, _ = mislabelled
    st = tmp_path / "s.json"
    proc = cli("--video", str(path), "--no-ui", "--quiet", "--stats", str(st))
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    s = json.loads(st.read_text())
    assert (s["fps_requested"], s["fps_granted"], s["fps_container"]) == (25.0, 25.0, 25.0)
