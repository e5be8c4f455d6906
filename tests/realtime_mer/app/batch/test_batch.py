"""``realtime-mer batch``: inputs found in dataset trees and globs, an interrupted batch resumed (finished inputs
skipped, nothing half-written), the combined table's source column, failures reported, and Ray tasks on a local
Ray instance."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from realtime_mer.app.batch.inputs import discover
from realtime_mer.errors import MerError, SourceError
from realtime_mer.events import read_events, read_sidecar
from tests.helpers.data import write_frames

REPO = Path(__file__).resolve().parents[4]


def batch(*args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "realtime_mer.app.cli", "batch", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO)


def _clip(path: Path, seconds: float, seed: int, frames: bool) -> None:
    """A small demo recording (256x192, 200 fps): a folder of JPEG frames or an MJPG .avi."""
    from realtime_mer.capture.demo import DemoSource

    src = DemoSource(seconds=seconds, seed=seed, width=256, height=192)
    src.open()
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames:
        path.mkdir()
        i = 0
        while (img := src.read()) is not None:
            i += 1
            cv2.imwrite(str(path / f"img{i}.jpg"), img)
    else:
        w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (256, 192))
        while (img := src.read()) is not None:
            w.write(img)
        w.release()
    src.close()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CASME II-like tree: sub01/EP01 and sub02/EP03 (frames), sub02/take.avi (video), 2 s each."""
    root = tmp_path_factory.mktemp("casme") / "CASME2"
    _clip(root / "sub01" / "EP01", 2.0, 0, frames=True)
    _clip(root / "sub02" / "EP03", 2.0, 1, frames=True)
    _clip(root / "sub02" / "take.avi", 2.0, 2, frames=False)
    return root


def test_discover_recurses_dataset_trees_and_globs(tmp_path: Path) -> None:
    root = tmp_path / "SAMM"
    write_frames(root / "006" / "006_1_2", ["006_5562.jpg", "006_5563.jpg"])
    write_frames(root / "007" / "007_3_1", ["a.png"])
    write_frames(root / ".cache" / "x", ["a.png"])  # hidden: skipped
    (root / "007" / "talk.mp4").write_bytes(b"v")
    (root / "007" / "notes.txt").write_text("n")
    items = discover([str(root)])
    assert [(i.key, i.kind) for i in items] == [("006/006_1_2", "frames"), ("007/talk", "video"), ("007/007_3_1", "frames")]
    assert all(Path(i.path).is_absolute() for i in items)
    assert [i.key for i in discover([str(root / "0*" / "*_*")])] == ["006/006_1_2", "007/007_3_1"]  # a glob
    assert [i.key for i in discover([str(root / "**" / "*.mp4")])] == ["talk"]
    assert len(discover([str(root), str(root / "006")])) == 3  # named twice: once
    (root / "007" / "talk.avi").write_bytes(b"v")
    with pytest.raises(MerError, match=r"talk\.avi and .*talk\.mp4 would both write 007/talk\.events\.jsonl"):
        discover([str(root)])
    with pytest.raises(SourceError, match="not found"):
        discover([str(tmp_path / "nope")])
    with pytest.raises(SourceError, match="no file or folder matches"):
        discover([str(tmp_path / "*.mkv")])
    with pytest.raises(SourceError, match="is one image"):
        discover([str(root / "007" / "007_3_1" / "a.png")])


def _done(out: Path) -> list[Path]:
    return sorted(out.rglob("*.events.jsonl"))


def test_interrupted_batch_resumes_skipping_finished_inputs(tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "realtime_mer.app.cli", "batch", str(tree), "--out", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    while not _done(out) and proc.poll() is None and time.monotonic() - t0 < 240:
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGINT)  # the first input is finished: stop while the second runs
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    # the next input is normally under way (0 if the signal fell between one input's end and the next one's start)
    assert re.search(r"stopping: finishing the [01] input\(s\) under way", err) and "Traceback" not in err
    first = _done(out)
    assert 1 <= len(first) < 3, err  # stopped before the third started
    assert "left for a resumed run" in err
    assert not list(out.rglob(".*.tmp"))  # nothing half-written
    for p in first:  # every finished input is whole: events, provenance, stats
        read_events(p)
        assert read_sidecar(p)["source"]["path"].startswith(str(tree))
        assert json.loads(p.with_name(p.name.replace(".events.jsonl", ".stats.json")).read_text())["frames_processed"] == 400
    mtimes = {p: p.stat().st_mtime_ns for p in first}

    again = batch(str(tree), "--out", str(out), "--jobs", "1")
    assert again.returncode == 0, again.stderr
    assert f"{3 - len(first)} done now, {len(first)} skipped (done before), 0 failed" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in first} == mtimes  # finished inputs were not redone
    assert [p.relative_to(out).as_posix() for p in _done(out)] == [
        "sub01/EP01.events.jsonl", "sub02/EP03.events.jsonl", "sub02/take.events.jsonl"]
    inputs = list(csv.DictReader((out / "inputs.csv").open()))
    assert [r["key"] for r in inputs] == ["sub01/EP01", "sub02/take", "sub02/EP03"]
    assert sorted(r["status"] for r in inputs) == sorted(["done (earlier run)"] * len(first) + ["done"] * (3 - len(first)))
    rows = list(csv.DictReader((out / "events.csv").open()))
    assert next(iter(rows[0])) == "source" and "p_surprise" in rows[0]
    per_input = {str(tree / k): len(read_events(out / f"{k}.events.jsonl")) for k in ("sub01/EP01", "sub02/EP03")}
    per_input[str(tree / "sub02" / "take.avi")] = len(read_events(out / "sub02" / "take.events.jsonl"))
    assert sum(per_input.values()) >= 2, "the demo clips' first movements were not found"
    assert {s: sum(r["source"] == s for r in rows) for s in per_input} == per_input  # every event names its recording


def test_failed_input_is_reported_and_the_rest_run(tmp_path: Path) -> None:
    bad = tmp_path / "in" / "broken.mp4"
    bad.parent.mkdir()
    bad.write_bytes(b"not a video")
    proc = batch(str(bad), "--out", str(tmp_path / "out"), "--quiet")
    assert proc.returncode == 1, proc.stderr
    assert "failed: broken" in proc.stderr and "could not be opened as a video" in proc.stderr and "Traceback" not in proc.stderr
    assert not _done(tmp_path / "out")
    assert next(iter(csv.DictReader((tmp_path / "out" / "inputs.csv").open())))["status"] == "failed"
    for args, needle in ((["nope/*.avi"], "no file or folder matches"), ([str(bad), "--jobs", "0"], "--jobs 0"),
                         ([str(bad), "--out", str(bad)], "is a file")):
        if "--out" not in args:
            args = [*args, "--out", str(tmp_path / "o2")]
        p = batch(*args)
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        (line,) = p.stderr.strip().splitlines()
        assert line.startswith("realtime-mer: error: ") and needle in line, line


def test_batch_runs_as_ray_tasks_on_a_local_ray_instance(tree: Path, tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="Ray is the optional [cluster] extra")
    out = tmp_path / "ray_out"
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.run([sys.executable, "-m", "realtime_mer.app.cli", "batch", str(tree / "sub02"), "--out", str(out),
                           "--ray", "local", "--jobs", "2"], capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on Ray at local" in proc.stderr and "2 done now" in proc.stderr
    assert [p.relative_to(out).as_posix() for p in _done(out)] == ["EP03.events.jsonl", "take.events.jsonl"]
    assert read_sidecar(out / "take.events.jsonl")["source"]["kind"] == "VideoSource"


def test_max_faces_reaches_every_inputs_settings_and_the_merged_table_keeps_face_id(tmp_path: Path) -> None:
    import dataclasses

    from realtime_mer.app.batch.command import build_parser, config_from_args
    from realtime_mer.app.batch.inputs import BatchInput
    from realtime_mer.app.batch.jobs import BatchReport, write_tables
    from realtime_mer.app.batch.work import events_path
    from realtime_mer.errors import ConfigError
    from tests.realtime_mer.events.test_sinks import _event

    cfg = config_from_args(build_parser().parse_args(["x.mp4", "--out", str(tmp_path), "--max-faces", "3"]))
    assert cfg.face.max_faces == 3  # the one PipelineConfig every input runs with (BatchSettings.config)
    default = config_from_args(build_parser().parse_args(["x.mp4", "--out", str(tmp_path)]))
    assert default.face.max_faces == type(default.face)().max_faces
    with pytest.raises(ConfigError, match="max_faces"):
        config_from_args(build_parser().parse_args(["x.mp4", "--out", str(tmp_path), "--max-faces", "0"]))

    items = [BatchInput(str(tmp_path / "a.mp4"), "video", "a"), BatchInput(str(tmp_path / "b.mp4"), "video", "b")]
    for item, faces in zip(items, ((0, 2), (1,)), strict=True):
        evs = [dataclasses.replace(_event(i), face_id=f, source=item.path) for i, f in enumerate(faces)]
        events_path(tmp_path, item.key).write_text("".join(json.dumps(e.to_dict()) + "\n" for e in evs))
    ev_csv, _ = write_tables(items, tmp_path, BatchReport(total=2))
    rows = list(csv.DictReader(ev_csv.open()))
    assert [(Path(r["source"]).name, r["face_id"]) for r in rows] == [("a.mp4", "0"), ("a.mp4", "2"), ("b.mp4", "1")]
