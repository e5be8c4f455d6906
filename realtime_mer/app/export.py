"""``realtime-mer export``: an existing event log to ELAN, BIDS or the per-class CSV.

    realtime-mer export run.jsonl --eaf run.eaf [--media clip.mp4]
    realtime-mer export run.jsonl --bids sub-01_task-rest_events.tsv
    realtime-mer export old.csv --csv new.csv

``run.jsonl`` (or ``.csv``) is a ``realtime-mer --events`` / ``--csv`` log or a batch's ``<name>.events.jsonl``,
read by the one reader (older logs too). The ELAN document links ``--media``, or else the video named in the
log's provenance sidecar (``run.jsonl.meta.json``) when there is one. The probability columns follow the classes
of the model (from the sidecar, else those the events carry). No output may be the log, its sidecar or the media
(``preflight``); existing outputs are kept unless ``--overwrite``. ``tools/export_events.py`` runs the same code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from realtime_mer.errors import OutputError, fail


def media_of(meta: dict | None) -> Path | None:
    """The video the log was made from, when its provenance names one that still exists."""
    src = (meta or {}).get("source") or {}
    path = src.get("path")
    if src.get("kind") == "VideoSource" and path and Path(path).is_file():
        return Path(path)
    return None


def build_parser(prog: str) -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog=prog, description="Export a realtime-mer event log to ELAN, BIDS or the per-class CSV.")
    ap.add_argument("events", type=Path, help="events .jsonl or .csv of a realtime-mer run")
    ap.add_argument("--eaf", type=Path, help="write an ELAN .eaf (tiers micro / macro, one pair per face with several faces; label as value); needs the [elan] extra")
    ap.add_argument("--media", type=Path, help="the video to link in the .eaf (default: the one in the log's provenance)")
    ap.add_argument("--bids", type=Path, help="write a BIDS *_events.tsv and its *_events.json")
    ap.add_argument("--csv", type=Path, help="write the CSV with one probability column per class")
    ap.add_argument("--overwrite", action="store_true", help="replace existing output files")
    return ap


def export_main(argv: list[str], prog: str = "realtime-mer export") -> int:
    from realtime_mer.app.preflight import Named, check_clashes, check_existing, check_formats, planned_outputs
    from realtime_mer.config import OutputConfig
    from realtime_mer.events import read_events, read_sidecar
    from realtime_mer.events.sidecar import sidecar_path
    from realtime_mer.events.sinks import check_writable
    from realtime_mer.events.table import classes_of

    args = build_parser(prog).parse_args(argv)
    if args.eaf is None and args.bids is None and args.csv is None:
        raise fail(OutputError, "nothing to export", "pass --eaf, --bids and/or --csv")
    # every output is checked before anything is read or written: names and extras, then against the inputs
    out = OutputConfig(eaf=args.eaf, bids=args.bids)
    check_formats(out)
    outputs = planned_outputs(out)
    if args.csv is not None:
        outputs.append(Named(args.csv, f"--csv {args.csv}", "csv"))
    inputs = [Named(args.events, f"the events file being read ({args.events})"),
              Named(sidecar_path(args.events), f"the provenance of the events file ({sidecar_path(args.events)})")]
    if args.media is not None:
        inputs.append(Named(args.media, f"the media (--media {args.media})"))
    check_clashes(outputs, inputs)
    check_existing(outputs, args.overwrite)
    for o in outputs:
        check_writable(o.path, o.what)
    events = read_events(args.events)
    meta = read_sidecar(args.events)
    classes = tuple((meta or {}).get("classes") or ()) or classes_of(events)
    done = []
    if args.eaf is not None:
        from realtime_mer.events.eaf import write_eaf

        media = args.media or media_of(meta)
        write_eaf(events, args.eaf, media=media)
        done.append(f"{args.eaf} (media: {media or 'none'})")
    if args.bids is not None:
        from realtime_mer.events.bids import write_bids

        done.append(" + ".join(str(p) for p in write_bids(events, args.bids, classes)))
    if args.csv is not None:
        from realtime_mer.events.sinks import CsvSink

        sink = CsvSink(args.csv, classes)
        try:
            for e in events:
                sink.write(e)
        finally:
            sink.close()
        done.append(str(args.csv))
    print(f"{len(events)} events from {args.events} -> {', '.join(done)}")
    return 0


__all__ = ["build_parser", "export_main", "media_of"]
