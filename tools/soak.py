#!/usr/bin/env python
"""Soak test: the live pipeline on the demo paced at 200 fps for 10 minutes, sampled every 10 s
(RSS, drops, events, emit latency); reports the RSS slope after the first minute, total drops and p95 emit latency.

    python tools/soak.py                                  # 600 s, a sample every 10 s, 60 s warm-up
    python tools/soak.py --seconds 25 --every 5 --warmup 10 --json soak.json   # the CI test's short version
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mer_lab.benchmarks.soak import format_report, soak
from realtime_mer.errors import command_main


@command_main("soak.py")
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=600.0, help="length of the run (default %(default)s)")
    ap.add_argument("--every", type=float, default=10.0, help="seconds between samples (default %(default)s)")
    ap.add_argument("--warmup", type=float, default=60.0, help="samples before this are left out of the RSS slope (default %(default)s)")
    ap.add_argument("--fps", type=float, default=200.0, help="pace of the demo stream (default %(default)s)")
    ap.add_argument("--json", type=Path, help="write the samples and the summary here")
    ap.add_argument("--quiet", action="store_true", help="no line per sample")
    a = ap.parse_args()

    def show(s: object) -> None:
        if not a.quiet:
            print(s, file=sys.stderr, flush=True)

    rep = soak(a.seconds, a.every, a.fps, a.warmup, on_sample=show)
    print(format_report(rep))
    if a.json:
        a.json.write_text(json.dumps(rep.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
