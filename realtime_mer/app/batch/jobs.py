"""The batch loop: skip finished inputs, keep the executor's slots busy, show overall progress, stop cleanly on
a signal, and write the combined tables: ``<out>/events.csv`` (every event of every finished input, with its
``source``) and ``<out>/inputs.csv`` (each input's status, events, frames, time, error and warnings: what to look at
in a finished input, such as no face found or an input that ended early)."""

from __future__ import annotations

import collections
import csv
import io
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_mer.app.batch.executors import Executor
from realtime_mer.app.batch.inputs import BatchInput
from realtime_mer.app.batch.work import BatchSettings, events_path, is_done, stats_path, warnings_of

INPUT_COLUMNS = ("key", "source", "kind", "status", "events", "frames", "elapsed_s", "error", "warnings")


@dataclass
class BatchReport:
    total: int
    skipped: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)
    interrupted: int = 0  # the signal that stopped the batch (0: ran to the end)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.results if r["status"] != "done"]

    @property
    def done(self) -> int:
        return self.skipped + sum(r["status"] == "done" for r in self.results)


def clean_partial(out: Path) -> int:
    """Remove the temporary files and staging folders an earlier, killed run left (``.<name>.*.tmp``); they were never
    moved into place."""
    n = 0
    for p in sorted(Path(out).rglob(".*.tmp"), reverse=True):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
            n += 1
        elif p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


def run_batch(items: list[BatchInput], out: Path, settings: BatchSettings, executor: Executor,
              progress: Callable[[BatchReport, dict[str, Any] | None], None] | None = None) -> BatchReport:
    """Run every unfinished input of ``items`` on ``executor``. The first SIGINT / SIGTERM submits nothing more and waits
    for the inputs under way (each is written whole or not at all); a second one terminates them."""
    report = BatchReport(total=len(items))
    todo = collections.deque(i for i in items if not is_done(out, i))
    report.skipped = len(items) - len(todo)
    inflight: dict[Any, BatchInput] = {}
    signals: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        signals.append(signum)
        if len(signals) == 1:
            print(f"realtime-mer batch: stopping: finishing the {len(inflight)} input(s) under way "
                  "(signal again to leave now; a resumed run redoes them)", file=sys.stderr, flush=True)
        else:
            executor.terminate(list(inflight))
            raise KeyboardInterrupt

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    if progress:
        progress(report, None)
    try:
        while todo or inflight:
            while todo and len(inflight) < executor.slots and not signals:
                item = todo.popleft()
                inflight[executor.submit(item, str(out), settings)] = item
            if not inflight:
                break
            for h in executor.wait(list(inflight), timeout=0.2):
                item = inflight.pop(h)
                try:
                    res = executor.result(h)
                except Exception as exc:  # e.g. a Ray worker that died
                    res = {"key": item.key, "source": item.path, "kind": item.kind, "status": "failed", "events": 0,
                           "frames": 0, "elapsed_s": 0.0, "error": f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
                report.results.append(res)
                if progress:
                    progress(report, res)
        executor.close()
    except KeyboardInterrupt:
        pass
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    report.interrupted = signals[0] if signals else 0
    return report


def write_tables(items: list[BatchInput], out: Path, report: BatchReport) -> tuple[Path, Path]:
    """``events.csv`` from the events files of every finished input (this run's and earlier ones') and ``inputs.csv``."""
    from realtime_mer.events import read_events
    from realtime_mer.events.sidecar import write_text_atomic
    from realtime_mer.events.table import classes_of, columns, flat_row

    per_input = [(i, read_events(events_path(out, i.key))) for i in items if is_done(out, i)]
    cls = classes_of([e for _, evs in per_input for e in evs])
    cols = ["source", *(c for c in columns(cls) if c != "source")]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    for item, evs in per_input:
        for e in evs:
            row = flat_row(e, cls)
            row["source"] = row["source"] or item.path  # logs older than the source field
            w.writerow({k: "" if row[k] is None else row[k] for k in cols})
    ev_csv = Path(out) / "events.csv"
    write_text_atomic(ev_csv, buf.getvalue())

    latest = {r["key"]: r for r in report.results}
    counts = {i.key: len(evs) for i, evs in per_input}
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=INPUT_COLUMNS, lineterminator="\n")
    w.writeheader()
    for item in items:
        r = latest.get(item.key)
        if r is None:
            done = item.key in counts
            r = {"key": item.key, "source": item.path, "kind": item.kind, "status": "done (earlier run)" if done else "not run",
                 "events": counts.get(item.key, ""), "frames": "", "elapsed_s": "", "error": "", "warnings": ""}
            if done:  # what the earlier run said about it, from its stats
                summary = _stats(stats_path(out, item.key))
                r.update(frames=summary.get("frames_processed", ""), warnings=warnings_of(summary))
        w.writerow({k: r.get(k, "") for k in INPUT_COLUMNS})
    in_csv = Path(out) / "inputs.csv"
    write_text_atomic(in_csv, buf.getvalue())
    return ev_csv, in_csv


def _stats(path: Path) -> dict[str, Any]:
    """An input's stats file (an empty dict when it cannot be read: the table is still written)."""
    try:
        got = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return got if isinstance(got, dict) else {}


def default_jobs() -> int:
    """Half the cores (each input runs a few threads of its own), at least one."""
    return max(1, (os.cpu_count() or 2) // 2)


__all__ = ["BatchReport", "clean_partial", "default_jobs", "run_batch", "write_tables"]

