"""Spotting benchmark: MEGC scores on in-memory synthetic clips and false micro alarms on real clips.

    python tools/bench_spotting.py --faces reporting --spotters hybrid,roiflow,lagflow --out results.json
    python tools/bench_spotting.py --faces none --n-videos 50 --seconds 6 --seed 0 --spotters roiflow,lbp

``--faces tuning|reporting|all`` (the default: reporting) runs the real-faces benchmark of
``mer_lab/evaluation/spot_faces.py``: every real face video of ``--data`` with injected movements, in
rows by condition (listening, the headline; talking) and variant (native rate, played at ``--fps``,
held, JPEG, re-encoded), each miss explained (blind / below threshold / dropped / IoU < 0.5 / typed
as the other kind), and false micro alarms on all untouched real clips per split and condition;
clips are replayed as ``--video`` does (calibrated ahead, then spotted from frame 0; ``--cold``:
as a camera, after a calibration second); rendered and aligned clips are cached in ``--cache``.
``--faces none`` runs the older benchmark below.

Synthetic clips (200 fps, 640x480) cycle over the real face videos of ``--data`` (face part)
and the bundled astronaut, seed = ``--seed`` + clip index; each clip is aligned once and
replayed through every spotter. The untouched real clips give the false micro alarms per
minute of face-present video. See ``mer_lab/evaluation/spot_bench.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from mer_lab.evaluation.spot_bench import BenchConfig, markdown_table, run_benchmark
from mer_lab.evaluation.spot_faces import FACE_SETS, VARIANTS, FacesConfig, faces_table, run_faces
from mer_lab.evaluation.spotting import write_report
from mer_lab.paths import shared_data
from realtime_mer.errors import MerError, command_main, fail
from realtime_mer.synth.clip import ASTRONAUT

REAL_CLIPS = ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov")


@command_main("bench_spotting.py")
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-videos", type=int, default=50, help="synthetic clips")
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each synthetic clip")
    ap.add_argument("--seed", type=int, default=0, help="base seed (clip i uses seed + i)")
    ap.add_argument("--fps", type=float, default=200.0, help="synthetic frame rate")
    ap.add_argument("--spotters", default=None, help="comma-separated spotter names (default: roiflow,lagflow with --faces, roiflow,lbp without)")
    ap.add_argument("--data", type=Path, default=shared_data(), help="shared data folder (holds real_faces/)")
    ap.add_argument("--video-motion", choices=("hold", "play"), default="hold", help="video sources: hold one frame per clip, or play them with their own expressions")
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads (cv2.setNumThreads)")
    ap.add_argument("--out", type=Path, help="write the full result (per-video counts too) as JSON here")
    ap.add_argument("--faces", choices=(*FACE_SETS, "none"), default="reporting", help="real-faces benchmark on these faces (split by person, spot_faces.FACES); none: the older synthetic benchmark")
    ap.add_argument("--clips-per-face", type=int, default=2, help="--faces: clips per talking face video")
    ap.add_argument("--listening-clips", type=int, default=8, help="--faces: clips per listening face video")
    ap.add_argument("--cold", action="store_true", help="--faces: replay as a camera (a calibration second first) instead of as a file (warm start)")
    ap.add_argument("--face-seconds", type=float, default=8.0, help="--faces: length of each clip")
    ap.add_argument("--variants", default=",".join(VARIANTS), help=f"--faces: comma-separated, of {','.join(VARIANTS)}")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "realtime_mer" / "spot_faces", help="--faces: aligned clips are cached here")
    ap.add_argument("--no-real", action="store_true", help="--faces: skip the false alarms on the untouched real clips")
    args = ap.parse_args(argv)
    cv2.setNumThreads(args.threads)
    console = Console()
    if args.faces != "none":
        args.spotters = args.spotters or "hybrid,roiflow,lagflow"
        return faces_main(args, argv, console)
    args.spotters = args.spotters or "roiflow,lbp"
    real = args.data / "real_faces"
    clips = tuple(str(real / n) for n in REAL_CLIPS if (real / n).is_file())
    if len(clips) < len(REAL_CLIPS):
        console.print(f"[yellow]warning:[/] only {len(clips)} of the real clips found in {real}")
    cfg = BenchConfig(
        n_videos=args.n_videos,
        seconds=args.seconds,
        seed=args.seed,
        fps=args.fps,
        spotters=tuple(s.strip() for s in args.spotters.split(",") if s.strip()),
        sources=(*clips, ASTRONAUT),
        real_clips=clips,
        video_motion=args.video_motion,
    )
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console, transient=False) as bar:
        task = bar.add_task("loading sources", total=cfg.n_videos + len(clips))
        started = [False]

        def step(name: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=name)

        result = run_benchmark(cfg, step)
        bar.advance(task)
    p = result["params"]
    cmd = "python tools/bench_spotting.py " + " ".join(argv if argv is not None else sys.argv[1:])
    console.print(f"\ncommand: {cmd}")
    console.print(
        f"{p['n_videos']} synthetic clips x {p['seconds']:g} s at {p['fps']:g} fps {p['width']}x{p['height']}, seed {p['seed']}..{p['seed'] + p['n_videos'] - 1}, "
        f"sources {', '.join(p['sources_used'])} (videos: {p['video_motion']}); real clips {', '.join(Path(c).name for c in p['real_clips'])} at native fps; "
        f"FaceAligner landmark_every={p['face']['landmark_every']}; MEGC IoU >= 0.5; wall {result['timing_s']['wall']:.0f} s"
    )
    n_t = sum(c["truth_micro"] for c in result["clips"]), sum(c["truth_macro"] for c in result["clips"])
    console.print(f"truths: {n_t[0]} micro, {n_t[1]} macro\n")
    print(markdown_table(result))
    if args.out:
        console.print(f"wrote {write_report(args.out, result)}")
    return 0


def faces_main(args: argparse.Namespace, argv: list[str] | None, console: Console) -> int:
    """The real-faces benchmark (played headline, held, JPEG, re-encoded; false alarms on real clips)."""
    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise fail(MerError, f"unknown variant(s) {', '.join(bad)}", f"choose from {', '.join(VARIANTS)}")
    cfg = FacesConfig(faces=args.faces, clips_per_face=args.clips_per_face, listening_clips=args.listening_clips, seconds=args.face_seconds,
                      seed=args.seed, fps=args.fps, variants=variants)
    spotters = tuple(s.strip() for s in args.spotters.split(",") if s.strip())
    result = run_faces(cfg, args.data, args.cache, spotters, lambda m: console.print(m, highlight=False), real=not args.no_real, warm=not args.cold)
    p = result["params"]
    cmd = "python tools/bench_spotting.py " + " ".join(argv if argv is not None else sys.argv[1:])
    console.print(f"\ncommand: {cmd}")
    console.print(
        f"{args.faces} faces ({len(p['faces_used'])} videos: {', '.join(p['faces_used'])}), {p['listening_clips']} clips per listening face, "
        f"{p['clips_per_face']} per talking face, {p['seconds']:g} s each at {p['fps']:g} fps (native: the video's own rate) "
        f"{p['width']}x{p['height']}, seed {p['seed']}, {'warm start (as a file)' if p['warm_start'] else 'cold start (as a camera)'}; JPEG q90 PSNR {result['psnr_db_mean']['jpeg']} dB, re-encoded PSNR {result['psnr_db_mean']['reencode']} dB; MEGC IoU >= 0.5, pooled"
    )
    print(faces_table(result))
    if args.out:
        console.print(f"wrote {write_report(args.out, result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
