"""Export an existing event log to ELAN, BIDS or the per-class CSV.

    python tools/export_events.py run.jsonl --eaf run.eaf [--media clip.mp4]
    python tools/export_events.py run.jsonl --bids sub-01_task-rest_events.tsv
    python tools/export_events.py old.csv --csv new.csv

``run.jsonl`` (or ``.csv``) is a ``realtime-mer --events`` / ``--csv`` log or a batch's ``<name>.events.jsonl``,
read by the one reader (older logs too). The ELAN document links ``--media``, or else the video named in the
log's provenance sidecar (``run.jsonl.meta.json``) when there is one. The probability columns follow the classes
of the model (from the sidecar, else those the events carry). Existing outputs are kept unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from realtime_mer.errors import OutputError, command_main, fail
from realtime_mer.events import check_new, check_writable, read_events, read_sidecar
from realtime_mer.events.table import classes_of


def media_of(meta: dict | None) -> Path | None:
    """The video the log was made from, when its provenance names one that still exists."""
    src = (meta or {}).get("source") or {}
    path = src.get("path")
    if src.get("kind") == "VideoSource" and path and Path(path).is_file():
        return Path(path)
    return None


@command_main("export_events.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("events", type=Path, help="events .jsonl or .csv of a realtime-mer run")
    ap.add_argument("--eaf", type=Path, help="write an ELAN .eaf (tiers micro / macro, label as value); needs the [elan] extra")
    ap.add_argument("--media", type=Path, help="the video to link in the .eaf (default: the one in the log's provenance)")
    ap.add_argument("--bids", type=Path, help="write a BIDS *_events.tsv and its *_events.json")
    ap.add_argument("--csv", type=Path, help="write the CSV with one probability column per class")
    ap.add_argument("--overwrite", action="store_true", help="replace existing output files")
    args = ap.parse_args(argv)
    if args.eaf is None and args.bids is None and args.csv is None:
        raise fail(OutputError, "nothing to export", "pass --eaf, --bids and/or --csv")
    # every output is checked before anything is read or written
    if args.eaf is not None:
        from realtime_mer.events.eaf import check_eaf_path, require_pympi

        check_eaf_path(args.eaf)
        require_pympi()
    if args.bids is not None:
        from realtime_mer.events.bids import bids_json_path, check_bids_path

        check_bids_path(args.bids)
        check_new(bids_json_path(args.bids), "BIDS sidecar", "--bids", args.overwrite)
    for flag, path in (("--eaf", args.eaf), ("--bids", args.bids), ("--csv", args.csv)):
        if path is not None:
            if Path(path).resolve() == args.events.resolve():
                raise fail(OutputError, f"{flag} {path} is the events file being read", "choose another output path")
            check_new(path, flag.lstrip("-"), flag, args.overwrite)
            check_writable(path, flag.lstrip("-"))
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


if __name__ == "__main__":
    sys.exit(main())
