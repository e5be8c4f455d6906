"""One batch input, run in a worker process or a Ray task: the pipeline over the recording, then its files written
whole (each to a temporary name, fsynced, renamed), the events file last, so its presence means the input is done.

``<out>/<key>.events.jsonl`` (the events, one JSON object per line, as ``--events``), beside it
``<key>.events.jsonl.meta.json`` (provenance) and ``<key>.stats.json`` (the run summary, as ``--stats``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from realtime_mer.batch.inputs import BatchInput
from realtime_mer.config import OutputConfig, PipelineConfig
from realtime_mer.errors import MerError

EVENTS_SUFFIX = ".events.jsonl"
STATS_SUFFIX = ".stats.json"


def events_path(out: Path, key: str) -> Path:
    return Path(out) / (key + EVENTS_SUFFIX)


def stats_path(out: Path, key: str) -> Path:
    return Path(out) / (key + STATS_SUFFIX)


def is_done(out: Path, item: BatchInput) -> bool:
    """A finished input: its events file exists (it is renamed into place last, whole)."""
    return events_path(out, item.key).is_file()


def run_input(item: BatchInput, out: str, cfg: PipelineConfig) -> dict[str, Any]:
    """Analyse ``item`` and write its files under ``out``; a failure is returned (``status`` failed, one line), not raised,
    so one bad recording does not stop the batch."""
    from realtime_mer.api import analyse
    from realtime_mer.events.sidecar import write_sidecar, write_text_atomic

    t0 = time.perf_counter()
    result: dict[str, Any] = {"key": item.key, "source": item.path, "kind": item.kind, "status": "failed", "events": 0,
                              "frames": 0, "elapsed_s": 0.0, "error": ""}
    try:
        src = dataclasses.replace(cfg.source, kind=item.kind, path=Path(item.path))
        res = analyse(src, dataclasses.replace(cfg, source=src, output=OutputConfig(ui=False)))
        ev_path = events_path(Path(out), item.key)
        ev_path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(stats_path(Path(out), item.key), json.dumps(res.summary, indent=2, default=str) + "\n")
        write_sidecar(ev_path, res.provenance)
        write_text_atomic(ev_path, "".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in res.events))
        result.update(status="done", events=len(res.events), frames=res.summary.get("frames_processed", 0))
    except MerError as exc:
        result["error"] = str(exc)
    except OSError as exc:
        result["error"] = f"{exc.filename or ''} {exc.strerror or exc}".strip()
    except Exception as exc:  # a bug on one input: reported with the input, the batch goes on
        result["error"] = f"{type(exc).__name__}: {exc} (a bug: please report it with this line)"
    result["elapsed_s"] = round(time.perf_counter() - t0, 3)
    return result


__all__ = ["EVENTS_SUFFIX", "STATS_SUFFIX", "events_path", "is_done", "run_input", "stats_path"]
