"""tools/bench_flow.py on real pairs (--video): aligned crops of a shared real video, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[3] / "tools" / "bench_flow.py"


def test_video_pairs_against_tvl1(real_faces: Path, tmp_path: Path) -> None:
    out = tmp_path / "flow.json"
    run = subprocess.run([sys.executable, str(TOOL), "--video", str(real_faces / "single_face.mp4"), "--gap", "4",
                          "--stride", "20", "--pairs", "2", "--json", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert "2 real pairs from single_face.mp4" in run.stdout
    rows = json.loads(out.read_text())
    assert rows["tvl1@128"]["r_u_vs_tvl1"] > 0.999 and rows["tvl1@128"]["model_argmax_agree"] == 1.0
    assert "r_u_vs_true" not in rows["tvl1-fast@128"]  # no true flow for real pairs
    assert 0.0 < rows["tvl1-fast@128"]["r_v_vs_tvl1"] < 1.0


def test_missing_video_is_one_line(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, str(TOOL), "--video", str(tmp_path / "nope.mp4")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip() == f"bench_flow.py: error: video {tmp_path / 'nope.mp4'} not found; give the path of a video file"
