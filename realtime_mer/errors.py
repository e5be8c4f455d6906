"""The package's exception types and the one helper that raises them.

Every *expected* failure (no camera, bad file, unwritable path, missing data) is a
``MerError`` whose message is one line naming the problem and the fix. The CLI
prints that line to stderr and exits non-zero, without a traceback.
"""

from __future__ import annotations

import logging

log = logging.getLogger("realtime_mer")


class MerError(Exception):
    """An expected, user-facing failure. ``str(err)`` is one line: problem + fix."""

    exit_code = 2


class SourceError(MerError):
    """A capture source cannot be opened or read (camera, video, image folder)."""


class OutputError(MerError):
    """An output path (events, csv, stats, timeline) cannot be written."""


class ModelError(MerError):
    """A model, checkpoint or backend cannot be loaded."""


class DataError(MerError):
    """A dataset root, annotation file or clip is missing or malformed."""


def fail(kind: type[MerError], problem: str, fix: str | None = None) -> MerError:
    """Log and build a one-line error: ``raise fail(SourceError, "x is missing", "pass y")``."""
    msg = problem.rstrip(". ") + (f"; {fix.rstrip('. ')}" if fix else "")
    msg = " ".join(msg.split())  # always one line
    log.debug("error: %s", msg)
    return kind(msg)
