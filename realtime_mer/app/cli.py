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
    p.add_argument("--fps", type=float, help="--video / --frames: the recording's rate, which times every frame (a video's "
                                             "container rate is reported beside it); camera: the rate to ask for; "
                                             "--realtime: also the pacing rate")
    p.add_argument("--width", type=int, default=SourceConfig.width, help="camera width to ask for (default %(default)s)")
    p.add_argument("--height", type=int, default=SourceConfig.height, help="camera height to ask for (default %(default)s)")
    p.add_argument("--no-mjpg", action="store_true", help="do not ask the camera for MJPG")
    p.add_argument("--realtime", action="store_true", help="pace a file like a camera (drops become possible and are counted)")
    p.add_argument("--demo-seconds", type=float, default=SourceConfig.demo_seconds, help="length of the demo stream in seconds (default %(default)s)")
    p.add_argument("--seed", type=int, default=SourceConfig.demo_seed, help="demo seed (default %(default)s)")
    p.add_argument("--crop-size", type=int, default=FaceConfig.crop_size, help="aligned crop size in px (default %(default)s)")
    p.add_argument("--landmark-every", type=int, default=FaceConfig.landmark_every, help="run face landmarks every N frames, track in between (default %(default)s)")
    p.add_argument("--max-faces", type=int, default=FaceConfig.max_faces, metavar="N",
                   help="follow up to N faces at once, each with its own face_id, ring buffer and spotter "
                        "(default %(default)s: the largest face)")
    p.add_argument("--min-face-px", type=float, default=FaceConfig.min_face_px, metavar="PX",
                   help="a face shorter than this (brow to chin, image px) is tracked and reported but not spotted "
                        "(default %(default)g)")
    p.add_argument("--spotter", default=SpotConfig.name, help="spotting method (default %(default)s)")
    p.add_argument("--model", default=ModelConfig.name,
                   help="recognition model: apexflow (bundled), c3d, convlstm, tcgru, twostream3d, learnet "
                        "(these need --model-path) (default %(default)s)")
    p.add_argument("--model-path", type=Path,
                   help="a trained model: an .onnx exported by the lab, or a .safetensors checkpoint with --backend torch")
    p.add_argument("--classes", default=None, metavar="SET",
                   help="class set the model must have been trained on: megc3, casme2-5, casme2-7, samm-5, smic-3, "
                        "casme-sq-4 (default: the model's own classes, megc3 for the bundled model)")
    p.add_argument("--intensity-every", type=float, default=ModelConfig.intensity_every_ms, metavar="MS",
                   help="a model with an intensity head (tcgru): run it over the newest "
                        f"{ModelConfig.intensity_window_ms:g} ms every MS ms for a per-frame intensity trace in "
                        "--timeline and --frames-csv; 0: only over spotted intervals (default %(default)s)")
    p.add_argument("--backend", default=ModelConfig.backend, choices=BACKENDS, help="inference backend (default %(default)s)")
    p.add_argument("--events", type=Path, metavar="PATH.jsonl", help="write every event as one JSON line, fsynced at once")
    p.add_argument("--csv", type=Path, metavar="PATH.csv", help="write events as CSV (same columns)")
    p.add_argument("--stats", type=Path, metavar="PATH.json", help="write the run summary as JSON")
    p.add_argument("--timeline", type=Path, metavar="PATH.png", help="at the end, plot signal, threshold, blind / face-lost stretches, events (and the demo's truth); the per-frame trace streams to PATH.trace.csv")
    p.add_argument("--no-ui", action="store_true", help="headless: no live overlay (a progress bar for files)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors and warnings")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_export_options(p)
    add_lab_options(p)  # issue 16: --config / --print-config, --frames-csv, --lsl; help names every default
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
    face = FaceConfig(crop_size=a.crop_size, landmark_every=a.landmark_every, max_faces=a.max_faces, min_face_px=a.min_face_px)
    return validate(PipelineConfig(  # ranges, finiteness and types: one place for the CLI and config files
        source=src,
        face=face,
        spot=SpotConfig(name=a.spotter),
        model=ModelConfig(name=a.model, backend=a.backend, path=a.model_path, classes=_class_set_arg(a.classes),
                          intensity_every_ms=a.intensity_every),
        output=OutputConfig(events=a.events, csv=a.csv, stats=a.stats, timeline=a.timeline, ui=not a.no_ui,
                            frames_csv=a.frames_csv, frames_landmarks=a.frames_csv_landmarks, lsl=a.lsl, eaf=a.eaf, bids=a.bids),
    ))


def _class_set_arg(name: str | None) -> str | None:
    """``--classes``: a known class-set name (checked before capture), or None."""
    if name is None:
        return None
    from realtime_mer.recognition.classes import CLASS_SETS

    if name not in CLASS_SETS:
        raise fail(MerError, f"--classes {name!r} is not a known class set", f"use one of: {', '.join(CLASS_SETS)}")
    return name


def _warn(msg: str) -> None:
    print(f"{PROG}: warning: {msg}", file=sys.stderr, flush=True)


def run(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    cfg = effective_config(args, sys.argv[1:] if argv is None else argv, cfg)
    if args.print_config:
        from realtime_mer.app.config_file import config_toml

        sys.stdout.write(config_toml(cfg))
        return 0
    from realtime_mer.app.outputs import attach, open_frame_sinks, start_trace, write_exports, write_timeline
    from realtime_mer.app.preflight import check_outputs

    # refused before capture starts: an output that is an input or another output, an existing file (without
    # --overwrite), a bad name, a missing extra, an unwritable path
    check_outputs(cfg, overwrite=args.overwrite, config_file=args.config)
    trace_csv = start_trace(cfg.output)
    frame_sinks = open_frame_sinks(cfg.output)

    from realtime_mer.app.pipeline import Pipeline
    from realtime_mer.capture import open_source

    source = open_source(cfg.source)
    pipe = Pipeline(cfg, source, trace_path=trace_csv, frame_sinks=frame_sinks)
    try:
        pipe.prepare()
        attach(pipe, cfg.output)
    except BaseException:
        pipe.close()  # the spotting process, the shared ring buffer, the stages and the per-frame files opened so far
        source.close()
        raise
    for w in pipe.state.warnings:
        _warn(w)
    if not args.quiet:
        st = pipe.state
        model = f"{st.model} ({cfg.model.path})" if cfg.model.path is not None else st.model
        for line in startup_lines([st.source, f"model {model}", f"backend {st.backend_reason}", f"spotter {st.spotter}"]):
            print(line, file=sys.stderr, flush=True)

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
        if cfg.output.timeline is not None:  # also after a lost camera: up to the loss
            try:
                write_timeline(cfg.output, pipe)  # with the demo's injected movements
            except (OSError, MerError) as exc:
                _end_output_failed(exc, error, str(cfg.output.timeline))
        try:
            write_exports(cfg.output, cfg.source, pipe)  # ELAN / BIDS of the events decided, also after a lost camera
        except (OSError, MerError) as exc:
            _end_output_failed(exc, error, "the exports")
    if error is not None:
        raise error  # a MerError becomes one line in main() (exit 2, or 3 when the source was lost); events are on disk
    if not args.quiet:
        _print_summary(summary, interrupted=stops.signum is not None)
        if source.truth:
            print(f"{PROG}: {truth_report(source.truth, pipe.events)}", file=sys.stderr, flush=True)
    return int(summary["exit_code"])


def startup_lines(parts: list[str], width: int = 80) -> list[str]:
    """What runs, in lines of at most ``width`` columns (an 80-column terminal), split between parts: ``realtime-mer:
    demo · model apexflow · spotter roiflow`` and below it the backend and why. A part longer than a line (a long
    model path) gets a line of its own."""
    lines: list[str] = []
    cur = f"{PROG}:"
    for part in parts:
        joined = f"{cur} {part}" if cur.endswith(":") else f"{cur} · {part}"
        if len(joined) <= width or cur.strip().endswith(":"):
            cur = joined
        else:
            lines.append(cur)
            cur = f"{' ' * len(PROG)}  {part}"
    lines.append(cur)
    return lines


def _end_output_failed(exc: BaseException, error: BaseException | None, what: str) -> None:
    """An end-of-run output (timeline picture, exports) failed: after a run error (the one line already) it is a
    warning; otherwise it is the run's one line."""
    if error is not None:
        _warn(f"{what} not written: {' '.join(str(exc).split())}")
    elif isinstance(exc, MerError):
        raise exc
    elif isinstance(exc, OSError):
        raise fail(OutputError, f"cannot write {exc.filename or what}: {exc.strerror or exc}",
                   "choose a writable path (the events and stats are written already)") from exc


GRACE_S = 2.0  # a second stop signal this soon after the first is the same stop (a shell or `timeout` signals the group too)
SETTLE_S = 0.25  # a run stopped by a signal ends no sooner than this after it (duplicates come within milliseconds)


class StopSignals:
    """SIGINT / SIGTERM while a run is under way. The first stops the pipeline cleanly (every decided event is
    written, the stats too); another within ``GRACE_S`` is the same stop; a later one leaves at once, after
    ``on_force`` (which writes the stats) — events are fsynced as they are decided, so none is lost either way."""

    def __init__(self, pipe: Any, on_force: Callable[[int], object]) -> None:
        self.pipe, self.on_force = pipe, on_force
        self.signum: int | None = None
        self._t = 0.0
        self._old: dict[int, Any] = {}
        self._done = False

    def __enter__(self) -> StopSignals:
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc: object) -> None:
        if self.signum is None:
            self._restore()
        else:  # stay installed: a duplicate of the stop signal arriving after a quick stop is still the same stop
            self._done = True
            # the interpreter's exit restores the default handlers: wait out the moment in which a shell's or a
            # supervisor's duplicate arrives, so it cannot kill the exit (and change its status) once the stats are saved
            time.sleep(max(0.0, self._t + SETTLE_S - time.monotonic()))

    def _restore(self) -> None:
        for s, h in self._old.items():
            signal.signal(s, h)

    def _handle(self, signum: int, _frame: Any) -> None:
        now = time.monotonic()
        if self._done:  # the run is over
            if now - self._t >= GRACE_S:  # a new request: what would have happened without us
                self._restore()
                signal.raise_signal(signum)
            return
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

    from realtime_mer.app.overlay import render

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
                from realtime_mer.app.run_state import status_line

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
    for fid, f in s["faces"].get("per_face", {}).items():  # --max-faces above 1: a line per face
        small = f", {f['frames_too_small']} too small to spot" if f["frames_too_small"] else ""
        t.add_row(f"face {fid}", f"{f['events']} events, {f['frames_spotted']} frames spotted{small}, "
                                 f"seen {f['first_s']:.1f}-{f['last_s']:.1f} s, blind {100 * f['blind_share']:.0f} %")
    con.print(t)


# ---- exports, provenance, --overwrite and the batch subcommand (issue 16: items 2, 4, 7) ------------------------------


def add_export_options(p: argparse.ArgumentParser) -> None:
    """Options of the event exports; ``realtime-mer batch`` is a subcommand of its own (``batch.command``)."""
    p.epilog = ("Subcommands: realtime-mer batch PATHS_OR_GLOBS... --out DIR (many recordings at once); "
                "realtime-mer export LOG --eaf / --bids / --csv (an existing event log to ELAN, BIDS, CSV); "
                "realtime-mer plot LOG -o PICTURE (re-plot a run's timeline). Each has its own --help.")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (events, csv, stats, timeline and its trace, frames csv, eaf, bids, the "
                        "provenance sidecars); an output that is an input is refused even so (default: refuse)")
    p.add_argument("--eaf", type=Path, metavar="PATH.eaf", help="at the end, write the events as an ELAN document (tiers micro / macro, the video linked); needs the [elan] extra")
    p.add_argument("--bids", type=Path, metavar="PATH_events.tsv", help="at the end, write the events as a BIDS events.tsv and its events.json")


# ---- issue 16: config files, per-frame output, LSL, help text (one block; the options are added by add_lab_options) ----

# CLI option (argparse dest) -> the config fields it sets; with --config, only options given on the command line
# replace the file's values
OPTION_FIELDS: dict[str, tuple[str, ...]] = {
    "demo": ("source.kind", "source.path"),
    "camera": ("source.kind", "source.camera", "source.path"),
    "video": ("source.kind", "source.path"),
    "frames": ("source.kind", "source.path"),
    "fps": ("source.fps",),
    "width": ("source.width",),
    "height": ("source.height",),
    "no_mjpg": ("source.mjpg",),
    "realtime": ("source.realtime",),
    "demo_seconds": ("source.demo_seconds",),
    "seed": ("source.demo_seed",),
    "crop_size": ("face.crop_size",),
    "landmark_every": ("face.landmark_every",),
    "max_faces": ("face.max_faces",),
    "min_face_px": ("face.min_face_px",),
    "spotter": ("spot.name",),
    "model": ("model.name",),
    "model_path": ("model.path",),
    "classes": ("model.classes",),
    "backend": ("model.backend",),
    "intensity_every": ("model.intensity_every_ms",),
    "events": ("output.events",),
    "csv": ("output.csv",),
    "stats": ("output.stats",),
    "timeline": ("output.timeline",),
    "no_ui": ("output.ui",),
    "frames_csv": ("output.frames_csv",),
    "frames_csv_landmarks": ("output.frames_landmarks",),
    "lsl": ("output.lsl",),
    "eaf": ("output.eaf",),
    "bids": ("output.bids",),
}

# options that set no config field (every other option must be in OPTION_FIELDS, or --config would override it)
NON_CONFIG_OPTIONS = ("help", "version", "quiet", "config", "print_config", "overwrite")

# what an option means when its default is None (the help line names it)
_NONE_DEFAULTS = {
    "fps": "a video's container rate; 200 for --frames and the demo; a camera's own",
    "model_path": "the bundled model",
    "classes": "the model's own classes",
    "config": "none, the built-in settings",
}
_SOURCES = ("demo", "camera", "video", "frames")  # one of them; none given means --demo


def add_lab_options(p: argparse.ArgumentParser) -> None:
    """Options of issue 16, and help text that names the spotters, the models and every default."""
    g = p.add_argument_group("settings and lab outputs")
    g.add_argument("--config", type=Path, metavar="RUN.toml",
                   help="load settings from a TOML file (every spotter and face setting; see --print-config); "
                        "options given on the command line override it")
    g.add_argument("--print-config", action="store_true",
                   help="print the effective settings as TOML (loadable with --config) and exit")
    g.add_argument("--frames-csv", type=Path, metavar="PATH.csv",
                   help="write one row per frame, streamed: frame, timestamp_s, face_id, success, confidence, keyframe, "
                        "head pose pose_Rx/Ry/Rz (radians), spotting signal, threshold, spotter_state (README lists them)")
    g.add_argument("--frames-csv-landmarks", action="store_true",
                   help="with --frames-csv: add the 468 landmarks in image pixels (x_0..x_467, y_0..y_467)")
    g.add_argument("--lsl", action="store_true",
                   help="publish Lab Streaming Layer outlets: the events (Markers) and the spotting signal "
                        "(needs the [lsl] extra: pip install 'realtime-mer[lsl]')")
    _describe_options(p)


def _describe_options(p: argparse.ArgumentParser) -> None:
    from realtime_mer.recognition.contracts import available_contracts
    from realtime_mer.spotting import SPOTTERS

    spot_help = {
        "hybrid": "lagflow for micro, roiflow for macro expressions",
        "roiflow": "regional optical flow against a frozen reference",
        "gru": "learned GRU over region-motion features",
        "lagflow": "out-and-back motion over 200 ms",
        "lbp": "LBP feature difference (Moilanen et al.)",
    }
    for a in p._actions:  # argparse keeps no public list; help text only
        if a.dest == "spotter":
            a.help = "spotting method: " + "; ".join(f"{n}: {spot_help.get(n, n)}" for n in SPOTTERS) + " (default %(default)s)"
        elif a.dest == "model" and a.help and not all(m in a.help for m in available_contracts()):
            a.help = a.help.replace(" (default %(default)s)", "") + f": one of {', '.join(available_contracts())} (default %(default)s)"
        if a.help in (None, argparse.SUPPRESS) or "default" in a.help or a.dest in ("help", "version", *_SOURCES):
            continue
        if a.default is None and a.dest in _NONE_DEFAULTS:
            a.help += f" (default: {_NONE_DEFAULTS[a.dest]})"
        elif a.default is None or a.default is False:
            a.help += " (default: off)"
        elif a.default is not None:
            a.help += " (default %(default)s)"


def truth_report(truth: Any, events: list[Any]) -> str:
    """How many of the movements known to be in the stream (the demo's injected ones) the run found, MEGC-style."""
    from realtime_mer.spotting.match import IOU_THRESHOLD, found_by_type

    rows = [t.interval for t in truth]
    found = found_by_type(rows, [e.interval() for e in events])
    labels = sorted({t.label for t in truth})  # found with the label injected: the same matching within each label
    right = sum(found_by_type([t.interval for t in truth if t.label == lab], [e.interval() for e in events if e.label == lab])
                for lab in labels)
    false = len(events) - found
    return (f"found {found} of the {len(rows)} injected movements (an event of the same type with IoU >= "
            f"{IOU_THRESHOLD:g}, as MEGC counts), {right} of them also with the injected label; "
            f"{false} false alarm{'' if false == 1 else 's'} (events matching no injected movement)")


def explicit_options(argv: list[str]) -> set[str]:
    """The argparse dests the user gave on the command line (not left at their defaults)."""
    p = build_parser()
    for a in p._actions:  # a default of SUPPRESS leaves an option that was not given out of the namespace
        a.default = argparse.SUPPRESS
    return set(vars(p.parse_args(argv)))


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _set(obj: Any, dotted: str, value: Any) -> None:
    *head, last = dotted.split(".")
    for part in head:
        obj = getattr(obj, part)
    setattr(obj, last, value)


def effective_config(args: argparse.Namespace, argv: list[str], cli_cfg: PipelineConfig) -> PipelineConfig:
    """``cli_cfg`` (what the options say) or, with ``--config``, the file's settings with the options that were
    given on the command line on top; then the spotter name and the config's own checks."""
    from realtime_mer.app.config_file import ConfigError, load_config, validate

    cfg = cli_cfg
    if args.config is not None:
        cfg = load_config(args.config)
        given = explicit_options(argv)
        for dest, fields in OPTION_FIELDS.items():
            if dest in given:
                for f in fields:
                    _set(cfg, f, _get(cli_cfg, f))
        from realtime_mer.spotting import SPOTTERS

        if cfg.spot.name not in SPOTTERS:
            raise fail(ConfigError, f"{args.config}: spot.name: unknown spotter {cfg.spot.name!r}", f"use one of: {', '.join(SPOTTERS)}")
        if cfg.model.backend not in BACKENDS:
            raise fail(ConfigError, f"{args.config}: model.backend: unknown backend {cfg.model.backend!r}", f"use one of: {', '.join(BACKENDS)}")
        if cfg.source.kind not in ("camera", "video", "frames", "demo"):
            raise fail(ConfigError, f"{args.config}: source.kind: unknown source {cfg.source.kind!r}", "use camera, video, frames or demo")
        from realtime_mer.recognition.classes import CLASS_SETS

        if cfg.model.classes is not None and cfg.model.classes not in CLASS_SETS:
            raise fail(ConfigError, f"{args.config}: model.classes: unknown class set {cfg.model.classes!r}",
                       f"use one of: {', '.join(CLASS_SETS)}")
    validate(cfg)
    return cfg


@command_main(PROG)
def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["batch"]:  # the subcommands; every other command line is the single run, as before
        from realtime_mer.app.batch.command import batch_main

        return batch_main(args[1:])
    if args[:1] == ["export"]:
        from realtime_mer.app.export import export_main

        return export_main(args[1:])
    if args[:1] == ["plot"]:
        from realtime_mer.app.plot import plot_main

        return plot_main(args[1:])
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
