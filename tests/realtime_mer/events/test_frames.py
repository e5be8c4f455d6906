"""``--frames-csv``: one streamed row per frame, OpenFace-like columns, landmarks in image pixels behind a flag."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from realtime_mer.app.run_state import RunRecord
from realtime_mer.app.timeline import read_trace
from realtime_mer.events.frames import (
    BASE_COLUMNS,
    LANDMARK_COLUMNS,
    NO_FACE_ROW,
    SPOTTER_STATES,
    FaceRow,
    FaceSample,
    FramesWriter,
    columns,
)
from realtime_mer.face.geometry import apply, template
from tests.realtime_mer.app.cli.helpers import assert_one_line_error, cli


def _sample(keyframe: bool = True) -> tuple[FaceSample, np.ndarray]:
    """A face whose image landmarks are known: the template placed by a known image -> crop similarity."""
    crop = template(128).astype(np.float32)
    a, b = 0.4 * np.cos(0.1), 0.4 * np.sin(0.1)
    m = np.array([[a, -b, -90.0], [b, a, -60.0]])  # image -> crop
    image_pts = apply(np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2], crop)
    return FaceSample(m.astype(np.float32), crop, 640, 480, keyframe), image_pts


def _row(w: FramesWriter, frame: int, time_s: float, face: FaceSample | None, signal: float, threshold: float,
         state: str) -> None:
    """One face (face_id 0, slot 0) on one frame: what the pipeline passes with --max-faces 1."""
    w.rows(frame, time_s, [FaceRow(0, 0, face, signal, threshold, state)])


# what the writer wrote before several faces were followed (the same rows as below): --max-faces 1 keeps it byte for byte
OLD_HEADER = ("frame,timestamp_s,face_id,success,confidence,keyframe,pose_Rx,pose_Ry,pose_Rz,signal,threshold,"
              "spotter_state,model_intensity\n")
OLD_ROWS = ("0,0.000000,0,1,1.0,1,0.04242,0.14847,-0.09790,1.25,5,calibrating,{0}\n"
            "1,0.005000,0,0,0.0,0,,,,,,no_face,\n"
            "2,0.010000,0,1,1.0,0,0.04242,0.14847,-0.09790,7.5,5,watching,{1}\n"
            "3,0.015000,0,1,1.0,1,0.04242,0.14847,-0.09790,12.346,5,blind,\n")


def test_one_face_is_byte_identical_to_the_format_before_faces_were_counted(tmp_path: Path) -> None:
    face, _ = _sample()
    for hold, cells in ((0, ("", "")), (3, ("0.2500", "0.5000"))):
        path = tmp_path / f"f{hold}.csv"
        w = FramesWriter(path)
        if hold:
            w.hold_for_intensity(hold)
        _row(w, 0, 0.0, face, 1.25, 5.0, "calibrating")
        _row(w, 1, 0.005, None, float("nan"), float("nan"), "no_face")
        if hold:
            w.intensity([0, 2], [0.25, 0.5])  # face 0's, as before the face_id argument
        _row(w, 2, 0.010, face._replace(keyframe=False), 7.5, 5.0, "watching")
        _row(w, 3, 0.015, face, 12.345678, 5.0, "blind")
        w.close()
        assert path.read_text() == OLD_HEADER + OLD_ROWS.format(*cells)


def test_several_faces_one_row_each_and_an_empty_face_id_without_any(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    face, _ = _sample()
    with FramesWriter(path, landmarks=True) as w:
        w.rows(0, 0.0, [FaceRow(0, 0, face, 1.0, 5.0, "watching"), FaceRow(1, 1, face, 2.0, 6.0, "calibrating")])
        w.rows(1, 0.005, [NO_FACE_ROW])
        w.rows(2, 0.010, [FaceRow(2, 0, face, float("nan"), float("nan"), "small"), FaceRow(1, 1, face, 3.0, 6.0, "blind")])
        assert w.n_rows == 5
    text = path.read_text().splitlines()
    assert text[2].startswith("0,0.000000,1,1,1.0,1,") and text[3].startswith("1,0.005000,,0,0.0,0,,,,,,no_face,")
    d = pd.read_csv(path)
    assert d["frame"].tolist() == [0, 0, 1, 2, 2]
    assert d["face_id"].tolist()[:2] == [0, 1] and np.isnan(d.loc[2, "face_id"]) and d["face_id"].tolist()[3:] == [2, 1]
    assert d["spotter_state"].tolist() == ["watching", "calibrating", "no_face", "small", "blind"]
    assert d["signal"].tolist()[:2] == [1.0, 2.0] and d["signal"].tolist()[4] == 3.0
    assert d["success"].tolist() == [1, 1, 0, 1, 1]
    small = d.iloc[3]  # a face too small to spot: the face's pose and landmarks, no signal
    assert np.isnan(small["signal"]) and np.isnan(small["threshold"]) and np.isfinite(small[["pose_Rx", "x_0"]].astype(float)).all()
    assert set(d["spotter_state"]) <= set(SPOTTER_STATES)


def test_held_rows_get_their_own_faces_intensity(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    face, _ = _sample()
    w = FramesWriter(path)
    w.hold_for_intensity(6)
    for i in range(3):
        w.rows(i, i / 100, [FaceRow(3, 0, face, 1.0, 5.0, "watching"), FaceRow(5, 1, face, 1.0, 5.0, "watching")])
    w.rows(3, 0.03, [NO_FACE_ROW])
    assert w.held == 7
    w.intensity([0, 1, 2], [0.1, 0.2, 0.3], face_id=3)  # face 3's values come first: its rows may not leave alone
    w.rows(4, 0.04, [FaceRow(3, 0, face, 1.0, 5.0, "watching"), FaceRow(5, 1, face, 1.0, 5.0, "watching")])
    assert w.held == 8  # face 3's frame-0 row left; face 5's waits for face 5's value, and everything behind it (order kept)
    w.intensity([0, 1], [0.6, 0.7], face_id=5)
    w.intensity([4], [0.9], face_id=7)  # a face with no rows: nothing takes it
    w.rows(5, 0.05, [FaceRow(5, 1, face, 1.0, 5.0, "watching")])
    assert w.held == 5  # up to face 3's frame-2 row; face 5's frame-2 row waits, the no-face frame 3 behind it
    w.close()
    d = pd.read_csv(path)
    assert d["frame"].tolist() == [0, 0, 1, 1, 2, 2, 3, 4, 4, 5]
    got = dict(zip(zip(d["frame"], d["face_id"].fillna(-1).astype(int), strict=True), d["model_intensity"], strict=True))
    assert got[(0, 3)] == 0.1 and got[(0, 5)] == 0.6 and got[(1, 3)] == 0.2 and got[(1, 5)] == 0.7 and got[(2, 3)] == 0.3
    assert np.isnan(got[(2, 5)]) and np.isnan(got[(3, -1)]) and np.isnan(got[(4, 3)]) and np.isnan(got[(5, 5)])


def test_held_rows_wait_at_most_hold_frames_with_several_faces(tmp_path: Path) -> None:
    face, _ = _sample()
    w = FramesWriter(tmp_path / "f.csv")
    w.hold_for_intensity(3)
    for i in range(10):  # no intensity ever: at most 3 frames (6 rows of two faces) wait
        w.rows(i, i / 100, [FaceRow(0, 0, face, 1.0, 5.0, "watching"), FaceRow(1, 1, face, 1.0, 5.0, "watching")])
        assert w.held <= 6
    assert w.held == 6
    w.close()
    assert len(pd.read_csv(tmp_path / "f.csv")) == 20


def test_rows_columns_and_landmarks_in_image_pixels(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    face, image_pts = _sample()
    with FramesWriter(path, landmarks=True) as w:
        _row(w, 0, 0.0, face, 1.25, 5.0, "calibrating")
        _row(w, 1, 0.005, None, float("nan"), float("nan"), "no_face")
        _row(w, 2, 0.010, face._replace(keyframe=False), 7.5, 5.0, "watching")
    d = pd.read_csv(path)
    assert tuple(d.columns) == columns(True) == BASE_COLUMNS + LANDMARK_COLUMNS
    assert LANDMARK_COLUMNS[0] == "x_0" and LANDMARK_COLUMNS[-1] == "y_467"
    assert d["frame"].tolist() == [0, 1, 2] and d["success"].tolist() == [1, 0, 1] and d["keyframe"].tolist() == [1, 0, 0]
    assert d["spotter_state"].tolist() == ["calibrating", "no_face", "watching"]
    assert d["confidence"].tolist() == [1.0, 0.0, 1.0]
    np.testing.assert_allclose(d.loc[0, [f"x_{i}" for i in range(468)]].astype(float), image_pts[:, 0], atol=0.006)
    np.testing.assert_allclose(d.loc[2, [f"y_{i}" for i in range(468)]].astype(float), image_pts[:, 1], atol=0.006)
    assert d.loc[1, ["pose_Rx", "signal", "x_0", "y_467"]].isna().all()  # no face: empty cells
    assert d.loc[2, "signal"] == 7.5 and np.isfinite(d.loc[0, ["pose_Rx", "pose_Ry", "pose_Rz"]].astype(float)).all()
    assert set(d["spotter_state"]) <= set(SPOTTER_STATES)


def test_rows_are_streamed_not_buffered(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    face, _ = _sample()
    w = FramesWriter(path, landmarks=True)
    try:
        sizes = []
        for i in range(600):
            _row(w, i, i / 200, face, 1.0, 5.0, "watching")
            if i % 200 == 199:
                sizes.append(path.stat().st_size)
        assert sizes[0] > 0 and sizes[0] < sizes[1] < sizes[2]  # on disk while the run goes on
    finally:
        w.close()
    assert len(pd.read_csv(path)) == 600


def test_held_rows_get_their_frames_model_intensity_in_order(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    face, _ = _sample()
    w = FramesWriter(path, landmarks=True)
    w.hold_for_intensity(5)
    for i in range(4):
        _row(w, i, i / 200, face if i != 2 else None, 1.0, 5.0, "watching" if i != 2 else "no_face")
    assert w.held == 4  # rows wait for their intensity
    w.intensity([0, 1], [0.25, 0.5])  # from the recognition thread: frames 0 and 1 are written at the next row
    _row(w, 4, 0.02, face, 1.0, 5.0, "watching")
    assert w.held == 3
    for i in range(5, 12):  # no intensity arrives: rows wait at most 5 frames, then go out with an empty cell
        _row(w, i, i / 200, face, 1.0, 5.0, "watching")
        assert w.held <= 5
    w.intensity([11, 0], [0.75, 0.9])  # frame 0 is already written: ignored
    w.close()  # the rest go out
    d = pd.read_csv(path)
    assert d["frame"].tolist() == list(range(12))  # order kept whatever arrived when
    got = d["model_intensity"].tolist()
    assert got[:2] == [0.25, 0.5] and got[11] == 0.75 and all(np.isnan(got[2:11]))
    assert d.loc[2, "success"] == 0 and d.loc[3, "x_0"] > 0  # landmarks still in their columns after the new one


def test_without_hold_rows_go_straight_out_with_an_empty_intensity(tmp_path: Path) -> None:
    face, _ = _sample()
    with FramesWriter(tmp_path / "f.csv") as w:
        _row(w, 0, 0.0, face, 1.0, 5.0, "watching")
        w.intensity([0], [0.5])  # not asked to hold: nothing waits for it
    d = pd.read_csv(tmp_path / "f.csv")
    assert tuple(d.columns) == BASE_COLUMNS and np.isnan(d.loc[0, "model_intensity"])


def test_run_record_feeds_frame_sinks_like_the_trace(tmp_path: Path) -> None:
    face, _ = _sample()
    rec = RunRecord(tmp_path / "t.trace.csv", [FramesWriter(tmp_path / "f.csv")])
    rec.trace(0, 0.0, 1.0, 5.0, calibrating=True, blind=True)
    rec.rows(0, 0.0, [FaceRow(0, 0, face, 1.0, 5.0, "calibrating")])
    rec.trace_no_face(1, 0.005)
    rec.trace(2, 0.01, 6.0, 5.0, calibrating=False, blind=True)
    rec.rows(2, 0.01, [FaceRow(0, 0, face, 6.0, 5.0, "blind")])
    rec.close_trace()
    d = pd.read_csv(tmp_path / "f.csv")
    assert d["spotter_state"].tolist() == ["calibrating", "no_face", "blind"]
    t = read_trace(tmp_path / "t.trace.csv")
    np.testing.assert_array_equal(t.frame, d["frame"])
    np.testing.assert_allclose(t.signal, d["signal"])


def test_cli_frames_csv_matches_the_run(tmp_path: Path) -> None:
    out = tmp_path / "frames.csv"
    proc = cli("--demo", "--demo-seconds", "2", "--no-ui", "--quiet", "--frames-csv", str(out), "--frames-csv-landmarks",
               "--timeline", str(tmp_path / "t.png"), "--stats", str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stderr
    d = pd.read_csv(out)
    stats = json.loads((tmp_path / "s.json").read_text())
    assert len(d) == stats["frames_processed"] == 400
    assert d["success"].sum() == stats["frames_with_face"]
    assert (d["timestamp_s"].diff().dropna().round(6) == 0.005).all()  # 200 fps
    assert (d["spotter_state"].iloc[:150] == "calibrating").all()  # the first second is the calibration
    assert (d["spotter_state"] != "no_face").all() and d.loc[:, "x_0":"y_467"].notna().all().all()
    trace = read_trace(tmp_path / "t.trace.csv")  # the same per-frame stream as the --timeline trace
    np.testing.assert_allclose(trace.signal, d["signal"], rtol=1e-4)
    # the demo face barely turns: a few degrees at most, and the landmarks sit inside the 640x480 frame
    assert (d[["pose_Rx", "pose_Ry", "pose_Rz"]].abs() < 0.2).all().all()
    assert d.loc[:, "x_0":"x_467"].to_numpy().min() > 0 and d.loc[:, "y_0":"y_467"].to_numpy().max() < 480


def test_cli_frames_csv_errors(tmp_path: Path) -> None:
    assert_one_line_error(cli("--frames-csv-landmarks", "--no-ui"), "--frames-csv-landmarks", "--frames-csv")
    assert_one_line_error(cli("--frames-csv", str(tmp_path / "x.csv"), "--events", str(tmp_path / "x.csv"), "--no-ui"),
                          "--frames-csv", "--events", "same file")
    assert_one_line_error(cli("--frames-csv", str(tmp_path / "no" / "x.csv"), "--no-ui"), "does not exist")
