"""Event assembly: an Interval and its probabilities become the event record the sinks write."""

from __future__ import annotations

from realtime_mer.events.assemble import make_event
from realtime_mer.types import EVENT_FIELDS, Interval

ORIGIN = 5_000_000_000  # the first frame's source timestamp, ns
WALL = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_times_label_and_rounding() -> None:
    iv = Interval(10, 14, 20, "micro", 0.123456789, ORIGIN + 50_000_000, ORIGIN + 70_000_000, ORIGIN + 100_000_000)
    probs = {"negative": 0.2, "positive": 0.7000000001, "surprise": 0.1}
    ev = make_event(iv, probs, origin_ns=ORIGIN, origin_wall=WALL, model="apexflow", grab_ns=1_000_000, now_ns=13_500_000)
    assert (ev.type, ev.onset_frame, ev.apex_frame, ev.offset_frame) == ("micro", 10, 14, 20)
    assert (ev.onset_s, ev.apex_s, ev.offset_s) == (0.05, 0.07, 0.1)
    assert ev.duration_ms == 50.0
    assert ev.wall_time == "2026-01-01T00:00:00.070Z"  # the apex, on the wall clock
    assert ev.label == "positive" and ev.probabilities == {"negative": 0.2, "positive": 0.7, "surprise": 0.1}
    assert ev.spot_score == 0.123457 and ev.model == "apexflow" and ev.face_id == 0
    assert ev.emit_latency_ms == 12.5
    assert tuple(ev.to_dict()) == EVENT_FIELDS


def test_unclassified_interval_is_unknown_and_without_a_grab_time_has_no_latency() -> None:
    iv = Interval(0, 1, 2, "macro", 1.0, ORIGIN, ORIGIN, ORIGIN + 600_000_000)
    ev = make_event(iv, {}, origin_ns=ORIGIN, origin_wall=WALL, model="m")
    assert ev.label == "unknown" and ev.probabilities == {} and ev.confidence == 0.0
    assert ev.emit_latency_ms == 0.0 and ev.duration_ms == 600.0 and ev.type == "macro"


def test_ties_go_to_the_first_class() -> None:
    iv = Interval(0, 1, 2, "micro", 1.0)
    ev = make_event(iv, {"negative": 0.4, "positive": 0.4, "surprise": 0.2}, origin_ns=0, origin_wall=WALL, model="m")
    assert ev.label == "negative"
