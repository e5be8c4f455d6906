"""Hypothesis fuzzing of the files users feed the readers (issue 17): truth CSVs, event logs (JSONL and CSV, as the
plotting and evaluation tools read them) and timeline traces. Whatever the bytes, a reader returns or raises the
project's one-line ``MerError``; any other exception (a traceback for the user) fails the test."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from realtime_mer.app.timeline import TRACE_COLUMNS, read_trace
from realtime_mer.errors import MerError
from realtime_mer.events import read_events
from realtime_mer.synth.truth import TRUTH_COLUMNS, read_truth_csv
from realtime_mer.types import EVENT_FIELDS

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

numbers = st.one_of(st.integers(-10**30, 10**30), st.floats(allow_nan=True, allow_infinity=True))
cells = st.one_of(numbers, numbers.map(str), st.text(max_size=12), st.sampled_from(["", "micro", "macro", "nan", "1e400", "-0", "0x10", "1_000"]))
json_values = st.recursive(st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=8)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                           max_leaves=8)


def _valid_event() -> dict[str, Any]:
    return {"type": "micro", "onset_frame": 10, "apex_frame": 14, "offset_frame": 20, "onset_s": 0.05, "apex_s": 0.07,
            "offset_s": 0.1, "duration_ms": 50.0, "wall_time": "2026-12-03T00:00:00Z", "label": "surprise",
            "probabilities": {"negative": 0.1, "positive": 0.2, "surprise": 0.7}, "spot_score": 7.5, "face_id": 0,
            "model": "apexflow", "emit_latency_ms": 80.0}


def _one_line_or_value(read: Callable[[Path], object], data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"input{suffix}"
        path.write_bytes(data)
        try:
            read(path)
        except MerError as err:
            msg = str(err)
            assert msg and "\n" not in msg and "\r" not in msg, repr(msg)


def _csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode("utf-8")


# -- truth CSVs (evaluation, --timeline, plot_timeline --truth) ----------------------------------------------
@FUZZ
@given(header=st.one_of(st.just(list(TRUTH_COLUMNS)), st.lists(st.text(max_size=8), max_size=8)),
       rows=st.lists(st.lists(cells, min_size=0, max_size=8), max_size=6))
@example(header=list(TRUTH_COLUMNS), rows=[["v", "1e400", 2, 3, "micro", "", "surprise"]])
def test_truth_csv_reader(header: list[str], rows: list[list[Any]]) -> None:
    _one_line_or_value(read_truth_csv, _csv([header, *rows]), ".csv")


@FUZZ
@given(data=st.binary(max_size=300))
def test_truth_csv_reader_raw_bytes(data: bytes) -> None:
    _one_line_or_value(read_truth_csv, b",".join(TRUTH_COLUMNS[i].encode() for i in range(len(TRUTH_COLUMNS))) + b"\n" + data, ".csv")


# -- event logs (plot_timeline, evaluate_spotting) ------------------------------------------------------------
@FUZZ
@given(changes=st.lists(st.tuples(st.sampled_from([*EVENT_FIELDS, "extra"]), json_values), max_size=4),
       extra_lines=st.lists(json_values.map(json.dumps), max_size=2))
@example(changes=[("onset_frame", float("inf"))], extra_lines=[])
@example(changes=[("probabilities", [[1, 2, 3]])], extra_lines=[])
@example(changes=[("apex_frame", 1e300)], extra_lines=[])
def test_jsonl_event_log_reader(changes: list[tuple[str, Any]], extra_lines: list[str]) -> None:
    ev = _valid_event()
    for k, v in changes:
        ev[k] = v
    text = "\n".join([json.dumps(_valid_event()), json.dumps(ev), *extra_lines]) + "\n"
    _one_line_or_value(read_events, text.encode("utf-8"), ".jsonl")


@FUZZ
@given(header=st.one_of(st.just(list(EVENT_FIELDS)), st.lists(st.sampled_from([*EVENT_FIELDS, "x", ""]), max_size=16)),
       rows=st.lists(st.lists(cells, max_size=16), max_size=4))
@example(header=list(EVENT_FIELDS), rows=[["micro", "inf", 1, 2]])
def test_csv_event_log_reader(header: list[str], rows: list[list[Any]]) -> None:
    _one_line_or_value(read_events, _csv([header, *rows]), ".csv")


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".jsonl", ".csv"]))
def test_event_log_reader_raw_bytes(data: bytes, suffix: str) -> None:
    _one_line_or_value(read_events, data, suffix)


# -- timeline traces (plot_timeline) --------------------------------------------------------------------------
@FUZZ
@given(rows=st.lists(st.lists(cells, max_size=7), max_size=5))
def test_trace_reader(rows: list[list[Any]]) -> None:
    _one_line_or_value(read_trace, _csv([list(TRACE_COLUMNS), *rows]), ".csv")
