"""``realtime-mer plot``: re-plot a run's spotting timeline from its files.

    realtime-mer plot events.jsonl [--truth truth.csv] [--trace TRACE.csv] -o out.png

``events.jsonl`` is a ``realtime-mer --events`` log. The signal and threshold come from ``--trace`` or, when it
is not given, from ``<events stem>.trace.csv`` or ``<out stem>.trace.csv`` (what ``--timeline out.png`` streams
next to the picture: frame, time_s, face, signal, threshold, blind, face_id; older traces without face_id too);
without one, only the detected and true intervals are drawn (placed in time by the events' own times). With several
faces (events or trace rows with face_id above 0) each face gets its own panel with its events. ``--truth`` is a generator ``truth.csv`` (rows of
this video only when ``--video`` is given). The picture may not be one of the files read; an existing one is kept
unless ``--overwrite``. ``tools/plot_timeline.py`` runs the same code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from realtime_mer.errors import DataError, OutputError, fail


def find_trace(events: Path, out: Path, given: Path | None) -> Path | None:
    """The trace to plot: ``given`` (must exist), else one beside the events file or the picture."""
    if given is not None:
        if not given.is_file():
            raise fail(DataError, f"trace file {given} not found", "pass the .trace.csv written next to a --timeline PNG")
        return given
    for cand in (events.with_suffix(".trace.csv"), out.with_suffix(".trace.csv")):
        if cand.is_file():
            return cand
    return None


def build_parser(prog: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="Re-plot a run's spotting timeline from its events and trace.")
    ap.add_argument("events", type=Path, help="events .jsonl (or .csv) of a realtime-mer run")
    ap.add_argument("--truth", type=Path, help="generator truth.csv to draw the true intervals")
    ap.add_argument("--video", help="only the truth rows of this video (stem); default: all rows")
    ap.add_argument("--trace", type=Path, help="the .trace.csv of a --timeline run (default: found next to events / picture)")
    ap.add_argument("-o", "--out", type=Path, required=True, help="picture to write (.png, .svg, .pdf or .jpg)")
    ap.add_argument("--title", default="", help="plot title (default: the events file name)")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing picture")
    return ap


def plot_main(argv: list[str], prog: str = "realtime-mer plot") -> int:
    from realtime_mer.app.preflight import TIMELINE_FORMATS, Named, check_clashes, check_existing
    from realtime_mer.app.timeline import Trace, anchors, face_ids, labelled, plot, read_trace, read_truth
    from realtime_mer.events import read_events

    args = build_parser(prog).parse_args(argv)
    if args.out.suffix.lower() not in TIMELINE_FORMATS:
        raise fail(OutputError, f"-o {args.out}: cannot draw a {args.out.suffix or 'file without an extension'}",
                   f"name a picture file ending in {', '.join(TIMELINE_FORMATS)}")
    trace = find_trace(args.events, args.out, args.trace)
    reads = [Named(args.events, f"the events file being read ({args.events})")]
    reads += [Named(p, f"{what} being read ({p})") for p, what in ((trace, "the trace"), (args.truth, "the truth file")) if p is not None]
    picture = [Named(args.out, f"-o {args.out}")]
    check_clashes(picture, reads)
    check_existing(picture, args.overwrite)
    events = read_events(args.events)
    truth = read_truth(args.truth, args.video) if args.truth else []
    tr = read_trace(trace) if trace else Trace.empty()
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        plot(args.out, tr, labelled(events), truth, args.title or args.events.name, anchor=anchors(events),
             detected_faces=face_ids(events))
    except OSError as exc:
        raise fail(OutputError, f"cannot write {args.out} ({exc.strerror or exc})", "choose a writable -o path") from None
    print(f"wrote {args.out} ({len(events)} events, {len(truth)} truths, trace: {trace or 'none'})")
    return 0


__all__ = ["build_parser", "find_trace", "plot_main"]
