"""MEGC spotting evaluation of event logs against a ground-truth file.

    python tools/evaluate_spotting.py --truth DIR/truth.csv --events-dir EVENTS_DIR [--out metrics.json]

``EVENTS_DIR`` holds one ``<video-stem>.jsonl`` event log per video (``realtime-mer --events``);
``truth.csv`` has columns ``video, onset, apex, offset, type, ...`` (0-based inclusive frames).
Prints precision, recall and F1 at IoU >= 0.5 for micro, macro and overall (counts pooled over
videos; see ``mer_lab/evaluation/spotting.py`` for the exact rules).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mer_lab.evaluation.spotting import IOU_THRESHOLD, evaluate_dirs, write_report
from realtime_mer.errors import command_main


@command_main("evaluate_spotting.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", type=Path, required=True, help="truth.csv (video, onset, apex, offset, type, ...)")
    ap.add_argument("--events-dir", type=Path, required=True, help="folder with one <video-stem>.jsonl per video")
    ap.add_argument("--iou", type=float, default=IOU_THRESHOLD, help="IoU threshold (MEGC: 0.5)")
    ap.add_argument("--out", type=Path, help="also write the metrics (and per-video counts) as JSON here")
    args = ap.parse_args(argv)
    report = evaluate_dirs(args.truth, args.events_dir, args.iou)
    print(f"{len(report.per_video)} videos, IoU >= {args.iou:g}")
    print(report.table())
    if report.missing_events:
        print(f"no events file (all their truths missed): {', '.join(report.missing_events)}")
    if report.extra_videos:
        print(f"events of videos not in the truth file (all false positives): {', '.join(report.extra_videos)}")
    if args.out:
        print(f"wrote {write_report(args.out, report.to_dict())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
