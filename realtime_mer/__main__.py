"""``python -m realtime_mer``: the ``realtime-mer`` command (``realtime_mer.app.cli``)."""

from __future__ import annotations

import sys

from realtime_mer.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
