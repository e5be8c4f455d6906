"""``realtime-mer`` command line: maps arguments onto ``PipelineConfig`` and runs the pipeline."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from realtime_mer import __version__
from realtime_mer.config import (
    BACKENDS,
    FaceConfig,
    ModelConfig,
    OutputConfig,
    PipelineConfig,
    SourceConfig,
    SpotConfig,
    validate,
)
from realtime_mer.errors import (
    EXIT_BAD_INPUT,
    EXIT_INCOMPLETE,
    EXIT_OK,
    MerError,
    OutputError,
    SourceLost,
    command_main,
    fail,
)

PROG = "realtime-mer"


TIMELINE_FORMATS = (".png", ".svg", ".pdf", ".jpg")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Real-time micro-expression spotting and recognition. With no source, runs --demo.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--demo", action="store_true", help="embedded demo: an animated public-domain face at 200 fps (default)")
    src.add_argument("--camera", type=int, metavar="INDEX", help="live camera index (e.g. 0)")
    src.add_argument("--video", type=Path, metavar="FILE", help="a video file")
    src.add_argument("--frames", type=Path, metavar="DIR", help="a folder of images (CASME II / SAMM / SMIC clips)")
    p.add_argument("--fps", type=float, help="camera: fps to ask for; --frames: their rate (default 200); --realtime: pacing rate")
    p.add_argument("--width", type=int, default=SourceConfig.width, help="camera width to ask for (default %(default)s)")
    p.add_argument("--height", type=int, default=SourceConfig.height, help="camera height to ask for (default %(default)s)")
    p.add_argument("--no-mjpg", action="store_true", help="do not ask the camera for MJPG")
    p.add_argument("--realtime", action="store_true", help="pace a file like a camera (drops become possible and are counted)")
    p.add_argument("--demo-seconds", type=float, default=SourceConfig.demo_seconds, help="length of the demo stream in seconds (default %(default)s)")
    p.add_argument("--seed", type=int, default=SourceConfig.demo_seed, help="demo seed (default %(default)s)")
    p.add_argument("--crop-size", type=int, default=FaceConfig.crop_size, help="aligned crop size in px (default %(default)s)")
    p.add_argument("--landmark-every", type=int, default=FaceConfig.landmark_every, help="run face landmarks every N frames, track in between (default %(default)s)")
    p.add_argument("--spotter", default=SpotConfig.name, help="spotting method (default %(default)s)")
    p.add_argument("--model", default=ModelConfig.name, help="recognition model (default %(default)s)")
    p.add_argument("--model-path", type=Path, help="an ONNX model to use instead of the bundled one")
    p.add_argument("--backend", default=ModelConfig.backend, choices=BACKENDS, help="inference backend (default %(default)s)")
    p.add_argument("--events", type=Path, metavar="PATH.jsonl", help="write every event as one JSON line, fsynced at once")
    p.add_argument("--csv", type=Path, metavar="PATH.csv", help="write events as CSV (same columns)")
    p.add_argument("--stats", type=Path, metavar="PATH.json", help="write the run summary as JSON")
    p.add_argument("--timeline", type=Path, metavar="PATH.png", help="at the end, plot signal, threshold, blind / face-lost stretches, events (and the demo's truth); the per-frame trace streams to PATH.trace.csv")
    p.add_argument("--no-ui", action="store_true", help="headless: no live overlay (a progress bar for files)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def config_from_args(a: argparse.Namespace) -> PipelineConfig:
    if a.camera is not None:
        kind = "camera"
    elif a.video is not None:
        kind = "video"
    elif a.frames is not None:
        kind = "frames"
    else:
        kind = "demo"
    src = SourceConfig(
        kind=kind,
        camera=a.camera if a.camera is not None else 0,
        path=a.video if kind == "video" else a.frames,
        fps=a.fps,
        width=a.width,
        height=a.height,
        mjpg=not a.no_mjpg,
        realtime=a.realtime,
        demo_seconds=a.demo_seconds,
        demo_seed=a.seed,
    )
    from realtime_mer.spotting import SPOTTERS

    if a.spotter not in SPOTTERS:
        raise fail(MerError, f"unknown spotter {a.spotter!r}", f"use one of: {', '.join(sorted(SPOTTERS))}")
    face = FaceConfig(crop_size=a.crop_size, landmark_every=a.landmark_every)
    return validate(PipelineConfig(  # ranges, finiteness and types: one place for the CLI and config files
        source=src,
        face=face,
        spot=SpotConfig(name=a.spotter),
        model=ModelConfig(name=a.model, backend=a.backend, path=a.model_path),
        output=OutputConfig(events=a.events, csv=a.csv, stats=a.stats, timeline=a.timeline, ui=not a.no_ui),
    ))


def _warn(msg: str) -> None:
    print(f"{PROG}: warning: {msg}", file=sys.stderr, flush=True)


def _check_outputs(out: OutputConfig) -> None:
    from realtime_mer.events.sinks import check_writable

    seen: dict[Path, str] = {}
    for what, path in (("events", out.events), ("csv", out.csv), ("stats", out.stats), ("timeline", out.timeline)):
        if path is None:
            continue
        rp = Path(os.path.abspath(path))
        if rp in seen:
            raise fail(OutputError, f"--{what} and --{seen[rp]} both write {path}", "give each output its own file")
        seen[rp] = what
        check_writable(path, what)
    if out.timeline is not None:
        if Path(out.timeline).suffix.lower() not in TIMELINE_FORMATS:
            raise fail(OutputError, f"--timeline {out.timeline}: cannot draw a {Path(out.timeline).suffix or 'file without an extension'}",
                       f"name a picture file ending in {', '.join(TIMELINE_FORMATS)}")
        from realtime_mer.timeline import trace_path

        check_writable(trace_path(out.timeline), "timeline trace")


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    _check_outputs(cfg.output)  # refused before capture starts

    from realtime_mer.capture import open_source
    from realtime_mer.events.sinks import open_sinks
    from realtime_mer.pipeline import Pipeline

    source = open_source(cfg.source)
    from realtime_mer.timeline import trace_path

    trace_csv = trace_path(cfg.output.timeline) if cfg.output.timeline is not None else None
    pipe = Pipeline(cfg, source, trace_path=trace_csv)
    try:
        pipe.prepare()
        pipe.sinks = open_sinks(cfg.output.events, cfg.output.csv)
    except BaseException:
        source.close()
        raise
    for w in pipe.state.warnings:
        _warn(w)
    if not args.quiet:
        st = pipe.state
        print(f"{PROG}: {st.source} · model {st.model} · backend {st.backend_reason} · spotter {st.spotter}", file=sys.stderr, flush=True)

    stops = StopSignals(pipe, lambda signum: _save_stats(cfg.output.stats, pipe, signum=signum, error=None, forced=True))
    n_warn = len(pipe.state.warnings)
    main_error: BaseException | None = None
    with stops:  # held until the stats are written: a signal during the plot is still the same stop
        try:
            pipe.start()
            if cfg.output.ui and sys.stdout.isatty() and not args.quiet:
                _run_overlay(pipe)
            elif not args.quiet:
                _run_progress(pipe)
            else:
                while not pipe.wait(0.2):
                    pass
        except Exception as exc:  # e.g. the overlay failing: the run still ends cleanly and says why
            main_error = exc
        finally:
            pipe.close()
        for w in pipe.state.warnings[n_warn:]:
            _warn(w)
        error = pipe.error or main_error
        summary = _save_stats(cfg.output.stats, pipe, signum=stops.signum, error=error)
        if cfg.output.timeline is not None and trace_csv is not None:  # also after a lost camera: up to the loss
            try:
                from realtime_mer.timeline import plot_timeline

                truth = [t.interval for t in source.truth]  # the demo knows its injected movements
                plot_timeline(trace_csv, pipe.events, cfg.output.timeline, title=source.name, truth=truth)
            except (OSError, MerError) as exc:
                if error is not None:  # the run's own error is the one line; the missing picture is a warning
                    _warn(f"no timeline picture: {' '.join(str(exc).split())}")
                elif isinstance(exc, MerError):
                    raise
                else:
                    raise fail(OutputError, f"cannot write {exc.filename or cfg.output.timeline}: {exc.strerror or exc}",
                               "choose a writable path (the events and stats are written already)") from exc
    if error is not None:
        raise error  # a MerError becomes one line in main() (exit 2, or 3 when the source was lost); events are on disk
    if not args.quiet:
        _print_summary(summary, interrupted=stops.signum is not None)
    return int(summary["exit_code"])


GRACE_S = 2.0  # a second stop signal this soon after the first is the same stop (a shell or `timeout` signals the group too)


class StopSignals:
    """SIGINT / SIGTERM while a run is under way. The first stops the pipeline cleanly (every decided event is
    written, the stats too); another within ``GRACE_S`` is the same stop; a later one leaves at once, after
    ``on_force`` (which writes the stats) — events are fsynced as they are decided, so none is lost either way."""

    def __init__(self, pipe: Any, on_force: Callable[[int], object]) -> None:
        self.pipe, self.on_force = pipe, on_force
        self.signum: int | None = None
        self._t = 0.0
        self._old: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)

    def _handle(self, signum: int, _frame: Any) -> None:
        now = time.monotonic()
        if self.signum is None:
            self.signum, self._t = signum, now
            self.pipe.stop()
        elif now - self._t >= GRACE_S:  # asked again, later: leave now
            try:
                self.on_force(signum)
                print(f"{PROG}: stopped at once by a second {signal.Signals(signum).name}; the events and stats are saved",
                      file=sys.stderr, flush=True)
            finally:
                os._exit(128 + signum)


def exit_code(signum: int | None, error: BaseException | None, incomplete: bool) -> int:
    """The exit status (README, "Exit codes"): 0 complete; 2 bad input or output (a ``MerError``); 3 the input ended
    early, a camera was lost or frames were unreadable; 128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM);
    1 an unexpected error (a bug)."""
    if error is not None:
        if isinstance(error, MerError):
            return int(error.exit_code)
        return EXIT_BAD_INPUT if isinstance(error, OSError) else 1
    if signum is not None:
        return 128 + signum
    return EXIT_INCOMPLETE if incomplete else EXIT_OK


def _save_stats(path: Path | None, pipe: Any, *, signum: int | None, error: BaseException | None,
                forced: bool = False) -> dict[str, Any]:
    """The run summary with how the run ended, written to ``--stats`` (whole or not at all: a temporary file renamed)."""
    summary = pipe.summary()
    code = exit_code(signum, error, not summary["input_complete"])
    if signum is not None:
        stopped_by = signal.Signals(signum).name + (" (second signal: left at once)" if forced else "")
    elif error is not None:
        stopped_by = "source lost" if isinstance(error, SourceLost) else "error"
    else:
        stopped_by = "end of input"
    summary.update({"interrupted": signum is not None, "stopped_by": stopped_by,
                    "error": " ".join(str(error).split()) or type(error).__name__ if error is not None else None,
                    "exit_code": code})
    if path is not None:
        tmp = Path(f"{path}.tmp{os.getpid()}")
        try:
            tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:  # checked before capture, but a disk can still fill up; the events are on disk already
            tmp.unlink(missing_ok=True)
            if error is None and not forced:
                raise fail(OutputError, f"cannot write the stats to {path}: {exc.strerror or exc}",
                           "free some space or choose a writable path (the events are written already)") from exc
            _warn(f"cannot write the stats to {path}: {exc.strerror or exc}")
    return summary


def _run_overlay(pipe: Any) -> None:
    from rich.live import Live

    from realtime_mer.ui import render

    with Live(render(pipe), refresh_per_second=8, screen=False, transient=False) as live:
        while not pipe.wait(0.125):
            live.update(render(pipe))
        live.update(render(pipe))


def _run_progress(pipe: Any) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    st = pipe.state
    if st.total_frames is None or not sys.stderr.isatty():
        # live source or not a terminal: a status line every few seconds
        last = time.monotonic()
        while not pipe.wait(0.2):
            if time.monotonic() - last > 5 and sys.stderr.isatty():
                from realtime_mer.run_state import status_line

                print(status_line(pipe.record), file=sys.stderr, flush=True)
                last = time.monotonic()
        return
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[fps]:>5.0f} fps · {task.fields[ev]} events"), TimeRemainingColumn())
    with Progress(*cols, console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task(st.source, total=st.total_frames, fps=0.0, ev=0)
        while not pipe.wait(0.1):
            prog.update(task, completed=st.processed, fps=pipe.achieved_fps, ev=st.n_events)
        prog.update(task, completed=st.processed, fps=pipe.achieved_fps, ev=st.n_events)


def _print_summary(s: dict[str, Any], interrupted: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(stderr=True)
    t = Table(title="realtime-mer run" + (" (stopped by signal)" if interrupted else ""), show_header=False)
    t.add_column(style="bold")
    t.add_column()
    t.add_row("source", str(s["source"]))
    t.add_row("frames", f"{s['frames_processed']} processed, {s['frames_captured']} captured, {s['frames_dropped']} dropped")
    face = f"{s['frames_with_face']} frames with a face ({100 * s['face_found_ratio']:.1f} %)"
    if s["frames_processed"] and s["frames_with_face"] == 0:
        face = "[bold red]no face found[/] in any frame"
    t.add_row("face", face)
    t.add_row("speed", f"{s['processing_fps']:.0f} fps end to end, peak RSS {s['peak_rss_mb']:.0f} MB")
    ev = s["events"]
    by = ", ".join(f"{v} {k}" for k, v in s["events_by_type"].items())
    lab = ", ".join(f"{v} {k}" for k, v in s["events_by_label"].items())
    t.add_row("events", f"{ev}" + (f" ({by}; {lab})" if ev else ""))
    if s["emit_latency_ms"]:
        t.add_row("emit latency", f"p50 {s['emit_latency_ms']['p50']:.1f} ms, p95 {s['emit_latency_ms']['p95']:.1f} ms")
    t.add_row("model", f"{s['model']} on {s['backend']}, spotter {s['spotter']}")
    con.print(t)


@command_main(PROG)
def main(argv: list[str] | None = None) -> int:
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
