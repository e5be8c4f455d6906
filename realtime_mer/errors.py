"""The package's exception types and the one helper that raises them.

Every *expected* failure (no camera, bad file, unwritable path, missing data) is a
``MerError`` whose message is one line naming the problem and the fix. ``command_main``
is the one top-level handler of the CLI and of every ``tools/`` script: it prints that
line to stderr as ``<prog>: error: ...`` and exits 2, without a traceback.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable

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


class ConfigError(MerError):
    """A setting is out of range, not finite or of the wrong type (``PipelineConfig.validate``): refused before capture."""


# Exit statuses of ``realtime-mer`` (README, "Exit codes"). 130 / 143 are 128 + SIGINT / SIGTERM.
EXIT_OK = 0
EXIT_BAD_INPUT = 2  # a MerError: bad option, file, model or output path; also an output that failed mid-run
EXIT_INCOMPLETE = 3  # the run finished, but its input did not: a file ended early, a camera was lost, frames were unreadable


class SourceLost(SourceError):
    """The source stopped delivering mid-run (camera unplugged, decoding failed): what was read is processed, the
    events are saved and the command exits with ``EXIT_INCOMPLETE``."""

    exit_code = EXIT_INCOMPLETE


def fail(kind: type[MerError], problem: str, fix: str | None = None) -> MerError:
    """Log and build a one-line error: ``raise fail(SourceError, "x is missing", "pass y")``."""
    msg = problem.rstrip(". ") + (f"; {fix.rstrip('. ')}" if fix else "")
    msg = " ".join(msg.split())  # always one line
    log.debug("error: %s", msg)
    return kind(msg)


def report(prog: str, err: BaseException) -> int:
    """Print the one line for an expected failure to stderr; return the exit status (2 for every ``MerError``)."""
    if isinstance(err, KeyboardInterrupt):
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        return 130
    if isinstance(err, OSError) and not isinstance(err, MerError):  # a file the command reads or writes
        where = f"{err.filename}: " if err.filename else ""
        msg = f"{where}{err.strerror or err}; check the path and its permissions"
        code = 2
    else:
        msg, code = str(err), getattr(err, "exit_code", 2)
    print(f"{prog}: error: {' '.join(msg.split())}", file=sys.stderr, flush=True)
    return code


def command_main(prog: str) -> Callable[[Callable[..., int | None]], Callable[..., int]]:
    """Decorate a command's ``main(argv)``: a ``MerError`` (or an ``OSError`` on a file, or Ctrl-C) becomes one
    line on stderr and exit status 2 (130 for Ctrl-C) instead of a traceback; anything else is a bug and keeps its
    traceback. ``main`` returning ``None`` means 0."""

    def wrap(fn: Callable[..., int | None]) -> Callable[..., int]:
        @functools.wraps(fn)
        def main(*args: object, **kwargs: object) -> int:
            try:
                return int(fn(*args, **kwargs) or 0)
            except (MerError, OSError, KeyboardInterrupt) as err:
                return report(prog, err)

        return main

    return wrap
