"""The overlay drawn into fixed-size consoles: what must be readable on 80x24 and up."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from realtime_mer.app.overlay import GRAPH_SECONDS, bin_signal, render
from realtime_mer.app.run_state import RunRecord
from realtime_mer.app.stats import RateMeter
from realtime_mer.types import Event

LABELS = ("negative", "positive", "surprise")


def _record(n_events: int, *, face: bool = True, calibrating: bool = False, warnings: int = 1, frames: int = 1200) -> RunRecord:
    rec = RunRecord()
    rec.describe(source="camera 0 (a rather long device description, 640x480 MJPG)", fps_requested=200.0, fps_granted=187.5,
                 total_frames=None, warnings=[f"warning number {i} about something long enough to need truncating" for i in range(warnings)],
                 model="apexflow", backend="onnxruntime-cpu", backend_reason="onnxruntime-cpu (no GPU)", classes=LABELS,
                 spotter="roiflow")
    rec.begin()
    for i in range(frames):
        rec.frame(True)
        rec.latency.add("face", 1.5)
        rec.latency.add("total", 2.5)
        rec.trace(i, i / 200.0, 2.0 + (9.0 if 1100 < i < 1110 else 0.0), 6.0, calibrating, calibrating)
    if not face:
        rec.frame(False)
        rec.trace_no_face(frames, frames / 200.0)
    for k in range(n_events):
        rec.event(Event("micro", 10 * k, 10 * k + 4, 10 * k + 8, 0.05 * k, 0.05 * k + 0.02, 0.05 * k + 0.04, 40.0 + k,
                        "2026-01-01T00:00:00.000Z", LABELS[k % 3], {lab: (0.8 if lab == LABELS[k % 3] else 0.1) for lab in LABELS},
                        6.0), timed=True)
    return rec


def _draw(rec: RunRecord, width: int, height: int) -> list[str]:
    con = Console(width=width, height=height, record=True, force_terminal=True, color_system="truecolor")
    con.print(render(rec))
    return con.export_text().rstrip("\n").splitlines()


@pytest.mark.parametrize(("width", "height"), [(80, 24), (100, 30), (160, 48)])
@pytest.mark.parametrize("n_events", [0, 1, 12])
def test_fits_and_shows_rates_state_graph_and_latest_event(width: int, height: int, n_events: int) -> None:
    rec = _record(n_events)
    lines = _draw(rec, width, height)
    text = "\n".join(lines)
    assert len(lines) <= height - 1 and all(len(line) <= width for line in lines)
    assert "requested 200" in text and "camera 187.5" in text and "processing" in text
    assert "WATCHING" in text
    assert "-4s" in text and "-2s" in text and "now" in text  # a time scale over >= 2 s
    if n_events:
        latest = rec.state.events[-1]
        row = next(line for line in lines if f"{latest.apex_s:.2f} s" in line)
        assert latest.label in row and "micro" in row
        assert f"events ({n_events})" in text
    else:
        assert "none yet" in text


def test_the_latest_event_stays_on_a_tiny_terminal() -> None:
    rec = _record(12, warnings=3)
    lines = _draw(rec, 80, 10)
    assert len(lines) <= 9
    latest = rec.state.events[-1]
    assert any(f"{latest.apex_s:.2f} s" in line and latest.label in line for line in lines)
    assert any("requested 200" in line for line in lines)


@pytest.mark.parametrize(("face", "calibrating", "shown"), [(False, False, "FACE LOST"), (True, True, "CALIBRATING")])
def test_spotter_state_is_named(face: bool, calibrating: bool, shown: str) -> None:
    assert shown in "\n".join(_draw(_record(1, face=face, calibrating=calibrating), 80, 24))


def test_a_wide_terminal_shows_more_of_each_event() -> None:
    rec = _record(3)
    assert any("frames 20-24-28" in line for line in _draw(rec, 140, 40))
    assert not any("frames 20-24-28" in line for line in _draw(rec, 80, 24))


def test_graph_bins_keep_short_peaks_and_span_the_window() -> None:
    t = np.arange(0, 10, 0.005)  # 200 fps, 10 s
    sig = np.zeros_like(t)
    sig[1900] = 9.0  # one 5 ms peak 0.5 s before the end
    s, th = bin_signal(t, sig, np.full_like(t, 5.0), cells=40, window_s=GRAPH_SECONDS)
    assert np.nanmax(s) == 9.0  # never averaged away
    assert int(np.nanargmax(s)) == int((t[1900] - (t[-1] - GRAPH_SECONDS)) / GRAPH_SECONDS * 40)
    assert np.isfinite(s).all() and (th == 5.0).all()


# ---- issue 23: column headers, the threshold always in view, a tall terminal's rows used, the rate label ----------


def test_a_40_row_terminal_uses_its_rows_for_events_under_column_headers() -> None:
    rec = _record(30)
    lines = _draw(rec, 80, 40)
    assert len(lines) == 39  # every row but the cursor's
    header = next(i for i, line in enumerate(lines) if "apex" in line and "type" in line and "label" in line)
    assert "conf" in lines[header] and "duration" in lines[header]
    rows = [line for line in lines[header + 1:] if " s  micro" in line]
    assert len(rows) > 8  # more than the 8 the run state used to keep
    assert lines[header].index("label") == rows[0].index(rec.state.events[-1].label)  # the header sits over its column
    wide = _draw(rec, 140, 40)
    assert any("onset-apex-offset" in line for line in wide)


@pytest.mark.parametrize(("base", "peak"), [(4.0, 100.0), (4.5, 12.0), (1.0, 3.0)])
def test_the_threshold_line_stays_on_screen_whatever_the_peak(base: float, peak: float) -> None:
    rec = RunRecord()
    rec.describe(source="demo", fps_requested=200.0, fps_granted=200.0, total_frames=4000, warnings=[], model="apexflow",
                 backend="cpu", backend_reason="cpu", classes=LABELS, spotter="roiflow")
    rec.begin()
    for i in range(1200):
        rec.frame(True)
        rec.trace(i, i / 200.0, base + (peak if 1100 < i < 1110 else 0.0), 5.0, False, False)
    lines = _draw(rec, 80, 24)
    (thr_line,) = [line for line in lines if line.startswith("  5.0┤")]  # the threshold's value on its row
    assert thr_line.count("─") > 60  # a line across the graph, broken only where the signal is above it
    graph = lines[lines.index(thr_line) + 1: next(i for i, line in enumerate(lines) if "└" in line)]
    assert any(ch in "▁▂▃▄▅▆▇█" for line in graph for ch in line)  # the signal below the threshold is drawn under it


def test_the_processing_rate_label_is_not_about_files_only() -> None:
    rec = _record(0)
    rec.state.total_frames = 4000  # a file or the demo: processed faster than its rate
    rec.state.fps_granted = 200.0
    rec.rate = RateMeter()
    rec.rate.tick(0)
    rec.rate.tick(1_000_000)  # 1000 fps
    text = "\n".join(_draw(rec, 120, 24))
    assert "(not paced: faster than real time)" in text and "a file" not in text


def _faces_record(faces: dict[int, tuple[int, int]], n_events: int = 3) -> RunRecord:
    """Several faces: face id -> (first frame, last frame) it is seen in a 1200-frame run at 200 fps."""
    rec = RunRecord()
    rec.describe(source="group.mp4", fps_requested=200.0, fps_granted=200.0, total_frames=1200, warnings=[], model="apexflow",
                 backend="onnxruntime-cpu", backend_reason="", classes=LABELS, spotter="hybrid", max_faces=4)
    rec.begin()
    for i in range(1200):
        here = [fid for fid, (a, b) in faces.items() if a <= i <= b]
        rec.frame(bool(here), i, i / 200.0, None, len(faces), n_faces=len(here))
        for slot, fid in enumerate(here):
            rec.trace(i, i / 200.0, 2.0 + (9.0 if fid == 1 and 1100 < i < 1110 else 0.0), 6.0, False, False,
                      face_id=fid, slot=slot)
    for k in range(n_events):
        rec.event(Event("micro", 10 * k, 10 * k + 4, 10 * k + 8, 0.05 * k, 0.05 * k + 0.02, 0.05 * k + 0.04, 40.0,
                        "2026-01-01T00:00:00.000Z", "negative", {"negative": 0.8}, 6.0, face_id=k % 2), timed=False)
    return rec


def test_several_faces_get_a_line_and_a_graph_each_and_80x24_shows_the_two_seen_last() -> None:
    rec = _faces_record({0: (0, 1199), 1: (0, 1199), 2: (0, 500), 3: (300, 1199)})
    lines = _draw(rec, 80, 24)
    text = "\n".join(lines)
    assert len(lines) <= 23 and all(len(line) <= 80 for line in lines)
    assert "face 0 WATCHING" in text and "face 1 WATCHING" in text  # two of the three in view: the lowest ids on ties
    assert "face 2" not in text.split("events (")[0]  # out of view since 2.5 s: not among the two shown
    assert "2 more face(s) not shown" in text and "faces 3 followed now (up to 4)" in text
    assert text.count("┤") == 2 and text.count("└") == 1  # a graph each (its threshold row), one time axis below them
    assert "face 1 " in text.split("events (")[1]  # event rows name their face
    tall = "\n".join(_draw(rec, 100, 48))
    assert all(f"face {k} " in tall.split("events (")[0] for k in range(4))  # a tall terminal shows every face
    assert "out of view" in tall  # face 2 left 3.5 s ago


def test_one_face_overlay_has_no_face_lines() -> None:
    text = "\n".join(_draw(_record(2), 80, 24))
    assert "face 0 WATCHING" not in text and "signal (noise units)" in text
