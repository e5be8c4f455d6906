"""Export an existing event log to ELAN, BIDS or the per-class CSV: ``realtime-mer export`` (``realtime_mer/app/export.py``),
kept here for clones.

    python tools/export_events.py run.jsonl --eaf run.eaf [--media clip.mp4]
    python tools/export_events.py run.jsonl --bids sub-01_task-rest_events.tsv
    python tools/export_events.py old.csv --csv new.csv
"""

from __future__ import annotations

import sys

from realtime_mer.app.export import export_main
from realtime_mer.errors import command_main


@command_main("export_events.py")
def main(argv: list[str] | None = None) -> int:
    return export_main(sys.argv[1:] if argv is None else list(argv), prog="export_events.py")


if __name__ == "__main__":
    sys.exit(main())
