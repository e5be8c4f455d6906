"""``realtime-mer batch PATHS_OR_GLOBS... --out DIR``: many recordings, one events file each, resumable."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from realtime_mer.batch.engines import Engine, LocalEngine, RayEngine
from realtime_mer.batch.inputs import discover
from realtime_mer.batch.runner import BatchReport, clean_partial, default_jobs, run_batch, write_tables
from realtime_mer.config import BACKENDS, FaceConfig, ModelConfig, PipelineConfig, SourceConfig, SpotConfig
from realtime_mer.errors import MerError, OutputError, fail

PROG = "realtime-mer batch"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Analyse many recordings: video files and folders of frames, found in the given paths, globs and "
                    "dataset trees (e.g. CASME2/sub01/EP02_01f). Writes DIR/<name>.events.jsonl (+ .meta.json provenance, "
                    ".stats.json) per input, DIR/events.csv (all events, with a source column) and DIR/inputs.csv. "
                    "Finished inputs are skipped when run again.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH_OR_GLOB", help="video files, image folders, dataset roots, or quoted globs ('data/**/*.mp4')")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (created; a resumed run reuses it)")
    p.add_argument("--jobs", type=int, metavar="N", help=f"inputs run at once (default: half the cores, here {default_jobs()}; with --ray: the cluster's CPUs)")
    p.add_argument("--ray", metavar="ADDRESS", help="run the inputs as Ray tasks on the cluster at ADDRESS (auto, HOST:PORT, ray://..., or local to start one here); needs the [cluster] extra")
    p.add_argument("--fps", type=float, help="frame rate of image folders (default 200, CASME II / SAMM)")
    p.add_argument("--spotter", default=SpotConfig.name, help="spotting method (default %(default)s)")
    p.add_argument("--model", default=ModelConfig.name, help="recognition model (default %(default)s)")
    p.add_argument("--model-path", type=Path, help="an ONNX model to use instead of the bundled one")
    p.add_argument("--backend", default=ModelConfig.backend, choices=BACKENDS, help="inference backend (default %(default)s)")
    p.add_argument("--landmark-every", type=int, default=FaceConfig.landmark_every, help="face landmarks every N frames (default %(default)s)")
    p.add_argument("--quiet", action="store_true", help="print nothing but errors, warnings and failed inputs")
    return p


def config_from_args(a: argparse.Namespace) -> PipelineConfig:
    from realtime_mer.spotting import SPOTTERS

    if a.spotter not in SPOTTERS:
        raise fail(MerError, f"unknown spotter {a.spotter!r}", f"use one of: {', '.join(sorted(SPOTTERS))}")
    if a.fps is not None and not a.fps > 0:
        raise fail(MerError, f"--fps {a.fps:g} is not a positive rate", "pass e.g. --fps 200")
    if a.landmark_every < 1:
        raise fail(MerError, f"--landmark-every {a.landmark_every} must be >= 1", "pass e.g. --landmark-every 2")
    if a.jobs is not None and a.jobs < 1:
        raise fail(MerError, f"--jobs {a.jobs} must be >= 1", "pass e.g. --jobs 4")
    if a.model_path is not None and not Path(a.model_path).is_file():
        raise fail(MerError, f"--model-path {a.model_path} not found", "pass an .onnx model file")
    return PipelineConfig(
        source=SourceConfig(kind="video", fps=a.fps),
        face=FaceConfig(landmark_every=a.landmark_every),
        spot=SpotConfig(name=a.spotter),
        model=ModelConfig(name=a.model, backend=a.backend, path=a.model_path.resolve() if a.model_path else None),
    )


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
    cfg = config_from_args(a)
    items = discover(a.paths)
    out = a.out.resolve()
    if out.exists() and not out.is_dir():
        raise fail(OutputError, f"--out {out} is a file", "pass a folder for the batch's outputs")
    engine: Engine = RayEngine(a.ray, a.jobs) if a.ray else LocalEngine(a.jobs or min(default_jobs(), len(items)))
    _prepare_out(out)
    clean_partial(out)
    where = f"Ray at {a.ray}" if a.ray else "local processes"
    if not a.quiet:
        print(f"{PROG}: {len(items)} inputs → {out} · {engine.slots} at once on {where}", file=sys.stderr, flush=True)
    report = _run(items, out, cfg, engine, quiet=a.quiet)
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


def _run(items: list, out: Path, cfg: PipelineConfig, engine: Engine, quiet: bool) -> BatchReport:
    if quiet or not sys.stderr.isatty():
        def show(report: BatchReport, res: dict[str, Any] | None) -> None:
            if res is not None and (not quiet or res["status"] != "done"):
                print(f"{PROG}: " + _line(report, res), file=sys.stderr, flush=True)

        return run_batch(items, out, cfg, engine, show)
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

        return run_batch(items, out, cfg, engine, bar)


__all__ = ["batch_main", "build_parser"]
