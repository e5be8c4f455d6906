"""A run's output files, the same for the command line and the Python API: the per-frame writers (``--frames-csv``,
the ``--timeline`` trace) opened before capture, the event logs with their provenance and the LSL outlets once the
pipeline is prepared, and at the end the timeline picture and the ELAN / BIDS exports. Every path was checked
before (``preflight``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from realtime_mer.config import OutputConfig, SourceConfig


def start_trace(out: OutputConfig) -> Path | None:
    """Where the per-frame trace beside ``--timeline`` streams to (None without a timeline)."""
    trace = trace_of(out)
    if trace is None:
        return None
    from realtime_mer.app.timeline import intensity_path

    # a model intensity file is written only by a model with an intensity head: one left by an earlier run (replacing
    # it was allowed) would otherwise be drawn into this run's picture
    intensity_path(trace).unlink(missing_ok=True)
    return trace


def open_frame_sinks(out: OutputConfig) -> list[Any]:
    """The per-frame outputs the settings ask for (opened before capture starts)."""
    sinks: list[Any] = []
    if out.frames_csv is not None:
        from realtime_mer.events.frames import FramesWriter

        sinks.append(FramesWriter(out.frames_csv, landmarks=out.frames_landmarks))
    return sinks


def attach(pipe: Any, out: OutputConfig, extra_sinks: Sequence[Any] = ()) -> None:
    """After ``pipe.prepare()``: the event logs (and their provenance sidecars, written before the first event), any
    ``extra_sinks``, and the LSL outlets."""
    from realtime_mer.events.sidecar import write_sidecar
    from realtime_mer.events.sinks import open_sinks

    pipe.sinks = [*open_sinks(out.events, out.csv, pipe.state.classes), *extra_sinks]
    for path in (out.events, out.csv):
        if path is not None:
            write_sidecar(path, pipe.provenance)
    attach_lsl(pipe, out)


def attach_lsl(pipe: Any, out: OutputConfig) -> None:
    """--lsl: the events and the per-frame signal also go to LSL outlets (after prepare(): the source's rate is known)."""
    if not out.lsl:
        return
    from realtime_mer.events.lsl import LslOutlets

    lsl = LslOutlets(pipe.source.name, pipe.source.fps or 0.0, origin=lambda: pipe.record.origin_grab_ns,
                     max_faces=pipe.cfg.face.max_faces)
    pipe.sinks.append(lsl)
    pipe.record.frame_sinks.append(lsl)


def write_timeline(out: OutputConfig, pipe: Any) -> None:
    """``--timeline``: the picture of the streamed trace and the events (and the demo's injected movements)."""
    trace = trace_of(out)
    if out.timeline is None or trace is None:
        return
    from realtime_mer.app.timeline import plot_timeline

    truth = [t.interval for t in pipe.source.truth]
    plot_timeline(trace, pipe.events, out.timeline, title=pipe.source.name, truth=truth)


def trace_of(out: OutputConfig) -> Path | None:
    """Where the trace of ``--timeline`` is."""
    if out.timeline is None:
        return None
    from realtime_mer.app.timeline import trace_path

    return trace_path(out.timeline)


def write_exports(out: OutputConfig, source: SourceConfig, pipe: Any) -> None:
    """The end-of-run exports (ELAN, BIDS) of every event of the run."""
    if out.eaf is not None:
        from realtime_mer.events.eaf import write_eaf

        write_eaf(pipe.events, out.eaf, media=source.path if source.kind == "video" else None)
    if out.bids is not None:
        from realtime_mer.events.bids import write_bids

        write_bids(pipe.events, out.bids, classes=pipe.state.classes)


__all__ = ["attach", "attach_lsl", "open_frame_sinks", "start_trace", "trace_of", "write_exports", "write_timeline"]
