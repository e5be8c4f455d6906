"""Provenance: the clock each source's events are timed on, fingerprints and the settings record."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from realtime_mer.app.provenance import collect, sha256_file, source_clock, source_fingerprint, source_label
from realtime_mer.capture import CameraSource, FolderSource
from realtime_mer.capture.demo import DemoSource
from realtime_mer.config import PipelineConfig
from tests.helpers.data import write_frames


def test_each_source_says_which_clock_its_wall_time_is_on(tmp_path: Path) -> None:
    assert source_clock(CameraSource(0)) == (None, "capture_clock")  # each frame's own grab time
    assert source_clock(DemoSource(seconds=1.0)) == (None, "processing_clock")
    files = write_frames(tmp_path / "EP01", ["img1.jpg", "img2.jpg"])
    os.utime(files[0], (1_700_000_000.0, 1_700_000_000.0))
    folder = FolderSource(tmp_path / "EP01", fps=200.0)
    folder.open()
    assert source_clock(folder) == (1_700_000_000.0, "file_mtime")  # the first frame's time
    fp = source_fingerprint(folder)
    assert (fp["images"], fp["first"], fp["last"], fp["path"]) == (2, "img1.jpg", "img2.jpg", str((tmp_path / "EP01").resolve()))
    assert fp["size"] == sum(f.stat().st_size for f in files)
    assert source_label(folder) == str(tmp_path / "EP01") and source_label(CameraSource(2)) == "camera 2"
    folder.close()


def test_collect_records_version_model_hash_spotter_settings(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    assert sha256_file(model) == hashlib.sha256(b"weights").hexdigest()
    assert sha256_file(model, max_bytes=3) is None and sha256_file(tmp_path / "none") is None
    cfg = PipelineConfig()
    cfg.spot.name = "lagflow"
    cfg.spot.lagflow.threshold = 3.5
    cfg.output.events = tmp_path / "e.jsonl"
    p = collect(cfg, DemoSource(seconds=1.0, seed=7), model="apexflow", model_path=model, backend="onnxruntime-cpu",
                backend_reason="cpu", spotter="lagflow", time_source="processing_clock", classes=("a", "b"))
    assert p["realtime_mer_version"] == "0.1.0" and p["model"]["sha256"] == hashlib.sha256(b"weights").hexdigest()
    assert p["spotter"]["name"] == "lagflow" and p["spotter"]["settings"]["lagflow"]["threshold"] == 3.5
    assert "roiflow" not in p["spotter"]["settings"] and p["settings"]["spot"]["roiflow"]  # the full record keeps every spotter's
    assert "output" not in p["settings"] and p["source"]["seed"] == 7 and p["classes"] == ["a", "b"]
