"""--max-faces: every face its own id, lane and spotter; movements reported for the face that made them only; one
face unchanged; faces too small to spot tracked and reported, never spotted."""

from __future__ import annotations

import json

from realtime_mer.app.pipeline import Pipeline
from realtime_mer.app.timeline import read_trace
from realtime_mer.config import FaceConfig, OutputConfig, PipelineConfig, SourceConfig
from realtime_mer.events.frames import FramesWriter
from realtime_mer.spotting.match import iou as interval_iou
from tests.helpers.faces import SideBySide


def _run(source: SideBySide, max_faces: int, tmp_path, **face) -> tuple[Pipeline, dict]:
    cfg = PipelineConfig(source=SourceConfig(kind="demo"), face=FaceConfig(max_faces=max_faces, **face),
                         output=OutputConfig(ui=False))
    p = Pipeline(cfg, source, frame_sinks=[FramesWriter(tmp_path / "f.csv")], trace_path=tmp_path / "t.trace.csv")
    return p, p.run()


def _found(events, truth) -> int:
    return sum(any(e.type == t.kind and interval_iou(e.interval(), t) >= 0.5 for e in events) for t in truth)


def test_two_faces_each_get_their_own_id_and_only_their_own_movements(tmp_path) -> None:
    src = SideBySide(3.0, n=2, seed=0)
    p, s = _run(src, 2, tmp_path)
    assert s["faces"]["per_face"].keys() == {"0", "1"} and s["faces"]["most_seen"] == 2
    assert all(f["frames_spotted"] == s["frames_processed"] for f in s["faces"]["per_face"].values())
    left = [e for e in p.events if e.face_id == 0]  # the left face is the first found (same size: left to right)
    right = [e for e in p.events if e.face_id == 1]
    t0, t1 = src.truth(0), src.truth(1)
    assert _found(left, t0) >= len(t0) - 1 and _found(right, t1) >= len(t1) - 1
    # a movement of one face is never reported for the other (the two seeds' movements do not overlap in time here)
    assert _found(left, [t for t in t1 if all(interval_iou(t, u) < 0.2 for u in t0)]) == 0
    rows = (tmp_path / "f.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * s["frames_processed"]  # a row per face and frame


def test_a_movement_on_one_face_is_reported_for_that_face_alone(tmp_path) -> None:
    src = SideBySide(3.0, n=2, seed=0, still=(1,))  # the right face makes no movement (its blinks and drift stay)
    p, _s = _run(src, 2, tmp_path)
    assert _found([e for e in p.events if e.face_id == 0], src.truth(0)) >= len(src.truth(0)) - 1
    assert not [e for e in p.events if e.face_id == 1 and e.type == "micro"]


def test_one_face_followed_by_default_is_face_0(tmp_path) -> None:
    src = SideBySide(1.5, n=2, seed=0)
    p, s = _run(src, 1, tmp_path)
    assert {e.face_id for e in p.events} <= {0} and "per_face" not in s["faces"]
    assert s["faces"]["most_seen"] == 2 and any("2 faces seen" in w for w in s["warnings"])
    assert len((tmp_path / "f.csv").read_text().splitlines()) == 1 + s["frames_processed"]


def test_faces_too_small_to_spot_are_tracked_and_reported_without_events(tmp_path) -> None:
    src = SideBySide(1.5, n=2, seed=0)
    p, s = _run(src, 2, tmp_path, min_face_px=4000.0)
    assert p.events == []
    per = s["faces"]["per_face"]
    assert all(f["frames_too_small"] == s["frames_processed"] and f["frames_spotted"] == 0 for f in per.values())
    states = {r.split(",")[11] for r in (tmp_path / "f.csv").read_text().splitlines()[1:]}
    assert states == {"small"}
    trace = read_trace(tmp_path / "t.trace.csv")  # a blind row per face and frame, without a signal
    assert len(trace) == 2 * s["frames_processed"] and trace.blind.all() and trace.face.all()
    assert s["blind"]["share"] == 1.0


def test_several_faces_in_the_spotting_process_match_the_thread(tmp_path) -> None:
    runs = []
    for remote in (False, True):
        cfg = PipelineConfig(source=SourceConfig(kind="demo"), face=FaceConfig(max_faces=2), spot_process=remote,
                             output=OutputConfig(ui=False))
        p = Pipeline(cfg, SideBySide(3.0, n=2, seed=0))
        p.run()
        runs.append(sorted(json.dumps(e.to_dict() | {"wall_time": "", "emit_latency_ms": 0}, sort_keys=True)
                           for e in p.events))
    assert runs[0] == runs[1] and runs[0]


def test_a_file_is_calibrated_ahead_per_face_unless_it_is_paced(tmp_path) -> None:
    for realtime, ahead in ((False, True), (True, False)):
        cfg = PipelineConfig(source=SourceConfig(kind="video", realtime=realtime), face=FaceConfig(max_faces=2),
                             output=OutputConfig(ui=False))
        p = Pipeline(cfg, SideBySide(0.5, n=2))
        p.prepare()
        try:
            assert (p._warm_frames > 0) == ahead  # --realtime stands in for a camera: it calibrates on its first second
        finally:
            p.close()


def test_warm_start_takes_each_slots_first_run_of_one_face() -> None:
    from realtime_mer.app.pipeline import LOST, SMALL, _LaneItem, _SpotItem, warm_seqs

    def item(*lanes: tuple[int, int, int]) -> _SpotItem:
        return _SpotItem(0, 0.0, 0, tuple(_LaneItem(s, q, f, None) for s, q, f in lanes))

    ahead = [item((0, 0, 0)), item((0, 1, 0), (1, 0, 1)), item((0, 2, 0), (1, SMALL, 1)), item((0, 3, 0), (1, 1, 1)),
             item((0, LOST, 0)), item((0, 4, 2))]
    assert warm_seqs(ahead) == [(0, [0, 1, 2, 3]), (1, [0])]  # slot 1's run ends where its face is too small
    assert warm_seqs([item((0, 5, 0)), item((0, 6, 3))]) == [(0, [5])]  # another face took the slot: its run ends
