"""Event sinks. Each event is written, flushed and fsynced the moment it is decided,
so a crash, Ctrl-C or SIGTERM never loses an event that was already reported."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Protocol

from realtime_mer.errors import OutputError, fail
from realtime_mer.events.table import columns, flat_row
from realtime_mer.types import CLASSES, Event


class EventSink(Protocol):
    def write(self, event: Event) -> None: ...

    def close(self) -> None: ...


def check_writable(path: Path, what: str) -> None:
    """Refuse an output path up front (before capture starts) with a one-line error."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise fail(OutputError, f"{what} path {path} is a directory", f"pass a file name, e.g. {path}/events.jsonl")
    if not parent.exists():
        raise fail(OutputError, f"cannot write {what} to {path}: folder {parent} does not exist", "create it first or choose another path")
    if path.exists() and not os.access(path, os.W_OK):
        raise fail(OutputError, f"cannot write {what} to {path}: permission denied", "choose a writable path")
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise fail(OutputError, f"cannot write {what} to {path}: folder {parent} is not writable", "choose a writable path")
    # os.access answers yes to root even where the write then fails (e.g. /proc): open it once to be sure
    existed = path.exists()
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise fail(OutputError, f"cannot write {what} to {path}: {exc.strerror or exc}", "choose a writable path") from exc
    if not existed:
        path.unlink()


class _WholeLines:
    """A file written only in whole records: each ``write`` goes straight to the OS (no buffer to flush later) and
    is fsynced; if the disk fills up (ENOSPC, a file-size limit) part-way, the file is cut back to the end of the
    last whole record and a one-line ``OutputError`` says how many were saved, so what is on disk stays valid."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        self._size = 0  # bytes of whole records on disk
        self.records = 0
        self.closed = False

    def write(self, text: str) -> int:
        data = text.encode("utf-8")
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, data[done:])
        except OSError as exc:
            try:
                os.ftruncate(self._fd, self._size)  # no half record left behind
            except OSError:
                pass
            raise fail(OutputError, f"cannot write {self.what} to {self.path}: {exc.strerror or exc}",
                       f"free some space or choose another path; the {self.records} line(s) written before are intact") from exc
        self._size += len(data)
        self.records += 1
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered here (``write`` hands every record to the OS)."""

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            os.close(self._fd)


def _open(path: Path, what: str) -> _WholeLines:
    try:
        return _WholeLines(path, what)
    except OSError as exc:
        raise fail(OutputError, f"cannot write {what} to {path}: {exc.strerror or exc}", "choose a writable path") from exc


def _durable(fh: _WholeLines) -> None:
    fh.flush()
    try:
        os.fsync(fh.fileno())
    except OSError:  # e.g. a pipe or /dev/stdout
        pass


class JsonlSink:
    """One JSON object per line with exactly the fields of ``EVENT_FIELDS``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fh = _open(self.path, "events")
        _durable(self._fh)  # the file exists (empty) from the start

    def write(self, event: Event) -> None:
        self._fh.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
        _durable(self._fh)

    def close(self) -> None:
        if not self._fh.closed:
            _durable(self._fh)
            self._fh.close()


class CsvSink:
    """The JSONL log's columns with ``probabilities`` spread into one ``p_<class>`` column per class of the
    model (``events.table``); an unclassified event leaves them empty."""

    def __init__(self, path: Path, classes: tuple[str, ...] = CLASSES) -> None:
        self.path = Path(path)
        self.classes = tuple(classes)
        self._cols = columns(self.classes)
        self._fh = _open(self.path, "csv")
        self._w = csv.writer(self._fh)  # one write() per row: a row is a whole record
        self._w.writerow(self._cols)
        _durable(self._fh)

    def write(self, event: Event) -> None:
        row = flat_row(event, self.classes)
        self._w.writerow(["" if row[k] is None else row[k] for k in self._cols])
        _durable(self._fh)

    def close(self) -> None:
        if not self._fh.closed:
            _durable(self._fh)
            self._fh.close()


def open_sinks(events: Path | None, csv_path: Path | None, classes: tuple[str, ...] = CLASSES) -> list[EventSink]:
    sinks: list[EventSink] = []
    if events is not None:
        sinks.append(JsonlSink(events))
    if csv_path is not None:
        sinks.append(CsvSink(csv_path, classes))
    return sinks


def check_new(path: Path, what: str, flag: str, overwrite: bool, how: str = "add --overwrite") -> None:
    """Refuse to replace an existing file (before capture starts) unless ``overwrite``; a device or pipe
    (``/dev/stdout``) is not a file to keep and is always allowed."""
    path = Path(path)
    if not overwrite and path.is_file():
        raise fail(OutputError, f"{flag} {path}: the {what} file exists and would be overwritten",
                   f"choose a new path, or {how} to replace it")
