"""Re-plot a run's spotting timeline from its files: ``realtime-mer plot`` (``realtime_mer/app/plot.py``), kept here for
clones.

    python tools/plot_timeline.py events.jsonl [--truth truth.csv] [--trace TRACE.csv] -o out.png
"""

from __future__ import annotations

import sys

from realtime_mer.app.plot import plot_main
from realtime_mer.errors import command_main


@command_main("plot_timeline.py")
def main(argv: list[str] | None = None) -> int:
    return plot_main(sys.argv[1:] if argv is None else list(argv), prog="plot_timeline.py")


if __name__ == "__main__":
    sys.exit(main())
