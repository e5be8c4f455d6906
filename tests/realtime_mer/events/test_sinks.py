from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from realtime_mer.errors import OutputError
from realtime_mer.events.sinks import CsvSink, JsonlSink, check_writable
from realtime_mer.types import EVENT_FIELDS, Event


def _event(i: int = 0) -> Event:
    return Event(
        type="micro", onset_frame=10 + i, apex_frame=20 + i, offset_frame=30 + i, onset_s=0.05, apex_s=0.1, offset_s=0.15,
        duration_ms=100.0, wall_time="2026-11-20T10:00:00.000Z", label="positive",
        probabilities={"negative": 0.1, "positive": 0.8, "surprise": 0.1}, spot_score=3.2, face_id=0, model="apexflow",
        emit_latency_ms=12.5,
    )


def test_jsonl_has_exactly_the_schema_fields_and_is_on_disk_before_close(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    sink = JsonlSink(p)
    sink.write(_event(0))
    sink.write(_event(1))
    # read back before close: the events must already be on disk
    lines = p.read_text().splitlines()
    assert len(lines) == 2
    d = json.loads(lines[1])
    assert tuple(d) == EVENT_FIELDS
    assert d["onset_frame"] == 11 and d["probabilities"]["positive"] == 0.8
    sink.close()
    sink.close()


def test_csv_same_columns(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    sink = CsvSink(p)
    sink.write(_event())
    rows = list(csv.DictReader(open(p)))
    sink.close()
    assert tuple(rows[0]) == EVENT_FIELDS
    assert json.loads(rows[0]["probabilities"])["positive"] == 0.8


@pytest.mark.parametrize("case", ["missing_dir", "is_dir", "readonly_dir"])
def test_unwritable_paths_are_refused_in_one_line(tmp_path: Path, case: str) -> None:
    if case == "missing_dir":
        p = tmp_path / "nope" / "e.jsonl"
    elif case == "is_dir":
        p = tmp_path
    else:
        if os.geteuid() == 0:
            pytest.skip("root can write to read-only folders")
        d = tmp_path / "ro"
        d.mkdir()
        d.chmod(0o500)
        p = d / "e.jsonl"
    with pytest.raises(OutputError) as ei:
        check_writable(p, "events")
    msg = str(ei.value)
    assert ("\n" not in msg and str(p.name) in msg) or str(p) in msg


def test_check_writable_tries_the_write_and_leaves_nothing_behind(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    check_writable(p, "events")
    assert not p.exists()  # probed, then removed
    p.write_text("kept\n")
    check_writable(p, "events")
    assert p.read_text() == "kept\n"  # an existing file is not truncated by the check
    if not Path("/proc/self").is_dir():
        pytest.skip("needs Linux /proc (a folder os.access calls writable for root, where creating a file fails)")
    with pytest.raises(OutputError, match="cannot write events"):
        check_writable(Path("/proc/realtime-mer-probe.jsonl"), "events")
