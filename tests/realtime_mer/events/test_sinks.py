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
        emit_latency_ms=12.5, time_source="file_mtime", source="clips/a.mp4",
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


def test_csv_has_one_probability_column_per_class(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    sink = CsvSink(p, classes=("negative", "positive", "surprise"))
    sink.write(_event())
    sink.write(Event(type="macro", onset_frame=1, apex_frame=2, offset_frame=300, onset_s=0.0, apex_s=0.01, offset_s=1.5,
                     duration_ms=1500.0, wall_time="", label="unknown"))  # unclassified: empty probability cells
    rows = list(csv.DictReader(open(p)))
    sink.close()
    i = EVENT_FIELDS.index("probabilities")
    assert tuple(rows[0]) == (*EVENT_FIELDS[:i], "p_negative", "p_positive", "p_surprise", *EVENT_FIELDS[i + 1 :])
    assert float(rows[0]["p_positive"]) == 0.8 and float(rows[0]["p_negative"]) == 0.1
    assert rows[1]["p_positive"] == "" and rows[1]["label"] == "unknown"


def test_existing_events_file_is_refused_unless_overwrite(tmp_path: Path) -> None:
    from realtime_mer.events.sinks import check_new

    p = tmp_path / "e.jsonl"
    check_new(p, "events", "--events", overwrite=False)  # new: fine
    p.write_text("old\n")
    with pytest.raises(OutputError, match=r"--events .*e\.jsonl: the events file exists .*add --overwrite") as ei:
        check_new(p, "events", "--events", overwrite=False)
    assert "\n" not in str(ei.value)
    check_new(p, "events", "--events", overwrite=True)
    check_new(Path("/dev/null"), "events", "--events", overwrite=False)  # a device is not a file to keep
    assert p.read_text() == "old\n"


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
