"""One batch input, run in a worker process or a Ray task: the pipeline over the recording, then its files written
whole (each to a temporary name, fsynced, renamed), the events file last, so its presence means the input is done.

``<out>/<key>.events.jsonl`` (the events, one JSON object per line, as ``--events``), beside it
``<key>.events.jsonl.meta.json`` (provenance) and ``<key>.stats.json`` (the run summary, as ``--stats``); with
``--frames-csv`` ``<key>.frames.csv`` (as ``--frames-csv``), with ``--timeline`` ``<key>.timeline.png`` and its
``<key>.timeline.trace.csv`` (as ``--timeline``). The streamed files are written into a staging folder
``.<name>.<pid>.tmp`` beside them and moved into place when the input has finished.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from realtime_mer.app.batch.inputs import BatchInput
from realtime_mer.config import OutputConfig, PipelineConfig
from realtime_mer.errors import MerError

EVENTS_SUFFIX = ".events.jsonl"
STATS_SUFFIX = ".stats.json"
FRAMES_SUFFIX = ".frames.csv"
TIMELINE_STEM = ".timeline"  # + the picture's extension: <key>.timeline.png


@dataclasses.dataclass(frozen=True)
class BatchOutputs:
    """Which optional per-input files a batch writes (``--frames-csv``, ``--timeline [FORMAT]``)."""

    frames_csv: bool = False
    timeline: str | None = None  # the picture's extension (".png"), None: no timeline


@dataclasses.dataclass(frozen=True)
class BatchSettings:
    """What every input of a batch runs with: the pipeline's settings and the optional per-input files."""

    config: PipelineConfig
    outputs: BatchOutputs = BatchOutputs()


def input_outputs(out: Path, key: str, extra: BatchOutputs = BatchOutputs()) -> OutputConfig:
    """The files of one input, as the single run's outputs (``preflight`` checks them against the inputs)."""
    base = Path(out) / key
    return OutputConfig(events=events_path(out, key), stats=stats_path(out, key), ui=False,
                        frames_csv=base.with_name(base.name + FRAMES_SUFFIX) if extra.frames_csv else None,
                        timeline=base.with_name(base.name + TIMELINE_STEM + extra.timeline) if extra.timeline else None)


def events_path(out: Path, key: str) -> Path:
    return Path(out) / (key + EVENTS_SUFFIX)


def stats_path(out: Path, key: str) -> Path:
    return Path(out) / (key + STATS_SUFFIX)


def is_done(out: Path, item: BatchInput) -> bool:
    """A finished input: its events file exists (it is renamed into place last, whole)."""
    return events_path(out, item.key).is_file()


def warnings_of(summary: dict[str, Any]) -> str:
    """What to look at in an input's run, in one cell of ``inputs.csv``: the input incomplete (and why), no face
    found, face losses, several faces, a frame rate that disagrees with the container ... (the run's warnings)."""
    notes = [str(w) for w in summary.get("warnings") or ()]
    reason = summary.get("incomplete_reason")
    if summary.get("input_complete") is False and reason and not any(str(reason) in w for w in notes):
        notes.insert(0, f"input incomplete: {reason}")
    return " | ".join(" ".join(n.split()) for n in notes)


def _staged(stage: Path, final: OutputConfig) -> OutputConfig:
    """The streamed outputs of ``final`` under the staging folder (same names), the rest left to ``run_input``."""
    def there(p: Path | None) -> Path | None:
        return stage / Path(p).name if p is not None else None

    return OutputConfig(ui=False, frames_csv=there(final.frames_csv), timeline=there(final.timeline))


def run_input(item: BatchInput, out: str, settings: BatchSettings) -> dict[str, Any]:
    """Analyse ``item`` and write its files under ``out``; a failure is returned (``status`` failed, one line), not raised,
    so one bad recording does not stop the batch."""
    from realtime_mer.app.api import analyse
    from realtime_mer.app.preflight import planned_outputs
    from realtime_mer.events.sidecar import write_sidecar, write_text_atomic

    t0 = time.perf_counter()
    result: dict[str, Any] = {"key": item.key, "source": item.path, "kind": item.kind, "status": "failed", "events": 0,
                              "frames": 0, "elapsed_s": 0.0, "error": "", "warnings": ""}
    cfg = settings.config
    final = input_outputs(Path(out), item.key, settings.outputs)
    ev_path = events_path(Path(out), item.key)
    stage = ev_path.with_name(f".{Path(item.key).name}.{os.getpid()}.tmp")  # removed by clean_partial if killed
    try:
        ev_path.parent.mkdir(parents=True, exist_ok=True)
        staged = _staged(stage, final)
        if staged.frames_csv or staged.timeline:
            stage.mkdir(exist_ok=True)
        src = dataclasses.replace(cfg.source, kind=item.kind, path=Path(item.path))
        res = analyse(src, dataclasses.replace(cfg, source=src, output=staged), overwrite=True)
        write_text_atomic(stats_path(Path(out), item.key), json.dumps(res.summary, indent=2, default=str) + "\n")
        write_sidecar(ev_path, res.provenance)
        for f in planned_outputs(staged):  # the streamed files, moved into place before the events file
            if f.path.is_file():
                os.replace(f.path, Path(out) / Path(item.key).parent / f.path.name)
        write_text_atomic(ev_path, "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in res.events))
        result.update(status="done", events=len(res.events), frames=res.summary.get("frames_processed", 0),
                      warnings=warnings_of(res.summary))
    except MerError as exc:
        result["error"] = str(exc)
    except OSError as exc:
        result["error"] = f"{exc.filename or ''} {exc.strerror or exc}".strip()
    except Exception as exc:  # a bug on one input: reported with the input, the batch goes on
        result["error"] = f"{type(exc).__name__}: {exc} (a bug: please report it with this line)"
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    result["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return result


__all__ = ["EVENTS_SUFFIX", "FRAMES_SUFFIX", "STATS_SUFFIX", "BatchOutputs", "BatchSettings", "events_path", "input_outputs", "is_done",
           "run_input", "stats_path", "warnings_of"]
