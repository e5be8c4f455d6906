"""Cost of several faces (``tools/bench.py --faces``): one 640x480 200 fps clip with four real faces in a 2x2 grid
(``mer_lab.synthetic.multiface``, from the shared data), run with ``--max-faces`` 1, 2 and 4 in fresh processes; fps,
CPU per frame and per stage, and the cost of each face beyond the first; then paced as a 200 fps camera
(``--realtime``) with 2 faces, counting drops."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mer_lab.benchmarks.pipeline_runs import run_cli


def make_grid_clip(path: Path, data: Path, seconds: float = 10.0) -> Path:
    """The four-face 640x480 200 fps grid clip (made once; the faces held with sway, blinks and injected movements on
    face 0)."""
    from mer_lab.synthetic.multiface import DEFAULT_SOURCES, build_multiface, write_multiface

    video = path / "multiface.avi"
    if not video.is_file():
        sources = [data.joinpath(*s.split("/")) for s in DEFAULT_SOURCES]
        clip = build_multiface("grid", 4, seconds=seconds, fps=200.0, seed=0, inject_actor=0, motion="hold", sources=sources)
        write_multiface(clip, path)
    return video


@dataclass
class FacesRun:
    max_faces: int
    realtime: bool = False
    stats: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return float(statistics.median(float(s[key]) for s in self.stats))

    def cpu_ms(self) -> float:
        """CPU ms per frame over every stage (the face thread, spotting, decoding, recognition)."""
        return float(statistics.median(sum(s["stage_cpu_ms_per_frame"].values()) for s in self.stats))

    def stage(self, name: str) -> float:
        return float(statistics.median(s["stage_cpu_ms_per_frame"].get(name, 0.0) for s in self.stats))


def bench_faces(video: Path, counts: tuple[int, ...] = (1, 2, 4), repeats: int = 3, realtime_faces: int = 2) -> list[FacesRun]:
    """Each count ``repeats`` times, interleaved (round by round, so a busy moment hits all alike), then one paced run."""
    runs = [FacesRun(n) for n in counts]
    for _ in range(repeats):
        for r in runs:
            r.stats.append(run_cli(["--video", str(video), "--max-faces", str(r.max_faces)]))
    if realtime_faces:
        paced = FacesRun(realtime_faces, realtime=True)
        paced.stats.append(run_cli(["--video", str(video), "--max-faces", str(realtime_faces), "--realtime", "--fps", "200"]))
        runs.append(paced)
    return runs


def format_faces_table(runs: list[FacesRun]) -> str:
    """Markdown: per run the faces followed, fps, CPU per frame (and per stage), the cost of each face past the first,
    drops."""
    one = next((r for r in runs if r.max_faces == 1 and not r.realtime), None)
    head = ("| run | faces followed | fps (median) | CPU ms / frame | face stage | spotting | per extra face (CPU ms) "
            "| dropped |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in runs:
        faces = statistics.median(sum(1 for _ in s["faces"].get("per_face", {"0": 0})) for s in r.stats)
        extra = "–" if one is None or r.max_faces == 1 else f"{(r.cpu_ms() - one.cpu_ms()) / (r.max_faces - 1):.2f}"
        name = f"--max-faces {r.max_faces}" + (" --realtime --fps 200" if r.realtime else "")
        rows.append(f"| {name} | {faces:g} | {r.median('processing_fps'):.0f} | {r.cpu_ms():.2f} | {r.stage('face'):.2f} | "
                    f"{r.stage('spotting'):.2f} | {extra} | {int(r.median('frames_dropped'))} |")
    return "\n".join(rows)


__all__ = ["FacesRun", "bench_faces", "format_faces_table", "make_grid_clip"]
