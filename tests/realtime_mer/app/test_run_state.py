"""The run record: the overlay's state, the --timeline trace and the run summary --stats writes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from realtime_mer.app.run_state import RunRecord, status_line
from realtime_mer.app.timeline import read_trace
from realtime_mer.types import CLASSES, Event


def _event(kind: str, label: str, latency: float) -> Event:
    return Event(kind, 0, 1, 2, 0.0, 0.01, 0.02, 20.0, "2026-01-01T00:00:00.000Z", label, emit_latency_ms=latency)  # type: ignore[arg-type]


def test_summary_counts_frames_events_and_latencies(tmp_path: Path) -> None:
    rec = RunRecord(tmp_path / "t.trace.csv")
    st = rec.state
    rec.describe(source="demo", fps_requested=200.0, fps_granted=200.0, total_frames=10, warnings=["w"],
                 model="apexflow", backend="onnxruntime-cpu", backend_reason="onnxruntime-cpu (test)", classes=("a", "b"),
                 spotter="roiflow")
    rec.begin()
    statuses = []
    for i in range(10):
        rec.frame(i != 3, i, i / 200.0)
        statuses.append(st.face_status)
        if i != 3:
            rec.trace(i, i / 200.0, float(i), 2.0, calibrating=i < 5, blind=i < 5 or i == 8)
        else:
            rec.trace_no_face(i, i / 200.0)
        rec.latency.add("face", 1.0 + i)
    st.captured, st.dropped = 12, 2
    rec.event(_event("micro", "a", 4.0), timed=True)
    rec.event(_event("micro", "b", 0.0), timed=False)  # its grab time is unknown: no emit latency sample
    rec.event(_event("macro", "a", 8.0), timed=True)
    rec.end()
    s = rec.summary()
    assert st.finished and st.n_events == 3 and len(st.events) == 3
    assert (s["frames_processed"], s["frames_captured"], s["frames_dropped"], s["frames_with_face"]) == (10, 12, 2, 9)
    assert s["face_found_ratio"] == 0.9 and s["processing_fps"] > 0 and s["elapsed_s"] >= 0
    assert s["events"] == 3 and s["events_by_type"] == {"micro": 2, "macro": 1} and s["events_by_label"] == {"a": 2, "b": 1}
    assert s["emit_latency_ms"] == {"p50": 6.0, "p95": 7.8}
    assert s["stage_latency_ms"]["face"]["p50"] == 5.5
    assert (s["backend"], s["model"], s["spotter"], s["classes"]) == ("onnxruntime-cpu", "apexflow", "roiflow", ["a", "b"])
    assert s["warnings"] == ["w", "face lost at frame 3 (0.01 s), no face to frame 4 (0.02 s)"] and s["fps_requested"] == 200.0 and st.backend_reason == "onnxruntime-cpu (test)"
    assert statuses[2:5] == ["face found", "no face", "face found"] and st.face_present
    json.dumps(s)  # what --stats writes
    rec.close_trace()
    tr = read_trace(tmp_path / "t.trace.csv")
    assert list(tr.frame) == list(range(10)) and list(tr.face) == [i != 3 for i in range(10)]
    assert list(tr.blind) == [True] * 5 + [False] * 3 + [True, False] and np.isnan(tr.signal[3]) and tr.signal[9] == 9.0
    # blind: 4 calibrating + 1 busy frames with a face, and the face-less one: 6 of 10
    assert s["blind"] == {"share": 0.6, "spotter_blind_frames": 5, "no_face_frames": 1}
    assert list(st.signal)[-1] == 9.0 and list(st.threshold)[-1] == 2.0 and st.calibrating is False
    assert status_line(rec).startswith("10 frames,") and status_line(rec).endswith("2 dropped, 3 events")


def test_defaults_before_a_run() -> None:
    rec = RunRecord()
    s = rec.summary()
    assert rec.trace_writer is None and s["processing_fps"] == 0.0 and s["elapsed_s"] == 0.0 and s["face_found_ratio"] == 0.0
    assert s["classes"] == list(CLASSES) and s["emit_latency_ms"] is None  # no events: no latency, not 0
    assert rec.state.face_status == "waiting for first frame" and not rec.state.finished


def test_face_losses_several_faces_and_switches_become_warnings_and_stats() -> None:
    rec = RunRecord()
    rec.begin()
    box = (100, 100, 80, 80)
    for i in range(40):
        has = (i // 3) % 2 == 0 if i < 30 else i < 35  # lost and found 5 times, then lost to the end
        faces = 2 if i >= 12 else 1
        moved = (400, 100, 80, 80) if i == 13 else box  # one jump to another place: counted as a switch
        rec.frame(has, i, i / 100.0, moved if has else None, faces)
    rec.end()
    s = rec.summary()
    w = s["warnings"]
    assert w[0] == "face lost at frame 3 (0.03 s), no face to frame 6 (0.06 s)"
    assert "2 faces seen at frame 12 (0.12 s); the largest is tracked" in w[2]
    assert sum(x.startswith("face lost at frame") for x in w) == 5  # MAX_FACE_LOSS_WARNINGS, then a count
    assert "the face was lost 6 times in all" in w[-1]
    assert s["faces"] == {"most_seen": 2, "losses": 6, "switches": 2, "max_faces": 1}  # to the other place and back
    assert all("\n" not in x for x in w)


def test_no_face_at_all_is_a_warning() -> None:
    rec = RunRecord()
    rec.begin()
    for i in range(5):
        rec.frame(False, i, i / 30.0)
    rec.end()
    assert rec.summary()["warnings"] == [
        "no face found in any of the 5 frames; check the lighting and that a face is in view (frontal, at least ~80 px wide)"]
