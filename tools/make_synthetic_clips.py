"""Build a synthetic clip set (.npz) for recognition training, rendering only the frames around each movement.

    python tools/make_synthetic_clips.py --source astronaut \\
        --source ../shared/data/real_faces/WolfgangLanger_Pexels.mp4 \\
        --source ../shared/data/real_faces/single_face.mp4 --source ../shared/data/real_faces/face_noface.mov \\
        --n-clips 80 --seconds 20 --seed 5000 --out runs/synth_clips/clips.npz

Clip ``i`` uses source ``i % len(sources)``, generator seed ``seed + i`` (the spotting benchmark
uses seeds 0..49: start elsewhere, e.g. 5000) and, for a video source, one held source frame.
For each injected movement of the wanted kinds (default: micro) the frames from ``--lead-frames``
before the onset to the offset are rendered and aligned (no video is written); the crops of
onset..offset are kept. The subject of a sample is its source face. Train on the result with

    python tools/train.py --dataset synthetic-clips --data-root runs/synth_clips/clips.npz --model c3d ...
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from mer_lab.synthetic.clip_set import SyntheticClipConfig, render_clip_set
from realtime_mer.errors import command_main
from realtime_mer.synth.clip import ASTRONAUT, SynthConfig
from realtime_mer.synth.render import RenderConfig


@command_main("make_synthetic_clips.py")
def main(argv: list[str] | None = None) -> int:
    """Render the clips, save the .npz; expected failures print one line and exit 2."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", action="append", help=f"face video / image or '{ASTRONAUT}' (repeatable; default {ASTRONAUT})")
    ap.add_argument("--n-clips", type=int, default=80, help="generator clips (each holds several movements)")
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each generator clip")
    ap.add_argument("--seed", type=int, default=5000, help="seed of clip 0 (clip i: seed + i)")
    ap.add_argument("--out", type=Path, required=True, help="output .npz")
    ap.add_argument("--kinds", nargs="+", default=["micro"], choices=("micro", "macro"))
    ap.add_argument("--fps", type=float, default=200.0)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--max-frames", type=int, default=32, help="kept frames per sample (stride sub-sampling)")
    ap.add_argument("--lead-frames", type=int, default=24, help="aligner warm-up frames before each onset")
    ap.add_argument("--threads", type=int, default=1, help="OpenCV threads")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    import cv2

    cv2.setNumThreads(args.threads)
    synth = SynthConfig(fps=args.fps, render=RenderConfig(width=args.width, height=args.height))
    cfg = SyntheticClipConfig(kinds=tuple(args.kinds), lead_frames=args.lead_frames, max_frames=args.max_frames)
    t0 = time.monotonic()

    def progress(i: int, clip: object) -> None:
        print(f"[{i + 1}/{args.n_clips}] {getattr(clip, 'name', '')} ({time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)

    s, meta = render_clip_set(args.source or [ASTRONAUT], args.n_clips, args.seconds, args.seed, synth, cfg, progress)
    meta["seconds_to_build"] = round(time.monotonic() - t0, 1)
    s.save(args.out, meta)
    print(f"wrote {len(s)} samples ({meta['subjects']}, classes {meta['class_counts']}) to {args.out} "
          f"in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
