"""``realtime-mer batch PATHS_OR_GLOBS... --out DIR``: many recordings, one events file each, resumable."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from realtime_mer.app.batch.executors import Executor, LocalExecutor, RayExecutor
from realtime_mer.app.batch.inputs import BatchInput, discover
from realtime_mer.app.batch.jobs import BatchReport, clean_partial, default_jobs, run_batch, write_tables
from realtime_mer.app.batch.work import BatchOutputs, BatchSettings, input_outputs
from realtime_mer.config import BACKENDS, FaceConfig, ModelConfig, OutputConfig, PipelineConfig, SpotConfig
from realtime_mer.errors import ConfigError, MerError, OutputError, fail

PROG = "realtime-mer batch"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Analyse many recordings: video files and folders of frames, found in the given paths, globs and "
                    "dataset trees (e.g. CASME2/sub01/EP02_01f). Writes DIR/<name>.events.jsonl (+ .meta.json provenance, "
                    ".stats.json; .frames.csv and .timeline.png when asked) per input, DIR/events.csv (all events, with a "
                    "source column) and DIR/inputs.csv (status and warnings per input). Finished inputs are skipped when "
                    "run again.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH_OR_GLOB", help="video files, image folders, dataset roots, or quoted globs ('data/**/*.mp4')")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created; a resumed run reuses it)")
    p.add_argument("--jobs", type=int, metavar="N", help=f"inputs run at once (default: half the cores, here {default_jobs()}; with --ray: the cluster's CPUs)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the inputs as Ray tasks on the cluster at ADDRESS (auto, HOST:PORT, ray://..., or local to start one here); needs the [cluster] extra")
    p.add_argument("--config", type=Path, metavar="RUN.toml",
                   help="settings for every input from a TOML file (as realtime-mer --config; its [output] paths must be "
                        "unset: the batch names its own files); the options below override it")
    p.add_argument("--fps", type=float, help="the recordings' frame rate: the time base of image folders (default 200, "
                                             "CASME II / SAMM) and of videos (default: each container's own rate)")
    p.add_argument("--spotter", help=f"spotting method (default {SpotConfig.name})")
    p.add_argument("--model", help=f"recognition model (default {ModelConfig.name})")
    p.add_argument("--model-path", type=Path, help="an ONNX model to use instead of the bundled one")
    p.add_argument("--backend", choices=BACKENDS, help=f"inference backend (default {ModelConfig.backend})")
    p.add_argument("--landmark-every", type=int, help=f"face landmarks every N frames (default {FaceConfig.landmark_every})")
    p.add_argument("--max-faces", type=int, metavar="N", help=f"faces followed at once in each input, 1 to 16 (default "
                                                               f"{FaceConfig.max_faces}); each event has its face_id")
    p.add_argument("--frames-csv", action="store_true", help="also write DIR/<name>.frames.csv per input (one row per frame, as realtime-mer --frames-csv)")
    p.add_argument("--timeline", nargs="?", const="png", choices=("png", "svg", "pdf", "jpg"), metavar="FORMAT",
                   help="also draw DIR/<name>.timeline.png per input (png, svg, pdf or jpg; the trace beside it, as realtime-mer --timeline)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors, warnings and failed inputs")
    return p


def config_from_args(a: argparse.Namespace) -> PipelineConfig:
    """The settings every input runs with: ``--config``'s file (or the defaults) with the options given on top, checked
    as a single run's are (``preflight.check_settings``)."""
    from realtime_mer.app.preflight import check_settings

    if a.jobs is not None and a.jobs < 1:
        raise fail(MerError, f"--jobs {a.jobs} must be >= 1", "pass e.g. --jobs 4")
    if a.model_path is not None and not Path(a.model_path).is_file():
        raise fail(MerError, f"--model-path {a.model_path} not found", "pass an .onnx model file")
    cfg = PipelineConfig()
    if a.config is not None:
        from realtime_mer.app.config_file import load_config

        cfg = load_config(a.config)
        given = [k for k, v in vars(cfg.output).items() if v not in (None, False) and k != "ui"]
        if given:
            raise fail(ConfigError, f"{a.config}: output.{given[0]} is set, but a batch names its own files under --out",
                       "remove it from the file (--frames-csv and --timeline ask for those files per input)")
    cfg.output = OutputConfig(ui=False)
    cfg.source.kind = "video"  # each input sets its own kind and path
    for value, field in ((a.fps, "source.fps"), (a.spotter, "spot.name"), (a.model, "model.name"), (a.backend, "model.backend"),
                         (a.landmark_every, "face.landmark_every"), (a.max_faces, "face.max_faces")):
        if value is not None:
            obj, _, name = field.partition(".")
            setattr(getattr(cfg, obj), name, value)
    if a.model_path is not None:
        cfg.model.path = a.model_path.resolve()
    # checked as a run of one input would be (each input brings its own path)
    check_settings(dataclasses.replace(cfg, source=dataclasses.replace(cfg.source, path=Path("input"))))
    return cfg


def check_batch_paths(items: list[BatchInput], out: Path, settings: BatchSettings, config_file: Path | None) -> None:
    """No file the batch writes is one of its inputs (a recording, a frame of a folder, the model, the settings file)
    or another output; the same check as a single run's (``preflight.check_clashes``)."""
    from realtime_mer.app.preflight import Named, check_clashes, frame_inputs, planned_inputs, planned_outputs

    cfg = settings.config
    inputs = planned_inputs(PipelineConfig(model=cfg.model, spot=cfg.spot), config_file)
    folders = []
    for item in items:
        if item.kind == "frames":
            inputs += frame_inputs(Path(item.path), f"batch input {item.path}")
            folders.append(Path(item.path))
        else:
            inputs.append(Named(Path(item.path), f"batch input {item.path}"))
    outputs = [Named(out / name, f"the batch table {out / name}") for name in ("events.csv", "inputs.csv")]
    for item in items:
        outputs += [Named(o.path, f"{o.path} (an output of {item.key})") for o in planned_outputs(input_outputs(out, item.key, settings.outputs))]
    check_clashes(outputs, inputs, folders)


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise fail(OutputError, f"--out {out} is a file", "pass a folder for the batch's outputs")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fail(OutputError, f"cannot create --out {out}: {exc.strerror or exc}", "choose a writable folder") from None
    from realtime_mer.events.sinks import check_writable

    check_writable(out / "events.csv", "batch table")


def _line(report: BatchReport, res: dict[str, Any]) -> str:
    n = report.done + len(report.failed)
    head = f"[{n}/{report.total}] {res['key']}"
    if res["status"] == "done":
        return f"{head}: {res['events']} events, {res['frames']} frames, {res['elapsed_s']:.1f} s"
    return f"{head}: failed: {res['error']}"


def batch_main(argv: list[str]) -> int:
    a = build_parser().parse_args(argv)
    settings = BatchSettings(config_from_args(a), BatchOutputs(frames_csv=a.frames_csv, timeline=f".{a.timeline}" if a.timeline else None))
    items = discover(a.paths)
    out = a.out.resolve()
    if out.exists() and not out.is_dir():
        raise fail(OutputError, f"--out {out} is a file", "pass a folder for the batch's outputs")
    check_batch_paths(items, out, settings, a.config)
    executor: Executor = RayExecutor(a.ray, a.jobs) if a.ray else LocalExecutor(a.jobs or min(default_jobs(), len(items)))
    _prepare_out(out)
    clean_partial(out)
    where = f"Ray at {a.ray}" if a.ray else "local processes"
    if not a.quiet:
        print(f"{PROG}: {len(items)} inputs → {out} · {executor.slots} at once on {where}", file=sys.stderr, flush=True)
    report = _run(items, out, settings, executor, quiet=a.quiet)
    ev_csv, in_csv = write_tables(items, out, report)
    for r in report.failed:
        print(f"{PROG}: failed: {r['key']} ({r['source']}): {r['error']}", file=sys.stderr, flush=True)
    now = sum(r["status"] == "done" for r in report.results)
    left = report.total - report.done - len(report.failed)
    if not a.quiet or report.interrupted:
        print(f"{PROG}: {report.total} inputs: {now} done now, {report.skipped} skipped (done before), {len(report.failed)} failed"
              + (f", {left} left for a resumed run" if left else "") + f"; tables {ev_csv.name}, {in_csv.name} in {out}",
              file=sys.stderr, flush=True)
    if report.interrupted:
        return 128 + report.interrupted
    return 1 if report.failed else 0


def _run(items: list, out: Path, settings: BatchSettings, executor: Executor, quiet: bool) -> BatchReport:
    if quiet or not sys.stderr.isatty():
        def show(report: BatchReport, res: dict[str, Any] | None) -> None:
            if res is not None and (not quiet or res["status"] != "done"):
                print(f"{PROG}: " + _line(report, res), file=sys.stderr, flush=True)

        return run_batch(items, out, settings, executor, show)
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    cols = (TextColumn("inputs"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[ev]} events · {task.fields[bad]} failed"),
            TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols, console=Console(stderr=True), transient=True) as prog:
        task = prog.add_task("batch", total=len(items), ev=0, bad=0)
        events = [0]

        def bar(report: BatchReport, res: dict[str, Any] | None) -> None:
            if res is not None:
                events[0] += res["events"]
                prog.console.print(_line(report, res))
            prog.update(task, completed=report.done + len(report.failed), ev=events[0], bad=len(report.failed))

        return run_batch(items, out, settings, executor, bar)


__all__ = ["batch_main", "build_parser"]
