"""Re-plot a run's spotting timeline from its files.

    python tools/plot_timeline.py events.jsonl [--truth truth.csv] [--trace TRACE.csv] -o out.png

``events.jsonl`` is a ``realtime-mer --events`` log. The signal and threshold come from
``--trace`` or, when it is not given, from ``<events stem>.trace.csv`` or ``<out stem>.trace.csv``
(what ``--timeline out.png`` streams next to the PNG: frame, time_s, face, signal, threshold, blind);
without one, only the detected and true intervals are drawn (placed in time by the events' own times). ``--truth`` is a generator ``truth.csv`` (rows of this video only when
``--video`` is given).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from realtime_mer.errors import DataError, OutputError, command_main, fail
from realtime_mer.events import read_events
from realtime_mer.timeline import Trace, anchors, labelled, plot, read_trace, read_truth


def find_trace(events: Path, out: Path, given: Path | None) -> Path | None:
    """The trace to plot: ``given`` (must exist), else one beside the events file or the PNG."""
    if given is not None:
        if not given.is_file():
            raise fail(DataError, f"trace file {given} not found", "pass the .trace.csv written next to a --timeline PNG")
        return given
    for cand in (events.with_suffix(".trace.csv"), out.with_suffix(".trace.csv")):
        if cand.is_file():
            return cand
    return None


@command_main("plot_timeline.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("events", type=Path, help="events .jsonl (or .csv) of a realtime-mer run")
    ap.add_argument("--truth", type=Path, help="generator truth.csv to draw the true intervals")
    ap.add_argument("--video", help="only the truth rows of this video (stem); default: all rows")
    ap.add_argument("--trace", type=Path, help="the .trace.csv of a --timeline run (default: found next to events / PNG)")
    ap.add_argument("-o", "--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--title", default="", help="plot title (default: the events file name)")
    args = ap.parse_args(argv)
    events = read_events(args.events)
    truth = read_truth(args.truth, args.video) if args.truth else []
    trace = find_trace(args.events, args.out, args.trace)
    tr = read_trace(trace) if trace else Trace.empty()
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        plot(args.out, tr, labelled(events), truth, args.title or args.events.name, anchor=anchors(events))
    except OSError as exc:
        raise fail(OutputError, f"cannot write {args.out} ({exc.strerror or exc})", "choose a writable -o path") from None
    print(f"wrote {args.out} ({len(events)} events, {len(truth)} truths, trace: {trace or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
