"""Benchmarks behind ``tools/bench.py``: end-to-end runs of the real CLI in fresh processes
(so peak memory is per run), repeated, reported as medians."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class RunResult:
    name: str
    stats: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(float(s[key]) for s in self.stats))

    def stage_median(self, stage: str, q: str = "p50") -> float:
        vals = [s["stage_latency_ms"].get(stage, {}).get(q, 0.0) for s in self.stats]
        return float(statistics.median(vals)) if vals else 0.0


def run_cli(args: list[str], timeout: float = 900.0) -> dict[str, Any]:
    """Run ``realtime-mer ARGS --no-ui --quiet --stats TMP`` in a new process; return its stats."""
    with tempfile.TemporaryDirectory() as td:
        stats = Path(td) / "stats.json"
        cmd = [sys.executable, "-m", "realtime_mer.cli", *args, "--no-ui", "--quiet", "--stats", str(stats)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
        return json.loads(stats.read_text())


def repeat(name: str, args: list[str], n: int) -> RunResult:
    r = RunResult(name)
    for _ in range(n):
        r.stats.append(run_cli(args))
    return r


def _median_or_dash(values: list[float]) -> str:
    """The median, or "-" when no run had a value (no events: no emit latency)."""
    return f"{statistics.median(values):.1f}" if values else "-"


def format_table(results: list[RunResult]) -> str:
    """A Markdown table of medians (what README shows)."""
    stages = ("face", "spotting", "recognition", "total")
    head = "| run | frames | fps (median) | " + " | ".join(f"{s} p50/p95 ms" for s in stages) + " | emit p95 ms | dropped | face % | peak RSS MB |"
    sep = "|" + "---|" * (head.count("|") - 1)
    rows = [head, sep]
    for r in results:
        cells = [
            r.name,
            f"{int(r.median('frames_processed'))}",
            f"{r.median('processing_fps'):.0f}",
            *[f"{r.stage_median(s, 'p50'):.3f}/{r.stage_median(s, 'p95'):.3f}" for s in stages],
            _median_or_dash([s["emit_latency_ms"]["p95"] for s in r.stats if s["emit_latency_ms"]]),
            f"{int(r.median('frames_dropped'))}",
            f"{100 * r.median('face_found_ratio'):.1f}",
            f"{r.median('peak_rss_mb'):.0f}",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
