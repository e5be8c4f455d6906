"""Soak test behind ``tools/soak.py``: the live pipeline on the demo paced like a 200 fps camera
(``realtime-mer --demo --realtime --fps 200``) for minutes, sampled every few seconds: resident memory,
frames processed and dropped, events and their emit latency. The report gives the RSS slope after a warm-up
(MB per minute, a least-squares line), its spread, total drops and the p95 emit latency.

The pipeline runs in this process (exactly the objects the CLI builds; no overlay), so its memory is this
process's memory and the drop counter can be read while it runs. Only the runtime is imported (no torch).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from realtime_mer.app.pipeline import Pipeline
from realtime_mer.capture import open_source
from realtime_mer.config import OutputConfig, PipelineConfig, SourceConfig, validate
from realtime_mer.errors import DataError, fail


def rss_mb(pid: int | str = "self") -> float:
    """Current resident set size of process ``pid`` (this one by default) in MiB (``/proc/PID/statm``; this process's
    peak RSS where that is missing)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource
        import sys

        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r / 1024.0 if sys.platform != "darwin" else r / 2**20


@dataclass
class Sample:
    t_s: float  # seconds since the pipeline started
    rss_mb: float  # this process and the spotting process together
    processed: int
    dropped: int
    events: int
    emit_p95_ms: float | None  # of the events emitted since the previous sample (None: none)


@dataclass
class SoakReport:
    seconds: float
    fps: float
    warmup_s: float
    samples: list[Sample] = field(default_factory=list)
    frames_processed: int = 0
    frames_dropped: int = 0
    events: int = 0
    emit_p50_ms: float | None = None
    emit_p95_ms: float | None = None
    rss_slope_mb_per_min: float = 0.0  # after the warm-up
    rss_spread_mb: float = 0.0  # max - min after the warm-up
    rss_first_mb: float = 0.0  # first sample after the warm-up
    rss_last_mb: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def soak(seconds: float = 600.0, every_s: float = 10.0, fps: float = 200.0, warmup_s: float = 60.0,
         on_sample: Any = None) -> SoakReport:
    """Run the demo paced at ``fps`` for ``seconds``, sampling every ``every_s``; the slope and spread of RSS are
    taken over the samples after ``warmup_s`` (at least two are needed)."""
    if not (0 < every_s < seconds and 0 <= warmup_s < seconds - every_s):
        raise fail(DataError, f"soak of {seconds:g} s sampled every {every_s:g} s after a {warmup_s:g} s warm-up "
                   "leaves fewer than two samples to fit", "use a longer --seconds or a shorter --every / --warmup")
    cfg = validate(PipelineConfig(source=SourceConfig(kind="demo", fps=fps, realtime=True, demo_seconds=seconds),
                                  output=OutputConfig(ui=False)))
    source = open_source(cfg.source)
    pipe = Pipeline(cfg, source)
    rep = SoakReport(seconds=seconds, fps=fps, warmup_s=warmup_s)
    try:
        pipe.prepare()
        pipe.start()
        t0 = time.monotonic()
        seen = 0
        while not pipe.wait(min(1.0, every_s)):
            t = time.monotonic() - t0
            if t < every_s * (len(rep.samples) + 1):
                continue
            lat = pipe.record.emit_latency[seen:]
            seen += len(lat)
            st = pipe.state
            s = Sample(round(t, 2), round(_rss_all(pipe), 2), st.processed, st.dropped, st.n_events,
                       round(float(np.percentile(lat, 95)), 1) if lat else None)
            rep.samples.append(s)
            if on_sample is not None:
                on_sample(s)
    finally:
        pipe.close()
    if pipe.error is not None:
        raise pipe.error
    st = pipe.state
    rep.frames_processed, rep.frames_dropped, rep.events = st.processed, st.dropped, st.n_events
    if pipe.record.emit_latency:
        rep.emit_p50_ms, rep.emit_p95_ms = (round(float(v), 1) for v in np.percentile(pipe.record.emit_latency, [50, 95]))
    late = [s for s in rep.samples if s.t_s >= warmup_s]
    if len(late) >= 2:
        t = np.array([s.t_s for s in late]) / 60.0
        r = np.array([s.rss_mb for s in late])
        rep.rss_slope_mb_per_min = round(float(np.polyfit(t, r, 1)[0]), 3)
        rep.rss_spread_mb = round(float(r.max() - r.min()), 2)
        rep.rss_first_mb, rep.rss_last_mb = float(r[0]), float(r[-1])
    return rep


def _rss_all(pipe: Pipeline) -> float:
    """RSS of this process plus the spotting process's own (the shared ring buffer is counted in both; it is fixed)."""
    total = rss_mb()
    remote = getattr(pipe, "_remote", None)
    if remote is not None and remote.proc.pid is not None and remote.proc.is_alive():
        total += rss_mb(remote.proc.pid)
    return total


def format_report(rep: SoakReport) -> str:
    """The samples as a Markdown table and the summary lines (what README shows)."""
    rows = ["| t (s) | RSS MB | processed | dropped | events | emit p95 ms (window) |", "|---|---|---|---|---|---|"]
    for s in rep.samples:
        rows.append(f"| {s.t_s:.0f} | {s.rss_mb:.1f} | {s.processed} | {s.dropped} | {s.events} | "
                    f"{'-' if s.emit_p95_ms is None else f'{s.emit_p95_ms:.0f}'} |")
    p95 = "-" if rep.emit_p95_ms is None else f"{rep.emit_p95_ms:.0f} ms"
    rows.append("")
    rows.append(f"{rep.seconds:g} s at {rep.fps:g} fps: {rep.frames_processed} frames processed, {rep.frames_dropped} dropped, "
                f"{rep.events} events, emit latency p95 {p95}; after the {rep.warmup_s:g} s warm-up RSS "
                f"{rep.rss_first_mb:.1f} -> {rep.rss_last_mb:.1f} MB, slope {rep.rss_slope_mb_per_min:+.2f} MB/min, "
                f"spread {rep.rss_spread_mb:.1f} MB")
    return "\n".join(rows)
