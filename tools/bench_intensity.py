#!/usr/bin/env python
"""Does tcgru's continuous intensity trace follow the injected movements of the demo?

    python tools/bench_intensity.py --model-path runs/tcgru-all/model.onnx --seeds 0,1,2 --seconds 20

Runs ``realtime-mer --demo --model tcgru --timeline`` per seed (a subprocess, as a user would), reads the window
trace from ``<timeline>.intensity.csv`` and compares it inside / outside the demo's injected movements
(``mer_lab.benchmarks.intensity_trace``: means, AUC; 0.5 = no information). Also reports the per-window cost and
the frames dropped (pass ``--realtime`` to pace the demo at 200 fps).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from mer_lab.benchmarks.intensity_trace import trace_vs_truth
from realtime_mer.app.timeline import read_intensity_sources
from realtime_mer.capture.demo import DemoSource
from realtime_mer.errors import DataError, command_main, fail


@command_main("bench_intensity.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-path", type=Path, required=True, help="a trained tcgru (.onnx from tools/train.py)")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--every", type=float, default=100.0, help="--intensity-every (ms)")
    ap.add_argument("--realtime", action="store_true", help="pace the demo (drops become possible)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    if not a.model_path.is_file():
        raise fail(DataError, f"no model at {a.model_path}", "train one: tools/train.py --model tcgru --protocol all")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in a.seeds.split(",") if s):
            out = Path(tmp) / f"s{seed}"
            cmd = [sys.executable, "-m", "realtime_mer.app.cli", "--demo", "--demo-seconds", f"{a.seconds:g}", "--seed",
                   str(seed), "--no-ui", "--model", "tcgru", "--model-path", str(a.model_path), "--intensity-every",
                   f"{a.every:g}", "--timeline", f"{out}.png", "--stats", f"{out}.json", *(["--realtime"] if a.realtime else [])]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise fail(DataError, f"the demo run for seed {seed} failed: {proc.stderr.strip().splitlines()[-1:]}")
            stats = json.loads(Path(f"{out}.json").read_text())
            window = read_intensity_sources(Path(f"{out}.intensity.csv")).get("window")
            if window is None:
                raise fail(DataError, f"seed {seed}: no window trace was written", "is the model a tcgru with its intensity head?")
            truth = [t.interval for t in DemoSource(seconds=a.seconds, seed=seed).truth]
            row = {"seed": seed, **trace_vs_truth(*window, truth), "frames_processed": stats["frames_processed"],
                   "frames_dropped": stats["frames_dropped"], "window_ms": stats["stage_latency_ms"].get("intensity")}
            rows.append(row)
            w = row["window_ms"] or {}
            print(f"seed {seed}: {row['frames']} frames traced, {row['movements']} movements, mean inside "
                  f"{row['inside_mean']:.3f} / outside {row['outside_mean']:.3f}, AUC {row['auc']:.3f}; window "
                  f"p50 {w.get('p50', float('nan')):.1f} ms; dropped {row['frames_dropped']} of {row['frames_processed']}",
                  flush=True)
    if a.json is not None:
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
