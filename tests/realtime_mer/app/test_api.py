"""The Python API: a file (here the demo) analysed to Event records and a DataFrame, a live-style stream read
and closed mid-run, the CLI's config and outputs; in a subprocess that proves torch and the lab are never imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from realtime_mer.app.api import source_config
from realtime_mer.config import PipelineConfig, SourceConfig
from realtime_mer.errors import OutputError, SourceError

REPO = Path(__file__).resolve().parents[3]

PREFIX = """
import sys
CHEAP = not any(m in sys.modules for m in ("cv2", "numpy", "mediapipe", "onnxruntime"))
import realtime_mer
CHEAP = CHEAP and not any(m in sys.modules for m in ("cv2", "numpy", "mediapipe", "onnxruntime"))
"""

SUFFIX = """
import json
print("RESULT=" + json.dumps({
    "cheap_import": CHEAP, "events": [e.to_dict() for e in result.events],
    "frame": list(result.to_dataframe().columns) if "pandas" in sys.modules else None,
    "file": [json.loads(x) for x in Path("run.jsonl").read_text().splitlines()],
    "sidecar": Path("run.jsonl.meta.json").is_file(), "summary_events": result.summary["events"],
    "provenance_version": result.provenance.get("realtime_mer_version"),
    "first_live": e.onset_frame, "live_processed": live.summary()["frames_processed"], "running": live.running,
    "banned": sorted(m for m in ("torch", "mer_lab", "safetensors", "openpyxl") if m in sys.modules),
}))
"""


def readme_example() -> str:
    section = (REPO / "README.md").read_text(encoding="utf-8").split("### Python API", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_readme_example_analyses_and_streams_without_torch(tmp_path: Path) -> None:
    """The README's example, run as written (plus checks), in a subprocess: a file (the demo) analysed to events,
    a DataFrame and an events file; a live-style stream read and closed after its first event; torch never imported."""
    code = PREFIX + readme_example() + SUFFIX
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "live: micro" in proc.stdout and "frames; model sha256" in proc.stdout, proc.stdout
    assert proc.stdout.index("callback: ") < proc.stdout.index("live: micro")  # the callback saw it first
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("RESULT=")]
    r = json.loads(line[len("RESULT="):])
    assert r["banned"] == [], "the API imported torch or the lab"
    assert r["cheap_import"], "import realtime_mer pulled in cv2 / numpy / mediapipe / onnxruntime"
    ev = r["events"]
    assert ev and all(e["type"] in ("micro", "macro") and e["source"] == "demo" for e in ev)  # the demo's first movement (~1.2 s)
    assert r["file"] == ev and r["sidecar"] and r["summary_events"] == len(ev)  # written as by --events, provenance beside it
    assert r["provenance_version"] == "0.1.0"
    if r["frame"] is not None:
        assert {"p_negative", "p_positive", "p_surprise", "source", "onset_s"} <= set(r["frame"])
    # the stream stopped cleanly after its first event, long before its 60 s (12000 frames) ended
    assert abs(r["first_live"] - ev[0]["onset_frame"]) <= 20  # the same first movement (a longer demo jitters it a little)
    assert r["first_live"] < r["live_processed"] < 4000 and r["running"] is False


def test_source_config_maps_paths_cameras_and_the_demo(tmp_path: Path) -> None:
    base = SourceConfig(fps=100.0, width=320)
    assert source_config(3, base) == SourceConfig(kind="camera", camera=3, fps=100.0, width=320)
    assert source_config("demo", base).kind == "demo"
    assert source_config(tmp_path, base) == SourceConfig(kind="frames", path=tmp_path, fps=100.0, width=320)
    assert source_config(str(tmp_path / "a.mp4")).kind == "video"
    with pytest.raises(SourceError, match="not a path, a camera index"):
        source_config(2.5)  # type: ignore[arg-type]


def test_existing_output_is_refused_before_the_source_opens(tmp_path: Path) -> None:
    from realtime_mer.app import api

    cfg = PipelineConfig()
    cfg.output.events = tmp_path / "e.jsonl"
    cfg.output.events.write_text("kept\n")
    with pytest.raises(OutputError, match=r"output\.events .*exists .*pass overwrite=True"):
        api.analyse(tmp_path / "missing.mp4", cfg)  # the output is checked first: no SourceError for the missing video
    assert cfg.output.events.read_text() == "kept\n"



def _face_events() -> list:
    from realtime_mer.types import Event

    def ev(onset: int, face: int) -> Event:
        return Event(type="micro", onset_frame=onset, apex_frame=onset + 5, offset_frame=onset + 10, onset_s=onset / 100,
                     apex_s=(onset + 5) / 100, offset_s=(onset + 10) / 100, duration_ms=100.0, wall_time="",
                     label="positive", probabilities={"negative": 0.1, "positive": 0.8, "surprise": 0.1}, face_id=face)

    return [ev(10, 0), ev(20, 2), ev(30, 0), ev(40, 1)]


def test_analysis_per_face_and_the_dataframes_face_id() -> None:
    from realtime_mer.app.api import Analysis

    a = Analysis(events=_face_events(), summary={"events": 4})
    assert a.faces == [0, 1, 2] and Analysis(events=[], summary={}).faces == []
    one = a.for_face(0)
    assert isinstance(one, Analysis) and [e.onset_frame for e in one] == [10, 30] and one.summary is a.summary
    assert len(a.for_face(5)) == 0
    pd = pytest.importorskip("pandas")
    df = a.to_dataframe()
    assert df["face_id"].tolist() == [0, 2, 0, 1]
    assert df[df.face_id == 0]["onset_frame"].tolist() == [10, 30]  # the pandas idiom the docs give
    assert list(df.groupby("face_id").size()) == [2, 1, 1]
    pd.testing.assert_frame_equal(one.to_dataframe(), df[df.face_id == 0].reset_index(drop=True))


def test_max_faces_sets_the_config_and_is_checked() -> None:
    from realtime_mer.app.api import EventStream, stream
    from realtime_mer.errors import ConfigError

    cfg = PipelineConfig()
    before = cfg.face.max_faces
    s = EventStream("demo", cfg, max_faces=3)
    assert s.config.face.max_faces == 3 and cfg.face.max_faces == before  # the caller's config is not changed
    assert stream("demo", cfg).config.face.max_faces == before  # None: the config's own
    assert stream("demo", max_faces=16).config.face.max_faces == 16
    for bad in (0, 17, 2.0, True, "2"):
        with pytest.raises(ConfigError, match=r"max_faces=.* must be a whole number from 1 to 16") as ei:
            EventStream("demo", cfg, max_faces=bad)  # type: ignore[arg-type]
        assert "\n" not in str(ei.value)


def test_analyse_refuses_a_bad_max_faces_before_opening_anything(tmp_path: Path) -> None:
    from realtime_mer.app import api
    from realtime_mer.errors import ConfigError

    with pytest.raises(ConfigError, match="max_faces=0"):
        api.analyse(tmp_path / "missing.mp4", max_faces=0)  # not a SourceError for the missing file
