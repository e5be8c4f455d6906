"""``--lsl`` end to end: a real pylsl inlet receives every event (JSON, at its onset in LSL's clock) and the signal."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl", reason="pylsl (the [lsl] extra) is not installed")

from realtime_mer.app.outputs import attach_lsl  # noqa: E402
from realtime_mer.app.pipeline import Pipeline  # noqa: E402
from realtime_mer.capture import open_source  # noqa: E402
from realtime_mer.config import PipelineConfig  # noqa: E402
from realtime_mer.events import open_sinks  # noqa: E402
from realtime_mer.events.frames import NO_FACE_ROW, FaceRow  # noqa: E402
from realtime_mer.events.lsl import (  # noqa: E402
    MARKER_TYPE,
    SIGNAL_CHANNELS,
    SIGNAL_TYPE,
    LslOutlets,
    signal_channels,
    signal_sample,
)
from realtime_mer.types import Event  # noqa: E402


@pytest.fixture(scope="module")
def lsl_discovery() -> None:
    """Skip (not fail) where LSL cannot discover a stream on this machine at all: a CI runner or container
    without local networking. A stream published here and not found in 5 s means discovery is unavailable."""
    info = pylsl.StreamInfo("realtime-mer-probe", "probe", 1, 0, pylsl.cf_float32, f"probe-{time.monotonic_ns()}")
    outlet = pylsl.StreamOutlet(info)
    try:
        if not pylsl.resolve_byprop("source_id", info.source_id(), timeout=5.0):
            pytest.skip("LSL stream discovery does not work here (no local networking for liblsl); --lsl is untested")
    finally:
        del outlet


def _inlet(outlet: object) -> object:
    """An inlet on exactly this outlet (other runs on the machine may publish streams of the same name)."""
    uid = outlet.get_info().uid()  # type: ignore[attr-defined]
    for _ in range(20):
        found = [s for s in pylsl.resolve_byprop("source_id", outlet.get_info().source_id(), timeout=1.0)  # type: ignore[attr-defined]
                 if s.uid() == uid]
        if found:
            inlet = pylsl.StreamInlet(found[0], max_buflen=60)
            inlet.open_stream(timeout=10.0)
            return inlet
    raise AssertionError("the outlet was not found on this machine")


def _drain(inlet: object, n_channels: int, quiet_s: float = 1.0) -> tuple[list, list[float]]:
    samples, stamps = [], []
    last = time.monotonic()
    while time.monotonic() - last < quiet_s:
        s, ts = inlet.pull_sample(timeout=0.2)  # type: ignore[attr-defined]
        if s is not None:
            assert len(s) == n_channels
            samples.append(s)
            stamps.append(ts)
            last = time.monotonic()
    return samples, stamps


def test_markers_and_signal_reach_a_real_inlet(tmp_path: Path, lsl_discovery: None) -> None:
    cfg = PipelineConfig()
    cfg.source.demo_seconds = 3.0
    cfg.face.max_faces = 1  # one face: the two-channel stream
    cfg.output.ui, cfg.output.lsl = False, True
    events_path = tmp_path / "e.jsonl"
    pipe = Pipeline(cfg, open_source(cfg.source))
    pipe.prepare()
    pipe.sinks = open_sinks(events_path, None)
    attach_lsl(pipe, cfg.output)
    lsl = pipe.sinks[-1]
    assert isinstance(lsl, LslOutlets) and lsl in pipe.record.frame_sinks
    markers, signal = _inlet(lsl._markers), _inlet(lsl._signal)
    info = signal.info()  # type: ignore[attr-defined]
    assert markers.info().type() == MARKER_TYPE and info.type() == SIGNAL_TYPE  # type: ignore[attr-defined]
    assert info.nominal_srate() == 200.0 and info.channel_count() == len(SIGNAL_CHANNELS)
    ch = info.desc().child("channels").child("channel")
    assert ch.child_value("label") == "signal"

    start_lsl = pylsl.local_clock()
    summary = pipe.run()
    # the outlets are withdrawn at the end, but what they sent is in the inlets' buffers
    got, got_ts = _drain(markers, 1)
    sig, sig_ts = _drain(signal, 2)

    events = [json.loads(line) for line in events_path.read_text().splitlines()]
    assert events, "the demo should yield at least one event"
    assert [json.loads(s[0]) for s in got] == events  # every event, in order, as the log has it (face_id included)
    assert all(e["face_id"] == 0 for e in events)
    origin = pipe.record.origin_grab_ns / 1e9 + lsl._offset
    assert origin >= start_lsl - 0.01
    np.testing.assert_allclose(got_ts, [origin + e["onset_s"] for e in events], atol=1e-6)  # stamped at the onset
    assert len(sig) == summary["frames_processed"] == 600  # one sample per frame
    np.testing.assert_allclose(np.diff(sig_ts), 1 / 200, atol=1e-6)  # the frames' own times, at the camera rate
    assert sig_ts[0] == pytest.approx(origin, abs=1e-6)
    assert np.isfinite(np.asarray(sig, float)).all() and max(s[0] for s in sig) > 0


def test_signal_layout_one_face_and_per_slot() -> None:
    nan = float("nan")
    assert signal_channels(1) == SIGNAL_CHANNELS == ("signal", "threshold")
    assert signal_channels(2) == ("face_id_0", "signal_0", "threshold_0", "face_id_1", "signal_1", "threshold_1")
    assert signal_sample([FaceRow(0, 0, None, 1.5, 4.0, "watching")]) == [1.5, 4.0]
    assert np.isnan(signal_sample([FaceRow(0, 0, None, nan, nan, "no_face")])).all()
    got = signal_sample([FaceRow(4, 1, None, 2.5, 5.0, "watching")], 3)  # face 4 in slot 1; slots 0 and 2 empty
    assert len(got) == 9 and got[3:6] == [4.0, 2.5, 5.0] and np.isnan(got[:3]).all() and np.isnan(got[6:]).all()
    assert np.isnan(signal_sample([NO_FACE_ROW], 2)).all()


def test_several_faces_stream_a_slot_layout_and_markers_carry_face_id(lsl_discovery: None) -> None:
    lsl = LslOutlets("unit-test", 100.0, origin=lambda: time.monotonic_ns() - 10**9, max_faces=2)
    try:
        markers, signal = _inlet(lsl._markers), _inlet(lsl._signal)
        info = signal.info()  # type: ignore[attr-defined]
        assert info.channel_count() == 6 and info.desc().child_value("max_faces") == "2"
        assert "face_id, signal, threshold" in info.desc().child_value("layout")
        ch, labels = info.desc().child("channels").child("channel"), []
        while not ch.empty():
            labels.append((ch.child_value("label"), ch.child_value("slot"), ch.child_value("unit")))
            ch = ch.next_sibling()
        assert labels[:4] == [("face_id_0", "0", "id"), ("signal_0", "0", "noise units"), ("threshold_0", "0", "noise units"),
                              ("face_id_1", "1", "id")]
        lsl.rows(0, 0.0, [FaceRow(0, 0, None, 1.0, 4.0, "watching"), FaceRow(1, 1, None, 2.0, 5.0, "watching")])
        lsl.rows(1, 0.01, [NO_FACE_ROW])
        lsl.rows(2, 0.02, [FaceRow(1, 1, None, 3.0, 5.0, "blind")])  # face 0 gone: slot 0 empty
        ev = Event(type="micro", onset_frame=0, apex_frame=1, offset_frame=2, onset_s=0.0, apex_s=0.01, offset_s=0.02,
                   duration_ms=20.0, wall_time="", label="positive", face_id=1)
        lsl.write(ev)
        sig, _ = _drain(signal, 6)
        got, _ = _drain(markers, 1)
    finally:
        lsl.close()
    assert sig[0] == [0.0, 1.0, 4.0, 1.0, 2.0, 5.0] and np.isnan(sig[1]).all()
    assert np.isnan(sig[2][:3]).all() and sig[2][3:] == [1.0, 3.0, 5.0]
    assert [json.loads(s[0])["face_id"] for s in got] == [1]


def test_missing_pylsl_is_one_line_naming_the_extra(tmp_path: Path) -> None:
    (tmp_path / "pylsl").mkdir()
    (tmp_path / "pylsl" / "__init__.py").write_text("raise ImportError('No module named pylsl')\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from realtime_mer.app.cli import main; "
            "sys.exit(main(['--demo', '--demo-seconds', '1', '--no-ui', '--lsl']))")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[3])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--lsl needs pylsl" in lines[0] and "realtime-mer[lsl]" in lines[0], proc.stderr
