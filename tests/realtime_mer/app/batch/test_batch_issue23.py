"""``realtime-mer batch`` and issue 23: no batch output overwrites an input; ``inputs.csv`` says at a glance which
inputs need a look (no face, input incomplete); ``--config``, ``--frames-csv`` and ``--timeline`` apply to every
input; the files follow the umask."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.helpers.faults import write_demo_avi, write_demo_frames
from tests.realtime_mer.app.cli.helpers import REPO, assert_one_line_error


def batch(*args: str, umask: int | None = None) -> subprocess.CompletedProcess:
    def set_umask() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run([sys.executable, "-m", "realtime_mer.app.cli", "batch", *args], capture_output=True, text=True,
                          timeout=300, cwd=REPO, preexec_fn=set_umask)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """good.avi (the demo face), blank.avi (no face), cut.avi (its second half lost) and EP01/ (frames)."""
    root = tmp_path_factory.mktemp("recs")
    write_demo_avi(root / "good.avi", seconds=0.6, size=(160, 120))
    w = cv2.VideoWriter(str(root / "blank.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 200.0, (160, 120))
    for i in range(40):
        w.write(np.full((120, 160, 3), 60 + i, np.uint8))
    w.release()
    data = (root / "good.avi").read_bytes()
    (root / "cut.avi").write_bytes(data[: len(data) // 2])
    write_demo_frames(root / "EP01", n=30, size=(160, 120))
    return root


def test_a_batch_output_that_is_an_input_is_refused(recordings: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    named = out / "inputs.csv"  # a recording that happens to carry the table's name, given explicitly
    shutil.copy(recordings / "good.avi", named)
    before = hashlib.sha256(named.read_bytes()).hexdigest()
    line = assert_one_line_error(batch(str(named), str(recordings / "good.avi"), "--out", str(out)),
                                 f"the batch table {named}", f"batch input {named}")
    assert "destroy" in line
    assert hashlib.sha256(named.read_bytes()).hexdigest() == before
    assert [p.name for p in out.iterdir()] == ["inputs.csv"]
    # a per-input file: the timeline trace of EP01 written over a recording beside it that is named like it
    shutil.copytree(recordings / "EP01", tmp_path / "EP01")
    trace = tmp_path / "EP01.timeline.trace.csv"
    shutil.copy(recordings / "good.avi", trace)
    assert_one_line_error(batch(str(tmp_path / "EP01"), str(trace), "--out", str(tmp_path), "--timeline"),
                          f"{trace} (an output of EP01) is batch input {trace}")
    assert hashlib.sha256(trace.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["EP01", "EP01.timeline.trace.csv", "out"]


def test_inputs_csv_flags_what_needs_a_look_and_options_apply_to_every_input(recordings: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_toml = tmp_path / "run.toml"
    run_toml.write_text("[spot]\nthreshold = 4.5\ncalibration_ms = 150.0\n")
    proc = batch(str(recordings / "good.avi"), str(recordings / "blank.avi"), str(recordings / "cut.avi"),
                 str(recordings / "EP01"), "--out", str(out), "--jobs", "1", "--quiet", "--config", str(run_toml),
                 "--frames-csv", "--timeline", umask=0o022)
    assert proc.returncode == 0, proc.stderr
    rows = {r["key"]: r for r in csv.DictReader((out / "inputs.csv").open())}
    assert set(rows) == {"good", "blank", "cut", "EP01"} and all(r["status"] == "done" for r in rows.values())
    for key in ("good", "EP01"):  # whole, with a face throughout (other notes, e.g. on a clip's length, may appear)
        assert "no face" not in rows[key]["warnings"] and "incomplete" not in rows[key]["warnings"]
        assert "ended at frame" not in rows[key]["warnings"]
    assert "no face found in any of the 40 frames" in rows["blank"]["warnings"]
    assert "no face" not in rows["cut"]["warnings"]
    assert "ended at frame" in rows["cut"]["warnings"] and "truncated" in rows["cut"]["warnings"]
    for key, frames in (("good", 120), ("EP01", 30)):
        stats = json.loads((out / f"{key}.stats.json").read_text())
        assert stats["provenance"]["settings"]["spot"]["threshold"] == 4.5  # --config reached every input
        assert stats["provenance"]["settings"]["spot"]["calibration_ms"] == 150.0
        with (out / f"{key}.frames.csv").open() as fh:
            assert len(list(csv.DictReader(fh))) == frames
        assert (out / f"{key}.timeline.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / f"{key}.timeline.trace.csv").is_file()
    assert not list(out.rglob(".*.tmp"))  # the staging folders are gone
    # every file follows the umask (022: 0644), as any other file the user creates
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert set(modes.values()) == {0o644}, modes
    # a resumed run reads the warnings of the inputs finished before from their stats
    (out / "inputs.csv").unlink()
    again = batch(str(recordings / "good.avi"), str(recordings / "blank.avi"), str(recordings / "cut.avi"),
                  str(recordings / "EP01"), "--out", str(out), "--quiet")
    assert again.returncode == 0, again.stderr
    again_rows = {r["key"]: r for r in csv.DictReader((out / "inputs.csv").open())}
    assert again_rows["blank"]["status"] == "done (earlier run)"
    assert again_rows["blank"]["warnings"] == rows["blank"]["warnings"] and again_rows["cut"]["warnings"] == rows["cut"]["warnings"]


def test_a_config_file_with_output_paths_is_refused_for_a_batch(recordings: Path, tmp_path: Path) -> None:
    run_toml = tmp_path / "run.toml"
    run_toml.write_text(f'[output]\nevents = "{tmp_path / "e.jsonl"}"\n')
    assert_one_line_error(batch(str(recordings / "good.avi"), "--out", str(tmp_path / "out"), "--config", str(run_toml)),
                          "output.events is set", "batch names its own files")
    bad = tmp_path / "bad.toml"
    bad.write_text("[spot]\nthreshold = -3.0\n")
    assert_one_line_error(batch(str(recordings / "good.avi"), "--out", str(tmp_path / "out"), "--config", str(bad)),
                          "spot.threshold = -3 is out of range")
