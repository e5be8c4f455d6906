"""Issue 23 §4: the Python API checks what the CLI checks, in the same one line (``config.validate``, the spotter,
every output path against the inputs), and writes every output ``config.output`` names (frames csv, the timeline
and its trace, ELAN / BIDS) instead of ignoring it."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

import realtime_mer as rm
from realtime_mer.errors import ConfigError, OutputError
from tests.helpers.faults import write_demo_avi
from tests.realtime_mer.app.cli.helpers import cli


def _short() -> rm.PipelineConfig:
    return rm.PipelineConfig(source=rm.SourceConfig(demo_seconds=0.5))


def _cli_line(*args: str) -> str:
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    return line.removeprefix("realtime-mer: error: ")


def test_settings_the_cli_refuses_are_refused_by_the_api_in_the_same_line(tmp_path: Path) -> None:
    cfg = _short()
    cfg.spot.threshold = -3
    with pytest.raises(ConfigError) as err:
        rm.analyse("demo", cfg)
    bad = tmp_path / "bad.toml"
    bad.write_text("[spot]\nthreshold = -3.0\n")
    assert str(err.value) == _cli_line("--config", str(bad), "--demo")
    assert str(err.value).startswith("spot.threshold = -3 is out of range: it must be > 0")

    cfg = _short()
    cfg.face.crop_size = -5
    with pytest.raises(ConfigError) as err:  # was a DataError dumping the whole FaceConfig, with a bound of 32
        rm.analyse("demo", cfg)
    assert str(err.value) == _cli_line("--crop-size", "-5")
    assert "must be >= 64" in str(err.value) and "FaceConfig(" not in str(err.value)

    cfg = _short()
    cfg.spot.name = "nope"
    with pytest.raises(ConfigError, match=r"spot\.name\) = 'nope' is not a spotter; use one of: roiflow"):
        rm.analyse("demo", cfg)


def test_an_api_output_that_is_the_input_is_refused_even_with_overwrite(tmp_path: Path) -> None:
    video = tmp_path / "clip.avi"
    write_demo_avi(video, seconds=0.3, size=(160, 120))
    before = hashlib.sha256(video.read_bytes()).hexdigest()
    for key in ("stats", "events", "frames_csv", "timeline"):
        cfg = rm.PipelineConfig()
        setattr(cfg.output, key, video.with_suffix(".png") if key == "timeline" else video)
        if key == "timeline":  # the picture itself: point the video at the picture's name instead
            png = video.with_suffix(".png")
            video.rename(png)
            with pytest.raises(OutputError, match=rf"output\.timeline {png} is the input video \(source\.path {png}\)"):
                rm.analyse(png, cfg, overwrite=True)
            png.rename(video)
            continue
        with pytest.raises(OutputError, match=rf"output\.{key} {video} is the input video \(source\.path {video}\): "
                                              "writing it would destroy the input"):
            rm.analyse(video, cfg, overwrite=True)
    assert hashlib.sha256(video.read_bytes()).hexdigest() == before
    cfg = rm.PipelineConfig()
    cfg.output.stats = tmp_path / "s.json"
    cfg.output.stats.write_text("{}")
    with pytest.raises(OutputError, match=r"output\.stats .*exists.*pass overwrite=True"):
        rm.analyse(video, cfg)


def test_analyse_writes_frames_csv_timeline_and_exports(tmp_path: Path) -> None:
    cfg = _short()
    out = cfg.output
    out.frames_csv, out.timeline, out.bids = tmp_path / "f.csv", tmp_path / "t.png", tmp_path / "x_events.tsv"
    out.stats = tmp_path / "s.json"
    result = rm.analyse("demo", cfg)
    n = result.summary["frames_processed"]
    assert n == 100
    with out.frames_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n and rows[0]["frame"] == "0" and "pose_Rx" in rows[0]
    assert out.timeline.read_bytes()[:4] == b"\x89PNG"
    with (tmp_path / "t.trace.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == n
    assert (tmp_path / "x_events.tsv").read_text().startswith("onset\tduration\ttrial_type")
    assert json.loads((tmp_path / "x_events.json").read_text())["onset"]["Units"] == "s"
    assert json.loads(out.stats.read_text())["frames_processed"] == n
