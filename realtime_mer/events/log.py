"""The one event-log reader: the ``.jsonl`` and ``.csv`` files the sinks write, back as ``Event`` records.

A CSV holds the probabilities as one ``p_<class>`` column per class; CSVs written before that change,
with a ``probabilities`` JSON cell, and logs without ``time_source`` / ``source`` still read.

Only ``type``, ``onset_frame``, ``apex_frame`` and ``offset_frame`` are required (a hand-written or
foreign log may hold just the intervals); the other fields take ``Event``'s defaults, ``label``
becomes ``unknown`` and times 0. Every malformed line is a one-line ``DataError`` naming
``file:line`` and the fix.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from realtime_mer.errors import DataError, fail
from realtime_mer.events.table import PROB_PREFIX
from realtime_mer.types import Event

REQUIRED: tuple[str, ...] = ("type", "onset_frame", "apex_frame", "offset_frame")
_FIX = "pass an events .jsonl / .csv written by realtime-mer --events / --csv"
_INTS = ("onset_frame", "apex_frame", "offset_frame", "face_id")
_FLOATS = ("onset_s", "apex_s", "offset_s", "duration_ms", "spot_score", "emit_latency_ms")


def read_events(path: Path) -> list[Event]:
    """The events of a realtime-mer event log: ``.csv`` by its suffix, JSON lines otherwise."""
    path = Path(path)
    if not path.is_file():
        raise fail(DataError, f"events file {path} not found", _FIX)
    rows = _csv_rows(path) if path.suffix.lower() == ".csv" else _jsonl_rows(path)
    return [event_from_dict(row, f"{path}:{n}") for n, row in rows]


def event_from_dict(d: Mapping[str, Any], where: str = "event") -> Event:
    """One ``Event`` from a log row (``where`` names it in errors)."""
    if not isinstance(d, Mapping):
        raise fail(DataError, f"{where}: not a JSON object", _FIX)
    missing = [k for k in REQUIRED if d.get(k) in (None, "")]
    if missing:
        raise fail(DataError, f"{where}: no {', '.join(missing)}", f"each event needs {', '.join(REQUIRED)}")
    if d["type"] not in ("micro", "macro"):
        raise fail(DataError, f"{where}: type {d['type']!r} is not micro or macro", _FIX)
    kw: dict[str, Any] = {"type": d["type"], "wall_time": str(d.get("wall_time") or ""), "label": str(d.get("label") or "unknown"),
                          "model": str(d.get("model") or ""), "time_source": str(d.get("time_source") or ""),
                          "source": str(d.get("source") or ""), "model_sha256": str(d.get("model_sha256") or "")}
    try:
        for k in _INTS:
            kw[k] = int(d.get(k) or 0)
        for k in _FLOATS:
            kw[k] = float(d.get(k) or 0.0)
        probs = d.get("probabilities") or {}
        probs = json.loads(probs) if isinstance(probs, str) else probs
        if not probs:  # a CSV since per-class columns: p_negative, p_positive, ... (empty: unclassified)
            probs = {k[len(PROB_PREFIX):]: v for k, v in d.items() if k.startswith(PROB_PREFIX) and v not in (None, "")}
        kw["probabilities"] = {str(c): float(p) for c, p in dict(probs).items()}
    except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # OverflowError: an infinite frame number
        raise fail(DataError, f"{where}: a field has the wrong type ({exc})", _FIX) from None
    if not 0 <= kw["onset_frame"] <= kw["apex_frame"] <= kw["offset_frame"]:
        raise fail(DataError, f"{where}: frames onset {kw['onset_frame']}, apex {kw['apex_frame']}, offset {kw['offset_frame']} "
                   "are not 0 <= onset <= apex <= offset", _FIX)
    return Event(**kw)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise fail(DataError, f"{path} is not a text file ({exc.reason})", _FIX) from None
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as exc:
                raise fail(DataError, f"{path}:{n} is not JSON ({exc.msg})", _FIX) from None


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [k for k in REQUIRED if k not in (reader.fieldnames or ())]
            if missing:
                raise fail(DataError, f"{path} has no column {', '.join(missing)}", _FIX)
            yield from enumerate(reader, 2)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise fail(DataError, f"{path} is not a CSV text file ({exc})", _FIX) from None
