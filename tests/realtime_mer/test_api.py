"""The Python API: a file (here the demo) analysed to Event records and a DataFrame, a live-style stream read
and closed mid-run, the CLI's config and outputs; in a subprocess that proves torch and the lab are never imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from realtime_mer.api import source_config
from realtime_mer.config import PipelineConfig, SourceConfig
from realtime_mer.errors import OutputError, SourceError

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
from pathlib import Path
import realtime_mer as rm
cheap = not any(m in sys.modules for m in ("cv2", "numpy", "mediapipe", "onnxruntime"))
out = Path(sys.argv[1])
cfg = rm.PipelineConfig(source=rm.SourceConfig(demo_seconds=2.5))
cfg.output.events = out / "e.jsonl"
seen = []
res = rm.analyse("demo", cfg, on_event=seen.append)
try:
    import pandas
    df = res.to_dataframe()
    frame = {"columns": list(df.columns), "rows": len(df), "onsets": df["onset_frame"].tolist()}
except ImportError:
    frame = None
live = rm.stream("demo", rm.PipelineConfig(source=rm.SourceConfig(demo_seconds=60.0)))
with live:
    first = next(iter(live))
stopped = live.summary()
print("RESULT=" + json.dumps({
    "cheap_import": cheap, "events": [e.to_dict() for e in res.events], "callback": len(seen), "frame": frame,
    "file": [json.loads(x) for x in (out / "e.jsonl").read_text().splitlines()],
    "sidecar": (out / "e.jsonl.meta.json").is_file(), "summary_events": res.summary["events"],
    "provenance_version": res.provenance.get("realtime_mer_version"),
    "first_live": first.onset_frame, "live_processed": stopped["frames_processed"], "running": live.running,
    "banned": sorted(m for m in ("torch", "mer_lab", "safetensors", "openpyxl") if m in sys.modules),
}))
"""


def test_api_analyses_and_streams_without_torch(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("RESULT=")]
    r = json.loads(line[len("RESULT="):])
    assert r["banned"] == [], "the API imported torch or the lab"
    assert r["cheap_import"], "import realtime_mer pulled in cv2 / numpy / mediapipe / onnxruntime"
    ev = r["events"]
    assert ev and all(e["type"] in ("micro", "macro") and e["source"] == "demo" for e in ev)  # the demo's first movement (~1.2 s)
    assert r["callback"] == len(ev) == r["summary_events"]
    assert r["file"] == ev and r["sidecar"]  # config.output.events written as by the CLI, provenance beside it
    assert r["provenance_version"] == "0.1.0"
    if r["frame"] is not None:
        assert r["frame"]["rows"] == len(ev) and r["frame"]["onsets"] == [e["onset_frame"] for e in ev]
        assert {"p_negative", "p_positive", "p_surprise", "source"} <= set(r["frame"]["columns"])
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
    from realtime_mer import api

    cfg = PipelineConfig()
    cfg.output.events = tmp_path / "e.jsonl"
    cfg.output.events.write_text("kept\n")
    with pytest.raises(OutputError, match=r"output\.events .*exists .*pass overwrite=True"):
        api.analyse(tmp_path / "missing.mp4", cfg)  # the output is checked first: no SourceError for the missing video
    assert cfg.output.events.read_text() == "kept\n"


def test_the_readme_example_runs_as_written(tmp_path: Path) -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Python API", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "micro" in proc.stdout and "frames; model sha256" in proc.stdout and "live: micro" in proc.stdout, proc.stdout
