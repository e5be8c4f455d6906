"""The timeline picture: detected intervals (coloured by label, where their frames are), truths, the trace."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from realtime_mer.app.timeline import Trace, plot, read_trace, write_trace
from realtime_mer.types import Interval

# matplotlib's tab: colours over white at the alphas ``plot`` uses, as BGR
SIGNAL = (180, 119, 31)  # tab:blue line, opaque
MICRO_POSITIVE = (202, 231, 202)  # tab:green span, alpha 0.25
MACRO_NEGATIVE = (229, 229, 250)  # tab:red span, alpha 0.12
TRUTH = (215, 164, 191)  # tab:purple strip, alpha 0.6
BLIND = (230, 230, 230)  # grey 0.55, alpha 0.22
FACE_LOST = (223, 223, 249)  # tab:red, alpha 0.15


def columns(img: np.ndarray, bgr: tuple[int, int, int], tol: int = 6, min_pixels: int = 5) -> np.ndarray:
    """x positions of the columns holding at least ``min_pixels`` pixels of colour ``bgr``."""
    near = (np.abs(img.astype(int) - bgr) <= tol).all(axis=2)
    return np.flatnonzero(near.sum(axis=0) >= min_pixels)


def _trace(n: int, signal: np.ndarray, threshold: float = 4.0, face: np.ndarray | None = None,
           blind: np.ndarray | None = None) -> Trace:
    f = np.arange(n)
    return Trace(f, f / 200.0, np.ones(n, bool) if face is None else face, signal, np.full(n, threshold),
                 np.zeros(n, bool) if blind is None else blind)


def test_trace_roundtrip(tmp_path: Path) -> None:
    face = np.arange(100) % 17 != 5
    tr = _trace(100, np.sin(np.arange(100) / 10.0) ** 2, 0.8, face=face, blind=np.arange(100) < 20)
    write_trace(tmp_path / "t.csv", tr)
    back = read_trace(tmp_path / "t.csv")
    assert np.array_equal(back.frame, tr.frame) and np.allclose(back.time_s, tr.time_s)
    assert np.array_equal(back.face, face) and np.array_equal(back.blind, tr.blind)
    assert np.allclose(back.signal[face], tr.signal[face], atol=1e-4) and np.isnan(back.signal[~face]).all()
    write_trace(tmp_path / "empty.csv", Trace.empty())
    assert len(read_trace(tmp_path / "empty.csv")) == 0


def test_spans_are_drawn_over_their_frames_in_their_colours(tmp_path: Path) -> None:
    n = 200
    sig = 1.0 + np.sin(np.arange(n) / 10.0) ** 2
    detected = [(Interval(20, 30, 40, "micro"), "positive"), (Interval(120, 140, 160, "macro"), "negative")]
    out = plot(tmp_path / "t.png", _trace(n, sig), detected, [Interval(100, 105, 110, "micro")])
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    blue = columns(img[img.shape[0] // 2 :], SIGNAL, tol=20, min_pixels=1)  # below the legend (outside, top right)
    x0, x1 = blue.min(), blue.max()  # the signal runs from frame 0 to frame 199 (0 to 0.995 s)

    def frame(x: np.ndarray) -> np.ndarray:
        return (x - x0) * 199.0 / (x1 - x0)

    inside = img[img.shape[0] // 2 :, : x1 + 5]  # the lower half of the axes (the legend is outside, right)
    for bgr, (lo, hi) in ((MICRO_POSITIVE, (20, 41)), (MACRO_NEGATIVE, (120, 161)), (TRUTH, (100, 111))):
        fr = frame(columns(inside, bgr))
        assert len(fr), f"colour {bgr} not drawn"
        assert abs(fr.min() - lo) <= 2 and abs(fr.max() - hi) <= 2, (bgr, fr.min(), fr.max())

    # without detections nor truths: none of those colours inside the axes
    empty = cv2.imread(str(plot(tmp_path / "e.png", _trace(n, sig), [], [])), cv2.IMREAD_COLOR)
    for bgr in (MICRO_POSITIVE, MACRO_NEGATIVE, TRUTH):
        assert not len(columns(empty[empty.shape[0] // 2 :, : x1 + 5], bgr)), bgr


def test_blind_and_face_lost_stretches_are_shaded_where_they_are(tmp_path: Path) -> None:
    n = 400
    face = np.ones(n, bool)
    face[300:340] = False  # face lost
    blind = np.arange(n) < 100  # calibrating
    blind |= (np.arange(n) >= 200) & (np.arange(n) < 240)  # busy
    sig = np.where(face, 1.0, np.nan)
    out = plot(tmp_path / "b.png", _trace(n, sig, face=face, blind=blind | ~face), [], [])
    img = cv2.imread(str(out), cv2.IMREAD_COLOR)
    blue = columns(img[img.shape[0] // 2 :], SIGNAL, tol=20, min_pixels=1)  # below the legend (outside, top right)
    x0, x1 = blue.min(), blue.max()  # frames 0..399 (the gap at 300..339 has no line)

    def frame(x: np.ndarray) -> np.ndarray:
        return (x - x0) * 399.0 / (x1 - x0)

    inside = img[img.shape[0] // 2 :, x0 - 5 : x1 + 5]  # the axes only (not the y label, not the legend)
    grey = frame(x0 - 5 + columns(inside, BLIND, tol=3, min_pixels=80))
    red = frame(x0 - 5 + columns(inside, FACE_LOST, tol=3, min_pixels=80))
    assert len(grey) and len(red)
    assert grey.min() < 3 and grey.max() > 238 and all(-2 <= g <= 102 or 198 <= g <= 242 for g in grey), grey
    assert abs(red.min() - 300) <= 3 and abs(red.max() - 340) <= 3, (red.min(), red.max())


def test_a_model_intensity_is_drawn_over_its_frames(tmp_path: Path) -> None:
    from realtime_mer.app.timeline import intensity_path, read_intensity, read_intensity_sources

    csv = intensity_path(tmp_path / "run.trace.csv")
    assert csv.name == "run.intensity.csv" and read_intensity(csv) is None and read_intensity_sources(csv) == {}
    csv.write_text("frame,intensity\n60.00,0.2000\n80.00,0.5000\n100.00,0.9000\n")  # an older file: no source column
    frames, values = read_intensity(csv)  # type: ignore[misc]
    assert frames.tolist() == [60, 80, 100] and values.tolist() == [0.2, 0.5, 0.9]
    assert list(read_intensity_sources(csv)) == ["event"]
    n = 200
    img = cv2.imread(str(plot(tmp_path / "i.png", _trace(n, np.ones(n)), [], [], intensity=(frames, values))))
    red, orange = (40, 39, 214), (14, 127, 255)  # tab:red event markers, tab:orange window trace, as BGR
    plain = cv2.imread(str(plot(tmp_path / "p.png", _trace(n, np.ones(n)), [], [])))
    assert len(columns(img, red, tol=30, min_pixels=2)) > len(columns(plain, red, tol=30, min_pixels=2))
    # the continuous trace (source "window"): a line over every frame it covers
    rows = "".join(f"{f}.00,{0.5 + 0.4 * np.sin(f / 9):.4f},window\n" for f in range(20, 180))
    csv.write_text("frame,intensity,source\n" + rows + "60.00,0.2000,event\n")
    got = read_intensity_sources(csv)
    assert len(got["window"][0]) == 160 and got["event"][0].tolist() == [60.0]
    trace = cv2.imread(str(plot(tmp_path / "w.png", _trace(n, np.ones(n)), [], [], intensity_trace=got["window"])))
    cols = columns(trace, orange, tol=40, min_pixels=1)
    assert len(cols) > 3 * len(columns(plain, orange, tol=40, min_pixels=1)) + 100  # spans most of the x axis


def test_a_trace_written_before_face_id_reads_as_face_0(tmp_path: Path) -> None:
    from realtime_mer.app.timeline import OLD_TRACE_COLUMNS, TRACE_COLUMNS

    assert TRACE_COLUMNS == (*OLD_TRACE_COLUMNS, "face_id")
    old = tmp_path / "old.trace.csv"
    old.write_text("frame,time_s,face,signal,threshold,blind\n0,0.000000,1,1.5,4,1\n1,0.005000,0,nan,nan,1\n")
    tr = read_trace(old)
    assert tr.frame.tolist() == [0, 1] and tr.face.tolist() == [True, False] and tr.ids.tolist() == [0, 0]
    assert tr.faces() == [0] and tr.for_face(0) is tr
    write_trace(tmp_path / "new.csv", tr)
    assert (tmp_path / "new.csv").read_text().splitlines() == [
        "frame,time_s,face,signal,threshold,blind,face_id", "0,0.000000,1,1.5,4,1,0", "1,0.005000,0,nan,nan,1,0"]


def test_several_faces_round_trip_and_split_per_face(tmp_path: Path) -> None:
    from realtime_mer.app.timeline import TraceWriter

    path = tmp_path / "t.trace.csv"
    with TraceWriter(path) as w:  # face 0 on frames 0..5 but 3; face 1 joins at 2; frame 3 has no face at all
        for f in range(6):
            if f == 3:
                w.row(f, f / 10, False, float("nan"), float("nan"), True, face_id=-1)
                continue
            w.row(f, f / 10, True, 1.0 + f, 4.0, f == 0, face_id=0)
            if f >= 2:
                w.row(f, f / 10, True, 10.0 + f, 5.0, False, face_id=1)
    tr = read_trace(path)
    assert len(tr) == 9 and tr.faces() == [0, 1] and tr.ids.tolist() == [0, 0, 0, 1, -1, 0, 1, 0, 1]
    zero, one = tr.for_face(0), tr.for_face(1)
    assert zero.frame.tolist() == [0, 1, 2, 3, 4, 5] and zero.face.tolist() == [True, True, True, False, True, True]
    assert zero.signal[[0, 4]].tolist() == [1.0, 5.0] and np.isnan(zero.signal[3]) and zero.blind.tolist()[:2] == [True, False]
    assert one.frame.tolist() == [2, 3, 4, 5] and one.face.tolist() == [True, False, True, True]  # from its first frame
    assert one.signal[[0, 2, 3]].tolist() == [12.0, 14.0, 15.0] and one.threshold[0] == 5.0
    np.testing.assert_allclose(one.time_s, [0.2, 0.3, 0.4, 0.5])
    assert len(tr.for_face(7)) == 0


def test_one_panel_per_face_with_that_faces_events(tmp_path: Path) -> None:
    n = 200
    f = np.arange(n)
    frame = np.concatenate([f, f[100:]])
    order = np.argsort(frame, kind="stable")
    ids = np.concatenate([np.zeros(n, np.int64), np.ones(n - 100, np.int64)])
    sig = np.concatenate([np.full(n, 1.0), np.full(n - 100, 2.0)])
    tr = Trace(frame[order], frame[order] / 200.0, np.ones(len(frame), bool), sig[order], np.full(len(frame), 4.0),
               np.zeros(len(frame), bool), ids[order])
    detected = [(Interval(20, 30, 40, "micro"), "positive"), (Interval(150, 160, 170, "micro"), "positive")]
    img = cv2.imread(str(plot(tmp_path / "two.png", tr, detected, [], detected_faces=[0, 1])), cv2.IMREAD_COLOR)
    one = cv2.imread(str(plot(tmp_path / "one.png", _trace(n, np.ones(n)), detected[:1], [])), cv2.IMREAD_COLOR)
    assert img.shape[0] > 1.4 * one.shape[0]  # two panels, one above the other
    rows = np.flatnonzero((np.abs(img.astype(int) - MICRO_POSITIVE) <= 6).all(axis=2).sum(axis=1) >= 5)
    top, bottom = rows[rows < img.shape[0] // 2], rows[rows >= img.shape[0] // 2]
    assert len(top) and len(bottom)  # each face's event in its own panel
    green = (np.abs(img.astype(int) - MICRO_POSITIVE) <= 6).all(axis=2)[:, : int(0.85 * img.shape[1])]  # not the legends
    x_top = np.flatnonzero(green[top].sum(axis=0) >= 5)
    x_bottom = np.flatnonzero(green[bottom].sum(axis=0) >= 5)
    assert x_top.max() < x_bottom.min()  # face 0's event (frames 20..40) left of face 1's (150..170)
    # a face's panel starts at its first frame: face 1, there from frame 100 on, is never shaded as lost
    red = (np.abs(img.astype(int) - FACE_LOST) <= 3).all(axis=2)
    assert red.sum() < 50


def test_plot_timeline_draws_each_faces_intensity_and_events(tmp_path: Path) -> None:
    from realtime_mer.app.timeline import TraceWriter, intensity_path, plot_timeline, read_intensity_faces
    from realtime_mer.types import Event

    trace = tmp_path / "run.trace.csv"
    with TraceWriter(trace) as w:
        for fr in range(100):
            w.row(fr, fr / 100, True, 1.0, 4.0, False, face_id=0)
            w.row(fr, fr / 100, True, 2.0, 4.0, False, face_id=1)
    intensity_path(trace).write_text("frame,intensity,source,face_id\n10.00,0.5000,window,0\n11.00,0.6000,window,0\n"
                                     "20.00,0.2000,window,1\n30.00,0.9000,event,1\n")
    got = read_intensity_faces(intensity_path(trace))
    assert list(got) == ["window", "event"] and sorted(got["window"]) == [0, 1] and list(got["event"]) == [1]
    assert got["window"][0][0].tolist() == [10.0, 11.0] and got["event"][1][1].tolist() == [0.9]
    ev = Event(type="micro", onset_frame=40, apex_frame=45, offset_frame=50, onset_s=0.4, apex_s=0.45, offset_s=0.5,
               duration_ms=100.0, wall_time="", label="positive", face_id=1)
    out = plot_timeline(trace, [ev], tmp_path / "run.png")
    assert cv2.imread(str(out)).shape[0] > 600  # two panels
    # an older intensity file (no face_id) is face 0's
    intensity_path(trace).write_text("frame,intensity,source\n10.00,0.5000,window\n")
    assert list(read_intensity_faces(intensity_path(trace))["window"]) == [0]
