#!/usr/bin/env python
"""End-to-end benchmarks (medians over repeated runs of the real CLI, each in a fresh process).

    python tools/bench.py                      # offline fps: WolfgangLanger clip + 200 fps demo stream
    python tools/bench.py --throughput         # only: realtime-mer against decoding the same file (640x480 200 fps
                                               # demo clip, 1920x1080 30 fps clip), side by side, with CPU per stage
    python tools/bench.py --realtime 60        # also: demo paced at 200 fps for 60 s (drops, emit latency)
    python tools/bench.py --backends           # only: inference latency/throughput per model, backend, batch
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mer_lab.benchmarks.pipeline_runs import format_table, repeat
from mer_lab.paths import shared_data
from realtime_mer.errors import command_main

SHARED = shared_data()


@command_main("bench.py")
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--realtime", type=float, default=0.0, metavar="SECONDS", help="also run the demo paced at 200 fps for this long")
    ap.add_argument("--demo-seconds", type=float, default=20.0)
    ap.add_argument("--data", type=Path, default=SHARED)
    ap.add_argument("--json", type=Path, help="write all raw stats here")
    ap.add_argument("--backends", action="store_true", help="benchmark inference backends per model and batch size instead")
    ap.add_argument("--models", help="comma-separated models for --backends (default: all registered)")
    ap.add_argument("--throughput", action="store_true", help="realtime-mer vs decode-only on the same files instead")
    ap.add_argument("--baseline", type=Path, help="--throughput: also run the realtime_mer of this checkout (an earlier "
                    "commit, e.g. from git worktree add) in the same rounds")
    ap.add_argument("--faces", action="store_true", help="the cost of several faces instead: a four-face 640x480 200 fps "
                    "clip with --max-faces 1, 2, 4, then paced at 200 fps with 2 faces (needs the shared data)")
    ap.add_argument("--clips", type=Path, default=Path.home() / ".cache" / "realtime_mer" / "bench",
                    help="where --throughput writes its clips (made once: the demo at 640x480 200 fps, a 1920x1080 one)")
    a = ap.parse_args()
    if a.faces:
        return _faces(a)
    if a.throughput:
        return _throughput(a)
    if a.backends:
        from mer_lab.benchmarks.backends import bench_backends, format_backend_table

        rows = bench_backends(models=a.models.split(",") if a.models else None)
        print(format_backend_table(rows))
        return 0
    results = []
    clip = a.data / "real_faces" / "WolfgangLanger_Pexels.mp4"
    if clip.is_file():
        results.append(repeat("WolfgangLanger_Pexels.mp4 (640x360, offline)", ["--video", str(clip)], a.repeats))
    else:
        print(f"skipping the real clip: {clip} not found", file=sys.stderr)
    results.append(repeat(f"demo 640x480 200 fps, {a.demo_seconds:g} s (offline)", ["--demo", "--demo-seconds", str(a.demo_seconds)], a.repeats))
    if a.realtime > 0:
        results.append(repeat(f"demo --realtime --fps 200, {a.realtime:g} s", ["--demo", "--realtime", "--fps", "200", "--demo-seconds", str(a.realtime)], 1))
    print(format_table(results))
    if a.json:
        a.json.write_text(json.dumps({r.name: r.stats for r in results}, indent=2))
    return 0


def _throughput(a: argparse.Namespace) -> int:
    from mer_lab.benchmarks.pipeline_runs import format_throughput_table, make_demo_clip, make_scaled_clip, throughput

    demo = make_demo_clip(a.clips / "demo640x480_200fps.mp4")
    results = [throughput("demo clip 640x480 200 fps, 20 s (mp4v)", demo, 200.0, a.repeats, baseline=a.baseline)]
    listen = a.data / "real_faces_listen" / "stock_cap_man.mp4"
    if listen.is_file():
        big = make_scaled_clip(listen, a.clips / "stock_cap_man_1920x1080.mp4")
        results.append(throughput("stock_cap_man scaled to 1920x1080, 30 fps, 22 s (mp4v)", big, None, a.repeats, baseline=a.baseline))
    else:
        print(f"skipping the 1920x1080 clip: {listen} not found", file=sys.stderr)
    print(format_throughput_table(results))
    if a.json:
        a.json.write_text(json.dumps({t.name: {"decode": t.decode, "luma": t.luma, "rmer": t.rmer, "baseline": t.baseline}
                                      for t in results}, indent=2))
    return 0


def _faces(a: argparse.Namespace) -> int:
    from mer_lab.benchmarks.faces import bench_faces, format_faces_table, make_grid_clip

    video = make_grid_clip(a.clips / "grid4_640x480_200fps", a.data)
    runs = bench_faces(video, repeats=a.repeats)
    print(format_faces_table(runs))
    if a.json:
        a.json.write_text(json.dumps({f"{r.max_faces}{'-realtime' if r.realtime else ''}": {
            "max_faces": r.max_faces, "realtime": r.realtime, "stats": r.stats} for r in runs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
