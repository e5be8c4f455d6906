"""The one event-log reader: what the sinks write comes back as the same ``Event`` records."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from realtime_mer.errors import DataError
from realtime_mer.events import read_events
from realtime_mer.events.sinks import CsvSink, JsonlSink
from realtime_mer.types import Event, Interval

from .test_sinks import _event


@pytest.mark.parametrize("sink", [JsonlSink, CsvSink])
def test_what_a_sink_writes_reads_back_equal(tmp_path: Path, sink: type) -> None:
    path = tmp_path / ("e.jsonl" if sink is JsonlSink else "e.csv")
    s = sink(path)
    events = [_event(0), _event(5)]
    for e in events:
        s.write(e)
    s.close()
    assert read_events(path) == events
    assert read_events(path)[1].interval() == Interval(15, 25, 35, "micro", 3.2)


def test_interval_only_lines_get_defaults(tmp_path: Path) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text(json.dumps({"type": "macro", "onset_frame": 4, "apex_frame": 9, "offset_frame": 90}) + "\n\n")
    (e,) = read_events(p)
    assert isinstance(e, Event) and (e.type, e.onset_frame, e.apex_frame, e.offset_frame) == ("macro", 4, 9, 90)
    assert e.label == "unknown" and e.probabilities == {} and e.spot_score == 0.0


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"type": "micro", "onset_frame": 1}', r"e\.jsonl:1: no apex_frame, offset_frame; each event needs type"),
        ("{not json", r"e\.jsonl:1 is not JSON"),
        ("[1, 2]", r"e\.jsonl:1: not a JSON object"),
        ('{"type": "nano", "onset_frame": 1, "apex_frame": 2, "offset_frame": 3}', r"type 'nano' is not micro or macro"),
        ('{"type": "micro", "onset_frame": "a", "apex_frame": 2, "offset_frame": 3}', r"e\.jsonl:1: a field has the wrong type"),
        ('{"type": "micro", "onset_frame": 5, "apex_frame": 2, "offset_frame": 3}', r"frames onset 5, apex 2, offset 3 are not"),
    ],
)
def test_bad_lines_are_one_line_errors(tmp_path: Path, line: str, message: str) -> None:
    p = tmp_path / "e.jsonl"
    p.write_text(line + "\n")
    with pytest.raises(DataError, match=message) as err:
        read_events(p)
    assert "\n" not in str(err.value)


def test_missing_file_and_csv_without_columns(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"events file .*nope\.jsonl not found; pass an events"):
        read_events(tmp_path / "nope.jsonl")
    p = tmp_path / "e.csv"
    p.write_text("type,onset_frame\nmicro,1\n")
    with pytest.raises(DataError, match=r"e\.csv has no column apex_frame, offset_frame"):
        read_events(p)


def test_old_csv_with_a_probabilities_cell_and_old_jsonl_still_read(tmp_path: Path) -> None:
    """Logs written before the per-class CSV columns and the time_source / source fields read back as before."""
    old = tmp_path / "old.csv"
    old.write_text("type,onset_frame,apex_frame,offset_frame,label,probabilities\n"
                   'micro,1,2,3,positive,"{""negative"": 0.2, ""positive"": 0.7, ""surprise"": 0.1}"\n')
    (e,) = read_events(old)
    assert e.probabilities == {"negative": 0.2, "positive": 0.7, "surprise": 0.1} and e.time_source == "" and e.source == ""
    j = tmp_path / "old.jsonl"
    d = _event(0).to_dict()
    del d["time_source"], d["source"]
    j.write_text(json.dumps(d) + "\n")
    assert read_events(j) == [dataclasses.replace(_event(0), time_source="", source="")]
