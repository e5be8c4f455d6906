"""Fault injection through the real command line (issue 17): every fault ends in at most one error line, the exit
status says how the run ended, the events decided so far are valid JSONL on disk and the stats say what happened.
README, "Faults and what you see", lists each case."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from realtime_mer.types import EVENT_FIELDS
from tests.helpers.faults import two_face_frames, write_demo_avi, write_demo_frames
from tests.realtime_mer.app.cli.helpers import REPO, assert_one_line_error, cli


def _events(path: Path) -> list[dict]:
    """The event log, every line a whole JSON object with the documented fields (no half line)."""
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "the log ends in a partial line"
    out = [json.loads(ln) for ln in text.splitlines()]
    assert all(tuple(d) == EVENT_FIELDS for d in out)
    return out


def _errors(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [ln for ln in stderr.splitlines() if ln.startswith("realtime-mer: error: ")]


# -- signals -----------------------------------------------------------------------------------
def test_two_signals_at_once_are_one_stop(tmp_path: Path) -> None:
    """What `timeout` or a shell does (the process and its group both signalled): stopped cleanly, stats written."""
    ev, st = tmp_path / "e.jsonl", tmp_path / "s.json"
    cmd = [sys.executable, "-m", "realtime_mer.app.cli", "--demo", "--demo-seconds", "60", "--realtime", "--no-ui",
           "--quiet", "--events", str(ev), "--stats", str(st)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not ev.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(1.5)  # running, past the spotter's calibration
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # within the grace period: the same stop
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert _errors(err) == []
    s = json.loads(st.read_text())
    assert s["interrupted"] is True and s["stopped_by"] == "SIGTERM" and s["exit_code"] == 143 and s["error"] is None
    assert s["events"] == len(_events(ev)) and 0 < s["frames_processed"] < 60 * 200


def test_a_later_signal_leaves_at_once_after_writing_the_stats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime_mer.app import cli as cli_module

    class Pipe:
        stops = 0

        def stop(self) -> None:
            self.stops += 1

    class Left(Exception):
        pass

    def leave(code: int) -> None:
        raise Left(code)

    clock = [100.0]
    monkeypatch.setattr(cli_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cli_module.os, "_exit", leave)
    saved: list[int] = []
    pipe = Pipe()
    stops = cli_module.StopSignals(pipe, saved.append)
    stops._handle(signal.SIGTERM, None)
    clock[0] += cli_module.GRACE_S - 0.1
    stops._handle(signal.SIGINT, None)  # inside the grace period: ignored
    assert (pipe.stops, saved, stops.signum) == (1, [], signal.SIGTERM)
    clock[0] += 0.2
    with pytest.raises(Left) as left:
        stops._handle(signal.SIGINT, None)
    assert left.value.args == (130,) and saved == [signal.SIGINT]


def test_exit_codes() -> None:
    from realtime_mer.app.cli import exit_code
    from realtime_mer.errors import OutputError, SourceLost

    assert exit_code(None, None, False) == 0
    assert exit_code(None, None, True) == 3  # completed, the input did not
    assert exit_code(signal.SIGTERM, None, True) == 143 and exit_code(signal.SIGINT, None, False) == 130
    assert exit_code(None, SourceLost("camera lost"), False) == 3
    assert exit_code(None, OutputError("disk full"), False) == 2 and exit_code(None, OSError("disk"), False) == 2
    assert exit_code(signal.SIGINT, RuntimeError("a bug"), False) == 1  # an error outranks the signal


# -- the camera ----------------------------------------------------------------------------------
def test_camera_that_stalls_recovers_then_is_lost(tmp_path: Path) -> None:
    """The scripted camera (REALTIME_MER_FAKE_CAMERA) stalls for 1 s at frame 120 and is unplugged at frame 330."""
    ev, st = tmp_path / "e.jsonl", tmp_path / "s.json"
    env = {**os.environ, "REALTIME_MER_FAKE_CAMERA": "fps=100,stall_at=120,stall_s=1,lost_at=330"}
    proc = subprocess.run([sys.executable, "-m", "realtime_mer.app.cli", "--camera", "0", "--no-ui", "--quiet",
                           "--events", str(ev), "--stats", str(st)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr  # the input ended early: not 0, not a bad-input 2
    (line,) = _errors(proc.stderr)
    assert "camera 0 stopped delivering frames" in line and "events so far are saved" in line
    assert "stalled 1 time(s)" in proc.stderr and "it recovered" in proc.stderr
    s = json.loads(st.read_text())
    assert s["stopped_by"] == "source lost" and s["exit_code"] == 3 and "stopped delivering" in s["error"]
    assert s["source_stalls"]["count"] == 1 and 0.9 < s["source_stalls"]["seconds"] < 2.0
    assert s["frames_captured"] == 329  # everything it delivered (the first on open), the stall lost nothing
    assert s["events"] == len(_events(ev)) >= 1  # decided before the loss, on disk


# -- a full disk ---------------------------------------------------------------------------------
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_events_on_a_full_disk_are_one_line(tmp_path: Path) -> None:
    st = tmp_path / "s.json"
    proc = cli("--demo", "--demo-seconds", "3", "--no-ui", "--quiet", "--events", "/dev/full", "--stats", str(st))
    assert proc.returncode == 2
    (line,) = _errors(proc.stderr)
    assert "cannot write events to /dev/full: No space left on device" in line
    assert json.loads(st.read_text())["error"] in line


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs resource.prlimit (Linux)")
def test_file_size_limit_mid_run_leaves_only_whole_lines(tmp_path: Path) -> None:
    """RLIMIT_FSIZE set on the running process (the disk "fills up" mid-run) trips while an event line is being
    written: the log is cut back to its last whole line and the run ends in one line."""
    ev = tmp_path / "e.jsonl"
    limit = 600  # one event line (about 400 bytes), not two
    proc = subprocess.Popen([sys.executable, "-m", "realtime_mer.app.cli", "--demo", "--demo-seconds", "6", "--no-ui",
                             "--quiet", "--events", str(ev)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        sidecar = Path(f"{ev}.meta.json")  # the run's provenance, written with the (empty) log before capture
        deadline = time.monotonic() + 120
        while not (ev.exists() and sidecar.exists()) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
        _out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, err
    (line,) = _errors(err)
    assert "cannot write events to" in line and "written before are intact" in line
    events = _events(ev)
    assert events and ev.stat().st_size <= limit
    assert f"the {len(events)} line(s) written before are intact" in line


# -- damaged input -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_avi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("avi") / "full.avi"
    write_demo_avi(path, seconds=1.5)
    return path


@pytest.mark.parametrize("cut", [0.1, 0.5, 0.9])
def test_truncated_video_at_several_cut_points(demo_avi: Path, tmp_path: Path, cut: float) -> None:
    data = demo_avi.read_bytes()
    video, st = tmp_path / f"cut{int(cut * 100)}.avi", tmp_path / "s.json"
    video.write_bytes(data[: int(len(data) * cut)])
    proc = cli("--video", str(video), "--no-ui", "--quiet", "--stats", str(st), timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert _errors(proc.stderr) == [] and f"{video.name} ended at frame" in proc.stderr
    s = json.loads(st.read_text())
    assert not s["input_complete"] and s["frames_processed"] < 300 * cut + 5


def test_garbled_stretch_mid_video_never_hangs(demo_avi: Path, tmp_path: Path) -> None:
    data = bytearray(demo_avi.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 20_000] = np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes()
    video, st = tmp_path / "garbled.avi", tmp_path / "s.json"
    video.write_bytes(bytes(data))
    proc = cli("--video", str(video), "--no-ui", "--quiet", "--stats", str(st), timeout=60)
    assert proc.returncode in (0, 3), proc.stderr
    assert _errors(proc.stderr) == []
    assert json.loads(st.read_text())["frames_processed"] >= 290  # the decoder skips the few damaged frames


def test_video_whose_frames_change_size(tmp_path: Path) -> None:
    """A raw MJPEG stream, 320x240 then 160x120: FFmpeg scales the rest to the first size; the run completes."""
    jpegs = write_demo_avi(tmp_path / "unused.avi", seconds=0.2)
    small = [cv2.imencode(".jpg", cv2.resize(cv2.imdecode(np.frombuffer(j, np.uint8), cv2.IMREAD_COLOR), (160, 120)))[1].tobytes()
             for j in jpegs[:20]]
    video, st = tmp_path / "sizes.mjpeg", tmp_path / "s.json"
    video.write_bytes(b"".join(jpegs[:20] + small))
    proc = cli("--video", str(video), "--no-ui", "--quiet", "--stats", str(st), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(st.read_text())["frames_processed"] == 40


def test_image_folder_with_a_corrupt_file_in_the_middle(tmp_path: Path) -> None:
    files = write_demo_frames(tmp_path / "EP01", n=40)
    files[20].write_bytes(b"\x89PNG broken")
    cv2.imwrite(str(files[30]), np.zeros((10, 10, 3), np.uint8))  # a stray image of another size
    ev, st = tmp_path / "e.jsonl", tmp_path / "s.json"
    proc = cli("--frames", str(tmp_path / "EP01"), "--no-ui", "--quiet", "--events", str(ev), "--stats", str(st), timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert _errors(proc.stderr) == []
    assert "2 unreadable frame(s) of EP01 skipped: frame 20 (img020.png) could not be decoded; frame 30 (img030.png) is 10x10" in proc.stderr
    s = json.loads(st.read_text())
    assert (s["frames_processed"], s["frames_skipped"], s["input_complete"]) == (38, 2, False)
    _events(ev)


def test_two_faces_are_reported_and_the_largest_kept(tmp_path: Path) -> None:
    frames, _ = two_face_frames(16)
    folder = tmp_path / "two"
    folder.mkdir()
    for i, img in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), img)
    st = tmp_path / "s.json"
    proc = cli("--frames", str(folder), "--fps", "30", "--no-ui", "--quiet", "--stats", str(st), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "2 faces seen at frame 0 (0.00 s); the largest is tracked" in proc.stderr
    s = json.loads(st.read_text())
    assert s["faces"] == {"most_seen": 2, "losses": 0, "switches": 0, "max_faces": 1} and s["frames_with_face"] == 16
    assert any("2 faces seen" in w for w in s["warnings"])
    # --max-faces 2 follows both, each with its own id, and says nothing about faces left out
    proc = cli("--frames", str(folder), "--fps", "30", "--no-ui", "--quiet", "--stats", str(st), "--overwrite",
               "--max-faces", "2", timeout=120)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(st.read_text())
    assert set(s["faces"]["per_face"]) == {"0", "1"} and not any("faces seen" in w for w in s["warnings"])
    assert all(f["frames_spotted"] == 16 for f in s["faces"]["per_face"].values())


# -- models ----------------------------------------------------------------------------------------
def test_garbage_and_wrong_shape_models_are_one_line(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    garbage = tmp_path / "model.onnx"
    garbage.write_bytes(os.urandom(4096))
    assert_one_line_error(cli("--demo", "--no-ui", "--model-path", str(garbage), timeout=60), "model.onnx")
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)], "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])])
    wide = tmp_path / "wide.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), str(wide))
    assert_one_line_error(cli("--demo", "--no-ui", "--model-path", str(wide), timeout=60), "wide.onnx expects input")
