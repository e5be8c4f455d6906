#!/usr/bin/env python
"""Per-event recognition latency of every live model (preprocessing + one batch-1 inference), per backend.

    python tools/bench_models.py                                  # all six models, ONNX Runtime and torch CPU
    python tools/bench_models.py --models tcgru,learnet --backends onnxruntime --frames 101 --json out.json

One event is the 128 px crops of a spotted interval (``--frames`` of them, default 61 = 300 ms at 200 fps)
through the live classifier's code path; random weights (latency does not depend on them); medians pooled
over interleaved rounds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mer_lab.benchmarks.event_latency import LIVE_MODELS, bench_events, format_event_table
from realtime_mer.errors import DataError, command_main, fail


@command_main("bench_models.py")
def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table; expected failures print one line and exit 2."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(LIVE_MODELS))
    ap.add_argument("--backends", default="onnxruntime,torch", help="onnxruntime and/or torch (CPU)")
    ap.add_argument("--frames", type=int, default=61, help="crops per event (default 61: 300 ms at 200 fps)")
    ap.add_argument("--repeats", type=int, default=5, help="events per model and round")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", type=Path, help="also write the rows here")
    a = ap.parse_args(argv)
    models = [m for m in a.models.split(",") if m]
    backends = [b for b in a.backends.split(",") if b]
    bad = [m for m in models if m not in LIVE_MODELS] + [b for b in backends if b not in ("onnxruntime", "torch")]
    if bad:
        raise fail(DataError, f"unknown model or backend: {', '.join(bad)}",
                   f"models: {', '.join(LIVE_MODELS)}; backends: onnxruntime, torch")
    if a.frames < 3 or a.repeats < 1 or a.rounds < 1:
        raise fail(DataError, "--frames must be >= 3, --repeats and --rounds >= 1", "e.g. --frames 61 --repeats 5")
    rows = bench_events(models, backends, a.frames, a.repeats, a.rounds, a.threads)
    print(format_event_table(rows))
    if a.json is not None:
        a.json.write_text(json.dumps([r.to_dict() for r in rows], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
