"""Event exports and provenance through the real CLI and tools/export_events.py: existing files are kept unless
--overwrite (checked before capture), ELAN and BIDS files at the end of a run and from an existing log, the
provenance sidecar and stats, wall_time counted from the video file's own time."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from realtime_mer.capture.demo import DemoSource
from realtime_mer.events import read_events, read_sidecar
from realtime_mer.recognition.classifier import BUNDLED_MODEL
from tests.realtime_mer.app.cli.helpers import REPO, assert_one_line_error, cli

FPS = 200.0


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2.5 s demo recording (the first movement at ~1.2 s) with a known modification time."""
    path = tmp_path_factory.mktemp("rec") / "take 1.avi"
    src = DemoSource(seconds=2.5, seed=0, width=320, height=240)
    src.open()
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (320, 240))
    while (img := src.read()) is not None:
        w.write(img)
    w.release()
    mtime = dt.datetime(2026, 5, 4, 10, 0, 0, tzinfo=dt.timezone.utc).timestamp()
    os.utime(path, (mtime, mtime))
    return path


def test_existing_outputs_are_refused_before_capture(tmp_path: Path) -> None:
    for flag, name in (("--events", "e.jsonl"), ("--csv", "e.csv"), ("--bids", "x_events.tsv")):
        p = tmp_path / name
        p.write_text("kept\n")
        proc = cli("--video", str(tmp_path / "missing.mp4"), "--no-ui", flag, str(p))  # no such video: outputs come first
        assert_one_line_error(proc, f"{flag} {p}", "exists", "--overwrite")
        assert p.read_text() == "kept\n" and not list(tmp_path.glob("*.meta.json"))
    assert_one_line_error(cli("--demo", "--no-ui", "--eaf", str(tmp_path / "a.txt")), "--eaf", ".eaf")
    assert_one_line_error(cli("--demo", "--no-ui", "--bids", str(tmp_path / "a.tsv")), "--bids", "_events.tsv")


def test_video_run_writes_exports_provenance_and_file_time(video: Path, tmp_path: Path) -> None:
    model = tmp_path / "my model.onnx"
    shutil.copy(BUNDLED_MODEL, model)
    ev, cs, st, eaf, bids = (tmp_path / n for n in ("e.jsonl", "e.csv", "s.json", "run.eaf", "sub-01_task-x_events.tsv"))
    ev.write_text("an older run\n")
    proc = cli("--video", str(video), "--no-ui", "--events", str(ev), "--csv", str(cs), "--stats", str(st), "--eaf", str(eaf),
               "--bids", str(bids), "--overwrite", "--model-path", str(model))
    assert proc.returncode == 0, proc.stderr
    banner = proc.stderr.splitlines()[:2]  # the start-up line, wrapped to 80 columns where it fits
    assert any(f"model apexflow ({model})" in line for line in banner)  # the banner names the model file
    events = read_events(ev)
    assert events and read_events(cs) == events
    start = video.stat().st_mtime - 500 / FPS  # the recording ended at its mtime, 500 frames long
    for e in events:
        assert e.time_source == "file_mtime" and e.source == str(video)
        want = dt.datetime.fromtimestamp(start + e.apex_s, tz=dt.timezone.utc)
        assert abs(dt.datetime.fromisoformat(e.wall_time.replace("Z", "+00:00")) - want) < dt.timedelta(milliseconds=2)
    sha = hashlib.sha256(model.read_bytes()).hexdigest()
    for meta in (read_sidecar(ev), read_sidecar(cs), json.loads(st.read_text())["provenance"]):
        assert meta["realtime_mer_version"] == "0.1.0" and meta["time_source"] == "file_mtime"
        assert meta["model"] == {"name": "apexflow", "path": str(model), "sha256": sha}
        assert meta["source"]["path"] == str(video) and meta["source"]["size"] == video.stat().st_size
        assert meta["source"]["mtime"] == "2026-05-04T10:00:00.000Z" and len(meta["source"]["sha256"]) == 64
        assert meta["spotter"]["name"] == "hybrid" and meta["spotter"]["settings"]["roiflow"]["ref_ms"] == 200.0
        assert meta["backend"] and meta["settings"]["spot"]["threshold"] == 5.0 and meta["classes"]
    elan = pytest.importorskip("pympi.Elan")
    doc = elan.Eaf(str(eaf))
    got = sorted(a for t in ("micro", "macro") for a in doc.get_annotation_data_for_tier(t))
    assert got == sorted((round(e.onset_s * 1000), round(e.offset_s * 1000), e.label) for e in events)
    assert doc.media_descriptors[0]["MEDIA_URL"] == video.resolve().as_uri()
    rows = list(csv.DictReader(bids.open(), delimiter="\t"))
    assert [r["trial_type"] for r in rows] == [f"{e.type}_{e.label}" for e in events]
    assert json.loads(bids.with_suffix(".json").read_text())["p_negative"]["LongName"] == "Probability of negative"

    # the same exports later, from the log, by the tool (the video found through the provenance sidecar)
    out = tmp_path / "later"
    out.mkdir()
    tool = [sys.executable, str(REPO / "tools" / "export_events.py"), str(ev)]
    run = subprocess.run([*tool, "--eaf", str(out / "a.eaf"), "--bids", str(out / "a_events.tsv"), "--csv", str(out / "a.csv")],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert run.returncode == 0, run.stderr
    assert elan.Eaf(str(out / "a.eaf")).media_descriptors[0]["MEDIA_URL"] == video.resolve().as_uri()
    assert (out / "a_events.tsv").read_text() == bids.read_text()
    assert read_events(out / "a.csv") == events
    again = subprocess.run([*tool, "--csv", str(out / "a.csv")], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert again.returncode == 2 and again.stderr.strip().startswith("export_events.py: error: --csv") and "--overwrite" in again.stderr
