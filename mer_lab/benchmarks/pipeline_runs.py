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


def run_cli(args: list[str], timeout: float = 900.0, code: Path | None = None) -> dict[str, Any]:
    """Run ``realtime-mer ARGS --no-ui --quiet --stats TMP`` in a new process; return its stats. ``code``: a checkout
    of another commit whose ``realtime_mer`` runs instead (put first on ``PYTHONPATH``; a baseline)."""
    import os

    env = None if code is None else {**os.environ, "PYTHONPATH": str(code)}
    with tempfile.TemporaryDirectory() as td:
        stats = Path(td) / "stats.json"
        cli = "realtime_mer.app.cli" if code is None or (code / "realtime_mer" / "app" / "cli.py").is_file() else "realtime_mer.cli"
        cmd = [sys.executable, "-m", cli, *args, "--no-ui", "--quiet", "--stats", str(stats)]  # (an older checkout: its CLI)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=td if code else None)
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


# -- throughput against decoding the same file (issue 24) -----------------------------------------------------------

def make_demo_clip(path: Path, seconds: float = 20.0, fps: float = 200.0, width: int = 640, height: int = 480,
                   seed: int = 0) -> Path:
    """The demo stream written to ``path`` (MPEG-4 part 2, the encoder every OpenCV build has); kept when present."""
    import cv2

    from realtime_mer.capture.demo import DemoSource

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    src = DemoSource(seconds=seconds, fps=fps, width=width, height=height, seed=seed)
    src.open()
    w = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    while (img := src.read()) is not None:
        w.write(img)
    w.release()
    src.close()
    tmp.replace(path)
    return path


def make_scaled_clip(source: Path, path: Path, width: int = 1920, height: int = 1080) -> Path:
    """``source`` scaled to ``width`` x ``height`` at its own rate (a stand-in for a webcam recording of that size)."""
    import cv2

    if path.is_file():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part.mp4")
    cap = cv2.VideoCapture(str(source))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    w = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    while True:
        ok, img = cap.read()
        if not ok:
            break
        w.write(cv2.resize(img, (width, height), interpolation=cv2.INTER_CUBIC))
    w.release()
    cap.release()
    tmp.replace(path)
    return path


def decode_run(path: Path, gray: bool = False, timeout: float = 900.0) -> dict[str, Any]:
    """``mer_lab.benchmarks.decode`` on ``path`` in a fresh process: frames, seconds, fps, cpu_s."""
    cmd = [sys.executable, "-m", "mer_lab.benchmarks.decode", str(path), *(["--gray"] if gray else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@dataclass
class Throughput:
    """Side-by-side runs on one file: plain decoding (OpenCV's default BGR), decoding as realtime-mer reads (luma),
    and realtime-mer itself, interleaved (decode, luma, realtime-mer, decode, ...) so load changes hit all three."""

    name: str
    decode: list[dict[str, Any]] = field(default_factory=list)
    luma: list[dict[str, Any]] = field(default_factory=list)
    rmer: list[dict[str, Any]] = field(default_factory=list)
    baseline: list[dict[str, Any]] = field(default_factory=list)  # realtime-mer of an earlier commit (--baseline)

    def fps(self, which: str) -> float:
        runs = getattr(self, which)
        key = "processing_fps" if which in ("rmer", "baseline") else "fps"
        return float(statistics.median(float(r[key]) for r in runs))

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios realtime-mer / plain decode (each round run back to back)."""
        return self.ratio_of("rmer")

    def ratio_of(self, which: str) -> float:
        runs = getattr(self, which)
        return float(statistics.median(float(r["processing_fps"]) / float(d["fps"]) for r, d in zip(runs, self.decode, strict=True)))

    def cpu(self, stage: str) -> float:
        vals = [float(r.get("stage_cpu_ms_per_frame", {}).get(stage, 0.0)) for r in self.rmer]
        return float(statistics.median(vals)) if vals else 0.0


def throughput(name: str, path: Path, fps: float | None, repeats: int, extra: list[str] | None = None,
               baseline: Path | None = None) -> Throughput:
    """``repeats`` rounds of decode, luma decode, realtime-mer (and ``baseline``'s realtime-mer), back to back."""
    t = Throughput(name)
    args = ["--video", str(path.resolve()), *(["--fps", f"{fps:g}"] if fps else []), *(extra or [])]
    for _ in range(repeats):
        t.decode.append(decode_run(path))
        t.luma.append(decode_run(path, gray=True))
        t.rmer.append(run_cli(args))
        if baseline is not None:
            t.baseline.append(run_cli(args, code=baseline))
    return t


CPU_STAGES = ("source", "face", "spotting", "spotting_io", "recognition")


def format_throughput_table(results: list[Throughput]) -> str:
    """Markdown: decode-only and realtime-mer fps (medians), their ratio, and each stage's CPU ms per frame."""
    head = ("| file | frames | decode only, BGR (fps) | decode only, luma (fps) | realtime-mer (fps) | rmer / decode | "
            + " | ".join(f"{s} CPU ms/frame" for s in CPU_STAGES) + " | events |")
    if any(t.baseline for t in results):
        head = head.replace("| realtime-mer (fps) |", "| baseline (fps) | realtime-mer (fps) |").replace(
            "| rmer / decode |", "| baseline / decode | rmer / decode |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for t in results:
        base = [f"{t.fps('baseline'):.0f}"] if t.baseline else []
        base_ratio = [f"{t.ratio_of('baseline'):.2f}"] if t.baseline else []
        cells = [t.name, f"{int(statistics.median(r['frames_processed'] for r in t.rmer))}", f"{t.fps('decode'):.0f}",
                 f"{t.fps('luma'):.0f}", *base, f"{t.fps('rmer'):.0f}", *base_ratio, f"**{t.ratio:.2f}**",
                 *[f"{t.cpu(s):.3f}" for s in CPU_STAGES],
                 "/".join(str(int(r["events"])) for r in t.rmer)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)
